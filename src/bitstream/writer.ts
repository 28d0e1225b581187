/** The writer: validates content, builds a list of chunks, lays out the index, then serialises. */
import { checkAudio, encodeAudio, type AudioFormat } from './audio';
import {
  CHUNK_AUDO,
  CHUNK_CEND,
  CHUNK_CTXT,
  CHUNK_HEAD,
  CHUNK_KFRM,
  CHUNK_KFRX,
  CHUNK_KPOS,
  CHUNK_MTXT,
  CHUNK_OVERHEAD_BYTES,
  CHUNK_SEGP,
  CHUNK_SIDX,
  KEYFRAME_CODEC_IDS,
  MAGIC,
  minorVersionFor,
  PREAMBLE_BYTES,
  VERSION_MAJOR,
} from './chunks';
import { encodeExtraKeyframe, encodeHeader, encodeIndex, encodeKeyframe, encodeKeyframePosition, encodeSegmentParams, sidxBytes, validateHeader } from './codec';
import { CURRENT_TEXT_DICTIONARY } from './dictionary';
import { BitstreamError } from './errors';
import { resolveLimits, type BitstreamLimits } from './limits';
import { anchorOf, checkKeyframes } from './keyframes';
import { encodeText } from './text-codec';
import type { Bitstream, SegmentData, SegmentIndexEntry } from './types';
import { checkFrames, checkString, checkU32, type Fail } from './validate';
import { ByteWriter, chunkSize, writeChunk, type ChunkNode } from './byte-writer';

/** A segment ready to lay out: its frames and its chunks, SEGP first. */
export interface SegmentNodes {
  startFrame: number;
  frameCount: number;
  chunks: ChunkNode[];
}

const invalid: Fail = (message, field) => {
  throw new BitstreamError('invalid_content', message, { details: { field } });
};

/** Throws `invalid_content` for anything the format cannot carry or a reader with `limits` would reject. */
export function validateBitstream(b: Bitstream, limits: BitstreamLimits): void {
  if (b === null || typeof b !== 'object' || !Array.isArray(b.segments)) invalid('a bitstream needs a header and a segments array', 'bitstream');
  validateHeader(b.header, invalid);
  const count = b.segments.length;
  if (count < 1) invalid('a bitstream needs at least one segment', 'segments');
  if (count > limits.maxSegments) invalid(`${count} segments is over the limit of ${limits.maxSegments}`, 'segments');
  let previousEnd = 0;
  let audioFormat: AudioFormat | undefined;
  b.segments.forEach((s: SegmentData, i) => {
    const f = `segments[${i}]`;
    if (s === null || typeof s !== 'object') invalid(`${f} must be an object`, f);
    checkU32(s.startFrame, `${f}.startFrame`, invalid, 0);
    checkU32(s.frameCount, `${f}.frameCount`, invalid, 1);
    checkFrames(s.startFrame, s.frameCount, previousEnd, b.header.frameCount, f, invalid);
    previousEnd = s.startFrame + s.frameCount;
    checkString(s.contentText, `${f}.contentText`, invalid, 0, limits.maxTextBytes);
    checkString(s.motionText, `${f}.motionText`, invalid, 0, limits.maxTextBytes);
    if (s.seed !== undefined) checkU32(s.seed, `${f}.seed`, invalid, 0);
    checkKeyframes(s.keyframes, s.frameCount, `${f}.keyframes`, limits.maxKeyframesPerSegment, invalid);
    s.keyframes.forEach((k, j) => {
      const g = `${f}.keyframes[${j}]`;
      if (!Object.hasOwn(KEYFRAME_CODEC_IDS, k.codec)) invalid(`${g}.codec must be webp, jpeg, avif or png, got ${String(k.codec)}`, `${g}.codec`);
      checkU32(k.width, `${g}.width`, invalid, 1);
      checkU32(k.height, `${g}.height`, invalid, 1);
      if (!(k.data instanceof Uint8Array)) invalid(`${g}.data must be a Uint8Array`, `${g}.data`);
      if (k.data.length < 1 || k.data.length > limits.maxKeyframeBytes) {
        invalid(`${g}.data must be 1–${limits.maxKeyframeBytes} bytes, got ${k.data.length}`, `${g}.data`);
      }
    });
    if (s.audio !== undefined) {
      checkAudio(s.audio, s, b.header, limits, `${f}.audio`, invalid, audioFormat);
      audioFormat ??= s.audio;
    }
  });
}

