/**
 * Chunk framing over bytes that arrive in pieces. Input is consumed in units (the preamble, a chunk's
 * 8-byte head, a chunk's data + CRC); every check happens at a fixed byte position, so the answer —
 * result or error — is the same however the bytes are split. A unit is buffered only after its size
 * has passed the limits, and zero-copy when it lies inside one pushed piece.
 */
import { CHUNK_CEND, CHUNK_CRC_BYTES, CHUNK_HEAD_BYTES, CHUNK_OVERHEAD_BYTES, MAGIC, PREAMBLE_BYTES, VERSION_MAJOR } from './chunks';
import { BitstreamError, invariant } from './errors';
import { chunkCrc, chunkHeadAt, u32At } from './framing';
import { checkLimit, resolveLimits, type BitstreamLimits, type ReadOptions } from './limits';
import { ChunkSequence, type SequenceMode } from './sequence';
import type { Bitstream, BitstreamIndex, SegmentData } from './types';

type Phase = 'preamble' | 'head' | 'body' | 'stopped';

class Framer {
  private phase: Phase;
  /** Absolute offset of the current unit. */
  private unitStart: number;
  private unitSize: number;
  private pending: Uint8Array | undefined;
  private filled = 0;
  /** Current chunk (known once its head is read). */
  private type = '';
  private typeBytes = new Uint8Array(4);
  private failure: unknown;
  /** CEND has been read. */
  private done = false;

  constructor(
    readonly seq: ChunkSequence,
    private readonly limits: BitstreamLimits,
    private readonly options: ReadOptions,
    base: number,
    preamble: boolean,
  ) {
    this.unitStart = base;
    this.phase = preamble ? 'preamble' : 'head';
    this.unitSize = preamble ? PREAMBLE_BYTES : CHUNK_HEAD_BYTES;
    this.startUnit();
  }

  /** Total bytes (from offset 0) the current unit needs: what a range reader should fetch next. */
  get needBytes(): number {
    return this.unitStart + this.unitSize;
  }

  /** Absolute offset of the next byte expected. */
  get position(): number {
    return this.unitStart + this.filled;
  }

  get stopped(): boolean {
    return this.phase === 'stopped';
  }

  private startUnit(): void {
    this.filled = 0;
    this.pending = undefined;
    checkLimit(this.unitStart + this.unitSize, this.limits.maxTotalBytes, 'maxTotalBytes', { offset: this.unitStart });
  }

