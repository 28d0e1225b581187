/** Helpers of the GPU-spend tests: keys with limits, encoded videos, signed URLs, error codes. */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { expect } from 'vitest';
import worker from '../../src/index';
import { ADMIN_KEY, call, env, fakeMp4 } from './helpers';

export interface TestKey {
  id: string;
  secret: string;
  owner: string;
}

export async function newKey(scopes: string[], extra: Record<string, unknown> = {}): Promise<TestKey> {
  const response = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `k-${scopes.join('-')}`, scopes, ...extra }) });
  expect(response.status).toBe(201);
  return (await response.json()) as TestKey;
}

/** Runs the encode queue consumer on one job, as the queue would. */
export async function runEncodeQueue(job: { id: string }, video: { id: string }): Promise<void> {
  const batch = createMessageBatch('cmvc-encode', [{ id: `m-${job.id}`, timestamp: new Date(), attempts: 1, body: { jobId: job.id, videoId: video.id } }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<{ jobId: string; videoId: string }>, env, ctx);
  await getQueueResult(batch, ctx);
}

/** Uploads with `key` and runs its encode job; returns the video id. */
export async function encodedVideo(key = ADMIN_KEY): Promise<string> {
  const response = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key });
  expect(response.status).toBe(202);
  const { video, job } = (await response.json()) as any;
  await runEncodeQueue(job, video);
  return video.id as string;
}

export async function mintUrls(id: string, key: string, body: Record<string, unknown> = { modes: ['tt2v'], expiresIn: 600 }) {
  const response = await call(`/v1/videos/${id}/urls`, { method: 'POST', key, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as any).urls as { mode: string; url: string }[];
}

export const pathOf = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');

export async function errorOf(response: Response): Promise<{ status: number; code: string | undefined; details?: any }> {
  const body = (await response.json()) as any;
  return { status: response.status, code: body.error?.code, ...(body.error?.details === undefined ? {} : { details: body.error.details }) };
}

export async function usageOf(key: string, keyId?: string): Promise<any[]> {
  const response = await call(`/v1/usage${keyId ? `?keyId=${keyId}` : ''}`, { key });
  expect(response.status).toBe(200);
  return ((await response.json()) as any).usage;
}
