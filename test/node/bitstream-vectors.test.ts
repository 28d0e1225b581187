import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anchorOf, readBitstream, readIndex, readSegment, sha256Hex } from '../../src/bitstream';
import { buildVectors, FROZEN_VECTORS, inspectJson, MULTI_KEYFRAME, MULTI_KEYFRAME_CUT_KBPS, MULTI_SEGMENT, ONE_SEGMENT, VECTORS_DIR, WITH_AUDIO, WITH_AUDIO_CUT_KBPS } from '../../scripts/make-vectors';

const vectors = Object.entries(buildVectors());

describe('golden vectors (test/vectors, made by scripts/make-vectors.ts)', () => {
  it('has the vectors', () => {
    expect(vectors.map(([name]) => name)).toEqual(['one-segment', 'multi-segment.tt2v-1-2', 'multi-keyframe', 'multi-keyframe.rate-cut', 'audio', 'audio.rate-cut']);
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
    expect(built.audio![9]).toBe(2);
    // the audio vector cut by rate loses its keyframe and keeps its sound: still v1.2
    expect(built['audio.rate-cut']![9]).toBe(2);
  });

  it('the v1.2 vector reads back with its sound; its rate cut drops the keyframe first and keeps the audio', () => {
    const read = (name: string) => readBitstream(new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`))));
    expect(read('audio')).toEqual(WITH_AUDIO);
    const cut = read('audio.rate-cut');
    expect(cut.segments.map((s) => s.keyframes.length)).toEqual([0, 0]);
    expect(cut.segments.map((s) => s.audio)).toEqual(WITH_AUDIO.segments.map((s) => s.audio));
    const bytes = readFileSync(join(VECTORS_DIR, 'audio.rate-cut.cmvc')).length;
    expect((bytes * 8) / 1000).toBeLessThanOrEqual(WITH_AUDIO_CUT_KBPS);
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
  });

  // A video's identity (and the root of its cache keys) is the SHA-256 of its bytes. The bytes are
  // rebuilt above; here their hash must equal an independent SHA-256 and the value recorded when the
  // vectors were made, so a change of the writer that re-identifies every stored video cannot pass
  // unnoticed. Regenerating the vectors on purpose means updating these three lines with them.
  it.each([
    ['one-segment', '4e33b7d47403f881ea68d1e4d0afcd15a56188aa2296d0b2f7f99f9e0d8a7607'],
    ['multi-segment', '7356e8b83a0e79091235d49231ca20fa7de8b93496089979a0565af78300e955'],
    ['multi-segment.tt2v-1-2', '12e3b7cc9730ce5a9dcdaf54661873aa6a7769a5152a12eac5990fed2f3ece49'],
    ['audio', '1547673816c5b058731f02a823228b995903939e8f2cc52c9bc014ac510b58f6'],
  ])('%s: identity hash is %s on every machine', async (name, expected) => {
    const file = new Uint8Array(readFileSync(join(VECTORS_DIR, `${name}.cmvc`)));
    const hash = await sha256Hex(file);
    expect(hash).toBe(createHash('sha256').update(file).digest('hex'));
    expect(hash).toBe(expected);
  });

  it('random access on the multi-segment file', () => {
    for (const [name, content] of [['multi-segment', MULTI_SEGMENT], ['multi-keyframe', MULTI_KEYFRAME], ['audio', WITH_AUDIO]] as const) {
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
