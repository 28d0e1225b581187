/** Bitstream v1.1: several keyframes per segment (KFRM + kpos + kfrx), their reader rules, and cuts by rate. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crc32,
  cutBitstream,
  cutBitstreamWithPlan,
  dropOrder,
  legacyFrameIndex,
  readBitstream,
  walkChunks,
  writeBitstream,
  type Bitstream,
  type Keyframe,
} from '../../src/bitstream';
import { codeOf } from './support/bitstream-errors';

const image = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
const kf = (frameIndex: number, priority: number, bytes = 100): Keyframe => ({ codec: 'webp', width: 8, height: 6, data: image(bytes, frameIndex + 1), frameIndex, priority });

const STREAM: Bitstream = {
  header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: 96, durationMs: 4000, engineId: 'e', engineVersion: '1', models: {}, seed: 0 },
  segments: [
    { startFrame: 0, frameCount: 48, contentText: 'a cup', motionText: 'the camera is static', keyframes: [kf(0, 200), kf(20, 50), kf(47, 120)] },
    { startFrame: 48, frameCount: 48, contentText: 'a table', motionText: 'the camera pans right', keyframes: [kf(5, 180), kf(30, 60)] },
  ],
};

/** The bytes with `edit` applied to the data of the `nth` chunk of `type`, its CRC recomputed. */
function editChunk(bytes: Uint8Array, type: string, nth: number, edit: (data: DataView) => void): Uint8Array {
  const out = bytes.slice();
  const c = walkChunks(out).chunks.filter((x) => x.type === type)[nth]!;
  const data = out.subarray(c.offset + 8, c.offset + 8 + c.length);
  edit(new DataView(data.buffer, data.byteOffset, data.byteLength));
  new DataView(out.buffer).setUint32(c.offset + 8 + c.length, crc32(data, crc32(new TextEncoder().encode(type))));
  return out;
}


describe('v1.1 keyframes', () => {
  const bytes = writeBitstream(STREAM);

  it('writes the anchor (highest priority) as KFRM + kpos and the others as kfrx in frame order; reads them back sorted', () => {
    expect(walkChunks(bytes).chunks.map((c) => c.type)).toEqual(['HEAD', 'SIDX', 'SEGP', 'CTXT', 'MTXT', 'KFRM', 'kpos', 'kfrx', 'kfrx', 'SEGP', 'CTXT', 'MTXT', 'KFRM', 'kpos', 'kfrx', 'CEND']);
    expect(bytes[9]).toBe(1);
    expect(readBitstream(bytes)).toEqual(STREAM);
  });

  it.each([
    ['a kfrx frame index out of order', 'kfrx', 1, (d: DataView) => d.setUint32(0, 10)],
    ['a kfrx frame index out of range', 'kfrx', 0, (d: DataView) => d.setUint32(0, 48)],
    ['a kfrx duplicating the KFRM frame', 'kfrx', 0, (d: DataView) => d.setUint32(0, 0)],
    ['a kfrx duplicating the previous kfrx', 'kfrx', 1, (d: DataView) => d.setUint32(0, 20)],
    ['a kpos frame index out of range', 'kpos', 0, (d: DataView) => d.setUint32(0, 0xffff_ffff)],
    ['a kfrx outranking its KFRM', 'kfrx', 0, (d: DataView) => d.setUint8(4, 201)],
  ])('%s is a typed malformed_chunk error', (_, type, nth, edit) => {
    expect(codeOf(() => readBitstream(editChunk(bytes, type, nth, edit)))).toBe(`malformed_chunk:${type}`);
  });

  it('kpos and kfrx out of place are malformed; over maxKeyframesPerSegment is limit_exceeded', () => {
    const noKpos = writeBitstream({ ...STREAM, segments: [{ ...STREAM.segments[0]!, keyframes: [kf(0, 1)] }, STREAM.segments[1]!] });
    // swap kpos and the first kfrx of segment 0: kfrx right after KFRM
    const chunks = walkChunks(bytes).chunks;
    const [kpos, kfrx] = [chunks[6]!, chunks[7]!];
    const swapped = new Uint8Array([...bytes.subarray(0, kpos.offset), ...bytes.subarray(kfrx.offset, kfrx.offset + kfrx.length + 12), ...bytes.subarray(kpos.offset, kpos.offset + 17), ...bytes.subarray(kfrx.offset + kfrx.length + 12)]);
    expect(codeOf(() => readBitstream(swapped))).toBe('malformed_chunk:kfrx');
    expect(readBitstream(noKpos).segments[0]!.keyframes).toHaveLength(1);
    expect(codeOf(() => readBitstream(bytes, { maxKeyframesPerSegment: 2 }))).toBe('limit_exceeded:kfrx');
    expect(readBitstream(bytes, { maxKeyframesPerSegment: 3 })).toEqual(STREAM);
  });

  it('a v1.0 KFRM (no kpos) sits where the motion text\'s clause says, else at frame 0, priority 255', () => {
    expect(legacyFrameIndex('the camera is static; keyframe at 1.50 s', 48, 24)).toBe(36);
    expect(legacyFrameIndex('the camera is static; keyframe at 9.00 s', 48, 24)).toBe(47);
    expect(legacyFrameIndex('the camera is static', 48, 24)).toBe(0);
    // a v1.0 stream: KFRM without kpos, the clause in the motion text
    const one = writeBitstream({ ...STREAM, segments: [{ ...STREAM.segments[0]!, motionText: 'static; keyframe at 1.50 s', keyframes: [kf(7, 9)] }, { ...STREAM.segments[1]!, keyframes: [] }] });
    const chunks = walkChunks(one).chunks;
    const kpos = chunks.find((c) => c.type === 'kpos')!;
    const v10 = new Uint8Array([...one.subarray(0, kpos.offset), ...one.subarray(kpos.offset + 17)]);
    v10[9] = 0;
    const sidx = chunks[1]!;
    // rebuild SIDX offsets by writing the v1.0 content through the v1.0 layout: simplest is to fix lengths in place
    const view = new DataView(v10.buffer);
    view.setUint32(sidx.offset + 12, view.getUint32(sidx.offset + 12) - 17); // endOffset
    view.setUint32(sidx.offset + 8 + 8 + 4, view.getUint32(sidx.offset + 8 + 8 + 4) - 17); // segment 0 length
    view.setUint32(sidx.offset + 8 + 8 + 16, view.getUint32(sidx.offset + 8 + 8 + 16) - 17); // segment 1 offset
    view.setUint32(sidx.offset + 8 + sidx.length, crc32(v10.subarray(sidx.offset + 8, sidx.offset + 8 + sidx.length), crc32(new TextEncoder().encode('SIDX'))));
    const back = readBitstream(v10);
    expect(back.segments[0]!.keyframes.map((k) => [k.frameIndex, k.priority])).toEqual([[36, 255]]);
  });
});

