/**
 * Bicubic resampling exactly as Pillow's `Image.resize(..., Image.BICUBIC)` does it (the reference engine
 * resizes keyframes and paints content grids with it): a = -0.5 cubic, support widened by the scale when
 * shrinking, coefficients normalised per output pixel, horizontal pass first, 8-bit images rounded through
 * 22-bit fixed point between passes (Pillow's `libImaging/Resample.c`).
 */

const PRECISION_BITS = 32 - 8 - 2;

function bicubic(x: number): number {
  const a = -0.5;
  const v = Math.abs(x);
  if (v < 1) return ((a + 2) * v - (a + 3)) * v * v + 1;
  if (v < 2) return (((v - 5) * v + 8) * v - 4) * a;
  return 0;
}

interface Coefficients {
  /** First source index of each output pixel. */
  start: Int32Array;
  /** Number of taps of each output pixel. */
  taps: Int32Array;
  /** `ksize` weights per output pixel. */
  weights: Float64Array;
  ksize: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  const support = 2 * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const taps = new Int32Array(outSize);
  const weights = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) / filterScale);
      weights[xx * ksize + x] = w;
      total += w;
    }
    if (total !== 0) for (let x = 0; x < xmax; x++) weights[xx * ksize + x] = (weights[xx * ksize + x] as number) / total;
    start[xx] = xmin;
    taps[xx] = xmax;
  }
  return { start, taps, weights, ksize };
}

function fixedPoint(c: Coefficients): Int32Array {
  const out = new Int32Array(c.weights.length);
  for (let i = 0; i < out.length; i++) {
    const w = (c.weights[i] as number) * (1 << PRECISION_BITS);
    out[i] = w < 0 ? Math.trunc(-0.5 + w) : Math.trunc(0.5 + w);
  }
  return out;
}

function clip8(sum: number): number {
  const v = Math.floor(sum / (1 << PRECISION_BITS));
  return Math.min(Math.max(v, 0), 255);
}

/** An 8-bit image of `channels` interleaved channels resized to `outWidth` x `outHeight`. */
export function resize8(data: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Uint8Array {
  let src = data;
  let w = width;
  if (outWidth !== width) {
    const c = coefficients(width, outWidth);
    const k = fixedPoint(c);
    const out = new Uint8Array(outWidth * height * channels);
    for (let y = 0; y < height; y++) {
      const row = y * width * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const first = c.start[xx] as number;
        const n = c.taps[xx] as number;
        const base = xx * c.ksize;
        for (let ch = 0; ch < channels; ch++) {
          let sum = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < n; x++) sum += (src[row + (first + x) * channels + ch] as number) * (k[base + x] as number);
          out[(y * outWidth + xx) * channels + ch] = clip8(sum);
        }
      }
    }
    src = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const c = coefficients(height, outHeight);
    const k = fixedPoint(c);
    const out = new Uint8Array(w * outHeight * channels);
    const stride = w * channels;
    for (let yy = 0; yy < outHeight; yy++) {
      const first = c.start[yy] as number;
      const n = c.taps[yy] as number;
      const base = yy * c.ksize;
      for (let i = 0; i < stride; i++) {
        let sum = 1 << (PRECISION_BITS - 1);
        for (let y = 0; y < n; y++) sum += (src[(first + y) * stride + i] as number) * (k[base + y] as number);
        out[yy * stride + i] = clip8(sum);
      }
    }
    src = out;
  }
  return src === data ? data.slice() : src;
}

/** A one-channel float image resized (Pillow's mode "F": double coefficients, float results). */
export function resizeFloat(data: Float32Array, width: number, height: number, outWidth: number, outHeight: number): Float32Array {
  let src = data;
  let w = width;
  if (outWidth !== width) {
    const c = coefficients(width, outWidth);
    const out = new Float32Array(outWidth * height);
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < outWidth; xx++) {
        let sum = 0;
        for (let x = 0; x < (c.taps[xx] as number); x++) sum += (src[y * width + (c.start[xx] as number) + x] as number) * (c.weights[xx * c.ksize + x] as number);
        out[y * outWidth + xx] = sum;
      }
    }
    src = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const c = coefficients(height, outHeight);
    const out = new Float32Array(w * outHeight);
    for (let yy = 0; yy < outHeight; yy++) {
      for (let i = 0; i < w; i++) {
        let sum = 0;
        for (let y = 0; y < (c.taps[yy] as number); y++) sum += (src[((c.start[yy] as number) + y) * w + i] as number) * (c.weights[yy * c.ksize + y] as number);
        out[yy * w + i] = sum;
      }
    }
    src = out;
  }
  return src === data ? data.slice() : src;
}
