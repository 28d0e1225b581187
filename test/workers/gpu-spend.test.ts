import { beforeEach, describe, expect, it } from 'vitest';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { ADMIN_KEY, call, callSettled, env, fakeMp4 } from './helpers';
import { encodedVideo, errorOf, gpuSecondsUsed, instrumentGpu, newKey, runEncodeQueue, usageOf, type GpuLedger, SPEND_SCOPES, SEGMENT_ESTIMATE } from './spend-helpers';
import { JobView, UploadAccepted, UsageReport } from '../../src/openapi/shapes';
import { estimateEncodeSeconds } from '../../src/jobs/encode-estimate';
import { json } from '../json';

let gpu: FakeGpu;
let ledger: GpuLedger;
beforeEach(() => {
  gpu = installFakeGpu();
  ledger = instrumentGpu(gpu);
});


describe('GPU seconds are reserved before a call and settled after it', () => {
  it('keeps 12 concurrent generations on a small quota within one call estimate of it', async () => {
    // the encode is charged its estimate, which leaves 3.5 generations' worth of the quota
    const encode = estimateEncodeSeconds(env.GPU_ENGINE, fakeMp4().byteLength);
    const quota = encode + SEGMENT_ESTIMATE * 3.5;
    const key = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: quota } });
    ledger.reportSeconds = encode;
    const id = await encodedVideo(key.secret);
    ledger.reportSeconds = SEGMENT_ESTIMATE; // an honest estimate
    gpu.pendingPolls = 2; // the calls overlap
    const before = gpu.calls.generate;
    const responses = await Promise.all(Array.from({ length: 12 }, (_, seed) => call(`/v/${id}/tt2v.mp4?seed=${seed + 100}`, { key: key.secret })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(gpu.calls.generate - before).toBeLessThanOrEqual(3);
    expect(await gpuSecondsUsed(key.secret)).toBeLessThanOrEqual(quota + SEGMENT_ESTIMATE);
  });

  it('charges a failed generation the seconds the GPU function reports it spent', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret); // the encode's
    ledger.reportSeconds = 0.7;
    ledger.failNext = 1;
    expect((await call(`/v/${id}/tt2v.mp4?seed=5`, { key: key.secret })).status).toBe(503);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(0.7, 6);
    const usage = (await json(await call('/v1/usage', { key: key.secret }), UsageReport));
    expect(usage.usage[0]!.generations).toBe(1);
  });

  it('charges nothing for a call the GPU backend refused at every submit: it never ran', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    gpu.on('generate', 'fail-500', 'fail-500', 'fail-500'); // the client's three attempts, each answered 500
    const refused = await call(`/v/${id}/tt2v.mp4?seed=23`, { key: key.secret });
    expect(refused.status).toBe(503);
    expect(gpu.calls.generate).toBe(3);
    expect(await gpuSecondsUsed(key.secret)).toBe(before);
    expect((await json(await call('/v1/usage', { key: key.secret }), UsageReport)).inFlight?.reservations).toBe(0);
  });

  it('charges the seconds a generation spent uploading its output on top of its computing', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    ledger.reportSeconds = 0.25;
    ledger.reportUploadSeconds = 0.125;
    expect((await call(`/v/${id}/tt2v.mp4?seed=13`, { key: key.secret })).status).toBe(200);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(0.375, 6);
  });

  it('charges a generation once, to what it spent, however many requests join it', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    ledger.reportSeconds = 0.25;
    gpu.pendingPolls = 1;
    const responses = await Promise.all([0, 1, 2].map(() => call(`/v/${id}/tt2v.mp4?seed=9`, { key: key.secret })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(0.25, 6);
  });
});