/**
 * The chunks of one segment: SEGP, CTXT, MTXT and, when there are keyframes, the anchor as KFRM + kpos
 * followed by the others as kfrx in frame order; then its sound as audo.
 */
export function segmentNodes(s: SegmentData, textDictionary: number): SegmentNodes {
  const params = s.seed === undefined ? { startFrame: s.startFrame, frameCount: s.frameCount } : { startFrame: s.startFrame, frameCount: s.frameCount, seed: s.seed };
  const chunks: ChunkNode[] = [
    { type: CHUNK_SEGP, data: encodeSegmentParams(params) },
    { type: CHUNK_CTXT, data: encodeText(s.contentText, textDictionary) },
    { type: CHUNK_MTXT, data: encodeText(s.motionText, textDictionary) },
  ];
  const anchor = anchorOf(s.keyframes);
  if (anchor !== undefined) {
    chunks.push({ type: CHUNK_KFRM, data: encodeKeyframe(anchor) }, { type: CHUNK_KPOS, data: encodeKeyframePosition(anchor) });
    for (const k of s.keyframes) if (k !== anchor) chunks.push({ type: CHUNK_KFRX, data: encodeExtraKeyframe(k) });
  }
  if (s.audio !== undefined) chunks.push({ type: CHUNK_AUDO, data: encodeAudio(s.audio) });
  return { startFrame: s.startFrame, frameCount: s.frameCount, chunks };
}

/**
 * Lays out preamble, HEAD, SIDX, the segments' chunks and CEND, computing SIDX from the chunk sizes,
 * and serialises them. Used by the writer and by cut (which passes chunks copied from a valid stream).
 */
export function assembleChunks(head: ChunkNode, segments: readonly SegmentNodes[], limits: BitstreamLimits): Uint8Array {
  const indexStart = PREAMBLE_BYTES + chunkSize(head);
  let offset = indexStart + CHUNK_OVERHEAD_BYTES + sidxBytes(segments.length);
  const entries: SegmentIndexEntry[] = segments.map((s) => {
    const length = s.chunks.reduce((n, c) => n + chunkSize(c), 0);
    const entry = { offset, length, startFrame: s.startFrame, frameCount: s.frameCount };
    offset += length;
    return entry;
  });
  const endOffset = offset;
  const total = endOffset + CHUNK_OVERHEAD_BYTES;
  if (total > limits.maxTotalBytes) invalid(`the bitstream would be ${total} bytes, over the limit of ${limits.maxTotalBytes}`, 'bitstream');
  for (const c of [head, ...segments.flatMap((s) => s.chunks)]) {
    if (c.data.length > limits.maxChunkBytes) invalid(`a ${c.type} chunk would be ${c.data.length} bytes, over the limit of ${limits.maxChunkBytes}`, c.type);
  }
  const out = new ByteWriter(total);
  // A stream is written as the oldest minor version whose chunks it uses: with no audio, byte for byte what
  // a v1.1 writer made; with no keyframe position either, what a v1.0 writer made.
  const minor = minorVersionFor(segments.flatMap((s) => s.chunks.map((c) => c.type)));
  out.bytes(MAGIC).u8(VERSION_MAJOR).u8(minor); // signature, major, minor
  writeChunk(out, head);
  writeChunk(out, { type: CHUNK_SIDX, data: encodeIndex(entries, endOffset) });
  for (const s of segments) for (const c of s.chunks) writeChunk(out, c);
  writeChunk(out, { type: CHUNK_CEND, data: new Uint8Array(0) });
  const bytes = out.finish();
  if (bytes.length !== total) throw new Error(`bitstream invariant failed: laid out ${total} bytes, wrote ${bytes.length}`);
  return bytes;
}

/**
 * Serialises a bitstream. Deterministic: equal content gives equal bytes (models sorted, texts coded
 * with fixed settings). Throws BitstreamError `invalid_content` for content the format cannot carry.
 */
export function writeBitstream(b: Bitstream, limits: Partial<BitstreamLimits> = {}): Uint8Array {
  const resolved = resolveLimits(limits);
  validateBitstream(b, resolved);
  const head: ChunkNode = { type: CHUNK_HEAD, data: encodeHeader(b.header, CURRENT_TEXT_DICTIONARY) };
  return assembleChunks(head, b.segments.map((s) => segmentNodes(s, CURRENT_TEXT_DICTIONARY)), resolved);
}
