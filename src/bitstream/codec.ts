/** Data fields of the known chunks: encoders and their mirror decoders (docs/bitstream.md, "Chunks"). */
import {
  CHUNK_HEAD,
  CHUNK_KFRM,
  CHUNK_KFRX,
  CHUNK_KPOS,
  CHUNK_SEGP,
  CHUNK_SIDX,
  KEYFRAME_CODEC_IDS,
  KEYFRAME_CODECS,
  MIN_SEGMENT_BYTES,
  SEGP_FLAG_SEED,
  SIDX_ENTRY_BYTES,
  SIDX_FIXED_BYTES,
} from './chunks';
import { TEXT_DICTIONARIES } from './dictionary';
import { BitstreamError } from './errors';
import { checkLimit, FORMAT_LIMITS, type BitstreamLimits, type ReadOptions } from './limits';
import { ByteCursor } from './byte-cursor';
import type { BitstreamHeader, Keyframe, SegmentIndexEntry } from './types';
import { checkFrames, checkString, checkU32, compareUtf8, type Fail } from './validate';
import { ByteWriter } from './byte-writer';

// ---------------------------------------------------------------- HEAD

export function encodeHeader(h: BitstreamHeader, textDictionary: number): Uint8Array {
  const w = new ByteWriter(128)
    .u32(h.width) // width, pixels
    .u32(h.height) // height, pixels
    .u32(h.fpsNum) // frame rate numerator
    .u32(h.fpsDen) // frame rate denominator
    .u32(h.frameCount) // frames in the source video
    .u32(h.durationMs) // duration, milliseconds
    .u32(h.seed) // default generation seed
    .u8(textDictionary) // text dictionary version
    .string8(h.engineId) // engine id
    .string8(h.engineVersion); // engine version
  const models = Object.keys(h.models).sort(compareUtf8);
  w.u8(models.length); // model count
  for (const key of models) w.string8(key).string8(h.models[key]!); // model role, "id@revision"
  return w.finish();
}

/** Largest HEAD data field the format allows. */
export const HEAD_MAX_BYTES = 7 * 4 + 1 + 2 * 256 + 1 + FORMAT_LIMITS.maxModels * 2 * 256;

export interface DecodedHeader {
  header: BitstreamHeader;
  textDictionary: number;
}

export function decodeHeader(data: Uint8Array, offset: number): DecodedHeader {
  const r = new ByteCursor(data, CHUNK_HEAD, offset);
  const u32 = (field: string, min: number) => {
    const at = r.absolute;
    const v = r.u32(field);
    if (v < min) r.fail(`${field} must be at least ${min}, got ${v}`, { field, got: v }, at);
    return v;
  };
  const width = u32('width', 1);
  const height = u32('height', 1);
  const fpsNum = u32('fpsNum', 1);
  const fpsDen = u32('fpsDen', 1);
  const frameCount = u32('frameCount', 1);
  const durationMs = u32('durationMs', 0);
  const seed = u32('seed', 0);
  const dictAt = r.absolute;
  const textDictionary = r.u8('text dictionary version');
  if (textDictionary !== 0 && !TEXT_DICTIONARIES.has(textDictionary)) {
    throw new BitstreamError('unsupported_version', `text dictionary version ${textDictionary} is unknown to this reader`, {
      chunk: CHUNK_HEAD,
      offset: dictAt,
      details: { field: 'textDictionary', got: textDictionary },
    });
  }
  const str = (field: string, min: number) => {
    const at = r.absolute;
    const s = r.string8(field);
    checkString(s, field, (m) => r.fail(m, { field }, at), min, FORMAT_LIMITS.maxStringBytes);
    return s;
  };
  const engineId = str('engineId', 1);
  const engineVersion = str('engineVersion', 1);
  const countAt = r.absolute;
  const count = r.u8('model count');
  if (count > FORMAT_LIMITS.maxModels) r.fail(`model count ${count} is over ${FORMAT_LIMITS.maxModels}`, { field: 'models', got: count }, countAt);
  const models: Record<string, string> = {};
  let previous: string | undefined;
  for (let i = 0; i < count; i++) {
    const at = r.absolute;
    const key = str(`models[${i}].key`, 1);
    const value = str(`models[${i}].value`, 0);
    if (previous !== undefined && compareUtf8(previous, key) >= 0) {
      r.fail(`model keys must be unique and in ascending UTF-8 byte order; "${key}" follows "${previous}"`, { field: `models[${i}].key` }, at);
    }
    previous = key;
    // defineProperty: a key such as "__proto__" stays an ordinary own property.
    Object.defineProperty(models, key, { value, enumerable: true, writable: true, configurable: true });
  }
  r.end();
  return { header: { width, height, fpsNum, fpsDen, frameCount, durationMs, engineId, engineVersion, models, seed }, textDictionary };
}

