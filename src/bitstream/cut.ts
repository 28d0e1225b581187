import { CHUNK_AUDO, CHUNK_CTXT, CHUNK_HEAD, CHUNK_KFRM, CHUNK_KFRX, CHUNK_KPOS, CHUNK_MTXT, CHUNK_SEGP } from './chunks';
import { assembleChunks, type SegmentNodes } from './writer';
import { invariant } from './errors';
import { resolveLimits, type ReadOptions } from './limits';
import { planRateCut, ratePlanCuts, withoutAudio, type RatePlan } from './rate-cut';
import { readBitstream } from './reader';
import type { Bitstream } from './types';
import { walkChunks, type ChunkInfo } from './walk';

export type BitstreamProfile = 'full' | 'tt2v';

export interface CutOptions {
  /** First and last segment to keep, 0-based, inclusive. Default: all. */
  segments?: [number, number];
  /** 'tt2v' drops keyframes (text-only decoding). Default 'full'. */
  profile?: BitstreamProfile;
  /** Drop keyframes, lowest priority first, then the audio, until the kept segments fit in this many kilobits per second. */
  maxKbps?: number;
  /** false drops the audio (a silent stream). Default true. */
  audio?: boolean;
}

export interface CutResult {
  bytes: Uint8Array;
  /** The whole input as read. */
  parsed: Bitstream;
  /** The rate plan, when `maxKbps` was given (its `kbps` is the cut's achieved rate). */
  rate?: RatePlan;
}

/** The frame index a keyframe chunk's data names (kpos and kfrx both start with it). */
const frameIndexOf = (c: ChunkInfo) => new DataView(c.data.buffer, c.data.byteOffset, 4).getUint32(0);

/**
 * A smaller valid bitstream: the chosen segments, without keyframes for 'tt2v', without the keyframes (and
 * perhaps the audio) a rate cut drops, without audio for `audio: false`. The header is kept as is (segments keep their frame numbers in the source video); chunks
 * are copied byte for byte, SIDX is rebuilt, unknown ancillary chunks are dropped. Invalid input throws
 * BitstreamError; a segment range outside the stream is a RangeError (check it against the index first).
 */
export function cutBitstream(bytes: Uint8Array, opts: CutOptions = {}, options: ReadOptions = {}): Uint8Array {
  return cutBitstreamWithPlan(bytes, opts, options).bytes;
}

export function cutBitstreamWithPlan(bytes: Uint8Array, opts: CutOptions = {}, options: ReadOptions = {}): CutResult {
  const parsed = readBitstream(bytes, options);
  const count = parsed.segments.length;
  const [first, last] = opts.segments ?? [0, count - 1];
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first || last >= count) {
    throw new RangeError(`segments [${first}, ${last}] is not a range within 0–${count - 1}`);
  }
  const profile = opts.profile ?? 'full';
  if (profile !== 'full' && profile !== 'tt2v') throw new RangeError(`profile must be 'full' or 'tt2v', got ${String(profile)}`);
  const keep = new Set([CHUNK_SEGP, CHUNK_CTXT, CHUNK_MTXT, ...(profile === 'full' ? [CHUNK_KFRM, CHUNK_KPOS, CHUNK_KFRX] : []), ...(opts.audio === false ? [] : [CHUNK_AUDO])]);
  const { chunks } = walkChunks(bytes, { checkCrc: false }); // readBitstream has verified them
  const head = chunks.find((c) => c.type === CHUNK_HEAD);
  invariant(head !== undefined, 'a valid stream has HEAD');
  const segments: (SegmentNodes & { sources: ChunkInfo[] })[] = [];
  for (const c of chunks) {
    if (c.type === CHUNK_SEGP) {
      const s = parsed.segments[segments.length];
      invariant(s !== undefined, 'one SEGP per parsed segment');
      segments.push({ startFrame: s.startFrame, frameCount: s.frameCount, chunks: [], sources: [] });
    }
    if (keep.has(c.type)) segments[segments.length - 1]?.sources.push(c);
  }
  invariant(segments.length === count, 'walked as many segments as parsed');
  const limits = resolveLimits(options);
  const headNode = { type: head.type, data: head.data, crc: head.crc };
  const chosen = segments.slice(first, last + 1);
  const build = (kept?: number[][], audio = true) =>
    assembleChunks(
      headNode,
      chosen.map((s, n) => {
        const keepFrames = kept === undefined ? undefined : new Set(kept[n]);
        const anchorIndex = keepFrames !== undefined && parsed.segments[first + n]!.keyframes.length > 0 ? anchorFrameOf(s.sources, parsed, first + n) : -1;
        const wanted = (c: ChunkInfo) => {
          if (c.type === CHUNK_AUDO) return audio;
          if (keepFrames === undefined) return true;
          if (c.type === CHUNK_KFRM || c.type === CHUNK_KPOS) return keepFrames.has(anchorIndex);
          if (c.type === CHUNK_KFRX) return keepFrames.has(frameIndexOf(c));
          return true;
        };
        return { startFrame: s.startFrame, frameCount: s.frameCount, chunks: s.sources.filter(wanted).map((c) => ({ type: c.type, data: c.data, crc: c.crc })) };
      }),
      limits,
    );
  const whole = build();
  if (opts.maxKbps === undefined || profile === 'tt2v') return { bytes: whole, parsed };
  const selected: Bitstream = { header: parsed.header, segments: parsed.segments.slice(first, last + 1) };
  const rate = planRateCut(opts.audio === false ? withoutAudio(selected) : selected, whole.length, opts.maxKbps);
  return { bytes: ratePlanCuts(rate) ? build(rate.kept, !rate.audioDropped) : whole, parsed, rate };
}

/** The frame index of a segment's KFRM: from its kpos, or (v1.0) the one keyframe the reader placed. */
function anchorFrameOf(sources: ChunkInfo[], parsed: Bitstream, n: number): number {
  const kpos = sources.find((c) => c.type === CHUNK_KPOS);
  if (kpos !== undefined) return frameIndexOf(kpos);
  const only = parsed.segments[n]!.keyframes;
  invariant(only.length === 1, 'a segment without kpos has one keyframe');
  return only[0]!.frameIndex;
}
