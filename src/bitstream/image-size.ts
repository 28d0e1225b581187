/**
 * The pixel size an image file declares in its own headers, read structurally (no pixel decoding):
 * WebP (`VP8 `, `VP8L`, `VP8X`), baseline/progressive JPEG (the first SOF marker), PNG (IHDR) and AVIF (the
 * largest `ispe` property). Null when the bytes are not a well-formed file of that codec. A decoder reads this
 * before it allocates anything for the pixels, and refuses an image whose size is not the one declared for it.
 */
import type { KeyframeCodec } from './chunks';

export interface ImageSize {
  width: number;
  height: number;
}

const ascii = (bytes: Uint8Array, at: number, length: number) => String.fromCharCode(...bytes.subarray(at, at + length));
const u16le = (b: Uint8Array, at: number) => (b[at] as number) | ((b[at + 1] as number) << 8);
const u24le = (b: Uint8Array, at: number) => u16le(b, at) | ((b[at + 2] as number) << 16);
const u32le = (b: Uint8Array, at: number) => (u24le(b, at) | ((b[at + 3] as number) << 24)) >>> 0;
const u16be = (b: Uint8Array, at: number) => ((b[at] as number) << 8) | (b[at + 1] as number);

export function webpSize(b: Uint8Array): ImageSize | null {
  if (b.byteLength < 30 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') return null;
  if (u32le(b, 4) + 8 !== b.byteLength) return null; // the RIFF size must be the file's: no bytes missing, none after it
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') {
    // A key frame: 3-byte frame tag (bit 0 clear), start code 9d 01 2a, then 14-bit width and height.
    if (((b[20] as number) & 1) !== 0 || b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return null;
    return nonZero(u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return null;
    const bits = u32le(b, 21);
    return nonZero((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X') return nonZero(u24le(b, 24) + 1, u24le(b, 27) + 1);
  return null;
}

export function jpegSize(b: Uint8Array): ImageSize | null {
  if (b.byteLength < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  if (b[b.byteLength - 2] !== 0xff || b[b.byteLength - 1] !== 0xd9) return null; // the file ends at its end-of-image marker
  let at = 2;
  while (at + 4 <= b.byteLength) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1] as number;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame header
    const length = u16be(b, at + 2);
    if (length < 2 || at + 2 + length > b.byteLength) return null;
    const isFrameHeader = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrameHeader) return length >= 7 ? nonZero(u16be(b, at + 7), u16be(b, at + 5)) : null;
    at += 2 + length;
  }
  return null;
}

const u32be = (b: Uint8Array, at: number) => ((u16be(b, at) << 16) | u16be(b, at + 2)) >>> 0;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function pngSize(b: Uint8Array): ImageSize | null {
  if (b.byteLength < 33 || PNG_SIGNATURE.some((x, i) => b[i] !== x) || ascii(b, 12, 4) !== 'IHDR') return null;
  return nonZero(u32be(b, 16), u32be(b, 20));
}

/** AVIF: the largest `ispe` (image spatial extents) box in the file's first 64 KiB (thumbnails and alpha planes have their own). */
export function avifSize(b: Uint8Array): ImageSize | null {
  if (b.byteLength < 12 || ascii(b, 4, 4) !== 'ftyp') return null;
  let best: ImageSize | null = null;
  const end = Math.min(b.byteLength - 16, 65536);
  for (let at = 4; at <= end; at++) {
    if (b[at] !== 0x69 || ascii(b, at, 4) !== 'ispe') continue; // 'ispe', version/flags, width, height
    const size = nonZero(u32be(b, at + 8), u32be(b, at + 12));
    if (size !== null && (best === null || size.width * size.height > best.width * best.height)) best = size;
  }
  return best;
}

/** The size the image of `codec` declares, or null when it is not a well-formed file of that codec. */
export function imageSize(data: Uint8Array, codec: KeyframeCodec): ImageSize | null {
  switch (codec) {
    case 'webp':
      return webpSize(data);
    case 'jpeg':
      return jpegSize(data);
    case 'png':
      return pngSize(data);
    case 'avif':
      return avifSize(data);
  }
}

function nonZero(width: number, height: number): ImageSize | null {
  return width > 0 && height > 0 ? { width, height } : null;
}
