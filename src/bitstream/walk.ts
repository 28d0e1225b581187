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
  maxAudioBytes: Infinity,
  maxAudioPacketBytes: Infinity,
  maxUnknownChunks: Infinity,
};

/** Collects the chunks the walker hands over (the first `keep`; each is also shown to `visit`), and where the last whole one ends. */
class ChunkList implements ChunkSink {
  readonly chunks: ChunkInfo[] = [];
  count = 0;
  end = PREAMBLE_BYTES;
  readonly complete = false;

  constructor(
    private readonly keep: number,
    private readonly visit?: (chunk: ChunkInfo) => void,
  ) {}

  declare(): void {}

  accept(type: string, data: Uint8Array, offset: number, crc: number, crcOk: boolean): void {
    const chunk = { type, offset, length: data.length, critical: isCritical(type), known: KNOWN_CHUNKS.has(type), crcOk, crc, data };
    this.count++;
    if (this.chunks.length < this.keep) this.chunks.push(chunk);
    this.visit?.(chunk);
    this.end = offset + CHUNK_OVERHEAD_BYTES + data.length;
  }

  finish(): void {}
}

/** How a lenient walk reports chunks. */
export interface WalkOptions {
  /** false: skip computing CRCs (every chunk reported as matching). */
  checkCrc?: boolean;
  /** Chunks to list, from the first (default: all); the rest are only counted, so a flood of chunks costs no memory. */
  keep?: number;
  /** Shown every chunk, listed or not, in order. */
  visit?: (chunk: ChunkInfo) => void;
}

/**
 * Lists the chunks after the preamble: the chunk walker (framer.ts) in lenient mode, checking only the
 * framing. It stops at the first chunk that does not fit in the input or has a bad type, and after CEND.
 * Use readBitstream to validate; this is for tools (inspect) and for cutting an already validated stream
 * (`checkCrc: false` then skips the CRCs, reporting every `crcOk` as true). `count` is every chunk walked.
 */
export function walkChunks(bytes: Uint8Array, options: WalkOptions = {}): { chunks: ChunkInfo[]; count: number; end: number } {
  const list = new ChunkList(options.keep ?? Infinity, options.visit);
  const framer = new Framer(list, { mode: 'lenient', limits: UNBOUNDED, checkCrc: options.checkCrc }, 0, true);
  framer.push(bytes);
  framer.end();
  return { chunks: list.chunks, count: list.count, end: list.end };
}
