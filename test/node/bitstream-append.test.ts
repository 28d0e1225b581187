/** Appending a stream to a stream (a live video growing chunk by chunk): the same bytes as writing the whole. */
import { describe, expect, it } from 'vitest';
import { appendBitstream, BitstreamError, readBitstream, writeBitstream, type Bitstream } from '../../src/bitstream';
import { MULTI_KEYFRAME, MULTI_SEGMENT, WITH_AUDIO } from '../../scripts/make-vectors';

/** `b`'s segments moved to start at frame 0, as a chunk's encode answers them. */
function fromZero(b: Bitstream): Bitstream {
  const first = b.segments[0]!.startFrame;
  return { header: { ...b.header, frameCount: b.header.frameCount - first }, segments: b.segments.map((s) => ({ ...s, startFrame: s.startFrame - first })) };
}

/** `a` then `b` as one stream written at once. */
function joined(a: Bitstream, b: Bitstream): Bitstream {
  const frameCount = a.header.frameCount + b.header.frameCount;
  return {
    header: { ...a.header, frameCount, durationMs: Math.round((frameCount * a.header.fpsDen * 1000) / a.header.fpsNum) },
    segments: [...a.segments, ...b.segments.map((s) => ({ ...s, startFrame: s.startFrame + a.header.frameCount }))],
  };
}

describe('appendBitstream', () => {
  it('gives the bytes the writer gives for the whole, with keyframes, seeds and sound', () => {
    for (const [a, b] of [
      [WITH_AUDIO, WITH_AUDIO],
      [fromZero(MULTI_KEYFRAME), fromZero(MULTI_KEYFRAME)],
    ] as const) {
      const appended = appendBitstream(writeBitstream(a), writeBitstream(b));
      expect(appended).toEqual(writeBitstream(joined(a, b)));
      expect(readBitstream(appended).segments).toHaveLength(a.segments.length + b.segments.length);
    }
  });

  it('starts a stream from nothing and grows it one chunk at a time', () => {
    const chunk = writeBitstream(WITH_AUDIO);
    let stream: Uint8Array | null = null;
    for (let n = 0; n < 4; n++) stream = appendBitstream(stream, chunk);
    const read = readBitstream(stream as Uint8Array);
    expect(read.header.frameCount).toBe(4 * WITH_AUDIO.header.frameCount);
    expect(read.header.durationMs).toBe(4000);
    expect(read.segments.map((s) => s.startFrame)).toEqual([0, 12, 24, 36, 48, 60, 72, 84]);
    expect(read.segments[7]!.audio?.packets).toEqual(WITH_AUDIO.segments[1]!.audio?.packets);
  });

  it('refuses streams of another frame rate or engine, and damaged input', () => {
    const other = writeBitstream({ ...WITH_AUDIO, header: { ...WITH_AUDIO.header, fpsNum: 30 }, segments: WITH_AUDIO.segments.map(({ audio: _a, ...s }) => s) });
    expect(() => appendBitstream(writeBitstream(WITH_AUDIO), other)).toThrow(/fpsNum is 30/);
    const engine = writeBitstream({ ...MULTI_SEGMENT, header: { ...MULTI_SEGMENT.header, engineVersion: '9.9.9' } });
    expect(() => appendBitstream(writeBitstream(MULTI_SEGMENT), engine)).toThrow(BitstreamError);
    const damaged = writeBitstream(WITH_AUDIO).slice(0, -3);
    expect(() => appendBitstream(writeBitstream(WITH_AUDIO), damaged)).toThrow(BitstreamError);
  });
});

describe('planSegmentRateCut', () => {
  it('plans a segment asked alone over its own bytes: the same plan as cutting that segment out first', async () => {
    const { cutBitstreamWithPlan, planSegmentRateCut, readIndex, oneSegmentBytes, cutBitstream } = await import('../../src/bitstream');
    const bytes = appendBitstream(writeBitstream(fromZero(MULTI_KEYFRAME)), writeBitstream(fromZero(MULTI_KEYFRAME)));
    const whole = readBitstream(bytes);
    const index = readIndex(bytes);
    for (let n = 0; n < whole.segments.length; n++) {
      expect(oneSegmentBytes(index, n)).toBe(cutBitstream(bytes, { segments: [n, n] }).byteLength);
      for (const kbps of [0.5, 1, 2, 4, 8]) {
        const alone = cutBitstreamWithPlan(bytes, { segments: [n, n], maxKbps: kbps }).rate!;
        const plan = planSegmentRateCut(whole, index, n, kbps);
        expect(plan.kept[n]).toEqual(alone.kept[0]);
        expect([plan.bytes, plan.dropped, plan.audioDropped]).toEqual([alone.bytes, alone.dropped, alone.audioDropped]);
        // the other segments keep every keyframe
        const others = plan.kept.filter((_, i) => i !== n);
        expect(others).toEqual(whole.segments.filter((_, i) => i !== n).map((s) => s.keyframes.map((k) => k.frameIndex)));
      }
    }
  });
});
