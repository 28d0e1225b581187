import { audioChunkBytes, audioSummary } from './audio';
import { BITSTREAM_MIME, CHUNK_AUDO, CHUNK_CTXT, CHUNK_HEAD, CHUNK_KFRM, CHUNK_KFRX, CHUNK_KPOS, CHUNK_MTXT, CHUNK_OVERHEAD_BYTES, CHUNK_SEGP, CHUNK_SIDX, MAGIC, PREAMBLE_BYTES } from './chunks';
import { decodeHeader } from './codec';
import { BitstreamError } from './errors';
import { anchorOf } from './keyframes';
import type { ReadOptions } from './limits';
import { readBitstream } from './reader';
import { describeText, type TextInfo } from './text-codec';
import type { AudioCodec, Bitstream, BitstreamHeader, KeyframeCodec } from './types';
import { STREAM_LIMITS } from './stream-limits';
import { walkChunks, type ChunkInfo } from './walk';

export interface InspectChunk {
  type: string;
  offset: number;
  /** Data bytes; the chunk occupies length + 12. */
  length: number;
  critical: boolean;
  known: boolean;
  crcOk: boolean;
}

export interface InspectSegment {
  index: number;
  startFrame: number;
  frameCount: number;
  seconds: number;
  /** Byte range of the segment's chunks (as in SIDX). */
  offset: number;
  length: number;
  seed: number | null;
  contentText: TextInfo;
  motionText: TextInfo;
  /** Sorted by frame index; `anchor` marks the KFRM (the one a v1.0 reader sees). */
  keyframes: { codec: KeyframeCodec; width: number; height: number; bytes: number; frameIndex: number; priority: number; anchor: boolean }[];
  /** The segment's audo chunk (bytes with framing), or null when it is silent. */
  audio: { codec: AudioCodec; channels: number; sampleRate: number; bytes: number; packets: number; preSkip: number; sampleCount: number } | null;
}

/** A stream's sound as the video view reports it: the audo chunks' bytes (framing included) and their rate. */
export interface InspectAudio {
  codec: AudioCodec;
  /** The audio's share of the stream's rate: bytes × 8 / 1000 / seconds. */
  kbps: number;
  bytes: number;
  channels: number;
  sampleRate: number;
}

export interface InspectProfile {
  /** Bytes of the bitstream in this profile (tt2v: as cutBitstream would make it). */
  bytes: number;
  /** bytes × 8 / seconds covered by the segments. */
  bitsPerSecond: number;
}

/** A JSON-able description of a bitstream. `valid: false` carries the first error; structure is still listed. */
export interface InspectReport {
  magic: string;
  version: { major: number; minor: number };
  mime: string;
  valid: boolean;
  error: { code: string; message: string; chunk: string | null; offset: number | null } | null;
  totalBytes: number;
  header: (BitstreamHeader & { textDictionary: number }) | null;
  /** The first STREAM_LIMITS.maxListedChunks chunks, in order. */
  chunks: InspectChunk[];
  /** Every chunk the walk found (`chunks` lists the first of them). */
  chunkCount: number;
  /** True when `chunks` lists fewer than `chunkCount`, or `segments` fewer than `segmentCount`. */
  truncated: boolean;
  /** Segments of a valid stream (`segments` lists the first STREAM_LIMITS.maxSegments of them); 0 when it is not valid. */
  segmentCount: number;
  segments: InspectSegment[];
  /** Where the bytes go (chunk framing counted apart from data). */
  sizes: {
    preamble: number;
    framing: number;
    header: number;
    index: number;
    segmentParams: number;
    textCoded: number;
    textPlain: number;
    keyframes: number;
    audio: number;
    other: number;
  } | null;
  /** Seconds of video the segments cover (frames ÷ frame rate). */
  seconds: number | null;
  /** The whole stream's rate, kbps (bytes × 8 / 1000 / seconds). */
  kbps: number | null;
  /** The rate of all but the audio, kbps. */
  videoKbps: number | null;
  /** The stream's sound, or null when it has none. */
  audio: InspectAudio | null;
  /** full and it2v carry keyframes; tt2v does not. */
  profiles: { full: InspectProfile; it2v: InspectProfile; tt2v: InspectProfile } | null;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * Describes a bitstream's structure, sizes and bits per second. Throws BitstreamError only when the
 * input is not a CMVC v1 file at all (bad signature, unsupported version, shorter than the signature);
 * a damaged stream is reported with `valid: false` and its first error. Its size is bounded whatever the
 * input: at most `maxListedChunks` chunks are listed (default STREAM_LIMITS.maxListedChunks), the rest counted.
 */
export function inspectBitstream(bytes: Uint8Array, options: ReadOptions & { maxListedChunks?: number } = {}): InspectReport {
  let parsed: Bitstream | undefined;
  let error: InspectReport['error'] = null;
  try {
    parsed = readBitstream(bytes, options);
  } catch (err) {
    if (!(err instanceof BitstreamError)) throw err;
    if (err.code === 'bad_magic' || err.code === 'unsupported_version' || bytes.length < PREAMBLE_BYTES) throw err;
    error = { code: err.code, message: err.message, chunk: err.chunk ?? null, offset: err.offset ?? null };
  }
  const sizer = parsed === undefined ? undefined : new Sizer(parsed, STREAM_LIMITS.maxSegments);
  const keep = options.maxListedChunks ?? STREAM_LIMITS.maxListedChunks;
  const { chunks, count } = walkChunks(bytes, { keep, visit: sizer && ((c) => sizer.add(c)) });
  const report: InspectReport = {
    magic: hex(MAGIC),
    version: { major: bytes[MAGIC.length]!, minor: bytes[MAGIC.length + 1]! },
    mime: BITSTREAM_MIME,
    valid: parsed !== undefined,
    error,
    totalBytes: bytes.length,
    header: null,
    chunks: chunks.map(({ type, offset, length, critical, known, crcOk }) => ({ type, offset, length, critical, known, crcOk })),
    chunkCount: count,
    truncated: count > chunks.length,
    segmentCount: 0,
    segments: [],
    sizes: null,
    seconds: null,
    kbps: null,
    videoKbps: null,
    audio: null,
    profiles: null,
  };
  const head = chunks[0];
  if (head?.type === CHUNK_HEAD && head.crcOk) {
    try {
      const h = decodeHeader(head.data, head.offset + 8);
      report.header = { ...h.header, textDictionary: h.textDictionary };
    } catch (err) {
      if (!(err instanceof BitstreamError)) throw err;
    }
  }
  if (parsed === undefined || sizer === undefined || report.header === null) return report;
  const { sizes, segments, dropInTt2v } = sizer;
  report.segments = segments;
  report.segmentCount = parsed.segments.length;
  report.truncated ||= parsed.segments.length > segments.length;
  const { fpsNum, fpsDen } = parsed.header;
  const frames = parsed.segments.reduce((n, s) => n + s.frameCount, 0);
  const seconds = (frames * fpsDen) / fpsNum;
  const profile = (n: number): InspectProfile => ({ bytes: n, bitsPerSecond: Math.round(((n * 8) / seconds) * 100) / 100 });
  const round3 = (n: number) => Math.round(n * 1000) / 1000;
  const audio = audioSummary(parsed.segments);
  report.sizes = sizes;
  report.seconds = Math.round(seconds * 1e6) / 1e6;
  report.kbps = round3((bytes.length * 8) / 1000 / seconds);
  report.videoKbps = round3(((bytes.length - (audio?.bytes ?? 0)) * 8) / 1000 / seconds);
  report.audio = audio && { codec: audio.codec, kbps: round3((audio.bytes * 8) / 1000 / seconds), bytes: audio.bytes, channels: audio.channels, sampleRate: audio.sampleRate };
  report.profiles = { full: profile(bytes.length), it2v: profile(bytes.length), tt2v: profile(bytes.length - dropInTt2v) };
  return report;
}

/**
 * Where a valid stream's bytes go, chunk by chunk as the walk meets them (so no list of every chunk is kept), and
 * the first `keep` segments described (each with up to 64 keyframes: what bounds the report's size).
 */
class Sizer {
  readonly sizes = { preamble: PREAMBLE_BYTES, framing: 0, header: 0, index: 0, segmentParams: 0, textCoded: 0, textPlain: 0, keyframes: 0, audio: 0, other: 0 };
  readonly segments: InspectSegment[] = [];
  dropInTt2v = 0;
  private current: InspectSegment | undefined;
  private seen = 0;

