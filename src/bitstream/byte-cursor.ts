import { BitstreamError } from './errors';
import { FORMAT_LIMITS } from './limits';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly; invalid sequences are `bad_text`. */
export function decodeUtf8(bytes: Uint8Array, where: { chunk?: string; offset?: number }): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new BitstreamError('bad_text', 'text is not valid UTF-8', where);
  }
}

/**
 * A cursor over one chunk's data. Every read checks bounds first and fails with `malformed_chunk`
 * naming the chunk, the field and its absolute offset; nothing past the end is ever read as zero.
 */
export class ByteCursor {
  private readonly view: DataView;
  private pos = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** The chunk type, for errors. */
    readonly chunk: string,
    /** Absolute offset of bytes[0] in the file. */
    readonly base: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Absolute file offset of the cursor. */
  get absolute(): number {
    return this.base + this.pos;
  }

  fail(message: string, details?: Record<string, unknown>, at = this.absolute): never {
    throw new BitstreamError('malformed_chunk', message, { chunk: this.chunk, offset: at, ...(details ? { details } : {}) });
  }

  private need(n: number, field: string): void {
    if (this.remaining < n) this.fail(`${field} needs ${n} bytes, ${this.remaining} left in the chunk`, { field, expected: n, got: this.remaining });
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, false);
    this.pos += 4;
    return v;
  }

  /** Unsigned LEB128, at most 4 bytes, minimal encoding only (so each value has one spelling). */
  varint(field: string): number {
    const start = this.absolute;
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(field);
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) this.fail(`${field} is an over-long varint`, { field }, start);
        return value;
      }
    }
    return this.fail(`${field} is a varint longer than 4 bytes (max ${FORMAT_LIMITS.maxVarint})`, { field }, start);
  }

  /** `n` bytes as a view (no copy). */
  bytesView(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The rest of the chunk as a view. */
  rest(): Uint8Array {
    const out = this.bytes.subarray(this.pos);
    this.pos = this.bytes.length;
    return out;
  }

  /** A u8-length-prefixed UTF-8 string. */
  string8(field: string): string {
    const at = this.absolute;
    const n = this.u8(`${field} length`);
    return decodeUtf8(this.bytesView(n, field), { chunk: this.chunk, offset: at });
  }

  /** Known chunks have no trailing bytes. */
  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`, { expected: 0, got: this.remaining });
  }
}
