import { CHUNK_CTXT, CHUNK_HEAD, CHUNK_KFRM, CHUNK_MTXT, CHUNK_SEGP } from './chunks';
import { assemble, type SegmentNodes } from './encode';
import { invariant } from './errors';
import { resolveLimits, type ReadOptions } from './limits';
import { readBitstream } from './stream';
import { walkChunks } from './walk';

export type BitstreamProfile = 'full' | 'tt2v';

export interface CutOptions {
  /** First and last segment to keep, 0-based, inclusive. Default: all. */
  segments?: [number, number];
  /** 'tt2v' drops keyframes (text-only decoding). Default 'full'. */
  profile?: BitstreamProfile;
}

/**
 * A smaller valid bitstream: the chosen segments, without keyframes for 'tt2v'. The header is kept as is
 * (segments keep their frame numbers in the source video); chunks are copied byte for byte, SIDX is
 * rebuilt, unknown ancillary chunks are dropped. Invalid input throws BitstreamError; a segment range
 * outside the stream is a RangeError (check it against the index first).
 */
export function cutBitstream(bytes: Uint8Array, opts: CutOptions = {}, options: ReadOptions = {}): Uint8Array {
  const parsed = readBitstream(bytes, options);
  const count = parsed.segments.length;
  const [first, last] = opts.segments ?? [0, count - 1];
  if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last < first || last >= count) {
    throw new RangeError(`segments [${first}, ${last}] is not a range within 0–${count - 1}`);
  }
  const profile = opts.profile ?? 'full';
  if (profile !== 'full' && profile !== 'tt2v') throw new RangeError(`profile must be 'full' or 'tt2v', got ${String(profile)}`);
  const keep = new Set([CHUNK_SEGP, CHUNK_CTXT, CHUNK_MTXT, ...(profile === 'full' ? [CHUNK_KFRM] : [])]);
  const { chunks } = walkChunks(bytes, { checkCrc: false }); // readBitstream has verified them
  const head = chunks.find((c) => c.type === CHUNK_HEAD);
  invariant(head !== undefined, 'a valid stream has HEAD');
  const segments: SegmentNodes[] = [];
  for (const c of chunks) {
    if (c.type === CHUNK_SEGP) {
      const s = parsed.segments[segments.length];
      invariant(s !== undefined, 'one SEGP per parsed segment');
      segments.push({ startFrame: s.startFrame, frameCount: s.frameCount, chunks: [] });
    }
    if (keep.has(c.type)) segments[segments.length - 1]?.chunks.push({ type: c.type, data: c.data, crc: c.crc });
  }
  invariant(segments.length === count, 'walked as many segments as parsed');
  return assemble({ type: head.type, data: head.data, crc: head.crc }, segments.slice(first, last + 1), resolveLimits(options));
}
