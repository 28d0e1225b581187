/**
 * Issue 25's findings against an ordinary key, each reproduced: a crafted stream must end in a typed error or a
 * bounded, correct result (the GPU spend of a crafted stream end to end: test/e2e/gpu-spend.test.ts).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { sha256Hex, STREAM_LIMITS, writeBitstream, type Bitstream } from '../../src/bitstream';
import { loadBitstream, PARSED_BITSTREAM_CACHE_BYTES, parsedBitstreams } from '../../src/cache/bitstreams';
import { Lru } from '../../src/cache/lru';
import { bitstreamKey } from '../../src/cache/keys';
import { VideoView } from '../../src/openapi/shapes';
import { craftedKeyframeStream, withAncillaryChunks } from '../../scripts/hostile-streams';
import { JPEG_24x16, WEBP_LOSSLESS_24x16, WEBP_LOSSLESS_8192x8192, WEBP_LOSSY_24x16 } from '../corpus/images';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, env } from './helpers';
import { encodedVideo, errorOf, newKey } from './spend-helpers';
import { json } from '../json';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

const importing = (bytes: Uint8Array, key?: string) => call('/v1/bitstreams', { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/vnd.cmvc' }, ...(key === undefined ? {} : { key }) });

/** A small stream the limits allow: 320x240, 24 frames, one 24x16 keyframe. */
function ordinary(extra: Partial<Bitstream['segments'][number]> = {}): Bitstream {
  return {
    header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: 24, durationMs: 1000, engineId: 'elsewhere', engineVersion: '1', models: {}, seed: 0 },
    segments: [{ startFrame: 0, frameCount: 24, contentText: 'a red cup', motionText: 'the camera is static', keyframes: [{ codec: 'webp', width: 24, height: 16, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }], ...extra }],
  };
}

describe('finding 1: keyframes larger than the video', () => {
  it('refuses the crafted stream (64 keyframes of 8192x8192 in a 320x240 video) at import, naming the limit', async () => {
    const crafted = writeBitstream(craftedKeyframeStream({ webp8192: WEBP_LOSSLESS_8192x8192, webp16383: WEBP_LOSSLESS_8192x8192 }));
    expect(crafted.length).toBeLessThan(200_000);
    const refused = await errorOf(await importing(crafted));
    expect(refused).toEqual({ status: 422, code: 'bitstream_not_reconstructable', details: { field: 'segments[0].keyframes[0]', limit: 'maxKeyframePixelRatio' } });
  });

  it('refuses to reconstruct a video stored before the limits that exceeds them, 422 naming the limit; its bitstream and TT2V still serve', async () => {
    const id = (await json(await importing(writeBitstream(ordinary())), VideoView)).id;
    // Stored as it was before the limits: the same video, its bitstream now carrying a keyframe 4x the video's pixels.
    const over = writeBitstream(ordinary({ keyframes: [{ codec: 'webp', width: 640, height: 480, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }] }));
    const hash = await sha256Hex(over);
    await env.BUCKET.put(bitstreamKey(hash), over);
    await env.DB.prepare('UPDATE videos SET bitstream_key = ?, bitstream_hash = ?, bitstream_bytes = ? WHERE id = ?').bind(bitstreamKey(hash), hash, over.length, id).run();
    for (const path of [`/v/${id}/it2v.mp4`, `/v/${id}/it2v/0.mp4`, `/v/${id}/it2v.m3u8`, `/v/${id}/it2v/0.ts`]) {
      const refused = await errorOf(await call(path));
      expect(refused, path).toEqual({ status: 422, code: 'bitstream_limit_exceeded', details: { limit: 'maxKeyframePixelRatio', field: 'segments[0].keyframes[0]', max: 320 * 240, value: 640 * 480 } });
    }
    expect(gpu.submitted).toHaveLength(0);
    expect((await call(`/v1/videos/${id}/bitstream`)).status).toBe(200);
    // TT2V reads no keyframe: it is within the limits
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
  });

  it('refuses output sizes at which a segment\'s keyframes would pass maxSegmentKeyframePixels, before any GPU call', async () => {
    gpu.keyframesPerSegment = 20;
    const id = await encodedVideo(undefined, gpu);
    const refused = await errorOf(await call(`/v/${id}/it2v.mp4?w=1920&h=1920`));
    expect(refused).toMatchObject({ status: 400, code: 'invalid_option', details: { option: 'w', limit: 'maxSegmentKeyframePixels' } });
    expect(20 * 1920 * 1920).toBeGreaterThan(STREAM_LIMITS.maxSegmentKeyframePixels);
    expect(gpu.submitted.filter((s) => s.fn === 'generate')).toHaveLength(0);
  });
});

