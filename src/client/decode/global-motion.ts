/**
 * Global motion between two grey planes (translation and zoom) by phase correlation: mirrors `phase_shift`,
 * `_fit` and `frame_motion` in gpu-functions/cmvc_gpu/media/global_motion.py, constant for constant.
 */
import { dft2 } from './dft';
import { crop, type Plane } from './grey';

const GRID = 4;
const MIN_PEAK = 0.08;
const PEAK_SIGMA = 1.0;

function hanning(n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) out[0] = 1;
  else for (let i = 0; i < n; i++) out[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return out;
}

/** numpy's fftfreq(n)[k]. */
function freq(k: number, n: number): number {
  return (k <= (n - 1) / 2 ? k : k - n) / n;
}

interface Window {
  hann: Float64Array;
  lowpass: Float64Array;
  /** The sum of the half spectrum's low-pass (numpy's rfft layout), which scales the peak to about 1. */
  halfSum: number;
}

const WINDOWS = new Map<string, Window>();

function windowOf(width: number, height: number): Window {
  const key = `${width}x${height}`;
  let w = WINDOWS.get(key);
  if (w === undefined) {
    const hy = hanning(height);
    const hx = hanning(width);
    const hann = new Float64Array(width * height);
    const lowpass = new Float64Array(width * height);
    let halfSum = 0;
    const c = -2 * (Math.PI * PEAK_SIGMA) ** 2;
    for (let y = 0; y < height; y++) {
      const fy = freq(y, height);
      for (let x = 0; x < width; x++) {
        hann[y * width + x] = Math.fround((hy[y] as number) * (hx[x] as number));
        const fx = freq(x, width);
        lowpass[y * width + x] = Math.fround(Math.exp(c * (fx * fx + fy * fy)));
        if (x <= Math.floor(width / 2)) halfSum += Math.fround(Math.exp(c * ((x / width) ** 2 + fy * fy)));
      }
    }
    w = { hann, lowpass, halfSum };
    WINDOWS.set(key, w);
  }
  return w;
}

function spectrum(p: Plane, hann: Float64Array): { re: Float64Array; im: Float64Array } {
  let mean = 0;
  for (let i = 0; i < p.data.length; i++) mean += p.data[i] as number;
  mean /= p.data.length;
  const re = new Float64Array(p.data.length);
  for (let i = 0; i < re.length; i++) re[i] = ((p.data[i] as number) - mean) * (hann[i] as number);
  const im = new Float64Array(re.length);
  dft2(re, im, p.width, p.height);
  return { re, im };
}

/**
 * `[dx, dy, peak]`: the shift in pixels that moves the content of `a` onto `b` (`b(x) ≈ a(x - d)`) and the
 * correlation peak (about 1 for a perfect match, near 0 for none).
 */
export function phaseShift(a: Plane, b: Plane): [number, number, number] {
  const { width: w, height: h } = a;
  const win = windowOf(w, h);
  const fa = spectrum(a, win.hann);
  const fb = spectrum(b, win.hann);
  const re = new Float64Array(w * h);
  const im = new Float64Array(w * h);
  for (let i = 0; i < re.length; i++) {
    // cross = fb * conj(fa), normalised, low-passed
    const cr = (fb.re[i] as number) * (fa.re[i] as number) + (fb.im[i] as number) * (fa.im[i] as number);
    const ci = (fb.im[i] as number) * (fa.re[i] as number) - (fb.re[i] as number) * (fa.im[i] as number);
    const scale = (win.lowpass[i] as number) / (Math.hypot(cr, ci) + 1e-9);
    re[i] = cr * scale;
    im[i] = ci * scale;
  }
  dft2(re, im, w, h, true);
  const norm = (win.halfSum * 2) / re.length;
  let best = 0;
  for (let i = 1; i < re.length; i++) if ((re[i] as number) > (re[best] as number)) best = i;
  const corr = (x: number, y: number) => (re[(((y % h) + h) % h) * w + (((x % w) + w) % w)] as number) / re.length / norm;
  const py = Math.floor(best / w);
  const px = best % w;
  const refine = (minus: number, centre: number, plus: number) => {
    const lm = Math.log(Math.max(minus, 1e-6));
    const l0 = Math.log(Math.max(centre, 1e-6));
    const lp = Math.log(Math.max(plus, 1e-6));
    const denom = lm - 2 * l0 + lp;
    return Math.abs(denom) < 1e-12 ? 0 : Math.min(0.5, Math.max(-0.5, (0.5 * (lm - lp)) / denom));
  };
  const peak = corr(px, py);
  let dy = py + refine(corr(px, py - 1), peak, corr(px, py + 1));
  let dx = px + refine(corr(px - 1, py), peak, corr(px + 1, py));
  if (dy > h / 2) dy -= h;
  if (dx > w / 2) dx -= w;
  return [dx, dy, peak];
}

