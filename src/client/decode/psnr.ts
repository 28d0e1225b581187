/** Luma PSNR (BT.601 weights, peak 255) of two RGB images of one size, in dB; Infinity when equal. */
import type { RgbImage } from './image';

export function lumaPsnr(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`sizes differ: ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 3) {
    const d = 0.299 * ((a.data[i] as number) - (b.data[i] as number)) + 0.587 * ((a.data[i + 1] as number) - (b.data[i + 1] as number)) + 0.114 * ((a.data[i + 2] as number) - (b.data[i + 2] as number));
    sum += d * d;
  }
  const mse = sum / (a.width * a.height);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}
