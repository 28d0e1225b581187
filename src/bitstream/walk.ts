import { CHUNK_OVERHEAD_BYTES, isCritical, KNOWN_CHUNKS, PREAMBLE_BYTES } from './chunks';
import { Framer, type ChunkSink } from './framer';
import type { BitstreamLimits } from './limits';

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

/** A lenient walk bounds nothing: it holds views into bytes already in memory. */
const UNBOUNDED: BitstreamLimits = {
  maxTotalBytes: Infinity,
  maxChunkBytes: Infinity,
  maxSegments: Infinity,
  maxTextBytes: Infinity,
  maxKeyframeBytes: Infinity,
  maxKeyframesPerSegment: Infinity,
  maxUnknownChunks: Infinity,
};

/** Collects every chunk the walker hands over, and where the last whole one ends. */
class ChunkList implements ChunkSink {
  readonly chunks: ChunkInfo[] = [];
  end = PREAMBLE_BYTES;
  readonly complete = false;

  declare(): void {}

  accept(type: string, data: Uint8Array, offset: number, crc: number, crcOk: boolean): void {
    this.chunks.push({ type, offset, length: data.length, critical: isCritical(type), known: KNOWN_CHUNKS.has(type), crcOk, crc, data });
    this.end = offset + CHUNK_OVERHEAD_BYTES + data.length;
  }

  finish(): void {}
}

/**
 * Lists the chunks after the preamble: the chunk walker (framer.ts) in lenient mode, checking only the
 * framing. It stops at the first chunk that does not fit in the input or has a bad type, and after CEND.
 * Use readBitstream to validate; this is for tools (inspect) and for cutting an already validated stream
 * (`checkCrc: false` then skips the CRCs, reporting every `crcOk` as true).
 */
export function walkChunks(bytes: Uint8Array, options: { checkCrc?: boolean } = {}): { chunks: ChunkInfo[]; end: number } {
  const list = new ChunkList();
  const framer = new Framer(list, { mode: 'lenient', limits: UNBOUNDED, checkCrc: options.checkCrc }, 0, true);
  framer.push(bytes);
  framer.end();
  return { chunks: list.chunks, end: list.end };
}
