import { CHUNK_OVERHEAD_BYTES } from './chunks';
import { crc32 } from './crc32';
import { invariant } from './errors';

const UTF8 = new TextEncoder();

export function encodeUtf8(text: string): Uint8Array {
  return UTF8.encode(text);
}

/** An append-only byte buffer; the mirror of ByteCursor. Field widths and order follow docs/bitstream.md. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    invariant(Number.isInteger(v) && v >= 0 && v <= 0xff, `u8 out of range: ${v}`);
    this.reserve(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u32(v: number): this {
    invariant(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff, `u32 out of range: ${v}`);
    this.reserve(4);
    this.view.setUint32(this.pos, v, false);
    this.pos += 4;
    return this;
  }

  /** Unsigned LEB128, minimal, at most 4 bytes. */
  varint(v: number): this {
    invariant(Number.isInteger(v) && v >= 0 && v <= 0x0fff_ffff, `varint out of range: ${v}`);
    let rest = v;
    while (rest >= 0x80) {
      this.u8((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    return this.u8(rest);
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** A u8-length-prefixed UTF-8 string (validated by the caller to fit in 255 bytes). */
  string8(s: string): this {
    const b = encodeUtf8(s);
    invariant(b.length <= 0xff, `string8 too long: ${b.length}`);
    return this.u8(b.length).bytes(b);
  }

  /** The bytes written so far (a view; the writer must not be used afterwards). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** A chunk before serialisation: its type and data. */
export interface ChunkNode {
  type: string;
  data: Uint8Array;
  /** The CRC when already known (a chunk copied from a verified stream); computed otherwise. */
  crc?: number;
}

export function chunkSize(node: ChunkNode): number {
  return CHUNK_OVERHEAD_BYTES + node.data.length;
}

/** Serialises chunks into `out` at `pos`: length (u32), type (4 ASCII), data, CRC-32 over type + data. */
export function writeChunk(out: ByteWriter, node: ChunkNode): void {
  invariant(node.type.length === 4 && /^[A-Za-z]{4}$/.test(node.type), `bad chunk type ${node.type}`);
  const type = encodeUtf8(node.type);
  out.u32(node.data.length); // length: data bytes only
  out.bytes(type); // type
  out.bytes(node.data); // data
  out.u32(node.crc ?? crc32(node.data, crc32(type))); // CRC-32 of type + data
}
