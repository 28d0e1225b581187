import { runInDurableObject } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AccessMeter } from '../../src/auth/access-meter';
import { coordinatorFor } from '../../src/generation/stub';
import { bytesToBase64, portableBytesToBase64 } from '../../src/http/base64';
import { INLINE_KEYFRAME_BYTES } from '../../src/generation/keyframe-grid';
import { FETCH_SECONDS, fakeImage, installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, callSettled, encodedVideo as encodedVideoOn, env, plannedSpec } from './helpers';
import { json } from '../json';
import { UsageReport } from '../../src/openapi/shapes';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const encodedVideo = () => encodedVideoOn(gpu);

/** Counts R2 heads of `r2Key` while `run` runs (the bucket binding's prototype is shared by the Worker and its objects). */
async function headsOf(r2Key: string, run: () => Promise<void>): Promise<number> {
  const head = vi.spyOn(Object.getPrototypeOf(env.BUCKET) as R2Bucket, 'head');
  await run();
  return head.mock.calls.filter(([key]) => key === r2Key).length;
}

describe('keyframes in a generate call', () => {
  it('sends a large image by URL and byte range, which reads back exactly that image; a small one inline', { timeout: 30_000 }, async () => {
    gpu.keyframeBytes = INLINE_KEYFRAME_BYTES + 1;
    const large = await encodedVideo();
    expect((await call(`/v/${large}/it2v.mp4`)).status).toBe(200);
    const sent = gpu.submitted.filter((s) => s.fn === 'generate').at(-1)?.body;
    const [keyframe] = sent.segment.keyframes;
    expect(keyframe).not.toHaveProperty('data');
    expect(keyframe.source).toMatchObject({ length: INLINE_KEYFRAME_BYTES + 1 });
    expect(JSON.stringify(sent).length).toBeLessThan(4096);
    expect(gpu.fetchedKeyframes).toEqual([fakeImage(INLINE_KEYFRAME_BYTES + 1)]);

    gpu.keyframeBytes = INLINE_KEYFRAME_BYTES;
    const small = await encodedVideo();
    expect((await call(`/v/${small}/it2v.mp4`)).status).toBe(200);
    const inline = gpu.submitted.filter((s) => s.fn === 'generate').at(-1)?.body.segment.keyframes[0];
    expect(inline.data).toBe(bytesToBase64(fakeImage(INLINE_KEYFRAME_BYTES)));
    expect(gpu.fetchedKeyframes).toHaveLength(1);
  });

  it('bills the seconds the GPU function spent reading a keyframe by URL, like its upload, on top of its compute', { timeout: 30_000 }, async () => {
    gpu.keyframeBytes = INLINE_KEYFRAME_BYTES + 1;
    const id = await encodedVideo();
    const billed = async () => (await json(await call('/v1/usage?keyId=admin'), UsageReport)).usage.reduce((sum, row) => sum + row.gpuSeconds, 0);
    const before = await billed();
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(200);
    // 0.5 s computing, FETCH_SECONDS reading the keyframe, 0.01 s uploading the output.
    expect((await billed()) - before).toBeCloseTo(0.5 + FETCH_SECONDS + 0.01, 6);
  });

  it('reads a bitstream by URL only with a valid signature for that bitstream', async () => {
    gpu.keyframeBytes = INLINE_KEYFRAME_BYTES + 1;
    const id = await encodedVideo();
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(200);
    const { url } = gpu.submitted.filter((s) => s.fn === 'generate').at(-1)!.body.segment.keyframes[0].source;
    const path = new URL(url).pathname + new URL(url).search;
    expect((await call(path)).status).toBe(200);
    expect((await call(path.replace(/sig=[0-9a-f]/, (m) => (m.endsWith('0') ? 'sig=1' : 'sig=0')))).status).toBe(403);
    // A signature for one bitstream does not open another, nor an artifact's route.
    expect((await call(path.replace(/\/[0-9a-f]{64}\.cmvc/, `/${'0'.repeat(64)}.cmvc`))).status).toBe(403);
    expect((await call(path.replace('/internal/bitstreams/', '/internal/artifacts/x/'))).status).toBe(403);
  });
});