describe('fan-out', () => {
  it('refuses, before any GPU call, a whole video whose planned work exceeds the remaining budget', async () => {
    const key = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: 5 } });
    const id = await encodedVideo(key.secret, gpu, 80);
    const encodeSeconds = await gpuSecondsUsed(key.secret);
    const before = { ...gpu.calls };
    const refused = await errorOf(await call(`/v/${id}/tt2v.mp4`, { key: key.secret }));
    expect(refused).toMatchObject({ status: 429, code: 'gpu_quota_exceeded' });
    expect(refused.details?.quotaSeconds).toBe(5);
    expect(refused.details?.remainingSeconds).toBeCloseTo(5 - encodeSeconds, 3);
    expect(refused.details?.plannedSeconds).toBeGreaterThan(80 * SEGMENT_ESTIMATE);
    expect(gpu.calls).toEqual(before);
  });

  it('keeps at most MAX_GENERATIONS_PER_REQUEST generations of one request running at once', { timeout: 30_000 }, async () => {
    const id = await encodedVideo(ADMIN_KEY, gpu, 20);
    gpu.pendingPolls = 2;
    const response = await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=60' } });
    expect(response.status).toBe(200);
    expect(gpu.calls.generate).toBe(20);
    expect(ledger.maxRunning.generate).toBe(Number(env.MAX_GENERATIONS_PER_REQUEST));
  });

  it('counts HLS prefetches against the rate limit: no units, no prefetch', async () => {
    const key = await newKey(SPEND_SCOPES, { limits: { requestsPerMinute: 40 } });
    const id = await encodedVideo(key.secret, gpu, 4); // 1 unit
    // Settled: every prefetch the request started (waitUntil) has run to its end before the count is read.
    const response = await callSettled(`/v/${id}/tt2v/0.ts`, { key: key.secret }); // 1 + 30 units; the two prefetches would need 60
    expect(response.status).toBe(200);
    expect(gpu.calls.generate).toBe(1);
  });
});

describe('encode', () => {
  it('refuses an upload from a key without GPU budget, storing nothing and calling no GPU', async () => {
    const key = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: 0 } });
    const response = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key: key.secret });
    const refused = await errorOf(response);
    expect(refused).toMatchObject({ status: 429, code: 'gpu_quota_exceeded', details: { remainingSeconds: 0, quotaSeconds: 0 } });
    expect(refused.details?.plannedSeconds).toBeGreaterThan(0);
    expect((await env.BUCKET.list({ prefix: 'sources/' })).objects).toHaveLength(0);
    expect(gpu.calls.encode).toBe(0);
  });

  it("charges an encode's seconds to the key that uploaded it, as GPU seconds and not as a generation", async () => {
    const key = await newKey(SPEND_SCOPES);
    ledger.reportSeconds = 0.3;
    await encodedVideo(key.secret);
    const [today] = await usageOf(key.secret);
    expect(today).toMatchObject({ keyId: key.id, generations: 0 });
    expect(today?.gpuSeconds).toBeCloseTo(0.3, 6);
  });
});

describe('encode fairness', () => {
  it("lets another key's waiting encode go before a key's second one, without using up the job's attempts", async () => {
    const a = await newKey(SPEND_SCOPES);
    const b = await newKey(SPEND_SCOPES);
    const upload = async (key: string) => json(await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key }), UploadAccepted);
    const burst = [await upload(a.secret), await upload(a.secret), await upload(a.secret)];
    const other = await upload(b.secret);
    const status = async (job: { id: string }) => ((await json(await call(`/v1/jobs/${job.id}`), JobView))).status;

    await runEncodeQueue(burst[0]!.job, burst[0]!.video);
    expect(await status(burst[0]!.job)).toBe('succeeded');
    await runEncodeQueue(burst[1]!.job, burst[1]!.video); // a has had its turn while b waits: it steps back
    expect(await status(burst[1]!.job)).toBe('queued');
    expect(((await json(await call(`/v1/jobs/${burst[1]!.job.id}`), JobView))).attempts ?? 0).toBe(0);
    await runEncodeQueue(other.job, other.video);
    expect(await status(other.job)).toBe('succeeded');
    await runEncodeQueue(burst[1]!.job, burst[1]!.video); // nobody else waits now
    expect(await status(burst[1]!.job)).toBe('succeeded');
  });
});
