/**
 * A 2-D discrete Fourier transform of any size: separable, each line by a recursive mixed-radix FFT (smallest
 * prime factor first, a direct DFT for a prime length), since analysis frames and their blocks are whatever size
 * the video gives (160x120 = 2^5·5 x 2^3·3·5; blocks may be prime).
 */

const TABLES = new Map<number, { cos: Float64Array; sin: Float64Array }>();

/** cos and sin of 2πk/n for k = 0..n-1. */
function table(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = TABLES.get(n);
  if (t === undefined) {
    const cos = new Float64Array(n);
    const sin = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      cos[k] = Math.cos((2 * Math.PI * k) / n);
      sin[k] = Math.sin((2 * Math.PI * k) / n);
    }
    t = { cos, sin };
    TABLES.set(n, t);
  }
  return t;
}

const SCRATCH = new Map<number, { re: Float64Array; im: Float64Array }>();

/** A reusable buffer of length n for the combine step (its contents are copied out before any reuse). */
function scratch(n: number): { re: Float64Array; im: Float64Array } {
  let s = SCRATCH.get(n);
  if (s === undefined) {
    s = { re: new Float64Array(n), im: new Float64Array(n) };
    SCRATCH.set(n, s);
  }
  return s;
}

function smallestFactor(n: number): number {
  for (let p = 2; p * p <= n; p++) if (n % p === 0) return p;
  return n;
}

/** out[k] = Σ_j in[offset + j*stride] · e^(sign·2πi·jk/n), into outRe/outIm at outOffset (contiguous). */
function fft(inRe: Float64Array, inIm: Float64Array, offset: number, stride: number, n: number, sign: number, outRe: Float64Array, outIm: Float64Array, outOffset: number): void {
  if (n === 1) {
    outRe[outOffset] = inRe[offset] as number;
    outIm[outOffset] = inIm[offset] as number;
    return;
  }
  const p = smallestFactor(n);
  const m = n / p;
  const tw = table(n);
  if (p === n) {
    for (let k = 0; k < n; k++) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        const c = tw.cos[(j * k) % n] as number;
        const s = sign * (tw.sin[(j * k) % n] as number);
        const xr = inRe[offset + j * stride] as number;
        const xi = inIm[offset + j * stride] as number;
        sr += xr * c - xi * s;
        si += xr * s + xi * c;
      }
      outRe[outOffset + k] = sr;
      outIm[outOffset + k] = si;
    }
    return;
  }
  // p sub-transforms of length m over the residues r = 0..p-1, laid out one after the other
  for (let r = 0; r < p; r++) fft(inRe, inIm, offset + r * stride, stride * p, m, sign, outRe, outIm, outOffset + r * m);
  const { re: tmpRe, im: tmpIm } = scratch(n);
  for (let k = 0; k < n; k++) {
    const q = k % m;
    let sr = 0;
    let si = 0;
    for (let r = 0; r < p; r++) {
      const c = tw.cos[(r * k) % n] as number;
      const s = sign * (tw.sin[(r * k) % n] as number);
      const xr = outRe[outOffset + r * m + q] as number;
      const xi = outIm[outOffset + r * m + q] as number;
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    tmpRe[k] = sr;
    tmpIm[k] = si;
  }
  outRe.set(tmpRe.subarray(0, n), outOffset);
  outIm.set(tmpIm.subarray(0, n), outOffset);
}

/** In place: the 2-D DFT of `height` rows of `width` complex values (`inverse`: unnormalised inverse). */
export function dft2(re: Float64Array, im: Float64Array, width: number, height: number, inverse = false): void {
  const sign = inverse ? 1 : -1;
  const n = Math.max(width, height);
  const lineRe = new Float64Array(n);
  const lineIm = new Float64Array(n);
  for (let y = 0; y < height; y++) {
    fft(re, im, y * width, 1, width, sign, lineRe, lineIm, 0);
    re.set(lineRe.subarray(0, width), y * width);
    im.set(lineIm.subarray(0, width), y * width);
  }
  for (let x = 0; x < width; x++) {
    fft(re, im, x, width, height, sign, lineRe, lineIm, 0);
    for (let y = 0; y < height; y++) {
      re[y * width + x] = lineRe[y] as number;
      im[y * width + x] = lineIm[y] as number;
    }
  }
}
