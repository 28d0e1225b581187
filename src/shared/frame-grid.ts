/**
 * Where a reconstruction's frames fall: how many a segment has at the asked frame rate, and which output frame each
 * keyframe lands on. The Worker plans generate requests with these and the client decoder places keyframes with
 * them, so a browser renders what the GPU would.
 */

/**
 * A segment's keyframes on an output grid of `frameCount` frames at `fps`: each `frameIndex` (at the source
 * frame rate) mapped to the nearest output frame, clamped into the segment. Two keyframes landing on one output
 * frame keep the higher priority (the earlier on a tie), so the list stays sorted and unique as the contract
 * requires.
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

/** How many frames a segment of `frameCount` source frames at `sourceFps` has at `fps` (at least one). */
export function framesAtRate(frameCount: number, sourceFps: number, fps: number): number {
  return Math.max(1, Math.round((frameCount * fps) / sourceFps));
}