  push(bytes: Uint8Array): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      this.consume(bytes);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private consume(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.phase === 'stopped') {
        if (!this.done) return; // index mode stops after SIDX: the rest of the prefix is not ours
        throw new BitstreamError('malformed_chunk', `${bytes.length - i} bytes after the CEND chunk`, { chunk: CHUNK_CEND, offset: this.position });
      }
      const want = this.unitSize - this.filled;
      let unit: Uint8Array;
      if (this.filled === 0 && bytes.length - i >= want) {
        unit = bytes.subarray(i, i + want); // whole unit in this piece: no copy
        i += want;
      } else {
        const take = Math.min(want, bytes.length - i);
        const buffer = this.reserve(this.filled + take);
        buffer.set(bytes.subarray(i, i + take), this.filled);
        if (this.phase === 'preamble') this.checkMagic(buffer.subarray(0, this.filled + take), this.filled);
        this.filled += take;
        i += take; // take ≥ 1: the loop always advances
        if (this.filled < this.unitSize) continue;
        unit = buffer;
      }
      this.unit(unit);
    }
  }

  /**
   * Grows the unit buffer to hold `n` bytes, doubling, never past the unit's size: a chunk that declares
   * megabytes but delivers a few bytes costs a few bytes.
   */
  private reserve(n: number): Uint8Array {
    const have = this.pending?.length ?? 0;
    if (this.pending !== undefined && n <= have) return this.pending;
    const size = Math.min(this.unitSize, Math.max(n, have * 2, 4096));
    if (this.phase === 'body') this.options.onAllocate?.(size, 'chunk');
    const next = new Uint8Array(size);
    if (this.pending !== undefined) next.set(this.pending.subarray(0, this.filled));
    this.pending = next;
    return next;
  }

  private checkMagic(bytes: Uint8Array, from: number): void {
    for (let k = from; k < Math.min(bytes.length, MAGIC.length); k++) {
      if (bytes[k] !== MAGIC[k]) {
        throw new BitstreamError('bad_magic', 'not a CMVC bitstream (bad signature)', { offset: k, details: { expected: Array.from(MAGIC), got: Array.from(bytes.subarray(0, Math.min(bytes.length, MAGIC.length))) } });
      }
    }
  }

  /** Processes one complete unit, then sets up the next. */
  private unit(u: Uint8Array): void {
    const at = this.unitStart;
    switch (this.phase) {
      case 'preamble': {
        this.checkMagic(u, 0);
        const major = u[MAGIC.length]!;
        if (major !== VERSION_MAJOR) {
          throw new BitstreamError('unsupported_version', `major version ${major} is not supported (this reader reads ${VERSION_MAJOR})`, {
            offset: MAGIC.length,
            details: { expected: VERSION_MAJOR, got: major },
          });
        }
        this.next('head', at + PREAMBLE_BYTES, CHUNK_HEAD_BYTES);
        return;
      }
      case 'head': {
        const head = chunkHeadAt(u, 0);
        if (head === null) {
          throw new BitstreamError('malformed_chunk', 'a chunk type must be four ASCII letters', { offset: at + 4, details: { got: Array.from(u.subarray(4, 8)) } });
        }
        const length = head.length;
        this.type = head.type;
        this.typeBytes = head.typeBytes.slice();
        const where = { chunk: this.type, offset: at };
        checkLimit(length, this.limits.maxChunkBytes, 'maxChunkBytes', where);
        checkLimit(at + CHUNK_OVERHEAD_BYTES + length, this.limits.maxTotalBytes, 'maxTotalBytes', where);
        this.seq.declare(this.type, length, at);
        this.next('body', at + CHUNK_HEAD_BYTES, length + CHUNK_CRC_BYTES);
        return;
      }
      case 'body': {
        const chunkAt = at - CHUNK_HEAD_BYTES;
        const data = u.subarray(0, u.length - CHUNK_CRC_BYTES);
        const stored = u32At(u, data.length);
        const actual = chunkCrc(this.typeBytes, data);
        if (stored !== actual) {
          throw new BitstreamError('crc_mismatch', `CRC-32 of ${this.type} is 0x${actual.toString(16).padStart(8, '0')}, the chunk says 0x${stored.toString(16).padStart(8, '0')}`, {
            chunk: this.type,
            offset: chunkAt,
            details: { expected: stored, got: actual },
          });
        }
        this.seq.accept(this.type, data, chunkAt);
        if (this.type === CHUNK_CEND) this.done = true;
        if (this.seq.complete) {
          this.phase = 'stopped';
          this.unitStart = at + u.length;
          this.unitSize = 0;
          this.filled = 0;
          this.pending = undefined;
          return;
        }
        this.next('head', at + u.length, CHUNK_HEAD_BYTES);
        return;
      }
      case 'stopped':
        invariant(false, 'unit after stop');
    }
  }

  private next(phase: Phase, start: number, size: number): void {
    this.phase = phase;
    this.unitStart = start;
    this.unitSize = size;
    this.startUnit();
  }

  /** The input is over: it must end on a chunk boundary where the grammar allows. */
  end(): void {
    if (this.failure !== undefined) throw this.failure;
    try {
      if (this.phase === 'body') {
        throw new BitstreamError('truncated', `the input ends inside the ${this.type} chunk: ${this.filled} of ${this.unitSize} data and CRC bytes`, {
          chunk: this.type,
          offset: this.unitStart - CHUNK_HEAD_BYTES,
          details: { expected: this.unitSize, got: this.filled },
        });
      }
      if (this.phase !== 'stopped' && this.filled > 0) {
        throw new BitstreamError('truncated', `the input ends inside a ${this.phase === 'preamble' ? 'signature' : 'chunk head'}: ${this.filled} of ${this.unitSize} bytes`, {
          offset: this.unitStart,
          details: { expected: this.unitSize, got: this.filled },
        });
      }
      if (this.phase === 'preamble') throw new BitstreamError('truncated', 'the input is empty', { offset: 0 });
      this.seq.finish(this.position);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }
}

/**
 * Reads a bitstream from bytes pushed in pieces of any size, enforcing limits as they arrive
 * (a chunk's declared size is checked before its bytes are buffered). `end()` returns the same
 * Bitstream as readBitstream on the concatenated bytes, or throws the same error.
 */
export class BitstreamStreamReader {
  private readonly framer: Framer;
  private ended = false;

  constructor(options: ReadOptions = {}) {
    const limits = resolveLimits(options);
    this.framer = new Framer(new ChunkSequence({ kind: 'file' }, limits, options), limits, options, 0, true);
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
    return this.framer.seq.result();
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
  const limits = resolveLimits(options);
  const seq = new ChunkSequence({ kind: 'index' }, limits, options);
  const framer = new Framer(seq, limits, options, 0, true);
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
  const limits = resolveLimits(options);
  const mode: SequenceMode = { kind: 'segment', index, n };
  const seq = new ChunkSequence(mode, limits, options);
  const framer = new Framer(seq, limits, options, entry.offset, false);
  framer.push(bytes);
  framer.end();
  const segment = seq.segments[0];
  invariant(seq.segments.length === 1 && segment !== undefined, 'segment mode read one segment');
  return segment;
}
