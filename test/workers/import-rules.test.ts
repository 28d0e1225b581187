import { beforeEach, describe, expect, it } from 'vitest';
import { writeBitstream, type Bitstream, type SegmentData } from '../../src/bitstream';
import { JPEG_24x16, WEBP_LOSSY_24x16 } from '../corpus/images';
import { installFakeGpu } from './fake-gpu';
import { call } from './helpers';
import { errorOf } from './spend-helpers';
import { VideoList } from '../../src/openapi/shapes';
import { json } from '../json';

beforeEach(() => {
  installFakeGpu();
});

const segment = (n: number, extra: Partial<SegmentData> = {}): SegmentData => ({
  startFrame: n * 24,
  frameCount: 24,
  contentText: 'a red cup on a white table',
  motionText: 'the camera pans right slowly',
  keyframes: [{ codec: 'webp', width: 24, height: 16, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }],
  ...extra,
});

function bitstream(header: Partial<Bitstream['header']> = {}, segments: SegmentData[] = [segment(0)]): Uint8Array {
  const frames = segments.reduce((end, s) => Math.max(end, s.startFrame + s.frameCount), 0);
  return writeBitstream({
    header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: frames, durationMs: Math.round((frames / 24) * 1000), engineId: 'elsewhere', engineVersion: '1', models: {}, seed: 0, ...header },
    segments,
  });
}

const importing = (bytes: Uint8Array) => call('/v1/bitstreams', { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/vnd.cmvc' } });

describe('imports are checked against what a reconstruction needs', () => {
  it('accepts a bitstream every reconstruction of which the GPU contract accepts, with WebP and JPEG keyframes', async () => {
    const jpeg = segment(1, { keyframes: [{ codec: 'jpeg', width: 24, height: 16, data: JPEG_24x16, frameIndex: 0, priority: 255 }] });
    expect((await importing(bitstream({}, [segment(0), jpeg]))).status).toBe(201);
  });

  it('refuses, with 422 naming the field, each bitstream that could never be reconstructed', async () => {
    const notAnImage = new TextEncoder().encode('RIFF-fake-webp-0');
    const cases: [string, Uint8Array, string][] = [
      ['4096x4096 header', bitstream({ width: 4096, height: 4096 }), 'header.width'],
      ['8 px high', bitstream({ height: 8 }), 'header.height'],
      ['0.001 fps', bitstream({ fpsNum: 1, fpsDen: 1000 }), 'header.fps'],
      ['240 fps', bitstream({ fpsNum: 240, fpsDen: 1 }), 'header.fps'],
      ['1001 segments', bitstream({}, Array.from({ length: 1001 }, (_, n) => segment(n, { keyframes: [] }))), 'segments'],
      ['a segment of 10,001 frames', bitstream({}, [segment(0, { frameCount: 10_001 })]), 'segments[0].frameCount'],
      ['an empty content text', bitstream({}, [segment(0, { contentText: '' })]), 'segments[0].contentText'],
      ['a 16,000-character motion text', bitstream({}, [segment(0, { motionText: 'pan '.repeat(4000) })]), 'segments[0].motionText'],
      ['a keyframe that is no image', bitstream({}, [segment(0, { keyframes: [{ codec: 'webp', width: 24, height: 16, data: notAnImage, frameIndex: 0, priority: 255 }] })]), 'segments[0].keyframes[0].data'],
      ['a JPEG tagged as WebP', bitstream({}, [segment(0, { keyframes: [{ codec: 'webp', width: 24, height: 16, data: JPEG_24x16, frameIndex: 0, priority: 255 }] })]), 'segments[0].keyframes[0].data'],
      ['a keyframe of another size than declared', bitstream({}, [segment(0, { keyframes: [{ codec: 'webp', width: 320, height: 240, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }] })]), 'segments[0].keyframes[0]'],
      ['a PNG keyframe', bitstream({}, [segment(0, { keyframes: [{ codec: 'png', width: 24, height: 16, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }] })]), 'segments[0].keyframes[0].codec'],
    ];
    for (const [name, bytes, field] of cases) {
      const refused = await errorOf(await importing(bytes));
      expect(refused, name).toMatchObject({ status: 422, code: 'bitstream_not_reconstructable', details: { field } });
    }
    const listed = (await json(await call('/v1/videos'), VideoList));
    expect(listed.videos).toHaveLength(0);
  });
});
