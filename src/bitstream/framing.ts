/**
 * The chunk framing, stated once: `u32 length | 4-byte type | data | u32 CRC-32(type + data)`, all
 * big-endian (docs/bitstream.md). The chunk walker (framer.ts) frames chunks with these, in both its
 * modes.
 */
import { isValidChunkType } from './chunks';
import { crc32 } from './crc32';

export interface ChunkHead {
  /** Data bytes, as the length field says. */
  length: number;
  type: string;
  /** The type field (a view into the input). */
  typeBytes: Uint8Array;
}

/** A big-endian u32 at `at`; the caller has checked that four bytes are there. */
export function u32At(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The chunk head (length and type) at `at`, or null when its type is not four ASCII letters. The caller has checked that 8 bytes are there. */
export function chunkHeadAt(bytes: Uint8Array, at: number): ChunkHead | null {
  const typeBytes = bytes.subarray(at + 4, at + 8);
  if (!isValidChunkType(typeBytes)) return null;
  return { length: u32At(bytes, at), type: String.fromCharCode(typeBytes[0]!, typeBytes[1]!, typeBytes[2]!, typeBytes[3]!), typeBytes };
}

/** The CRC-32 a chunk's CRC field must hold: over its type bytes, then its data. */
export function chunkCrc(typeBytes: Uint8Array, data: Uint8Array): number {
  return crc32(data, crc32(typeBytes));
}
