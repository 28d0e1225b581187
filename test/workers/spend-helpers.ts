/** Helpers of the GPU-spend tests: keys with limits, encoded videos, signed URLs, error codes. */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { expect, vi } from 'vitest';
import worker from '../../src/index';
import type { FakeGpu } from './fake-gpu';
import { CreatedKey, SignedUrls, UploadAccepted, UsageReport } from '../../src/openapi/shapes';
import { ADMIN_KEY, call, env, fakeMp4 } from './helpers';
import { estimateCallSeconds, GPU_COST_MODEL } from '../../src/gpu/cost-model';
import { json } from '../json';

/** The scopes a spending key is created with in these tests. */
export const SPEND_SCOPES = ['encode', 'read', 'reconstruct'];

/** One generate call's estimate: the fake encodes every video as 320x240 at 24 fps, 24 frames a segment. */
export const SEGMENT_ESTIMATE = estimateCallSeconds(GPU_COST_MODEL, env.GPU_ENGINE, 'generate', { frames: 24, width: 320, height: 240 });

export async function newKey(scopes: string[], extra: Record<string, unknown> = {}) {
  const response = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `k-${scopes.join('-')}`, scopes, ...extra }) });
  expect(response.status).toBe(201);
  return json(response, CreatedKey);
}

/** Runs the encode queue consumer on one job, as the queue would. */
export async function runEncodeQueue(job: { id: string }, video: { id: string }): Promise<void> {
  const batch = createMessageBatch('cmvc-encode', [{ id: `m-${job.id}`, timestamp: new Date(), attempts: 1, body: { jobId: job.id, videoId: video.id } }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<{ jobId: string; videoId: string }>, env, ctx);
  await getQueueResult(batch, ctx);
}

/** Uploads with `key` and runs its encode job; returns the video id. */
export async function encodedVideo(key = ADMIN_KEY, gpu?: FakeGpu, segments = 1): Promise<string> {
  if (gpu) gpu.segments = segments;
  const response = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key });
  expect(response.status).toBe(202);
  const { video, job } = await json(response, UploadAccepted);
  await runEncodeQueue(job, video);
  return video.id;
}

export async function mintUrls(id: string, key: string, body: Record<string, unknown> = { modes: ['tt2v'], expiresIn: 600 }) {
  const response = await call(`/v1/videos/${id}/urls`, { method: 'POST', key, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await json(response, SignedUrls)).urls;
}

export const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');

export async function errorOf(response: Response): Promise<{ status: number; code: string | undefined; details?: Record<string, unknown> }> {
  const body = (await response.json()) as { error?: { code: string; details?: Record<string, unknown> } };
  return { status: response.status, code: body.error?.code, ...(body.error?.details === undefined ? {} : { details: body.error.details }) };
}

export async function usageOf(key: string, keyId?: string) {
  const response = await call(`/v1/usage${keyId ? `?keyId=${keyId}` : ''}`, { key });
  expect(response.status).toBe(200);
  return (await json(response, UsageReport)).usage;
}

/** What the instrumented fake GPU saw: calls running at once, and the seconds it reported spending. */
export interface GpuLedger {
  /** Seconds every finished call reports (as both `gpu` and `cpu`), failed ones included. */
  reportSeconds: number;
  /** Seconds every finished call that writes an output file reports spending on its upload. */
  reportUploadSeconds: number;
  /** The next this many submitted calls run, then fail with `engine_failure`, reporting their seconds. */
  failNext: number;
  /** Per function: calls submitted and not finished yet, the most at once, and the seconds reported. */
  running: Record<string, number>;
  maxRunning: Record<string, number>;
  reported: Record<string, number>;
}

/**
 * Wraps the FAKE GPU's fetch handler: results report `ledger.reportSeconds`, chosen calls fail after
 * running (a poll answering `failed` with `details.seconds`, as the GPU server does), and calls in
 * flight are counted per function.
 */
export function instrumentGpu(gpu: FakeGpu): GpuLedger {
  const ledger: GpuLedger = { reportSeconds: 0.5, reportUploadSeconds: 0, failNext: 0, running: {}, maxRunning: {}, reported: {} };
  const calls = new Map<string, { fn: string; fail: boolean }>();
  const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const response = await gpu.handle(request);
    const submit = /^\/v1\/(\w+)\/submit$/.exec(url.pathname);
    if (submit && response.status === 202) {
      const fn = submit[1] as string;
      const { callId } = (await response.clone().json()) as { callId: string };
      calls.set(callId, { fn, fail: ledger.failNext > 0 });
      if (ledger.failNext > 0) ledger.failNext -= 1;
      ledger.running[fn] = (ledger.running[fn] ?? 0) + 1;
      ledger.maxRunning[fn] = Math.max(ledger.maxRunning[fn] ?? 0, ledger.running[fn] as number);
      return response;
    }
    const poll = /^\/v1\/calls\/(.+)$/.exec(url.pathname);
    const call = poll ? calls.get(decodeURIComponent(poll[1] as string)) : undefined;
    if (!call) return response;
    const body = (await response.clone().json()) as { status: string; result?: { seconds?: { upload?: number } } };
    if (body.status !== 'succeeded') return response;
    calls.delete(decodeURIComponent(poll![1] as string));
    ledger.running[call.fn] = (ledger.running[call.fn] as number) - 1;
    // As the model engine on a GPU reports a call: its wall time as both (they overlap; the bill is one
    // of them), and apart from them the upload of its output file, when it writes one.
    const uploads = body.result?.seconds?.upload !== undefined;
    const seconds = { gpu: ledger.reportSeconds, cpu: ledger.reportSeconds, ...(uploads ? { upload: ledger.reportUploadSeconds } : {}) };
    ledger.reported[call.fn] = (ledger.reported[call.fn] ?? 0) + ledger.reportSeconds + (uploads ? ledger.reportUploadSeconds : 0);
    if (call.fail) return json({ status: 'failed', error: { code: 'engine_failure', message: 'the engine crashed mid-call', details: { seconds } } });
    return json({ ...body, result: { ...body.result, seconds } });
  });
  return ledger;
}

/** Today's GPU seconds in a key's usage rows. */
export async function gpuSecondsUsed(secret: string): Promise<number> {
  return (await usageOf(secret)).reduce((sum, row) => sum + row.gpuSeconds, 0);
}
