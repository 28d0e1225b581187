import { describe, expect, it } from 'vitest';
import type { Keyframe } from '../../src/bitstream';
import { keyframesProblem } from '../../src/gpu/contract';
import { INLINE_KEYFRAME_BYTES, keyframesOnGrid } from '../../src/generation/keyframe-grid';

const kf = (frameIndex: number, priority: number): Keyframe => ({ codec: 'webp', width: 2, height: 2, data: Uint8Array.of(frameIndex), frameIndex, priority });

describe('keyframe frame indices on the request\'s output grid', () => {
  it('maps source frames to the nearest output frame, clamped into the segment', () => {
    // 48 source frames at 24 fps → 24 output frames at 12 fps
    expect(keyframesOnGrid([kf(0, 255), kf(10, 9), kf(47, 100)], 24, 12, 24).map((k) => k.frameIndex)).toEqual([0, 5, 23]);
    // doubling the rate doubles the index
    expect(keyframesOnGrid([kf(3, 1), kf(20, 2)], 24, 48, 96).map((k) => k.frameIndex)).toEqual([6, 40]);
  });

  it('keeps the higher priority where two land on one frame, so the list stays sorted and unique', () => {
    const mapped = keyframesOnGrid([kf(10, 5), kf(11, 200), kf(12, 7)], 24, 6, 12);
    expect(mapped.map((k) => [k.frameIndex, k.priority])).toEqual([[3, 200]]);
    const many = keyframesOnGrid(Array.from({ length: 40 }, (_, i) => kf(i, i % 7)), 30, 7, 10);
    expect(keyframesProblem(many, 10)).toBeNull();
    expect(new Set(many.map((k) => k.frameIndex)).size).toBe(many.length);
  });

  it('carries a small image as its bytes, not coded: a request served from cache never codes it', () => {
    const image = Uint8Array.of(1);
    expect(keyframesOnGrid([{ ...kf(1, 1), data: image }], 24, 24, 10)[0]).toEqual({ codec: 'webp', width: 2, height: 2, frameIndex: 1, priority: 1, image });
  });

  it('names a large image by where it is stored, so it never travels inside the request', () => {
    const stored = new Uint8Array(INLINE_KEYFRAME_BYTES + 1001);
    const large = { ...kf(0, 255), data: stored.subarray(1000) };
    const small = { ...kf(5, 9), data: stored.subarray(0, INLINE_KEYFRAME_BYTES) };
    const locate = (image: Uint8Array) => (image.buffer === stored.buffer ? { r2Key: 'bitstreams/x.cmvc', offset: image.byteOffset, length: image.byteLength } : null);
    const [first, second] = keyframesOnGrid([large, small], 24, 24, 10, locate);
    expect(first).toEqual({ codec: 'webp', width: 2, height: 2, frameIndex: 0, priority: 255, stored: { r2Key: 'bitstreams/x.cmvc', offset: 1000, length: INLINE_KEYFRAME_BYTES + 1 } });
    expect(second).toHaveProperty('image');
    // Where nothing says where it is stored, a large image still goes inline.
    expect(keyframesOnGrid([large], 24, 24, 10)[0]).toHaveProperty('image');
  });
});
