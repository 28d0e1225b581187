/**
 * The pixel size an image file declares in its own headers, read structurally (no pixel decoding):
 * WebP (`VP8 `, `VP8L`, `VP8X`) and baseline/progressive JPEG (the first SOF marker). Null when the
 * bytes are not a well-formed file of that codec.
 */
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
  if (u32le(b, 4) + 8 > b.byteLength) return null; // the RIFF size claims more bytes than there are
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

function nonZero(width: number, height: number): ImageSize | null {
  return width > 0 && height > 0 ? { width, height } : null;
}