describe('the bench routes', () => {
  it('read artifacts and bitstreams by their keys, never an uploaded source or anything else, and exist only when switched on', async () => {
    const id = await encodedVideo();
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    const artifact = (await env.BUCKET.list({ prefix: 'artifacts/' })).objects[0]!.key;
    const bitstream = (await env.BUCKET.list({ prefix: 'bitstreams/' })).objects[0]!.key;
    await env.BUCKET.put(`sources/${id}`, 'the uploaded video');
    await env.BUCKET.put('other/thing', 'not served');
    const bench = (key: string, on = 'true') => callSettled(`/__bench/r2/${encodeURIComponent(key)}`, { key: null }, { BENCH_ROUTES: on });
    expect((await bench(artifact)).status).toBe(200);
    expect((await bench(bitstream)).status).toBe(200);
    for (const key of [`sources/${id}`, 'other/thing', `artifacts/../sources/${id}`, `${artifact}/../../sources/${id}`]) {
      const response = await bench(key);
      expect(response.status, key).toBe(404);
      expect(await response.text(), key).not.toContain('the uploaded video');
    }
    expect((await bench(artifact, 'false')).status).toBe(404);
  });
});

describe('a miss at the edge', () => {
  it('names where its time went in Server-Timing when the bench routes are on, and says nothing otherwise', { timeout: 30_000 }, async () => {
    const id = await encodedVideo();
    const timed = await callSettled(`/v/${id}/tt2v.mp4?seed=21`, {}, { BENCH_ROUTES: 'true' });
    expect(timed.status).toBe(200);
    const stages = (timed.headers.get('Server-Timing') ?? '').split(', ').map((s) => s.split(';dur=')[0]);
    expect(stages).toEqual(expect.arrayContaining(['lookup', 'admit', 'coordinator', 'do-rpc-in', 'do-reserve', 'do-submit', 'do-call', 'do-settle', 'do-head-after', 'do-rpc-out', 'first-byte']));
    const plain = await callSettled(`/v/${id}/tt2v.mp4?seed=22`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('Server-Timing')).toBeNull();
    // A hit did no generation, so it has no breakdown to give.
    expect((await callSettled(`/v/${id}/tt2v.mp4?seed=21`, {}, { BENCH_ROUTES: 'true' })).headers.get('X-Cache')).toMatch(/^hit/);
  });

  it('looks the artifact up in R2 three times, each for a reason: the edge before asking, the upload route (write-once), the coordinator after the upload', async () => {
    const id = await encodedVideo();
    const spec = await plannedSpec(id, 'tt2v');
    const heads = await headsOf(spec.r2Key, async () => {
      expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    });
    expect(heads).toBe(3);
    expect(gpu.calls.generate).toBe(1);
  });

  it('serves what an earlier, failed call uploaded late, without calling the GPU again', async () => {
    const id = await encodedVideo();
    const spec = await plannedSpec(id, 'tt2v');
    // The call timed out as far as the coordinator knew, and its upload landed afterwards.
    await runInDurableObject(coordinatorFor(env, spec.key), async (_instance, state) => {
      await state.storage.put('state', { status: 'failed', error: { code: 'gpu_timeout', message: 'late', retryable: true }, retryAt: Date.now() - 1, attempts: 1 });
    });
    await env.BUCKET.put(spec.r2Key, new Uint8Array(64).fill(5));
    // The edge's own look finds it first; the coordinator, asked directly, must look too.
    const ensured = await coordinatorFor(env, spec.key).ensure(spec);
    expect(ensured.ok).toBe(true);
    expect(gpu.calls.generate ?? 0).toBe(0);
  });

  it('answers with the artifact even when billing its GPU seconds fails (the reservation is charged at its estimate once it expires)', async () => {
    const id = await encodedVideo();
    vi.spyOn(AccessMeter.prototype, 'settleGpu').mockRejectedValue(new Error('meter unavailable'));
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const response = await callSettled(`/v/${id}/tt2v.mp4?seed=23`);
    expect(response.status).toBe(200);
    expect(gpu.calls.generate).toBe(1);
  });
});

describe('keyframes in base64', () => {
  it('come out of the native encoder exactly as out of the portable one, at every length around the 3-byte grouping', () => {
    for (const length of [0, 1, 2, 3, 4, 5, 0x8000 - 1, 0x8000, 0x8000 + 1, 100_003]) {
      const bytes = new Uint8Array(length).map((_, i) => (i * 131 + 7) & 0xff);
      expect(bytesToBase64(bytes)).toBe(portableBytesToBase64(bytes));
    }
  });
});