/** Writer-side header rules (the reader enforces the same ones field by field). */
export function validateHeader(h: BitstreamHeader, fail: Fail): void {
  if (h === null || typeof h !== 'object') fail('header must be an object', 'header');
  checkU32(h.width, 'header.width', fail, 1);
  checkU32(h.height, 'header.height', fail, 1);
  checkU32(h.fpsNum, 'header.fpsNum', fail, 1);
  checkU32(h.fpsDen, 'header.fpsDen', fail, 1);
  checkU32(h.frameCount, 'header.frameCount', fail, 1);
  checkU32(h.durationMs, 'header.durationMs', fail, 0);
  checkU32(h.seed, 'header.seed', fail, 0);
  checkString(h.engineId, 'header.engineId', fail, 1, FORMAT_LIMITS.maxStringBytes);
  checkString(h.engineVersion, 'header.engineVersion', fail, 1, FORMAT_LIMITS.maxStringBytes);
  if (h.models === null || typeof h.models !== 'object') fail('header.models must be an object', 'header.models');
  const keys = Object.keys(h.models);
  if (keys.length > FORMAT_LIMITS.maxModels) fail(`header.models has ${keys.length} entries, over ${FORMAT_LIMITS.maxModels}`, 'header.models');
  for (const key of keys) {
    checkString(key, `header.models key "${key}"`, fail, 1, FORMAT_LIMITS.maxStringBytes);
    checkString(h.models[key], `header.models["${key}"]`, fail, 0, FORMAT_LIMITS.maxStringBytes);
  }
}

// ---------------------------------------------------------------- SIDX

export function sidxBytes(count: number): number {
  return SIDX_FIXED_BYTES + SIDX_ENTRY_BYTES * count;
}

export function encodeIndex(entries: readonly SegmentIndexEntry[], endOffset: number): Uint8Array {
  const w = new ByteWriter(sidxBytes(entries.length))
    .u32(entries.length) // segment count
    .u32(endOffset); // offset of the CEND chunk
  for (const e of entries) {
    w.u32(e.offset) // offset of the segment's SEGP chunk
      .u32(e.length) // bytes of the segment's chunks
      .u32(e.startFrame) // first frame
      .u32(e.frameCount); // frames
  }
  return w.finish();
}

export interface DecodedIndex {
  segments: SegmentIndexEntry[];
  endOffset: number;
}

/** Decodes SIDX and checks it is self-consistent: contiguous ranges from after the index to CEND, ordered frames. */
export function decodeIndex(data: Uint8Array, offset: number, indexEnd: number, header: BitstreamHeader, limits: BitstreamLimits): DecodedIndex {
  const r = new ByteCursor(data, CHUNK_SIDX, offset);
  const count = r.u32('segment count');
  checkLimit(count, limits.maxSegments, 'maxSegments', { chunk: CHUNK_SIDX, offset });
  if (count < 1) r.fail('a bitstream has at least one segment', { field: 'count', got: 0 }, offset);
  if (data.length !== sidxBytes(count)) {
    r.fail(`SIDX of ${count} segments is ${sidxBytes(count)} bytes, not ${data.length}`, { expected: sidxBytes(count), got: data.length }, offset);
  }
  const endAt = r.absolute;
  const endOffset = r.u32('end offset');
  checkLimit(endOffset + 12, limits.maxTotalBytes, 'maxTotalBytes', { chunk: CHUNK_SIDX, offset: endAt });
  const segments: SegmentIndexEntry[] = [];
  let expectedOffset: number | undefined;
  let previousEnd = 0;
  for (let i = 0; i < count; i++) {
    const at = r.absolute;
    const entryOffset = r.u32('segment offset');
    const length = r.u32('segment length');
    const startFrame = r.u32('segment start frame');
    const frameCount = r.u32('segment frame count');
    const fail: Fail = (m, field) => r.fail(m, { field }, at);
    if (expectedOffset === undefined ? entryOffset < indexEnd : entryOffset !== expectedOffset) {
      fail(`segment ${i} offset ${entryOffset} is not ${expectedOffset === undefined ? `at or after the index end ${indexEnd}` : `${expectedOffset}, the end of segment ${i - 1}`}`, `segments[${i}].offset`);
    }
    if (length < MIN_SEGMENT_BYTES) fail(`segment ${i} length ${length} is under the minimum ${MIN_SEGMENT_BYTES}`, `segments[${i}].length`);
    checkFrames(startFrame, frameCount, previousEnd, header.frameCount, `segments[${i}]`, fail);
    segments.push({ startFrame, frameCount, offset: entryOffset, length });
    expectedOffset = entryOffset + length;
    previousEnd = startFrame + frameCount;
  }
  if (expectedOffset !== endOffset) r.fail(`the last segment ends at ${expectedOffset}, not at CEND (${endOffset})`, { expected: endOffset, got: expectedOffset }, endAt);
  return { segments, endOffset };
}

// ---------------------------------------------------------------- SEGP

export interface SegmentParams {
  startFrame: number;
  frameCount: number;
  seed?: number;
}

