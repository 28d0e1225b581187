/** The one chunk walker (src/bitstream/framer.ts): its strict mode under the reader and its lenient mode under walkChunks see the same chunks, and differ only in what a fault does. */
import { describe, expect, it } from 'vitest';
import { BitstreamError, DEFAULT_LIMITS, Framer, readBitstream, walkChunks, writeBitstream, type ChunkSink } from '../../src/bitstream';
import { MULTI_SEGMENT } from '../../scripts/make-vectors';

const bytes = writeBitstream(MULTI_SEGMENT);

/** Records what the walker hands over, in strict mode (a sink that never refuses). */
function strictWalk(input: Uint8Array): { type: string; offset: number; crcOk: boolean }[] {
  const seen: { type: string; offset: number; crcOk: boolean }[] = [];
  const sink: ChunkSink = { declare: () => {}, accept: (type, _data, offset, _crc, crcOk) => seen.push({ type, offset, crcOk }), complete: false, finish: () => {} };
  const framer = new Framer(sink, { mode: 'strict', limits: DEFAULT_LIMITS }, 0, true);
  framer.push(input);
  framer.end();
  return seen;
}

const listed = (input: Uint8Array) => walkChunks(input).chunks.map(({ type, offset, crcOk }) => ({ type, offset, crcOk }));

function corruptCrcOf(type: string): { bad: Uint8Array; offset: number } {
  const c = walkChunks(bytes).chunks.find((k) => k.type === type)!;
  const bad = bytes.slice();
  bad[c.offset + 8 + c.length]! ^= 0xff; // first byte of the stored CRC
  return { bad, offset: c.offset };
}

describe('one chunk walker, two modes', () => {
  it('lists the same chunks in both modes on a valid stream, ending after CEND', () => {
    const walk = walkChunks(bytes);
    expect(listed(bytes)).toEqual(strictWalk(bytes));
    expect(walk.chunks.at(-1)!.type).toBe('CEND');
    expect(walk.end).toBe(bytes.length);
  });

  it('a CRC mismatch: strict throws crc_mismatch at the chunk; lenient reports crcOk false there and walks on to CEND', () => {
    const { bad, offset } = corruptCrcOf('CTXT');
    expect(() => strictWalk(bad)).toThrow(expect.objectContaining({ code: 'crc_mismatch', chunk: 'CTXT', offset }));
    const walk = listed(bad);
    expect(walk.filter((c) => !c.crcOk)).toEqual([{ type: 'CTXT', offset, crcOk: false }]);
    expect(walk.map((c) => c.offset)).toEqual(listed(bytes).map((c) => c.offset));
    expect(walkChunks(bad, { checkCrc: false }).chunks.every((c) => c.crcOk)).toBe(true);
  });

  it('a bad chunk type or a chunk running past the input: strict throws; lenient stops before that chunk', () => {
    const third = walkChunks(bytes).chunks[2]!;
    const badType = bytes.slice();
    badType[third.offset + 4] = 0x20;
    expect(() => strictWalk(badType)).toThrow(BitstreamError);
    expect(walkChunks(badType)).toMatchObject({ chunks: walkChunks(bytes).chunks.slice(0, 2), end: third.offset });
    const cut = bytes.subarray(0, third.offset + 9);
    expect(() => strictWalk(cut)).toThrow(expect.objectContaining({ code: 'truncated', chunk: third.type }));
    expect(walkChunks(cut)).toMatchObject({ chunks: walkChunks(bytes).chunks.slice(0, 2), end: third.offset });
  });

  it('lenient mode checks no signature and skips what follows CEND', () => {
    const unsigned = bytes.slice();
    unsigned[0] = 0;
    expect(listed(unsigned)).toEqual(listed(bytes));
    const trailing = new Uint8Array([...bytes, 1, 2, 3]);
    expect(walkChunks(trailing).end).toBe(bytes.length);
    expect(() => readBitstream(trailing)).toThrow(expect.objectContaining({ code: 'malformed_chunk', chunk: 'CEND' }));
  });
});
