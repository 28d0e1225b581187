import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBitstream, readIndex, readSegment, sha256Hex } from '../../src/bitstream';
import { buildVectors, inspectJson, MULTI_SEGMENT, ONE_SEGMENT, VECTORS_DIR } from '../../scripts/make-vectors';

const vectors = Object.entries(buildVectors());

describe('golden vectors (test/vectors, made by scripts/make-vectors.ts)', () => {
  it('has the three vectors', () => {
    expect(vectors.map(([name]) => name)).toEqual(['one-segment', 'multi-segment', 'multi-segment.tt2v-1-2']);
  });

  it.each(vectors)('%s: rebuilt bytes and inspect JSON equal the files exactly', (name, bytes) => {
    const file = new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`)));
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(file).toString('hex'));
    expect(inspectJson(file)).toBe(readFileSync(join(VECTORS_DIR, `${name}.inspect.json`), 'utf8'));
  });

  it('the files decode to their content', async () => {
    const read = (name: string) => readBitstream(new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`))));
    expect(read('one-segment')).toEqual(ONE_SEGMENT);
    expect(read('multi-segment')).toEqual(MULTI_SEGMENT);
    const cut = read('multi-segment.tt2v-1-2');
    expect(cut.header).toEqual(MULTI_SEGMENT.header);
    expect(cut.segments.map((s) => [s.startFrame, s.keyframe, s.seed])).toEqual([
      [120, undefined, 7],
      [270, undefined, undefined],
    ]);
    // identity: the hash is stable across runs and machines
    expect(await sha256Hex(new Uint8Array(readFileSync(join(VECTORS_DIR, 'one-segment.cmvc'))))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('random access on the multi-segment file', () => {
    const file = new Uint8Array(readFileSync(join(VECTORS_DIR, 'multi-segment.cmvc')));
    const index = readIndex(file.subarray(0, 512));
    expect(index.totalBytes).toBe(file.length);
    const e = index.segments[1]!;
    expect(readSegment(index, 1, file.subarray(e.offset, e.offset + e.length))).toEqual(MULTI_SEGMENT.segments[1]);
  });
});
