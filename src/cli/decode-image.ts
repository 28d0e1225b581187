/** Keyframe decoding in Node (the CLI, tests, benches): sharp (libvips with libwebp, libjpeg-turbo, libheif, libspng). */
import sharp from 'sharp';
import { STREAM_LIMITS } from '../bitstream/stream-limits';
import type { DecodeImage } from '../client/decode';

// libvips keeps recently decoded images for reuse: a decoder that decodes each keyframe once only pays memory for it.
sharp.cache(false);
sharp.concurrency(1); // one libvips thread: one decode's working memory, not one per core

/** No keyframe may have more pixels than a frame of the largest video stored (the decoder checks the declared size first). */
const MAX_INPUT_PIXELS = STREAM_LIMITS.maxSourceSide ** 2;

export const decodeImageNode: DecodeImage = async (data) => {
  const { data: pixels, info } = await sharp(data, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength) };
};
