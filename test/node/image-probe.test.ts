import { describe, expect, it } from 'vitest';
import { jpegSize, webpSize } from '../../src/bitstream/image-size';
import { JPEG_24x16, WEBP_LOSSLESS_24x16, WEBP_LOSSY_24x16 } from '../corpus/images';

describe('image headers', () => {
  it('reads the size of lossy and lossless WebP and of JPEG files', () => {
    expect(webpSize(WEBP_LOSSY_24x16)).toEqual({ width: 24, height: 16 });
    expect(webpSize(WEBP_LOSSLESS_24x16)).toEqual({ width: 24, height: 16 });
    expect(jpegSize(JPEG_24x16)).toEqual({ width: 24, height: 16 });
  });

  it('says null for bytes that are not such a file, or are cut short', () => {
    const text = new TextEncoder().encode('RIFF-fake-webp-0 and some more bytes to be long enough');
    for (const bytes of [text, WEBP_LOSSY_24x16.subarray(0, 40), JPEG_24x16, new Uint8Array(0)]) expect(webpSize(bytes)).toBeNull();
    for (const bytes of [text, JPEG_24x16.subarray(0, 100), WEBP_LOSSY_24x16, new Uint8Array([0xff, 0xd8, 0xff, 0xd9])]) expect(jpegSize(bytes)).toBeNull();
  });
});
