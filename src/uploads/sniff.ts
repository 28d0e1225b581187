/** Container formats recognised from a file's first bytes. */
export type SniffedContainer = 'mp4' | 'webm' | 'avi' | 'mpegts' | 'mpeg-ps' | 'flv' | 'ogg';

const ascii = (bytes: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...bytes.subarray(at, at + length));

/** Bytes needed to sniff every format below. */
export const SNIFF_BYTES = 192;

/**
 * Names the container of a video file from its first bytes, or null when it is none we know.
 * ISO BMFF (MP4/MOV/3GP) starts with a box whose type is `ftyp` (or `moov`/`mdat`/`free`/`wide` in old QuickTime).
 */
export function sniffContainer(head: Uint8Array): SniffedContainer | null {
  if (head.length >= 8 && ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip'].includes(ascii(head, 4, 4))) return 'mp4';
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm';
  if (head.length >= 12 && ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'AVI ') return 'avi';
  if (head.length >= 189 && head[0] === 0x47 && head[188] === 0x47) return 'mpegts'; // two 188-byte TS packets
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 1 && head[3] === 0xba) return 'mpeg-ps';
  if (head.length >= 3 && ascii(head, 0, 3) === 'FLV') return 'flv';
  if (head.length >= 4 && ascii(head, 0, 4) === 'OggS') return 'ogg';
  return null;
}
