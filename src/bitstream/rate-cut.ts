/**
 * Cutting by rate (docs/bitstream.md, "Profiles and cuts"): which keyframes a stream keeps to fit in a
 * number of kilobits per second, dropping them lowest priority first (keyframes.ts, dropOrder), and then
 * its audio if it still does not fit. The edge cutter and the artifact keys both use this one plan, so
 * they agree on what a rate keeps.
 */
import { audioSummary } from './audio';
import { CHUNK_OVERHEAD_BYTES, KFRM_FIXED_BYTES, KFRX_FIXED_BYTES, KPOS_BYTES } from './chunks';
import { anchorOf, dropOrder } from './keyframes';
import { sidxBytes } from './codec';
import type { Bitstream, BitstreamIndex, SegmentData } from './types';

/** What a rate cut keeps. */
export interface RatePlan {
  /** Per segment of the input, the frame indices of the keyframes kept. */
  kept: number[][];
  /** Keyframes dropped (a prefix of the drop order: equal counts mean equal cuts). */
  dropped: number;
  /** Per segment of the input, how many of its keyframes were dropped. */
  droppedPerSegment: number[];
  /** Whether the audio was dropped too (every keyframe went and the stream still did not fit); false for a silent stream. */
  audioDropped: boolean;
  /** Bytes of the cut, at most (exact for v1.1 streams; a v1.0 keyframe is counted with a kpos it lacks). */
  bytes: number;
  /** Seconds the segments cover (frames ÷ frame rate). */
  seconds: number;
  /** Achieved rate: bytes × 8 / seconds / 1000. */
  kbps: number;
  /** The rate with every keyframe and the audio dropped (texts only). */
  floorKbps: number;
}

/** Bytes a keyframe adds to a stream: KFRM + kpos for the anchor, kfrx for the others. */
export function keyframeCost(segment: SegmentData, index: number): number {
  const k = segment.keyframes[index]!;
  const anchor = anchorOf(segment.keyframes) === k;
  return anchor ? 2 * CHUNK_OVERHEAD_BYTES + KFRM_FIXED_BYTES + KPOS_BYTES + k.data.length : CHUNK_OVERHEAD_BYTES + KFRX_FIXED_BYTES + k.data.length;
}

/** Seconds covered by `segments` at the header's frame rate. */
export function segmentSeconds(b: Bitstream, segments: readonly SegmentData[] = b.segments): number {
  return (segments.reduce((n, s) => n + s.frameCount, 0) * b.header.fpsDen) / b.header.fpsNum;
}

export const kbpsOf = (bytes: number, seconds: number): number => (bytes * 8) / seconds / 1000;

/**
 * The keyframes `b` (whose serialised size is `totalBytes`) keeps at or under `maxKbps`, and whether it keeps
 * its audio: keyframes go first, lowest priority first; when the stream does not fit even with every keyframe gone,
 * the audio goes instead, and only the keyframes the budget then needs; below the texts-only floor every keyframe
 * and the audio go.
 * `b` is what readBitstream returned for those bytes.
 */
export function planRateCut(b: Bitstream, totalBytes: number, maxKbps: number): RatePlan {
  if (!(maxKbps > 0)) throw new RangeError(`maxKbps must be positive, got ${maxKbps}`);
  const seconds = segmentSeconds(b);
  const budget = Math.floor((maxKbps * 1000 * seconds) / 8);
  const keepSets = b.segments.map((s) => new Set(s.keyframes.map((k) => k.frameIndex)));
  const order = dropOrder(b.segments);
  let bytes = totalBytes;
  const costs = order.map(({ segment, index }) => keyframeCost(b.segments[segment]!, index));
  const audioBytes = audioSummary(b.segments)?.bytes ?? 0;
  const floorBytes = totalBytes - costs.reduce((n, c) => n + c, 0) - audioBytes;
  // keyframes go lowest priority first; when even none would fit beside the sound, the sound goes, and then only as
  // many keyframes as the budget without it needs (a shorter prefix of the same order)
  const audioDropped = audioBytes > 0 && totalBytes - costs.reduce((n, c) => n + c, 0) > budget;
  if (audioDropped) bytes -= audioBytes;
  let dropped = 0;
  while (bytes > budget && dropped < order.length) {
    const { segment, index } = order[dropped]!;
    keepSets[segment]!.delete(b.segments[segment]!.keyframes[index]!.frameIndex);
    bytes -= costs[dropped]!;
    dropped++;
  }
  const kept = keepSets.map((set) => [...set].sort((x, y) => x - y));
  const droppedPerSegment = b.segments.map((s, n) => s.keyframes.length - kept[n]!.length);
  return { kept, dropped, droppedPerSegment, audioDropped, bytes, seconds, kbps: kbpsOf(bytes, seconds), floorKbps: kbpsOf(floorBytes, seconds) };
}

/** True when `plan` changes anything: a keyframe or the audio dropped. */
export const ratePlanCuts = (plan: Pick<RatePlan, 'dropped' | 'audioDropped'>): boolean => plan.dropped > 0 || plan.audioDropped;

/** `b` without its audio (what a cut that drops the audio leaves). */
export function withoutAudio(b: Bitstream): Bitstream {
  return { header: b.header, segments: b.segments.map(({ audio: _audio, ...s }) => s) };
}

/** `b` with only the keyframes `plan` keeps, and its audio unless the plan drops it (the content of the cut stream). */
export function applyRatePlan(b: Bitstream, plan: Pick<RatePlan, 'kept'> & Partial<Pick<RatePlan, 'audioDropped'>>): Bitstream {
  const cut = {
    header: b.header,
    segments: b.segments.map((s, n) => {
      const keep = new Set(plan.kept[n]);
      return { ...s, keyframes: s.keyframes.filter((k) => keep.has(k.frameIndex)) };
    }),
  };
  return plan.audioDropped ? withoutAudio(cut) : cut;
}

/** Bytes of the stream `cutBitstream(…, { segments: [n, n] })` makes of the stream whose index is `index`. */
export function oneSegmentBytes(index: BitstreamIndex, n: number): number {
  const entry = index.segments[n];
  if (entry === undefined) throw new RangeError(`segment ${n} does not exist; the index has ${index.segments.length}`);
  const segmentBytes = index.segments.reduce((sum, s) => sum + s.length, 0);
  return index.totalBytes - segmentBytes - sidxBytes(index.segments.length) + sidxBytes(1) + entry.length;
}

/**
 * The rate cut of segment `n` asked alone (a segment's reconstruction, an HLS segment, `?segments=n` of the
 * bitstream): planned over that segment's own stream and budget, not the whole video's (a live video's whole grows,
 * and a player choosing each segment's rate asks for one segment). Shaped as a plan of the whole stream whose other
 * segments keep everything, so it applies and keys like any plan.
 */
export function planSegmentRateCut(b: Bitstream, index: BitstreamIndex, n: number, maxKbps: number): RatePlan {
  const segment = b.segments[n];
  if (segment === undefined) throw new RangeError(`segment ${n} does not exist; the stream has ${b.segments.length}`);
  const alone = planRateCut({ header: b.header, segments: [segment] }, oneSegmentBytes(index, n), maxKbps);
  return {
    ...alone,
    kept: b.segments.map((s, i) => (i === n ? (alone.kept[0] as number[]) : s.keyframes.map((k) => k.frameIndex))),
    droppedPerSegment: b.segments.map((_, i) => (i === n ? (alone.droppedPerSegment[0] as number) : 0)),
  };
}
