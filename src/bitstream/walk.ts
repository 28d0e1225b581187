import { CHUNK_CEND, CHUNK_HEAD_BYTES, CHUNK_OVERHEAD_BYTES, isCritical, KNOWN_CHUNKS, PREAMBLE_BYTES } from './chunks';
import { chunkCrc, chunkHeadAt, u32At } from './framing';

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
  const chunks: ChunkInfo[] = [];
  let at = PREAMBLE_BYTES;
  while (at + CHUNK_OVERHEAD_BYTES <= bytes.length) {
    const head = chunkHeadAt(bytes, at);
    if (head === null) break;
    const { length, type } = head;
    if (length > bytes.length - at - CHUNK_OVERHEAD_BYTES) break;
    const data = bytes.subarray(at + CHUNK_HEAD_BYTES, at + CHUNK_HEAD_BYTES + length);
    const crc = u32At(bytes, at + CHUNK_HEAD_BYTES + length);
    const crcOk = options.checkCrc === false || crc === chunkCrc(head.typeBytes, data);
    chunks.push({ type, offset: at, length, critical: isCritical(type), known: KNOWN_CHUNKS.has(type), crcOk, crc, data });
    at += CHUNK_OVERHEAD_BYTES + length; // advances by at least 12
    if (type === CHUNK_CEND) break;
  }
  return { chunks, end: at };
}
