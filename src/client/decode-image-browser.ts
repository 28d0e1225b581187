/** Keyframe decoding in browsers: the platform's own image decoder (`createImageBitmap`), read back through an OffscreenCanvas. */
import { rgbFromRgba, type DecodeImage } from './decode';

export const decodeImageBrowser: DecodeImage = async (data, codec) => {
  const bitmap = await createImageBitmap(new Blob([data as Uint8Array<ArrayBuffer>], { type: `image/${codec}` }), { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context === null) throw new Error('no 2d context');
    context.drawImage(bitmap, 0, 0);
    const { data: rgba } = context.getImageData(0, 0, bitmap.width, bitmap.height);
    return rgbFromRgba(rgba, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
};
