/**
 * The v1.2 audio chunk `audo` (docs/bitstream.md, "audo"): a segment's sound as Opus packets, the samples
 * to skip first and the samples to keep, which are exactly the segment's frames at the audio's sample rate.
 */
import { AUDIO_CODEC_IDS, AUDIO_CODECS, AUDIO_MAX_CHANNELS, AUDO_FIXED_BYTES, CHUNK_AUDO, CHUNK_OVERHEAD_BYTES, OPUS_SAMPLE_RATE } from './chunks';
import { ByteCursor } from './byte-cursor';
import { ByteWriter } from './byte-writer';
import { checkLimit, type BitstreamLimits, type ReadOptions } from './limits';
import { varintBytes } from './text-codec';
import type { BitstreamHeader, SegmentAudio, SegmentData } from './types';
import { checkU32, type Fail } from './validate';

/** Samples (per channel, at 48 kHz) in the longest Opus packet: 120 ms (RFC 6716, 3.2.5). */
export const OPUS_MAX_PACKET_SAMPLES = 5760;
/** Samples of one Opus frame by TOC configuration (RFC 6716, 3.1): SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT 2.5/5/10/20 ms. */
const OPUS_FRAME_SAMPLES = [
  ...[0, 1, 2].flatMap(() => [480, 960, 1920, 2880]), // configs 0–11: SILK NB, MB, WB
  480, 960, 480, 960, // configs 12–15: Hybrid SWB, FB
  ...[0, 1, 2, 3].flatMap(() => [120, 240, 480, 960]), // configs 16–31: CELT NB, WB, SWB, FB
];

/**
 * Samples per channel at 48 kHz that an Opus packet decodes to, read from its TOC byte (and, for code 3, its
 * frame count byte); a string saying what is wrong for a packet no Opus decoder accepts.
 */
export function opusPacketSamples(packet: Uint8Array): number | string {
  if (packet.length < 1) return 'an Opus packet has at least one byte';
  const toc = packet[0]!;
  const frame = OPUS_FRAME_SAMPLES[toc >> 3]!;
  const code = toc & 0x03;
  if (code === 0) return frame;
  if (code === 1 || code === 2) return 2 * frame;
  if (packet.length < 2) return 'a code-3 Opus packet needs its frame count byte';
  const count = packet[1]! & 0x3f;
  if (count === 0) return 'a code-3 Opus packet declares 0 frames';
  if (count * frame > OPUS_MAX_PACKET_SAMPLES) return `a code-3 Opus packet of ${count} frames lasts over 120 ms`;
  return count * frame;
}

/**
 * Where frame `frame` of a video at `fpsNum/fpsDen` begins on an audio clock of `sampleRate`: floor(frame ×
 * sampleRate × fpsDen / fpsNum), exact (BigInt: the product can pass 2^53). A segment's audio is the samples
 * from its first frame's position to the position of the frame after its last.
 */
export function audioSampleAt(frame: number, header: Pick<BitstreamHeader, 'fpsNum' | 'fpsDen'>, sampleRate: number): number {
  return Number((BigInt(frame) * BigInt(sampleRate) * BigInt(header.fpsDen)) / BigInt(header.fpsNum));
}

/** Samples per channel of a segment's audio at `sampleRate`: the audo chunk's sampleCount. */
export function segmentSampleCount(segment: Pick<SegmentData, 'startFrame' | 'frameCount'>, header: Pick<BitstreamHeader, 'fpsNum' | 'fpsDen'>, sampleRate: number): number {
  return audioSampleAt(segment.startFrame + segment.frameCount, header, sampleRate) - audioSampleAt(segment.startFrame, header, sampleRate);
}

/** The codec, channel count and sample rate, which every audo chunk of one stream shares. */
export type AudioFormat = Pick<SegmentAudio, 'codec' | 'channels' | 'sampleRate'>;

export const sameAudioFormat = (a: AudioFormat, b: AudioFormat): boolean => a.codec === b.codec && a.channels === b.channels && a.sampleRate === b.sampleRate;

/** Bytes of an audo chunk's data for `audio`. */
export function audioDataBytes(audio: Pick<SegmentAudio, 'packets'>): number {
  return AUDO_FIXED_BYTES + audio.packets.reduce((n, p) => n + varintBytes(p.length) + p.length, 0);
}