describe('cut by rate', () => {
  const bytes = writeBitstream(STREAM);
  const seconds = 96 / 24;
  const kbps = (n: number) => (n * 8) / seconds / 1000;

  it('drops lowest priority first, extras before their anchor, and names its achieved rate', () => {
    expect(dropOrder(STREAM.segments).map(({ segment, index }) => STREAM.segments[segment]!.keyframes[index]!.priority)).toEqual([50, 60, 120, 180, 200]);
    const all = cutBitstreamWithPlan(bytes, { maxKbps: 1000 });
    expect(all.bytes).toEqual(bytes);
    expect(all.rate!.dropped).toBe(0);
    const floor = cutBitstream(bytes, { profile: 'tt2v' });
    const below = cutBitstreamWithPlan(bytes, { maxKbps: 0.01 });
    expect(below.bytes).toEqual(floor);
    expect(below.rate!.kbps).toBeCloseTo(kbps(floor.length), 6);
    expect(below.rate!.floorKbps).toBeCloseTo(kbps(floor.length), 6);
  });

  it('any rate gives a valid stream at or under it (or the texts-only floor), keeping a prefix-closed set', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 4, noNaN: true }), (maxKbps) => {
        const { bytes: cut, rate } = cutBitstreamWithPlan(bytes, { maxKbps });
        const read = readBitstream(cut);
        expect(cut.length).toBe(rate!.bytes);
        expect(kbps(cut.length)).toBeLessThanOrEqual(Math.max(maxKbps, rate!.floorKbps) + 1e-9);
        // exactly the first `dropped` of the drop order are gone
        const gone = new Set(dropOrder(STREAM.segments).slice(0, rate!.dropped).map(({ segment, index }) => `${segment}:${STREAM.segments[segment]!.keyframes[index]!.frameIndex}`));
        expect(read.segments.map((s) => s.keyframes.map((k) => k.frameIndex))).toEqual(STREAM.segments.map((s, n) => s.keyframes.map((k) => k.frameIndex).filter((f) => !gone.has(`${n}:${f}`))));
        // keeping the last dropped keyframe would not have fitted: the cut drops no more than it must
        if (rate!.dropped > 0) {
          const { segment, index } = dropOrder(STREAM.segments)[rate!.dropped - 1]!;
          const back = STREAM.segments[segment]!.keyframes[index]!;
          const restored = { ...read, segments: read.segments.map((s, n) => (n === segment ? { ...s, keyframes: [...s.keyframes, back].sort((a, b) => a.frameIndex - b.frameIndex) } : s)) };
          expect(kbps(writeBitstream(restored).length)).toBeGreaterThan(maxKbps);
        }
        // the cut is what the writer makes of the same content
        expect(cut).toEqual(writeBitstream(read));
      }),
      { numRuns: 200 },
    );
  });
});