export function encodeSegmentParams(p: SegmentParams): Uint8Array {
  const w = new ByteWriter(13)
    .u32(p.startFrame) // first frame
    .u32(p.frameCount) // frames
    .u8(p.seed === undefined ? 0 : SEGP_FLAG_SEED); // flags: bit 0 = seed override present
  if (p.seed !== undefined) w.u32(p.seed); // seed override
  return w.finish();
}

export function decodeSegmentParams(data: Uint8Array, offset: number): SegmentParams {
  const r = new ByteCursor(data, CHUNK_SEGP, offset);
  const startFrame = r.u32('start frame');
  const frameCount = r.u32('frame count');
  const flagsAt = r.absolute;
  const flags = r.u8('flags');
  if ((flags & ~SEGP_FLAG_SEED) !== 0) r.fail(`reserved SEGP flag bits are set (0x${flags.toString(16)})`, { field: 'flags', got: flags }, flagsAt);
  const out: SegmentParams = { startFrame, frameCount };
  if (flags & SEGP_FLAG_SEED) out.seed = r.u32('seed');
  r.end();
  return out;
}

// ---------------------------------------------------------------- KFRM, kpos, kfrx

/** A keyframe's image fields (KFRM's data; the tail of kfrx's). */
export type KeyframeImage = Omit<Keyframe, 'frameIndex' | 'priority'>;
/** Where a keyframe sits and how long it is kept (kpos's data; the head of kfrx's). */
export type KeyframePosition = Pick<Keyframe, 'frameIndex' | 'priority'>;

function writeImage(w: ByteWriter, k: KeyframeImage): ByteWriter {
  return w
    .u8(KEYFRAME_CODEC_IDS[k.codec]) // codec
    .u32(k.width) // width, pixels
    .u32(k.height) // height, pixels
    .bytes(k.data); // image file bytes
}

function writePosition(w: ByteWriter, p: KeyframePosition): ByteWriter {
  return w
    .u32(p.frameIndex) // frame within the segment
    .u8(p.priority); // priority: higher is kept longer
}

export function encodeKeyframe(k: KeyframeImage): Uint8Array {
  return writeImage(new ByteWriter(9 + k.data.length), k).finish();
}

export function encodeKeyframePosition(p: KeyframePosition): Uint8Array {
  return writePosition(new ByteWriter(5), p).finish();
}

export function encodeExtraKeyframe(k: Keyframe): Uint8Array {
  return writeImage(writePosition(new ByteWriter(14 + k.data.length), k), k).finish();
}

function readPosition(r: ByteCursor): KeyframePosition {
  const frameIndex = r.u32('frame index');
  const priority = r.u8('priority');
  return { frameIndex, priority };
}

export function decodeKeyframePosition(data: Uint8Array, offset: number): KeyframePosition {
  const r = new ByteCursor(data, CHUNK_KPOS, offset);
  const p = readPosition(r);
  r.end();
  return p;
}

export function decodeExtraKeyframe(data: Uint8Array, offset: number, options: ReadOptions & Pick<BitstreamLimits, 'maxKeyframeBytes'>): Keyframe {
  const r = new ByteCursor(data, CHUNK_KFRX, offset);
  const p = readPosition(r);
  return { ...readImage(r, offset, options), ...p };
}

export function decodeKeyframe(data: Uint8Array, offset: number, options: ReadOptions & Pick<BitstreamLimits, 'maxKeyframeBytes'>): KeyframeImage {
  return readImage(new ByteCursor(data, CHUNK_KFRM, offset), offset, options);
}

function readImage(r: ByteCursor, offset: number, options: ReadOptions & Pick<BitstreamLimits, 'maxKeyframeBytes'>): KeyframeImage {
  const codecAt = r.absolute;
  const codecId = r.u8('codec');
  const codec = KEYFRAME_CODECS[codecId];
  if (codec === undefined) return r.fail(`unknown keyframe codec ${codecId}`, { field: 'codec', got: codecId }, codecAt);
  const wAt = r.absolute;
  const width = r.u32('width');
  const height = r.u32('height');
  if (width < 1 || height < 1) r.fail(`keyframe size ${width}x${height} must be at least 1x1`, { field: 'width/height' }, wAt);
  const imageAt = r.absolute;
  const image = r.rest();
  if (image.length < 1) r.fail('keyframe has no image bytes', { field: 'data' });
  checkLimit(image.length, options.maxKeyframeBytes, 'maxKeyframeBytes', { chunk: r.chunk, offset });
  options.onAllocate?.(image.length, 'keyframe');
  // A copy, so the keyframe does not keep the stream's buffer alive; where it came from is remembered.
  const data = image.slice();
  imageOffsets.set(data, imageAt);
  return { codec, width, height, data };
}

/** The offset in its stream of each keyframe image read from one (the image arrays are the keys). */
const imageOffsets = new WeakMap<Uint8Array, number>();

/**
 * Where a keyframe image read by this module starts in the stream it was read from (bytes), so the
 * image can be fetched from the stored stream by range; undefined for an image made any other way.
 */
export function imageOffset(image: Uint8Array): number | undefined {
  return imageOffsets.get(image);
}
