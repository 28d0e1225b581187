/** Grey (luma) planes for motion analysis: mirrors `grey` (motion.py) and `analysis_grey` (render.py) of the reference engine. */
import type { RgbImage } from './image';

/** A one-channel float image. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/** Frames are analysed at most this many pixels wide (render.ANALYSIS_WIDTH). */
export const ANALYSIS_WIDTH = 160;

const R = Math.fround(0.299);
const G = Math.fround(0.587);
const B = Math.fround(0.114);

/** Luma (BT.601 weights, rounded to float32 as numpy's float32 grey is) of pixel `i` of RGB `data`. */
const lumaAt = (data: Uint8Array, i: number) => Math.fround((data[i * 3] as number) * R + (data[i * 3 + 1] as number) * G + (data[i * 3 + 2] as number) * B);

/** Luma (BT.601 weights) of an RGB image. */
export function grey(image: RgbImage): Plane {
  const n = image.width * image.height;
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lumaAt(image.data, i);
  return { width: image.width, height: image.height, data };
}

/**
 * Grey at most ANALYSIS_WIDTH wide by integer box averaging (the bottom and right remainders dropped), and the
 * factor. The luma is summed box by box straight from the RGB (the same sums, in the same order, as averaging
 * `grey(image)`), so no full-size plane is made: at 4096x4096 that plane alone was 128 MiB.
 */
export function analysisGrey(image: RgbImage): { plane: Plane; factor: number } {
  const f = Math.max(1, Math.ceil(image.width / ANALYSIS_WIDTH));
  if (f === 1) return { plane: grey(image), factor: 1 };
  const w = Math.floor(image.width / f);
  const h = Math.floor(image.height / f);
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += lumaAt(image.data, (y * f + dy) * image.width + x * f + dx);
      data[y * w + x] = sum / (f * f);
    }
  }
  return { plane: { width: w, height: h, data }, factor: f };
}

/** A sub-rectangle of a plane. */
export function crop(p: Plane, x0: number, y0: number, w: number, h: number): Plane {
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++) data.set(p.data.subarray((y0 + y) * p.width + x0, (y0 + y) * p.width + x0 + w), y * w);
  return { width: w, height: h, data };
}
