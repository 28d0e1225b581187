/**
 * The camera move applied to an image: mirrors `warp` and `_reflect` in
 * gpu-functions/cmvc_gpu/engines/reference/render.py (bilinear, separable per axis, mirrored at the borders).
 */
import type { RgbImage } from './image';

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

function reflect(coord: number, n: number): number {
  const m = n - 1;
  if (m <= 0) return 0;
  const c = Math.abs(coord) % (2 * m);
  return c > m ? 2 * m - c : c;
}

function axis(n: number, scale: number, shift: number): Axis {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  const centre = (n - 1) / 2;
  for (let i = 0; i < n; i++) {
    const c = reflect(Math.fround(Math.fround(Math.fround(i - centre) / scale) + centre + shift), n);
    const lo = Math.floor(c);
    i0[i] = lo;
    i1[i] = Math.min(lo + 1, n - 1);
    f[i] = c - lo;
  }
  return { i0, i1, f };
}

/**
 * The image as seen by a camera moved by `(shiftX, shiftY)` pixels (positive: right, down; the content moves
 * the other way) and zoomed by `scale` about the centre (above 1: zoom in), into `out` (allocated when absent).
 */
export function warp(image: RgbImage, shiftX: number, shiftY: number, scale: number, out = new Uint8Array(image.data.length)): Uint8Array {
  const { width: w, height: h, data } = image;
  const xs = axis(w, scale, shiftX);
  const ys = axis(h, scale, shiftY);
  const stride = w * 3;
  for (let y = 0; y < h; y++) {
    const fy = ys.f[y] as number;
    const gy = 1 - fy;
    const r0 = (ys.i0[y] as number) * stride;
    const r1 = (ys.i1[y] as number) * stride;
    let o = y * stride;
    for (let x = 0; x < w; x++) {
      const fx = xs.f[x] as number;
      const gx = 1 - fx;
      const c0 = (xs.i0[x] as number) * 3;
      const c1 = (xs.i1[x] as number) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const left = (data[r0 + c0 + ch] as number) * gy + (data[r1 + c0 + ch] as number) * fy;
        const right = (data[r0 + c1 + ch] as number) * gy + (data[r1 + c1 + ch] as number) * fy;
        const v = Math.floor(left * gx + right * fx + 0.5);
        out[o++] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}
