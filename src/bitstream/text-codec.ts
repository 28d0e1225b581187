import { deflateSync, inflateSync } from 'fflate';
import { TEXT_CODING_DEFLATE_DICT, TEXT_CODING_PLAIN } from './chunks';
import { textDictionary } from './dictionary';
import { BitstreamError } from './errors';
import { checkLimit, type AllocationKind } from './limits';
import { ByteCursor, decodeUtf8 } from './byte-cursor';
import { ByteWriter, encodeUtf8 } from './byte-writer';

export type TextCoding = 'plain' | 'deflate-dict';

/** Deflate level the writer uses; any level decodes the same, this one just fixes the writer's bytes. */
const DEFLATE_LEVEL = 9;

/**
 * The data field of a CTXT or MTXT chunk for `text`: a coding tag, then either the plain UTF-8 bytes or
 * varint(plain length) + deflate-raw(UTF-8, preset dictionary). The smaller one wins; plain on a tie.
 * `dictionaryVersion` 0 means plain only.
 */
export function encodeText(text: string, dictionaryVersion: number): Uint8Array {
  const plain = encodeUtf8(text);
  const plainChunk = new ByteWriter(plain.length + 1)
    .u8(TEXT_CODING_PLAIN) // coding tag
    .bytes(plain) // UTF-8 text
    .finish();
  const dictionary = dictionaryVersion === 0 ? undefined : textDictionary(dictionaryVersion);
  if (dictionary === undefined || plain.length === 0) return plainChunk;
  const deflated = deflateSync(plain, { level: DEFLATE_LEVEL, dictionary });
  const codedLength = 1 + varintBytes(plain.length) + deflated.length;
  if (codedLength >= plainChunk.length) return plainChunk;
  return new ByteWriter(codedLength)
    .u8(TEXT_CODING_DEFLATE_DICT) // coding tag
    .varint(plain.length) // plain UTF-8 length
    .bytes(deflated) // deflate-raw payload
    .finish();
}

export function varintBytes(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

export interface TextDecodeContext {
  chunk: string;
  /** Absolute offset of the chunk's data. */
  offset: number;
  dictionaryVersion: number;
  maxTextBytes: number;
  onAllocate?: ((bytes: number, kind: AllocationKind) => void) | undefined;
}

/** Facts about a coded text, read without inflating it. */
export interface TextInfo {
  coding: TextCoding;
  /** Bytes of the chunk's data field (tag included). */
  codedBytes: number;
  /** UTF-8 bytes of the text. */
  plainBytes: number;
}

export function describeText(data: Uint8Array, ctx: Pick<TextDecodeContext, 'chunk' | 'offset'>): TextInfo {
  const r = new ByteCursor(data, ctx.chunk, ctx.offset);
  const tag = r.u8('coding tag');
  if (tag === TEXT_CODING_PLAIN) return { coding: 'plain', codedBytes: data.length, plainBytes: r.remaining };
  if (tag === TEXT_CODING_DEFLATE_DICT) return { coding: 'deflate-dict', codedBytes: data.length, plainBytes: r.varint('plain length') };
  return r.fail(`unknown text coding tag ${tag}`, { field: 'coding tag', got: tag }, ctx.offset);
}

/** Decodes a CTXT/MTXT data field. The declared length is checked against the limit before anything is inflated. */
export function decodeText(data: Uint8Array, ctx: TextDecodeContext): string {
  const r = new ByteCursor(data, ctx.chunk, ctx.offset);
  const where = { chunk: ctx.chunk, offset: ctx.offset };
  const tag = r.u8('coding tag');
  if (tag === TEXT_CODING_PLAIN) {
    checkLimit(r.remaining, ctx.maxTextBytes, 'maxTextBytes', where);
    return decodeUtf8(r.rest(), where);
  }
  if (tag !== TEXT_CODING_DEFLATE_DICT) return r.fail(`unknown text coding tag ${tag}`, { field: 'coding tag', got: tag }, ctx.offset);
  const plainLength = r.varint('plain length');
  checkLimit(plainLength, ctx.maxTextBytes, 'maxTextBytes', where);
  const payload = r.rest();
  checkLimit(payload.length, ctx.maxTextBytes, 'maxTextBytes (coded)', where);
  const dictionary = textDictionary(ctx.dictionaryVersion);
  if (dictionary === undefined) {
    throw new BitstreamError('bad_text', `a coded text needs text dictionary ${ctx.dictionaryVersion}, which this stream or reader lacks`, {
      ...where,
      details: { dictionaryVersion: ctx.dictionaryVersion },
    });
  }
  // One spare byte: a payload that inflates to more than declared fills it, and is caught below.
  // fflate never grows a caller's buffer, so nothing larger is ever allocated however the payload is built.
  ctx.onAllocate?.(plainLength + 1, 'text');
  const out = new Uint8Array(plainLength + 1);
  let inflated: Uint8Array;
  try {
    inflated = inflateSync(payload, { out, dictionary });
  } catch (err) {
    throw new BitstreamError('bad_text', `the deflate payload is corrupt: ${err instanceof Error ? err.message : String(err)}`, where);
  }
  if (inflated.length !== plainLength) {
    throw new BitstreamError('bad_text', `the deflate payload inflates to ${inflated.length > plainLength ? `more than ${plainLength}` : inflated.length} bytes, not the declared ${plainLength}`, {
      ...where,
      details: { expected: plainLength, got: inflated.length },
    });
  }
  return decodeUtf8(inflated, where);
}
