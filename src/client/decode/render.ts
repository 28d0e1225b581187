/**
 * IT2V and TT2V frames without a model: mirrors `from_keyframes`, `along_motion` and `paint` in
 * gpu-functions/cmvc_gpu/engines/reference/render.py, and `pair_shift`, `in_between` in gpu-functions/cmvc_gpu/media/inbetween.py.
 */
import type { Content } from './content-text';
import type { FrameRecipe, RecipeAt } from './frame-recipe';
import { frameMotion, phaseShift } from './global-motion';
import { analysisGrey } from './grey';
import type { RgbImage } from './image';
import { scaleAt, type Motion } from './motion-text';
import { resize8, resizeFloat } from './resize';
import { warpPlan } from './warp';

/** Phase-correlation peak under which two keyframes are taken to show different content, not moved content. */
const MIN_MATCH_PEAK = 0.15;
/** Texture amplitude (grey levels) painted under each contrast word. */
const TEXTURE_AMPLITUDE: Record<string, number> = { low: 6, medium: 12, high: 20 };

export type Shift = [dx: number, dy: number, scale: number];

/** A keyframe on the output grid: the frame it shows and its pixels at the output size. */
export interface PlacedKeyframe {
  frameIndex: number;
  image: RgbImage;
}

/** `image` resampled (Pillow bicubic) to `width` x `height`. */
export function resizeImage(image: RgbImage, width: number, height: number): RgbImage {
  if (image.width === width && image.height === height) return image;
  return { width, height, data: resize8(image.data, image.width, image.height, 3, width, height) };
}

/** The content motion from `a` to `b` in their pixels; none when the two do not correlate (the content changed). */
export function pairShift(a: RgbImage, b: RgbImage): Shift {
  const { plane: ga, factor } = analysisGrey(a);
  const { plane: gb } = analysisGrey(b);
  const whole = phaseShift(ga, gb);
  if (whole[2] < MIN_MATCH_PEAK) return [0, 0, 1];
  const [dx, dy, s] = frameMotion(ga, gb, whole);
  return [dx * factor, dy * factor, s];
}

/** The frame a fraction `t` (0..1) of the way from `a` to `b`: both moved along `shift`, blended by distance. */
export function inBetween(a: RgbImage, b: RgbImage, shift: Shift, t: number): FrameRecipe {
  const [dx, dy, s] = shift;
  const { width, height } = a;
  return {
    kind: 'blend',
    a,
    planA: warpPlan(width, height, -dx * t, -dy * t, s ** t),
    weightA: Math.fround(1 - t),
    b,
    planB: warpPlan(width, height, dx * (1 - t), dy * (1 - t), s ** (t - 1)),
    weightB: Math.fround(t),
  };
}

function along(image: RgbImage, motion: Motion, t: number): FrameRecipe {
  return { kind: 'warp', image, plan: warpPlan(image.width, image.height, motion.panX * image.width * t, motion.panY * image.height * t, scaleAt(motion, t)) };
}

/**
 * Frames at `fps` from keyframes (sorted, unique frame indices, one size) and `shifts[n]`, the motion from
 * keyframe n to n + 1 (`pairShift`): each keyframe at its frame; between two, both motion-compensated towards the
 * frame and blended; before the first and after the last, that keyframe moved along `motion` (its rates; frame
 * indices place keyframes).
 */
export function fromKeyframes(keyframes: PlacedKeyframe[], shifts: Shift[], motion: Motion, fps: number): RecipeAt {
  if (shifts.length !== keyframes.length - 1) throw new Error(`${keyframes.length} keyframes need ${keyframes.length - 1} shifts, got ${shifts.length}`);
  return (i) => {
    let right = 0;
    while (right < keyframes.length && (keyframes[right] as PlacedKeyframe).frameIndex < i) right++;
    const next = keyframes[right];
    if (next !== undefined && next.frameIndex === i) return { kind: 'still', image: next.image };
    if (right === 0 || right === keyframes.length) {
      const k = (right === 0 ? keyframes[0] : keyframes.at(-1)) as PlacedKeyframe;
      return along(k.image, motion, (i - k.frameIndex) / fps);
    }
    const a = keyframes[right - 1] as PlacedKeyframe;
    const b = next as PlacedKeyframe;
    return inBetween(a.image, b.image, shifts[right - 1] as Shift, (i - a.frameIndex) / (b.frameIndex - a.frameIndex));
  };
}

/** Frames at `fps` moving as `motion`; `image` is the view `motion.keyframeSeconds` into the segment. */
export function alongMotion(image: RgbImage, motion: Motion, fps: number): RecipeAt {
  return (i) => along(image, motion, i / fps - motion.keyframeSeconds);
}

/**
 * Standard normal deviates from a 32-bit seed (mulberry32 + Box–Muller): the reference engine's
 * `seeded_normals` (gpu-functions/cmvc_gpu/engines/reference/render.py) draws exactly these, so the
 * TT2V texture agrees with the reference as the rest of the frame does.
 */
function normals(seed: number, n: number): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (((z ^ (z >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** A frame painted from a content text: the 3x3 colour grid upsampled (Pillow bicubic) plus a smooth seeded texture. */
export function paint(content: Content, width: number, height: number, seed: number): RgbImage {
  const grid = new Uint8Array(content.grid.flat());
  const base = resize8(grid, 3, 3, 3, width, height);
  const texture = new Float32Array(width * height);
  let layer = 0;
  for (const [cell, weight] of [
    [8, 1.0],
    [24, 0.5],
  ] as const) {
    const nh = Math.max(2, Math.floor(height / cell));
    const nw = Math.max(2, Math.floor(width / cell));
    const noise = resizeFloat(normals((seed + layer++ * 0x9e3779b9) >>> 0, nw * nh), nw, nh, width, height);
    for (let i = 0; i < texture.length; i++) texture[i] = (texture[i] as number) + weight * (noise[i] as number);
  }
  let peak = 0;
  for (const v of texture) peak = Math.max(peak, Math.abs(v));
  const amplitude = (TEXTURE_AMPLITUDE[content.contrast] ?? TEXTURE_AMPLITUDE.medium) as number;
  const scale = amplitude / (peak + 1e-6);
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < texture.length; p++) {
    const t = (texture[p] as number) * scale;
    for (let c = 0; c < 3; c++) {
      const v = Math.floor((base[p * 3 + c] as number) + t + 0.5);
      data[p * 3 + c] = Math.min(Math.max(v, 0), 255);
    }
  }
  return { width, height, data };
}
