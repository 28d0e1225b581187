/**
 * Appending a stream to a stream (a live video growing chunk by chunk): the second stream's segments follow the
 * first's, their frames moved to start where the first ends. Chunks are copied byte for byte (texts are not coded
 * again, keyframes and sound keep their bytes); only HEAD (the new length), SIDX and the moved segments' SEGP are
 * written anew. Keyframe positions and sound are relative to their segment, so nothing else moves.
 */
import { CHUNK_CEND, CHUNK_HEAD, CHUNK_SEGP, CHUNK_SIDX } from './chunks';
import { decodeHeader, decodeSegmentParams, encodeHeader, encodeSegmentParams } from './codec';
import { BitstreamError } from './errors';
import { resolveLimits, type ReadOptions } from './limits';
import { readBitstream } from './reader';
import type { BitstreamHeader } from './types';
import { walkChunks, type ChunkInfo } from './walk';
import { assembleChunks, type SegmentNodes } from './writer';

/** The header fields two streams must share to be one stream: the frame rate, the default seed and the engine. */
const SHARED = ['fpsNum', 'fpsDen', 'seed', 'engineId', 'engineVersion'] as const;

/**
 * `first` (null: none yet) followed by `next`: a valid stream whose header is `first`'s (its geometry, engine and
 * models) with the frame count and duration of both, and whose segments are `first`'s then `next`'s, moved to start
 * at `first`'s frame count. Both are read strictly first. Streams of other frame rates, seeds or engines cannot be
 * one stream: `invalid_content`.
 */
export function appendBitstream(first: Uint8Array | null, next: Uint8Array, options: ReadOptions = {}): Uint8Array {
  const limits = resolveLimits(options);
  const tail = readBitstream(next, options);
  if (first === null) return next;
  const head = readBitstream(first, options);
  for (const field of SHARED) {
    if (head.header[field] !== tail.header[field]) {
      throw new BitstreamError('invalid_content', `cannot append a stream whose ${field} is ${String(tail.header[field])} to one whose ${field} is ${String(head.header[field])}`, {
        details: { field },
      });
    }
  }
  const offset = head.header.frameCount;
  const frameCount = offset + tail.header.frameCount;
  const header: BitstreamHeader = { ...head.header, frameCount, durationMs: Math.round((frameCount * head.header.fpsDen * 1000) / head.header.fpsNum) };
  const { chunks: firstChunks } = walkChunks(first, { checkCrc: false }); // readBitstream has verified them
  const headChunk = firstChunks.find((c) => c.type === CHUNK_HEAD) as ChunkInfo;
  const { textDictionary } = decodeHeader(headChunk.data, 0);
  const segments = [...segmentsOf(firstChunks, 0), ...segmentsOf(walkChunks(next, { checkCrc: false }).chunks, offset)];
  return assembleChunks({ type: CHUNK_HEAD, data: encodeHeader(header, textDictionary) }, segments, limits);
}

/** A valid stream's segments as chunk lists, SEGP first, their frames moved by `offset` (SEGP written anew then). */
function segmentsOf(chunks: readonly ChunkInfo[], offset: number): SegmentNodes[] {
  const out: SegmentNodes[] = [];
  for (const c of chunks) {
    if (c.type === CHUNK_SEGP) {
      const params = decodeSegmentParams(c.data, 0);
      const moved = { ...params, startFrame: params.startFrame + offset };
      out.push({ startFrame: moved.startFrame, frameCount: moved.frameCount, chunks: [offset === 0 ? { type: c.type, data: c.data, crc: c.crc } : { type: c.type, data: encodeSegmentParams(moved) }] });
      continue;
    }
    const segment = out.at(-1);
    // HEAD, SIDX and CEND come before the first SEGP or close the stream: they are laid out anew
    if (segment !== undefined && c.type !== CHUNK_SIDX && c.type !== CHUNK_CEND) segment.chunks.push({ type: c.type, data: c.data, crc: c.crc });
  }
  return out;
}
