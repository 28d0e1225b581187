import type { Keyframe as BitstreamKeyframe } from '../bitstream';
import type { Keyframe } from '../gpu/contract';
import { onOutputGrid } from '../shared/frame-grid';

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
 * A segment's keyframes for a generate request, on the output grid (shared/frame-grid.ts): images up to
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
