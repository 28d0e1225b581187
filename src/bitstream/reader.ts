/**
 * The reader: the strict chunk walker (framer.ts) feeding the chunk grammar (sequence.ts), over a whole
 * file, its index prefix, or one segment's bytes.
 */
import { BitstreamError, invariant } from './errors';
import { Framer } from './framer';
import { resolveLimits, type ReadOptions } from './limits';
import { ChunkSequence, type SequenceMode } from './sequence';
import type { Bitstream, BitstreamIndex, SegmentData } from './types';

/** A strict walker over `seq`, from absolute offset `base`. */
function strictFramer(seq: ChunkSequence, options: ReadOptions, base: number, preamble: boolean): Framer {
  return new Framer(seq, { mode: 'strict', limits: resolveLimits(options), onAllocate: options.onAllocate }, base, preamble);
}

/**
 * Reads a bitstream from bytes pushed in pieces of any size, enforcing limits as they arrive
 * (a chunk's declared size is checked before its bytes are buffered). `end()` returns the same
 * Bitstream as readBitstream on the concatenated bytes, or throws the same error.
 */
export class BitstreamStreamReader {
  private readonly seq: ChunkSequence;
  private readonly framer: Framer;
  private ended = false;

  constructor(options: ReadOptions = {}) {
    this.seq = new ChunkSequence({ kind: 'file' }, resolveLimits(options), options);
    this.framer = strictFramer(this.seq, options, 0, true);
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.framer.position;
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('BitstreamStreamReader.push after end()');
    this.framer.push(chunk);
  }

  end(): Bitstream {
    if (this.ended) throw new Error('BitstreamStreamReader.end called twice');
    this.ended = true;
    this.framer.end();
    return this.seq.result();
  }
}

/** Parses and validates a whole bitstream. Throws BitstreamError for any malformed or over-limit input. */
export function readBitstream(bytes: Uint8Array, options: ReadOptions = {}): Bitstream {
  const reader = new BitstreamStreamReader(options);
  reader.push(bytes);
  return reader.end();
}

/**
 * Parses the header and segment index from the first bytes of a file. When `prefix` is too short it
 * throws `need_more` with `details.needBytes`: the prefix length to fetch (e.g. by HTTP Range) and retry.
 */
export function readIndex(prefix: Uint8Array, options: ReadOptions = {}): BitstreamIndex {
  const seq = new ChunkSequence({ kind: 'index' }, resolveLimits(options), options);
  const framer = strictFramer(seq, options, 0, true);
  framer.push(prefix);
  if (seq.index !== undefined) return seq.index;
  const needBytes = framer.needBytes;
  throw new BitstreamError('need_more', `the index needs at least ${needBytes} bytes; got ${prefix.length}`, { offset: prefix.length, details: { needBytes } });
}

/** Decodes segment `n` from exactly the bytes [offset, offset + length) that `index` gives for it. */
export function readSegment(index: BitstreamIndex, n: number, bytes: Uint8Array, options: ReadOptions = {}): SegmentData {
  const entry = index.segments[n];
  if (!Number.isInteger(n) || entry === undefined) throw new RangeError(`segment ${n} does not exist; the index has ${index.segments.length}`);
  if (bytes.length !== entry.length) {
    throw new BitstreamError(bytes.length < entry.length ? 'truncated' : 'malformed_chunk', `segment ${n} is ${entry.length} bytes; got ${bytes.length}`, {
      offset: entry.offset,
      details: { expected: entry.length, got: bytes.length },
    });
  }
  const mode: SequenceMode = { kind: 'segment', index, n };
  const seq = new ChunkSequence(mode, resolveLimits(options), options);
  const framer = strictFramer(seq, options, entry.offset, false);
  framer.push(bytes);
  framer.end();
  const segment = seq.segments[0];
  invariant(seq.segments.length === 1 && segment !== undefined, 'segment mode read one segment');
  return segment;
}
