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
 * Two images warped and blended in one pass: `round(warp(a) * weightA + warp(b) * weightB)`, each warp rounded
 * to 8 bits first as the reference does (render.in_between), without the two intermediate frames.
 */
export function warpBlend(a: Uint8Array, planA: WarpPlan, weightA: number, b: Uint8Array, planB: WarpPlan, weightB: number, width: number, height: number, out: Uint8Array): Uint8Array {
  const stride = width * 3;
  const { i0: xa0, i1: xa1, f: fxa } = planA.xs;
  const { i0: xb0, i1: xb1, f: fxb } = planB.xs;
  for (let y = 0; y < height; y++) {
    const fyA = planA.ys.f[y]!;
    const fyB = planB.ys.f[y]!;
    const ra0 = planA.ys.i0[y]! * stride;
    const ra1 = planA.ys.i1[y]! * stride;
    const rb0 = planB.ys.i0[y]! * stride;
    const rb1 = planB.ys.i1[y]! * stride;
    let o = y * stride;
    for (let x = 0; x < width; x++) {
      const fA = fxa[x]!;
      const fB = fxb[x]!;
      let pa00 = ra0 + xa0[x]! * 3;
      let pa01 = ra0 + xa1[x]! * 3;
      let pa10 = ra1 + xa0[x]! * 3;
      let pa11 = ra1 + xa1[x]! * 3;
      let pb00 = rb0 + xb0[x]! * 3;
      let pb01 = rb0 + xb1[x]! * 3;
      let pb10 = rb1 + xb0[x]! * 3;
      let pb11 = rb1 + xb1[x]! * 3;
      for (let ch = 0; ch < 3; ch++) {
        const a00 = a[pa00++]!;
        const a01 = a[pa01++]!;
        const la = a00 + (a[pa10++]! - a00) * fyA;
        const va = Math.floor(la + (a01 + (a[pa11++]! - a01) * fyA - la) * fA + 0.5);
        const b00 = b[pb00++]!;
        const b01 = b[pb01++]!;
        const lb = b00 + (b[pb10++]! - b00) * fyB;
        const vb = Math.floor(lb + (b01 + (b[pb11++]! - b01) * fyB - lb) * fB + 0.5);
        out[o++] = va * weightA + vb * weightB + 0.5;
      }
    }
  }
  return out;
}

/**
 * `data` (an RGB image of `width` x `height`) as seen through `plan`, a camera moved by `(shiftX, shiftY)` pixels
 * (positive: right, down; the content moves the other way) and zoomed by `scale` about the centre (above 1: zoom
 * in), into `out`.
 */
export function warp(data: Uint8Array, plan: WarpPlan, width: number, height: number, out: Uint8Array): Uint8Array {
  const { i0: x0, i1: x1, f: fx } = plan.xs;
  const ys = plan.ys;
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    const fy = ys.f[y]!;
    const r0 = ys.i0[y]! * stride;
    const r1 = ys.i1[y]! * stride;
    let o = y * stride;
    for (let x = 0; x < width; x++) {
      const f = fx[x]!;
      let p00 = r0 + x0[x]! * 3;
      let p01 = r0 + x1[x]! * 3;
      let p10 = r1 + x0[x]! * 3;
      let p11 = r1 + x1[x]! * 3;
      for (let ch = 0; ch < 3; ch++) {
        const v00 = data[p00++]!;
        const v01 = data[p01++]!;
        const left = v00 + (data[p10++]! - v00) * fy;
        // bilinear of 8-bit values stays in [0, 255]: the store truncates left + ... + 0.5, i.e. rounds
        out[o++] = left + (v01 + (data[p11++]! - v01) * fy - left) * f + 0.5;
      }
    }
  }
  return out;
}
