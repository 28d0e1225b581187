import { CHUNK_CEND, CHUNK_HEAD_BYTES, CHUNK_OVERHEAD_BYTES, isCritical, isValidChunkType, KNOWN_CHUNKS, PREAMBLE_BYTES } from './chunks';
import { crc32 } from './crc32';

/** One chunk as framed in a file, with no interpretation of its data. */
export interface ChunkInfo {
  type: string;
  /** Offset of the chunk's length field. */
  offset: number;
  /** Data bytes (the length field's value). */
  length: number;
  critical: boolean;
  known: boolean;
  crcOk: boolean;
  /** The stored CRC field. */
  crc: number;
  /** The data field (a view into the input). */
  data: Uint8Array;
}

/**
 * Lists the chunks after the preamble, checking only the framing. It stops at the first chunk that does
 * not fit in the input or has a bad type, and after CEND. Use readBitstream to validate; this is for
 * tools (inspect) and for cutting an already validated stream (`checkCrc: false` then skips the CRCs,
 * reporting every `crcOk` as true).
 */
export function walkChunks(bytes: Uint8Array, options: { checkCrc?: boolean } = {}): { chunks: ChunkInfo[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: ChunkInfo[] = [];
  let at = PREAMBLE_BYTES;
  while (at + CHUNK_OVERHEAD_BYTES <= bytes.length) {
    const length = view.getUint32(at, false);
    const typeBytes = bytes.subarray(at + 4, at + CHUNK_HEAD_BYTES);
    if (!isValidChunkType(typeBytes)) break;
    if (length > bytes.length - at - CHUNK_OVERHEAD_BYTES) break;
    const type = String.fromCharCode(...typeBytes);
    const data = bytes.subarray(at + CHUNK_HEAD_BYTES, at + CHUNK_HEAD_BYTES + length);
    const crc = view.getUint32(at + CHUNK_HEAD_BYTES + length, false);
    const crcOk = options.checkCrc === false || crc === crc32(data, crc32(typeBytes));
    chunks.push({ type, offset: at, length, critical: isCritical(type), known: KNOWN_CHUNKS.has(type), crcOk, crc, data });
    at += CHUNK_OVERHEAD_BYTES + length; // advances by at least 12
    if (type === CHUNK_CEND) break;
  }
  return { chunks, end: at };
}
