import type { Keyframe as BitstreamKeyframe } from '../bitstream';
import type { Keyframe } from '../gpu/contract';

/**
 * A segment's keyframes on an output grid of `frameCount` frames at `fps`: each `frameIndex` (at the source
 * frame rate) mapped to the nearest output frame, clamped into the segment. Two keyframes landing on one output
 * frame keep the higher priority (the earlier on a tie), so the list stays sorted and unique as the contract
 * requires. The client decoder places keyframes with the same function, so it renders what the GPU would.
 */
export function onOutputGrid<K extends { frameIndex: number; priority: number }>(keyframes: readonly K[], sourceFps: number, fps: number, frameCount: number): K[] {
  const out: K[] = [];
  for (const k of keyframes) {
    const frameIndex = Math.min(frameCount - 1, Math.max(0, Math.round((k.frameIndex * fps) / sourceFps)));
    const mapped = { ...k, frameIndex };
    const last = out.at(-1);
    if (last?.frameIndex !== frameIndex) out.push(mapped);
    else if (k.priority > last.priority) out[out.length - 1] = mapped;
  }
  return out;
}

/** Largest keyframe image a generation spec carries inline (bytes); a larger one is named by where it is stored. */
export const INLINE_KEYFRAME_BYTES = 64 * 1024;

/** Where an image lies in storage: the object's key and its byte range. */
export interface StoredBytes {
  r2Key: string;
  offset: number;
  length: number;
}

/**
 * A keyframe as a generation spec holds it: a small image's bytes (base64-coded only when a call is
 * made: a request served from cache never codes them), a large one by where it is stored (the
 * coordinator names it by URL when it calls, so it never travels inside a request's JSON).
 */
export type PlannedKeyframe = Omit<Keyframe, 'data'> & ({ image: Uint8Array } | { stored: StoredBytes });

/**
 * A segment's keyframes for a generate request (see {@link onOutputGrid}): images up to
 * INLINE_KEYFRAME_BYTES as their bytes, larger ones by `locate` (where their bytes are stored) when it knows.
 */
export function keyframesOnGrid(
  keyframes: readonly BitstreamKeyframe[],
  sourceFps: number,
  fps: number,
  frameCount: number,
  locate: (image: Uint8Array) => StoredBytes | null = () => null,
): PlannedKeyframe[] {
  return onOutputGrid(keyframes, sourceFps, fps, frameCount).map((k) => {
    const fields = { codec: k.codec as Keyframe['codec'], width: k.width, height: k.height, frameIndex: k.frameIndex, priority: k.priority };
    const stored = k.data.length > INLINE_KEYFRAME_BYTES ? locate(k.data) : null;
    return stored === null ? { ...fields, image: k.data } : { ...fields, stored };
  });
}

/** How many frames a segment of `frameCount` source frames at `sourceFps` has at `fps` (at least one). */
export function framesAtRate(frameCount: number, sourceFps: number, fps: number): number {
  return Math.max(1, Math.round((frameCount * fps) / sourceFps));
}