/** Bytes an audo chunk adds to a stream, framing included. */
export const audioChunkBytes = (audio: Pick<SegmentAudio, 'packets'>): number => CHUNK_OVERHEAD_BYTES + audioDataBytes(audio);

export function encodeAudio(a: SegmentAudio): Uint8Array {
  const w = new ByteWriter(audioDataBytes(a))
    .u8(AUDIO_CODEC_IDS[a.codec]) // codec
    .u8(a.channels) // channels
    .u32(a.sampleRate) // samples per second
    .u32(a.preSkip) // samples to drop from the decoded start
    .u32(a.sampleCount); // samples kept: the segment's duration
  for (const p of a.packets) w.varint(p.length).bytes(p); // packet length, packet
  return w.finish();
}

/** What decodeAudio checks a chunk against: its segment's frames, the stream's timing and limits. */
export interface AudioContextInfo {
  segment: Pick<SegmentData, 'startFrame' | 'frameCount'>;
  header: Pick<BitstreamHeader, 'fpsNum' | 'fpsDen'>;
  limits: Pick<BitstreamLimits, 'maxAudioBytes' | 'maxAudioPacketBytes'>;
  onAllocate?: ReadOptions['onAllocate'];
}

/** Decodes an audo chunk's data, checking every rule of docs/bitstream.md ("audo") but stream-wide consistency. */
export function decodeAudio(data: Uint8Array, offset: number, context: AudioContextInfo): SegmentAudio {
  const r = new ByteCursor(data, CHUNK_AUDO, offset);
  const codecAt = r.absolute;
  const codecId = r.u8('codec');
  const codec = AUDIO_CODECS[codecId];
  if (codec === undefined) return r.fail(`unknown audio codec ${codecId}`, { field: 'codec', got: codecId }, codecAt);
  const channelsAt = r.absolute;
  const channels = r.u8('channels');
  if (channels < 1 || channels > AUDIO_MAX_CHANNELS) r.fail(`audio channels must be 1 or 2, got ${channels}`, { field: 'channels', got: channels }, channelsAt);
  const rateAt = r.absolute;
  const sampleRate = r.u32('sample rate');
  if (sampleRate !== OPUS_SAMPLE_RATE) r.fail(`Opus audio has a sample rate of ${OPUS_SAMPLE_RATE}, not ${sampleRate}`, { field: 'sampleRate', got: sampleRate }, rateAt);
  const preSkip = r.u32('pre-skip');
  const countAt = r.absolute;
  const sampleCount = r.u32('sample count');
  const expected = segmentSampleCount(context.segment, context.header, sampleRate);
  if (sampleCount !== expected) {
    r.fail(`audio sample count ${sampleCount} is not the segment's ${expected} samples (its frames at ${sampleRate} Hz)`, { field: 'sampleCount', expected, got: sampleCount }, countAt);
  }
  checkLimit(r.remaining, context.limits.maxAudioBytes, 'maxAudioBytes', { chunk: CHUNK_AUDO, offset });
  context.onAllocate?.(r.remaining, 'audio');
  const packets: Uint8Array[] = [];
  const needed = preSkip + sampleCount;
  let decoded = 0;
  while (r.remaining > 0) {
    const at = r.absolute;
    if (decoded >= needed) r.fail(`audio packet ${packets.length} follows packets that already give the ${needed} samples needed`, { field: `packets[${packets.length}]` }, at);
    const length = r.varint(`packets[${packets.length}] length`);
    if (length < 1) r.fail(`audio packet ${packets.length} is empty`, { field: `packets[${packets.length}]` }, at);
    checkLimit(length, context.limits.maxAudioPacketBytes, 'maxAudioPacketBytes', { chunk: CHUNK_AUDO, offset: at });
    const packet = r.bytesView(length, `packets[${packets.length}]`).slice();
    const samples = opusPacketSamples(packet);
    if (typeof samples === 'string') r.fail(`audio packet ${packets.length}: ${samples}`, { field: `packets[${packets.length}]` }, at);
    decoded += samples as number;
    packets.push(packet);
  }
  if (decoded < needed) r.fail(`the audio packets decode to ${decoded} samples, fewer than pre-skip ${preSkip} + sample count ${sampleCount}`, { field: 'packets', expected: needed, got: decoded });
  const audio: SegmentAudio = { codec, channels, sampleRate, preSkip, sampleCount, packets };
  chunkPlaces.set(audio, { offset, length: data.length });
  return audio;
}

