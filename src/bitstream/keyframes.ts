/**
 * Keyframe rules of bitstream v1.1 (docs/bitstream.md, "KFRM, kpos, kfrx"): which keyframe is a segment's
 * anchor (its KFRM), the order keyframes are dropped in, and where a v1.0 keyframe sits.
 */
import type { Keyframe, SegmentData } from './types';
import { checkU32, type Fail } from './validate';

/**
 * The anchor of a segment's keyframes: the one kept longest (highest priority; on a tie the lowest frame
 * index). It travels as KFRM, so a v1.0 reader still sees one keyframe per segment.
 */
export function anchorOf(keyframes: readonly Keyframe[]): Keyframe | undefined {
  let best: Keyframe | undefined;
  for (const k of keyframes) if (best === undefined || k.priority > best.priority) best = k;
  return best;
}

/** Writer-side rules for a segment's keyframes (the reader enforces the same ones chunk by chunk). */
export function checkKeyframes(keyframes: unknown, frameCount: number, field: string, maxKeyframes: number, fail: Fail): void {
  if (!Array.isArray(keyframes)) fail(`${field} must be an array`, field);
  const list = keyframes as unknown[];
  if (list.length > maxKeyframes) fail(`${field} has ${list.length} keyframes, over the limit of ${maxKeyframes}`, field);
  let previous = -1;
  list.forEach((k, i) => {
    const f = `${field}[${i}]`;
    if (k === null || typeof k !== 'object') fail(`${f} must be an object`, f);
    const { frameIndex, priority } = k as Keyframe;
    checkU32(frameIndex, `${f}.frameIndex`, fail, 0);
    if (frameIndex >= frameCount) fail(`${f}.frameIndex ${frameIndex} is outside the segment's ${frameCount} frames`, `${f}.frameIndex`);
    if (frameIndex <= previous) fail(`${f}.frameIndex ${frameIndex} must be above the previous keyframe's ${previous} (sorted, unique)`, `${f}.frameIndex`);
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) fail(`${f}.priority must be an integer in [0, 255], got ${String(priority)}`, `${f}.priority`);
    previous = frameIndex;
  });
}

/** A keyframe's place in a stream: segment `segment`, position `index` in that segment's `keyframes`. */
export interface KeyframeRef {
  segment: number;
  index: number;
}

/**
 * Every keyframe in the order a rate cut drops them: lowest priority first; on a tie a segment's other
 * keyframes before its anchor (so a segment never keeps extras without its KFRM), then later segments and
 * later frames first. Dropping any prefix of this order leaves a valid stream.
 */
export function dropOrder(segments: readonly SegmentData[]): KeyframeRef[] {
  const refs: (KeyframeRef & { priority: number; anchor: boolean; frameIndex: number })[] = [];
  segments.forEach((s, segment) => {
    const anchor = anchorOf(s.keyframes);
    s.keyframes.forEach((k, index) => {
      refs.push({ segment, index, priority: k.priority, anchor: k === anchor, frameIndex: k.frameIndex });
    });
  });
  refs.sort((a, b) => a.priority - b.priority || Number(a.anchor) - Number(b.anchor) || b.segment - a.segment || b.frameIndex - a.frameIndex);
  return refs.map(({ segment, index }) => ({ segment, index }));
}

const KEYFRAME_CLAUSE = /keyframe at (\d+(?:\.\d+)?) s/;

/**
 * Where a v1.0 keyframe (a KFRM with no kpos) sits: v1.0 writers said it in the motion text ("keyframe at
 * 1.50 s"); without that clause it shows the segment's first frame. Clamped into the segment.
 */
export function legacyFrameIndex(motionText: string, frameCount: number, fps: number): number {
  const match = KEYFRAME_CLAUSE.exec(motionText);
  if (match === null) return 0;
  return Math.min(frameCount - 1, Math.max(0, Math.round(Number(match[1]) * fps)));
}