function std(p: Plane): number {
  let mean = 0;
  for (let i = 0; i < p.data.length; i++) mean += p.data[i] as number;
  mean /= p.data.length;
  let v = 0;
  for (let i = 0; i < p.data.length; i++) v += ((p.data[i] as number) - mean) ** 2;
  return Math.sqrt(v / p.data.length);
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Weighted least squares of `shift = t + k * centre`: `[tx, ty, k]` (3x3 normal equations). */
function fit(centres: [number, number][], shifts: [number, number][], weights: number[]): [number, number, number] {
  const m = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ] as [number, number, number][];
  const v = [0, 0, 0];
  centres.forEach(([cx, cy], i) => {
    const w = weights[i] as number;
    const [sx, sy] = shifts[i] as [number, number];
    for (const [row, target] of [
      [[1, 0, cx], sx],
      [[0, 1, cy], sy],
    ] as [[number, number, number], number][]) {
      for (let r = 0; r < 3; r++) {
        const rr = row[r] as number;
        for (let c = 0; c < 3; c++) (m[r] as number[])[c] = ((m[r] as number[])[c] as number) + w * rr * (row[c] as number);
        v[r] = (v[r] as number) + w * rr * target;
      }
    }
  });
  return solve3(m, v as [number, number, number]);
}

function solve3(m: [number, number, number][], v: [number, number, number]): [number, number, number] {
  const a = m.map((row, i) => [...row, v[i] as number]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[pivot]![col]!)) pivot = r;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const p = a[col]![col]!;
    if (Math.abs(p) < 1e-12) return [0, 0, 0];
    for (let r = 0; r < 3; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / p;
      for (let c = col; c < 4; c++) a[r]![c] = a[r]![c]! - f * a[col]![c]!;
    }
  }
  return [a[0]![3]! / a[0]![0]!, a[1]![3]! / a[1]![1]!, a[2]![3]! / a[2]![2]!];
}

/**
 * `[dx, dy, scale]`: the content shift in pixels and the zoom factor from `a` to `b` (same size). `whole` is
 * `phaseShift(a, b)` when the caller has it already (the same numbers; computing it is most of the cost).
 */
export function frameMotion(a: Plane, b: Plane, whole: [number, number, number] = phaseShift(a, b)): [number, number, number] {
  const { width: w, height: h } = a;
  const [gx, gy] = whole;
  let sx = Math.round(gx);
  let sy = Math.round(gy);
  if (Math.abs(sx) >= Math.floor(w / 2) || Math.abs(sy) >= Math.floor(h / 2)) [sx, sy] = [0, 0];
  const x0 = Math.max(0, -sx);
  const x1 = w - Math.max(0, sx);
  const y0 = Math.max(0, -sy);
  const y1 = h - Math.max(0, sy);
  const bw = Math.floor((x1 - x0) / GRID);
  const bh = Math.floor((y1 - y0) / GRID);
  if (bw < 8 || bh < 8) return [gx, gy, 1];
  const centres: [number, number][] = [];
  const shifts: [number, number][] = [];
  const peaks: number[] = [];
  for (let gyi = 0; gyi < GRID; gyi++) {
    for (let gxi = 0; gxi < GRID; gxi++) {
      const ya = y0 + gyi * bh;
      const xa = x0 + gxi * bw;
      const blockA = crop(a, xa, ya, bw, bh);
      if (std(blockA) < 2.0) continue;
      const [dx, dy, peak] = phaseShift(blockA, crop(b, xa + sx, ya + sy, bw, bh));
      if (peak < MIN_PEAK) continue;
      centres.push([xa + bw / 2 - w / 2, ya + bh / 2 - h / 2]);
      shifts.push([dx + sx, dy + sy]);
      peaks.push(peak);
    }
  }
  if (centres.length < 3) return [gx, gy, 1];
  let keep = centres.map(() => true);
  const pick = <T>(xs: T[]) => xs.filter((_, i) => keep[i]);
  let solution = fit(centres, shifts, peaks);
  for (let round = 0; round < 3; round++) {
    const [tx, ty, k] = solution;
    const errors = centres.map(([cx, cy], i) => Math.hypot((shifts[i] as [number, number])[0] - (tx + k * cx), (shifts[i] as [number, number])[1] - (ty + k * cy)));
    const limit = Math.max(0.75, 2.5 * median(errors.filter((_, i) => keep[i])));
    const next = errors.map((e) => e <= limit);
    if (next.filter(Boolean).length < 3 || next.every((v, i) => v === keep[i])) break;
    keep = next;
    solution = fit(pick(centres), pick(shifts), pick(peaks));
  }
  return [solution[0], solution[1], 1 + solution[2]];
}
