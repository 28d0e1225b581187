/**
 * YUV4MPEG2 (Y4M): the uncompressed stream every video tool reads. 4:2:0, BT.601 limited range, chroma
 * averaged over each 2x2 block (odd sizes replicate the last row / column).
 */
import type { RgbImage } from '../client/decode';

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** `F` of the header: the frame rate as a reduced fraction (to 1/1000). */
function rate(fps: number): string {
  const num = Math.round(fps * 1000);
  const g = gcd(num, 1000);
  return `${num / g}:${1000 / g}`;
}

export function y4mHeader(width: number, height: number, fps: number): Uint8Array {
  return new TextEncoder().encode(`YUV4MPEG2 W${width} H${height} F${rate(fps)} Ip A1:1 C420jpeg\n`);
}

const FRAME = new TextEncoder().encode('FRAME\n');

/** One frame: `FRAME\n` then the Y, U and V planes. */
export function y4mFrame(image: RgbImage): Uint8Array {
  const { width: w, height: h, data } = image;
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const out = new Uint8Array(FRAME.length + w * h + 2 * cw * ch);
  out.set(FRAME);
  const y0 = FRAME.length;
  const u0 = y0 + w * h;
  const v0 = u0 + cw * ch;
  for (let i = 0; i < w * h; i++) {
    const r = data[i * 3] as number;
    const g = data[i * 3 + 1] as number;
    const b = data[i * 3 + 2] as number;
    out[y0 + i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const p = (Math.min(h - 1, cy * 2 + dy) * w + Math.min(w - 1, cx * 2 + dx)) * 3;
        r += data[p] as number;
        g += data[p + 1] as number;
        b += data[p + 2] as number;
      }
      r /= 4;
      g /= 4;
      b /= 4;
      out[u0 + cy * cw + cx] = Math.round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
      out[v0 + cy * cw + cx] = Math.round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return out;
}
