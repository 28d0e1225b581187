/** What a bitstream may ask for (src/bitstream/stream-limits.ts): each limit on both sides, and where the same numbers live elsewhere. */
import { describe, expect, it } from 'vitest';
import { BitstreamError, DEFAULT_LIMITS, inspectBitstream, maxKeyframesFor, readBitstream, STREAM_LIMITS, streamLimitProblem, writeBitstream, type Bitstream, type Keyframe, type SegmentData } from '../../src/bitstream';
import { GenerateRequest, MAX_KEYFRAME_BYTES, MAX_KEYFRAMES_PER_SEGMENT } from '../../src/gpu/contract';
import { withAncillaryChunks } from '../../scripts/hostile-streams';

const L = STREAM_LIMITS;

const keyframe = (frameIndex: number, width = 32, height = 24): Keyframe => ({ codec: 'webp', width, height, data: Uint8Array.of(1, 2, 3), frameIndex, priority: 1 });
const segment = (startFrame: number, frameCount: number, keyframes: Keyframe[] = []): SegmentData => ({ startFrame, frameCount, contentText: 'a cup', motionText: 'static', keyframes });

function stream(header: Partial<Bitstream['header']> = {}, segments: SegmentData[] = [segment(0, 24, [keyframe(0)])]): Bitstream {
  const frames = segments.reduce((end, s) => Math.max(end, s.startFrame + s.frameCount), 0);
  return { header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: frames, durationMs: 1000, engineId: 'e', engineVersion: '1', models: {}, seed: 0, ...header }, segments };
}

/** Segments of at most maxSegmentFrames frames, `frames` in all. */
const framesUpTo = (frames: number) => Array.from({ length: Math.ceil(frames / L.maxSegmentFrames) }, (_, n) => segment(n * L.maxSegmentFrames, Math.min(L.maxSegmentFrames, frames - n * L.maxSegmentFrames)));

const limitOf = (b: Bitstream, maxSide?: number) => streamLimitProblem(b, maxSide)?.limit ?? null;

