/** Keyframe decoding in Node (the CLI, tests, benches): sharp (libvips with libwebp, libjpeg-turbo, libheif, libspng). */
import sharp from 'sharp';
import type { DecodeImage } from '../client/decode';

export const decodeImageNode: DecodeImage = async (data) => {
  const { data: pixels, info } = await sharp(data, { failOn: 'error' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
};
