/**
 * The one chunk walker: framing over bytes that arrive in pieces. Input is consumed in units (the
 * preamble, a chunk's 8-byte head, a chunk's data + CRC); every check happens at a fixed byte position,
 * so the answer — result or error — is the same however the bytes are split. A unit is buffered only
 * after its size has passed the limits, and zero-copy when it lies inside one pushed piece.
 *
 * Two modes. `strict` (the reader): the signature, the version, the limits and every CRC are checked,
 * and each fault is a BitstreamError. `lenient` (listing chunks for inspect, cutting a stream already
 * verified): only the framing is read; a chunk whose type is not four letters, or whose bytes run past
 * the input, ends the walk, and a CRC mismatch is reported to the sink rather than thrown.
 */
import { CHUNK_CEND, CHUNK_CRC_BYTES, CHUNK_HEAD_BYTES, CHUNK_OVERHEAD_BYTES, MAGIC, PREAMBLE_BYTES, VERSION_MAJOR } from './chunks';
import { BitstreamError, invariant } from './errors';
import { chunkCrc, chunkHeadAt, u32At } from './framing';
import { checkLimit, type BitstreamLimits, type ReadOptions } from './limits';

/** Where the framer hands each chunk: the reader's grammar (ChunkSequence), or a list. */
export interface ChunkSink {
  /** A chunk's head has been read (its data has not): the sink may refuse it by throwing. */
  declare(type: string, length: number, offset: number): void;
  /**
   * A whole chunk at `offset`: its data (a view into the input when the chunk lies in one pushed piece),
   * the stored CRC field, and whether it matches (strict mode passes only chunks whose CRC matches).
   */
  accept(type: string, data: Uint8Array, offset: number, crc: number, crcOk: boolean): void;
  /** True when the sink wants no more chunks: the framer stops. */
  readonly complete: boolean;
  /** The input is over at `endOffset` (strict mode only). */
  finish(endOffset: number): void;
}

export interface FramerOptions extends Pick<ReadOptions, 'onAllocate'> {
  mode: 'strict' | 'lenient';
  limits: BitstreamLimits;
  /** Lenient mode: `false` skips computing CRCs (every chunk reported as matching). Strict mode always checks. */
  checkCrc?: boolean;
}

type Phase = 'preamble' | 'head' | 'body' | 'stopped';

export class Framer {
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

  private readonly strict: boolean;
  private readonly limits: BitstreamLimits;
  private readonly checkCrc: boolean;

  /** Walks from absolute offset `base`, starting with the file's preamble when `preamble` is set. */
  constructor(
    private readonly sink: ChunkSink,
    private readonly options: FramerOptions,
    base: number,
    preamble: boolean,
  ) {
    this.strict = options.mode === 'strict';
    this.limits = options.limits;
    this.checkCrc = this.strict || options.checkCrc !== false;
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
        if (!this.done || !this.strict) return; // index mode stops after SIDX: the rest of the prefix is not ours
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
        if (this.phase === 'preamble' && this.strict) this.checkMagic(buffer.subarray(0, this.filled + take), this.filled);
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
        if (this.strict) this.checkPreamble(u);
        this.next('head', at + PREAMBLE_BYTES, CHUNK_HEAD_BYTES);
        return;
      }
      case 'head': {
        const head = chunkHeadAt(u, 0);
        if (head === null) {
          if (this.strict) throw new BitstreamError('malformed_chunk', 'a chunk type must be four ASCII letters', { offset: at + 4, details: { got: Array.from(u.subarray(4, 8)) } });
          this.stop(at);
          return;
        }
        const length = head.length;
        this.type = head.type;
        this.typeBytes = head.typeBytes.slice();
        const where = { chunk: this.type, offset: at };
        checkLimit(length, this.limits.maxChunkBytes, 'maxChunkBytes', where);
        checkLimit(at + CHUNK_OVERHEAD_BYTES + length, this.limits.maxTotalBytes, 'maxTotalBytes', where);
        this.sink.declare(this.type, length, at);
        this.next('body', at + CHUNK_HEAD_BYTES, length + CHUNK_CRC_BYTES);
        return;
      }
      case 'body': {
        const chunkAt = at - CHUNK_HEAD_BYTES;
        const data = u.subarray(0, u.length - CHUNK_CRC_BYTES);
        const stored = u32At(u, data.length);
        const actual = this.checkCrc ? chunkCrc(this.typeBytes, data) : stored;
        if (stored !== actual && this.strict) {
          throw new BitstreamError('crc_mismatch', `CRC-32 of ${this.type} is 0x${actual.toString(16).padStart(8, '0')}, the chunk says 0x${stored.toString(16).padStart(8, '0')}`, {
            chunk: this.type,
            offset: chunkAt,
            details: { expected: stored, got: actual },
          });
        }
        this.sink.accept(this.type, data, chunkAt, stored, stored === actual);
        if (this.type === CHUNK_CEND) this.done = true;
        if (this.sink.complete || (this.done && !this.strict)) this.stop(at + u.length);
        else this.next('head', at + u.length, CHUNK_HEAD_BYTES);
        return;
      }
      case 'stopped':
        invariant(false, 'unit after stop');
    }
  }

  /** Checks the signature and the major version. */
  private checkPreamble(u: Uint8Array): void {
    this.checkMagic(u, 0);
    const major = u[MAGIC.length]!;
    if (major !== VERSION_MAJOR) {
          throw new BitstreamError('unsupported_version', `major version ${major} is not supported (this reader reads ${VERSION_MAJOR})`, {
            offset: MAGIC.length,
          details: { expected: VERSION_MAJOR, got: major },
          });
        }
  }

  /** Takes no more input from `offset` on. */
  private stop(offset: number): void {
    this.phase = 'stopped';
    this.unitStart = offset;
    this.unitSize = 0;
    this.filled = 0;
    this.pending = undefined;
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
    if (!this.strict) return; // a lenient walk ends wherever the input does
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
      this.sink.finish(this.position);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }
}