describe('STREAM_LIMITS: what a bitstream may ask for', () => {
  it('passes a stream at every limit and names the limit one step past it', () => {
    const cases: [string, Bitstream, Bitstream, string][] = [
      ['width', stream({ width: L.maxSide }), stream({ width: L.maxSide + 1 }), 'maxSide'],
      ['height', stream({ height: L.minSide }), stream({ height: L.minSide - 1 }), 'minSide'],
      ['fps high', stream({ fpsNum: L.maxFps, fpsDen: 1 }), stream({ fpsNum: L.maxFps * 1000 + 1, fpsDen: 1000 }), 'maxFps'],
      ['fps low', stream({ fpsNum: L.minFps, fpsDen: 1 }), stream({ fpsNum: 999, fpsDen: 1000 }), 'minFps'],
      ['segments', stream({}, Array.from({ length: L.maxSegments }, (_, n) => segment(n, 1))), stream({}, Array.from({ length: L.maxSegments + 1 }, (_, n) => segment(n, 1))), 'maxSegments'],
      ['segment frames', stream({}, [segment(0, L.maxSegmentFrames)]), stream({}, [segment(0, L.maxSegmentFrames + 1)]), 'maxSegmentFrames'],
      ['frames', stream({}, framesUpTo(L.maxFrames)), stream({}, framesUpTo(L.maxFrames + 1)), 'maxFrames'],
      ['keyframe pixels', stream({}, [segment(0, 24, [keyframe(0, 320, 240)])]), stream({}, [segment(0, 24, [keyframe(0, 321, 240)])]), 'maxKeyframePixelRatio'],
      ['keyframe pixels, turned', stream({}, [segment(0, 24, [keyframe(0, 240, 320)])]), stream({}, [segment(0, 24, [keyframe(0, 8192, 8192)])]), 'maxKeyframePixelRatio'],
      ['keyframes per segment', stream({}, [segment(0, 100, Array.from({ length: 64 }, (_, i) => keyframe(i)))]), stream({}, [segment(0, 100, Array.from({ length: 65 }, (_, i) => keyframe(i)))]), 'maxKeyframesPerSegment'],
      [
        'keyframe pixels per segment',
        stream({ width: 1920, height: 1080 }, [segment(0, 100, Array.from({ length: 16 }, (_, i) => keyframe(i)))]),
        stream({ width: 1920, height: 1080 }, [segment(0, 100, Array.from({ length: 17 }, (_, i) => keyframe(i)))]),
        'maxSegmentKeyframePixels',
      ],
    ];
    for (const [name, at, past, limit] of cases) {
      expect(limitOf(at), `${name} at the limit`).toBeNull();
      expect(limitOf(past), `${name} past the limit`).toBe(limit);
    }
  });

  it('lets a stored video keep its source geometry up to maxSourceSide, and names the field', () => {
    expect(limitOf(stream({ width: 3840, height: 2160 }, [segment(0, 24)]), L.maxSourceSide)).toBeNull();
    expect(streamLimitProblem(stream({ width: L.maxSourceSide + 2 }), L.maxSourceSide)).toMatchObject({ limit: 'maxSourceSide', field: 'header.width', max: L.maxSourceSide, value: L.maxSourceSide + 2 });
    const crafted = streamLimitProblem(stream({}, [segment(0, 24, Array.from({ length: 64 }, (_, i) => keyframe(i, 8192, 8192)))]));
    expect(crafted).toMatchObject({ limit: 'maxKeyframePixelRatio', field: 'segments[0].keyframes[0]', max: 320 * 240, value: 8192 * 8192 });
  });

  it('caps the keyframes of a segment by the video size: 64 small, 16 at 1080p, 4 at 4K', () => {
    expect(maxKeyframesFor(320, 240)).toBe(64);
    expect(maxKeyframesFor(1920, 1080)).toBe(16);
    expect(maxKeyframesFor(3840, 2160)).toBe(4);
    expect(maxKeyframesFor(4096, 4096)).toBe(2);
  });

  it('agrees with the GPU contract and the reader where they state the same bound', () => {
    expect(L.maxKeyframeBytes).toBe(MAX_KEYFRAME_BYTES);
    expect(L.maxKeyframesPerSegment).toBe(MAX_KEYFRAMES_PER_SEGMENT);
    expect(L.maxSegmentFrames).toBe(GenerateRequest.shape.frameCount.maxValue);
    expect(DEFAULT_LIMITS.maxKeyframeBytes).toBe(L.maxKeyframeBytes);
    expect(DEFAULT_LIMITS.maxUnknownChunks).toBe(L.maxUnknownChunks);
  });
});

describe('the reader walks past at most maxUnknownChunks unknown ancillary chunks', () => {
  it('reads a stream with maxUnknownChunks of them and refuses one more, naming the limit', () => {
    expect(readBitstream(withAncillaryChunks(stream(), L.maxUnknownChunks)).segments).toHaveLength(1);
    let error: unknown;
    try {
      readBitstream(withAncillaryChunks(stream(), L.maxUnknownChunks + 1));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BitstreamError);
    expect((error as BitstreamError).code).toBe('limit_exceeded');
    expect((error as BitstreamError).details).toMatchObject({ limit: 'maxUnknownChunks', max: L.maxUnknownChunks });
  });
});

describe('inspect answers in bounded size', () => {
  it('lists at most maxListedChunks chunks and maxSegments segments of a valid stream, counting them all', () => {
    const oneByte = Uint8Array.of(7);
    const segments = Array.from({ length: 1200 }, (_, n) => segment(n * 64, 64, Array.from({ length: 64 }, (_, i) => ({ ...keyframe(i), data: oneByte }))));
    const bytes = writeBitstream(stream({}, segments));
    const report = inspectBitstream(bytes);
    expect(report.valid).toBe(true);
    expect(report).toMatchObject({ segmentCount: 1200, chunkCount: 3 + 1200 * (5 + 63) + 0, truncated: true });
    expect(report.segments).toHaveLength(L.maxSegments);
    expect(report.chunks).toHaveLength(L.maxListedChunks);
    // sizes still count every chunk
    expect(report.sizes?.keyframes).toBe(1200 * (10 + 5 + 63 * 15));
    const json = JSON.stringify(report).length;
    expect(json).toBeLessThan(8 * 1024 * 1024); // at most 1,000 segments of 64 keyframes, whatever the input
  });
});
