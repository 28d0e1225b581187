/**
 * The camera move applied to an image: mirrors `warp` and `_reflect` in
 * gpu-functions/cmvc_gpu/media/inbetween.py (bilinear, separable per axis, mirrored at the borders).
 */
export interface Axis {
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

/** One warp's sampling tables. */
export interface WarpPlan {
  xs: Axis;
  ys: Axis;
}

/** The sampling tables of a camera moved by `(shiftX, shiftY)` pixels and zoomed by `scale` (see `warp`). */
export function warpPlan(width: number, height: number, shiftX: number, shiftY: number, scale: number): WarpPlan {
  return { xs: axis(width, scale, shiftX), ys: axis(height, scale, shiftY) };
}

/**
 * Row `y` of an image through `ys`, interpolated between its two source rows (the vertical half of the bilinear),
 * into `row` as doubles: exactly the `left` and `right` terms of a per-pixel bilinear, each computed once per
 * source column instead of once per output pixel.
 */
function sourceRow(data: Uint8Array, ys: Axis, y: number, stride: number, row: Float64Array): Float64Array {
  const r0 = ys.i0[y]! * stride;
  const r1 = ys.i1[y]! * stride;
  const fy = ys.f[y]!;
  for (let c = 0; c < stride; c++) {
    const v0 = data[r0 + c]!;
    row[c] = v0 + (data[r1 + c]! - v0) * fy;
  }
  return row;
}

/** Output rows `[from, to)` of a frame; `out` then holds only those rows, row `from` first. */
export interface RowRange {
  from: number;
  to: number;
}

/**
 * Two images warped and blended in one pass: `round(warp(a) * weightA + warp(b) * weightB)`, each warp rounded
 * to 8 bits first as the reference does (render.in_between), without the two intermediate frames.
 */
export function warpBlend(a: Uint8Array, planA: WarpPlan, weightA: number, b: Uint8Array, planB: WarpPlan, weightB: number, width: number, height: number, out: Uint8Array, rows: RowRange = { from: 0, to: height }): Uint8Array {
  const stride = width * 3;
  const { i0: xa0, i1: xa1, f: fxa } = planA.xs;
  const { i0: xb0, i1: xb1, f: fxb } = planB.xs;
  const rowA = new Float64Array(stride);
  const rowB = new Float64Array(stride);
  for (let y = rows.from; y < rows.to; y++) {
    sourceRow(a, planA.ys, y, stride, rowA);
    sourceRow(b, planB.ys, y, stride, rowB);
    let o = (y - rows.from) * stride;
    for (let x = 0; x < width; x++) {
      const fA = fxa[x]!;
      const fB = fxb[x]!;
      let la = xa0[x]! * 3;
      let ra = xa1[x]! * 3;
      let lb = xb0[x]! * 3;
      let rb = xb1[x]! * 3;
      for (let ch = 0; ch < 3; ch++) {
        const left = rowA[la++]!;
        const va = Math.floor(left + (rowA[ra++]! - left) * fA + 0.5);
        const leftB = rowB[lb++]!;
        const vb = Math.floor(leftB + (rowB[rb++]! - leftB) * fB + 0.5);
        out[o++] = va * weightA + vb * weightB + 0.5;
      }
    }
  }
  return out;
}

/**
 * `data` (an RGB image of `width` x `height`) as seen through `plan`, a camera moved by `(shiftX, shiftY)` pixels
 * (positive: right, down; the content moves the other way) and zoomed by `scale` about the centre (above 1: zoom
 * in), into `out` (only `rows` of it, when given).
 */
export function warp(data: Uint8Array, plan: WarpPlan, width: number, height: number, out: Uint8Array, rows: RowRange = { from: 0, to: height }): Uint8Array {
  const stride = width * 3;
  const { i0: x0, i1: x1, f: fx } = plan.xs;
  const row = new Float64Array(stride);
  for (let y = rows.from; y < rows.to; y++) {
    sourceRow(data, plan.ys, y, stride, row);
    let o = (y - rows.from) * stride;
    for (let x = 0; x < width; x++) {
      const f = fx[x]!;
      let l = x0[x]! * 3;
      let r = x1[x]! * 3;
      for (let ch = 0; ch < 3; ch++) {
        const left = row[l++]!;
        // bilinear of 8-bit values stays in [0, 255]: the store truncates left + ... + 0.5, i.e. rounds
        out[o++] = left + (row[r++]! - left) * f + 0.5;
      }
    }
  }
  return out;
}