/** Where each audo chunk's data read by this module lies in the stream it was read from (the audio objects are the keys). */
const chunkPlaces = new WeakMap<SegmentAudio, { offset: number; length: number }>();

/**
 * Where the audo chunk's data that `audio` was read from lies in its stream (bytes), so it can be fetched from the
 * stored stream by range; undefined for audio made any other way. The data is `encodeAudio(audio)` byte for byte.
 */
export function audioChunkPlace(audio: SegmentAudio): { offset: number; length: number } | undefined {
  return chunkPlaces.get(audio);
}

/** Writer-side rules for a segment's audio (the reader enforces the same ones); `format` is the stream's, once one segment set it. */
export function checkAudio(a: SegmentAudio, segment: SegmentData, header: BitstreamHeader, limits: BitstreamLimits, field: string, fail: Fail, format?: AudioFormat): void {
  if (a === null || typeof a !== 'object') fail(`${field} must be an object`, field);
  if (!Object.hasOwn(AUDIO_CODEC_IDS, a.codec)) fail(`${field}.codec must be opus, got ${String(a.codec)}`, `${field}.codec`);
  if (!Number.isInteger(a.channels) || a.channels < 1 || a.channels > AUDIO_MAX_CHANNELS) fail(`${field}.channels must be 1 or 2, got ${String(a.channels)}`, `${field}.channels`);
  if (a.sampleRate !== OPUS_SAMPLE_RATE) fail(`${field}.sampleRate must be ${OPUS_SAMPLE_RATE} for Opus, got ${String(a.sampleRate)}`, `${field}.sampleRate`);
  if (format !== undefined && !sameAudioFormat(a, format)) fail(`${field} is ${a.codec} ${a.channels} ch ${a.sampleRate} Hz, unlike the stream's ${format.codec} ${format.channels} ch ${format.sampleRate} Hz`, field);
  checkU32(a.preSkip, `${field}.preSkip`, fail, 0);
  const expected = segmentSampleCount(segment, header, a.sampleRate);
  if (a.sampleCount !== expected) fail(`${field}.sampleCount must be the segment's ${expected} samples, got ${String(a.sampleCount)}`, `${field}.sampleCount`);
  if (!Array.isArray(a.packets) || a.packets.length < 1) fail(`${field}.packets must be a non-empty array`, `${field}.packets`);
  let decoded = 0;
  let bytes = 0;
  a.packets.forEach((p, i) => {
    const f = `${field}.packets[${i}]`;
    if (!(p instanceof Uint8Array) || p.length < 1 || p.length > limits.maxAudioPacketBytes) fail(`${f} must be 1–${limits.maxAudioPacketBytes} bytes`, f);
    if (decoded >= a.preSkip + a.sampleCount) fail(`${f} follows packets that already give the samples needed`, f);
    const samples = opusPacketSamples(p);
    if (typeof samples === 'string') fail(`${f}: ${samples}`, f);
    decoded += samples as number;
    bytes += varintBytes(p.length) + p.length;
  });
  if (decoded < a.preSkip + a.sampleCount) fail(`${field}.packets decode to ${decoded} samples, fewer than preSkip + sampleCount = ${a.preSkip + a.sampleCount}`, `${field}.packets`);
  if (bytes > limits.maxAudioBytes) fail(`${field}.packets are ${bytes} bytes, over the limit of ${limits.maxAudioBytes}`, `${field}.packets`);
}

/** A stream's sound, as the video view and inspect report it; null for a silent stream. */
export interface AudioSummary extends AudioFormat {
  /** Bytes of the stream's audo chunks, framing included. */
  bytes: number;
  /** Segments that carry audio. */
  segments: number;
}

export function audioSummary(segments: readonly Pick<SegmentData, 'audio'>[]): AudioSummary | null {
  let summary: AudioSummary | null = null;
  for (const s of segments) {
    if (s.audio === undefined) continue;
    summary ??= { codec: s.audio.codec, channels: s.audio.channels, sampleRate: s.audio.sampleRate, bytes: 0, segments: 0 };
    summary.bytes += audioChunkBytes(s.audio);
    summary.segments++;
  }
  return summary;
}