describe('finding 8: maxKbps on a TT2V playlist', () => {
  it('is a 400 naming the option, as on a TT2V MP4', async () => {
    const id = await encodedVideo(undefined, gpu);
    for (const path of [`/v/${id}/tt2v.m3u8?maxKbps=5`, `/v/${id}/tt2v/media.m3u8?maxKbps=5`, `/v/${id}/tt2v/0.ts?maxKbps=5`, `/v/${id}/tt2v.mp4?maxKbps=5`]) {
      expect(await errorOf(await call(path)), path).toEqual({ status: 400, code: 'invalid_option', details: { option: 'maxKbps' } });
    }
    expect((await call(`/v/${id}/it2v.m3u8?maxKbps=5`)).status).toBe(200);
  });
});

describe('finding 3: inspect amplifying its input', () => {
  it('answers 16 MiB of empty ancillary chunks with at most maxListedChunks chunks, the count, and a small body', { timeout: 30_000 }, async () => {
    const flood = withAncillaryChunks(ordinary(), Math.floor((STREAM_LIMITS.maxBytes - 400) / 12));
    expect(flood.length).toBeLessThanOrEqual(STREAM_LIMITS.maxBytes);
    const response = await call('/v1/bitstreams/inspect', { method: 'POST', body: flood, headers: { 'Content-Type': 'application/vnd.cmvc' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    const report = JSON.parse(text) as { valid: boolean; chunks: unknown[]; chunkCount: number; truncated: boolean; error: { code: string } | null };
    expect(report.chunks).toHaveLength(STREAM_LIMITS.maxListedChunks);
    expect(report).toMatchObject({ valid: false, truncated: true, error: { code: 'limit_exceeded' } });
    expect(report.chunkCount).toBe(Math.floor((STREAM_LIMITS.maxBytes - 400) / 12) + 8); // HEAD, SIDX, SEGP, CTXT, MTXT, KFRM, kpos, CEND
    expect(text.length).toBeLessThan(200_000); // it was 123.5 MB
  });
});

describe('finding 4: imports and the storage quota', () => {
  it('counts an import against the owner\'s stored bytes and refuses the one that would pass the quota, 413 as an upload', async () => {
    const bytes = writeBitstream(ordinary());
    const key = await newKey(['encode', 'read'], { limits: { storageBytes: bytes.length * 2 + 10 } });
    expect((await importing(bytes, key.secret)).status).toBe(201);
    expect((await importing(bytes, key.secret)).status).toBe(201);
    const refused = await errorOf(await importing(bytes, key.secret));
    expect(refused).toEqual({ status: 413, code: 'storage_quota_exceeded', details: { usedBytes: bytes.length * 2, uploadBytes: bytes.length, quotaBytes: bytes.length * 2 + 10 } });
    const tiny = await newKey(['encode', 'read'], { limits: { storageBytes: 1000 } });
    const noise = Array.from(crypto.getRandomValues(new Uint8Array(1500)), (b) => String.fromCharCode(97 + (b % 26))).join(''); // hardly compressible
    const larger = writeBitstream(ordinary({ contentText: noise }));
    expect(larger.length).toBeGreaterThan(1000);
    expect((await errorOf(await importing(larger, tiny.secret))).code).toBe('storage_quota_exceeded');
  });
});

describe('finding 5: the parsed-bitstream cache', () => {
  it(`keeps at most ${PARSED_BITSTREAM_CACHE_BYTES / 2 ** 20} MiB of parsed bitstreams, however many large ones are read`, { timeout: 30_000 }, async () => {
    const image = new Uint8Array(4 * 1024 * 1024 - 64).fill(7); // the reader does not look inside images
    for (let n = 0; n < 12; n++) {
      const bytes = writeBitstream(ordinary({ contentText: `video ${n}`, keyframes: [{ codec: 'webp', width: 24, height: 16, data: image, frameIndex: 0, priority: 255 }] }));
      const hash = await sha256Hex(bytes);
      await env.BUCKET.put(bitstreamKey(hash), bytes);
      expect((await loadBitstream(env.BUCKET, bitstreamKey(hash), hash)).segments[0]?.contentText).toBe(`video ${n}`);
      expect(parsedBitstreams.weight).toBeLessThanOrEqual(PARSED_BITSTREAM_CACHE_BYTES);
    }
    expect(parsedBitstreams.size).toBe(7); // 7 x 4 MiB fit in 32 MiB; the oldest were let go
    const lru = new Lru<string, number>(10, (v) => v, 100);
    lru.set('a', 60);
    lru.set('b', 30);
    lru.set('c', 20); // 110 > 100: 'a' goes
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.weight]).toEqual([undefined, 30, 20, 50]);
    lru.set('d', 101); // heavier than the bound: not kept, nothing else lost
    expect([lru.get('d'), lru.size, lru.weight]).toEqual([undefined, 2, 50]);
  });
});

describe('finding 6: work before the quota check', () => {
  it('refuses a key with nothing left before looking up the artifacts of a 1,000-segment video', { timeout: 30_000 }, async () => {
    const segments = Array.from({ length: 1000 }, (_, n) => ({ startFrame: n * 24, frameCount: 24, contentText: `scene ${n}`, motionText: 'the camera is static', keyframes: [] }));
    const bytes = writeBitstream({ ...ordinary(), header: { ...ordinary().header, frameCount: 24_000, durationMs: 1_000_000 }, segments });
    const broke = await newKey(['encode', 'read', 'reconstruct'], { limits: { gpuSecondsPerDay: 0 } });
    const id = (await json(await importing(bytes, broke.secret), VideoView)).id;
    const head = vi.spyOn(Object.getPrototypeOf(env.BUCKET) as R2Bucket, 'head');
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const refused = await errorOf(await call(`/v/${id}/tt2v.mp4`, { key: broke.secret }));
    expect(refused).toEqual({ status: 429, code: 'gpu_quota_exceeded', details: { plannedSeconds: null, remainingSeconds: 0, quotaSeconds: 0 } });
    expect(head.mock.calls.length).toBeLessThanOrEqual(1); // the whole video's own artifact; it was one per artifact (1,001)
    // nothing planned: the whole video's id is one hash (with the key's own); planning hashes each segment's artifact id
    expect(digest.mock.calls.length).toBeLessThan(10);
    head.mockRestore();
    digest.mockRestore();
  });
});

describe('finding 9: keyframes checked by their headers only', () => {
  it('decodes every keyframe at import: a corrupt body, or bytes after the image, is a 422 naming the keyframe', async () => {
    const corrupt = WEBP_LOSSY_24x16.slice();
    corrupt.fill(0x55, 40); // the VP8 data after the frame header: headers intact, body garbage
    const trailing = new Uint8Array(WEBP_LOSSY_24x16.length + 16);
    trailing.set(WEBP_LOSSY_24x16);
    const jpegTrailing = new Uint8Array(JPEG_24x16.length + 8);
    jpegTrailing.set(JPEG_24x16);
    const cases: [string, Bitstream, string][] = [
      ['a WebP with a corrupt body', ordinary({ keyframes: [{ codec: 'webp', width: 24, height: 16, data: corrupt, frameIndex: 0, priority: 255 }] }), 'segments[0].keyframes[0].data'],
      ['a WebP with bytes after its RIFF end', ordinary({ keyframes: [{ codec: 'webp', width: 24, height: 16, data: trailing, frameIndex: 0, priority: 255 }] }), 'segments[0].keyframes[0].data'],
      ['a JPEG with bytes after its end-of-image marker', ordinary({ keyframes: [{ codec: 'jpeg', width: 24, height: 16, data: jpegTrailing, frameIndex: 0, priority: 255 }] }), 'segments[0].keyframes[0].data'],
    ];
    for (const [name, stream, field] of cases) {
      const response = await importing(writeBitstream(stream));
      if (name.includes('corrupt')) expect(((await response.clone().json()) as { error: { message: string } }).error.message).toContain('does not decode as a webp image');
      expect(await errorOf(response), name).toEqual({ status: 422, code: 'bitstream_not_reconstructable', details: { field } });
    }
    // whole images of both codecs import
    const both = ordinary({ keyframes: [{ codec: 'webp', width: 24, height: 16, data: WEBP_LOSSY_24x16, frameIndex: 0, priority: 255 }, { codec: 'jpeg', width: 24, height: 16, data: JPEG_24x16, frameIndex: 5, priority: 1 }] });
    expect((await importing(writeBitstream(both))).status).toBe(201);
    expect((await importing(writeBitstream(ordinary({ keyframes: [{ codec: 'webp', width: 24, height: 16, data: WEBP_LOSSLESS_24x16, frameIndex: 0, priority: 255 }] })))).status).toBe(201);
  });
});
