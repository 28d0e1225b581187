import type { Keyframe as BitstreamKeyframe } from '../bitstream';
import type { Keyframe } from '../gpu/contract';
import { bytesToBase64 } from '../http/base64';

/**
 * A segment's keyframes for a generate request: each `frameIndex` (at the source frame rate) mapped onto
 * the request's output grid of `frameCount` frames at `fps`, nearest frame, clamped into the segment. Two
 * keyframes landing on one output frame keep the higher priority (the earlier on a tie), so the list stays
 * sorted and unique as the contract requires.
 */
export function keyframesOnGrid(keyframes: readonly BitstreamKeyframe[], sourceFps: number, fps: number, frameCount: number): Keyframe[] {
  const out: Keyframe[] = [];
  for (const k of keyframes) {
    const frameIndex = Math.min(frameCount - 1, Math.max(0, Math.round((k.frameIndex * fps) / sourceFps)));
    const mapped: Keyframe = { codec: k.codec as Keyframe['codec'], width: k.width, height: k.height, data: bytesToBase64(k.data), frameIndex, priority: k.priority };
    const last = out.at(-1);
    if (last?.frameIndex !== frameIndex) out.push(mapped);
    else if (k.priority > last.priority) out[out.length - 1] = mapped;
  }
  return out;
}
