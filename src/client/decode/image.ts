/** Pixels the decoder works on, and the one thing it needs from its platform: turning a keyframe file into pixels. */
import type { KeyframeCodec } from '../../bitstream';

/** An RGB image, 8 bits per channel, rows top to bottom, no padding: `data.length === width * height * 3`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Decodes one coded keyframe (a WebP/JPEG/AVIF/PNG file) to RGB. Injected so the core runs anywhere: the
 * browser passes `createImageBitmap`, Node a decoder library. It throws (anything) when the bytes are no image.
 */
export type DecodeImage = (data: Uint8Array, codec: KeyframeCodec) => Promise<RgbImage>;

/** RGBA (canvas `ImageData` layout) to RGB. */
export function rgbFromRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i] as number;
    data[j + 1] = rgba[i + 1] as number;
    data[j + 2] = rgba[i + 2] as number;
  }
  return { width, height, data };
}
