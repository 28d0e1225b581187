import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorOf, readBitstream, readIndex, readSegment, sha256Hex } from '../../src/bitstream';
import { buildVectors, FROZEN_VECTORS, inspectJson, MULTI_KEYFRAME, MULTI_KEYFRAME_CUT_KBPS, MULTI_SEGMENT, ONE_SEGMENT, VECTORS_DIR } from '../../scripts/make-vectors';

const vectors = Object.entries(buildVectors());

describe('golden vectors (test/vectors, made by scripts/make-vectors.ts)', () => {
  it('has the vectors', () => {
    expect(vectors.map(([name]) => name)).toEqual(['one-segment', 'multi-segment.tt2v-1-2', 'multi-keyframe', 'multi-keyframe.rate-cut']);
    expect(Object.keys(FROZEN_VECTORS)).toEqual(['multi-segment']);
  });

  it('v1.0 vectors (never rebuilt) still read unchanged: a KFRM without kpos is the segment\'s one keyframe, frame 0, priority 255', () => {
    const file = new Uint8Array(readFileSync(join(VECTORS_DIR, 'multi-segment.cmvc')));
    expect([file[8], file[9]]).toEqual([1, 0]);
    expect(readBitstream(file)).toEqual(MULTI_SEGMENT);
    expect(inspectJson(file)).toBe(readFileSync(join(VECTORS_DIR, 'multi-segment.inspect.json'), 'utf8'));
  });

  it('streams without v1.1 chunks are written as v1.0 (minor 0); with keyframe positions as v1.1', () => {
    const built = buildVectors();
    expect(built['one-segment']![9]).toBe(0);
    expect(built['multi-segment.tt2v-1-2']![9]).toBe(0);
    expect(built['multi-keyframe']![9]).toBe(1);
  });

  it('the v1.1 vector reads back with every keyframe, and its rate cut drops the two lowest priorities', () => {
    const read = (name: string) => readBitstream(new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`))));
    expect(read('multi-keyframe')).toEqual(MULTI_KEYFRAME);
    const cut = read('multi-keyframe.rate-cut');
    expect(cut.segments.map((s) => s.keyframes.map((k) => [k.frameIndex, k.priority]))).toEqual([
      [[0, 200], [119, 120]],
      [[10, 255]],
    ]);
    expect(cut.segments.map((s) => anchorOf(s.keyframes)?.frameIndex)).toEqual([0, 10]);
    const bytes = readFileSync(join(VECTORS_DIR, 'multi-keyframe.rate-cut.cmvc')).length;
    const seconds = (270 * 1001) / 30000;
    expect((bytes * 8) / seconds / 1000).toBeLessThanOrEqual(MULTI_KEYFRAME_CUT_KBPS);
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
    expect(cut.segments.map((s) => [s.startFrame, s.keyframes, s.seed])).toEqual([
      [120, [], 7],
      [270, [], undefined],
    ]);
    // identity: the hash is stable across runs and machines
    expect(await sha256Hex(new Uint8Array(readFileSync(join(VECTORS_DIR, 'one-segment.cmvc'))))).toMatch(/^[0-9a-f]{64}$/);
  });

  it('random access on the multi-segment file', () => {
    for (const [name, content] of [['multi-segment', MULTI_SEGMENT], ['multi-keyframe', MULTI_KEYFRAME]] as const) {
      const file = new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`)));
      const index = readIndex(file.subarray(0, 512));
      expect(index.totalBytes).toBe(file.length);
      for (const n of [0, 1]) {
        const e = index.segments[n]!;
        expect(readSegment(index, n, file.subarray(e.offset, e.offset + e.length))).toEqual(content.segments[n]);
      }
    }
  });
});