  constructor(
    private readonly parsed: Bitstream,
    private readonly keep: number,
  ) {}

  add(c: ChunkInfo): void {
    const { sizes } = this;
    const { fpsNum, fpsDen } = this.parsed.header;
    sizes.framing += CHUNK_OVERHEAD_BYTES;
    const dataAt = c.offset + 8;
    switch (c.type) {
      case CHUNK_HEAD:
        sizes.header += c.length;
        break;
      case CHUNK_SIDX:
        sizes.index += c.length;
        break;
      case CHUNK_SEGP: {
        if (this.current) this.current.length = c.offset - this.current.offset;
        const n = this.seen++;
        const s = this.parsed.segments[n]!;
        sizes.segmentParams += c.length;
        if (n >= this.keep) {
          this.current = undefined;
          break;
        }
        const anchor = anchorOf(s.keyframes);
        this.current = {
          index: n,
          startFrame: s.startFrame,
          frameCount: s.frameCount,
          seconds: (s.frameCount * fpsDen) / fpsNum,
          offset: c.offset,
          length: 0,
          seed: s.seed ?? null,
          contentText: { coding: 'plain', codedBytes: 0, plainBytes: 0 },
          motionText: { coding: 'plain', codedBytes: 0, plainBytes: 0 },
          keyframes: s.keyframes.map((k) => ({ codec: k.codec, width: k.width, height: k.height, bytes: k.data.length, frameIndex: k.frameIndex, priority: k.priority, anchor: k === anchor })),
          audio:
            s.audio === undefined
              ? null
              : { codec: s.audio.codec, channels: s.audio.channels, sampleRate: s.audio.sampleRate, bytes: audioChunkBytes(s.audio), packets: s.audio.packets.length, preSkip: s.audio.preSkip, sampleCount: s.audio.sampleCount },
        };
        this.segments.push(this.current);
        break;
      }
      case CHUNK_CTXT:
      case CHUNK_MTXT: {
        const info = describeText(c.data, { chunk: c.type, offset: dataAt });
        sizes.textCoded += info.codedBytes;
        sizes.textPlain += info.plainBytes;
        if (this.current) this.current[c.type === CHUNK_CTXT ? 'contentText' : 'motionText'] = info;
        break;
      }
      case CHUNK_KFRM:
      case CHUNK_KPOS:
      case CHUNK_KFRX: {
        sizes.keyframes += c.length;
        this.dropInTt2v += c.length + CHUNK_OVERHEAD_BYTES;
        break;
      }
      case CHUNK_AUDO:
        sizes.audio += c.length;
        break;
      default:
        if (c.known) break; // CEND
        sizes.other += c.length;
        this.dropInTt2v += c.length + CHUNK_OVERHEAD_BYTES;
    }
    if (c.type === 'CEND' && this.current) this.current.length = c.offset - this.current.offset;
  }
}
