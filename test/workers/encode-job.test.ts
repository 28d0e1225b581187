// The encode job's end of life: retries with back-off, the last attempt failing the job, the
// dead-letter queue, resuming a timed-out call by its stored id, and a lost call resubmitted.
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_ENCODE_ATTEMPTS } from '../../src/jobs/attempts';
import { runEncodeJob } from '../../src/jobs/encode-job';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, deliverEncode, env, upload } from './helpers';
import { JobView, VideoView } from '../../src/openapi/shapes';
import { json } from '../json';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

async function uploaded() {
  const { json: accepted } = await upload();
  return { jobId: accepted.job.id as string, videoId: accepted.video.id as string };
}

const jobOf = async (jobId: string) => (await json(await call(`/v1/jobs/${jobId}`), JobView));
const videoOf = async (videoId: string) => (await json(await call(`/v1/videos/${videoId}`), VideoView));
const storedCallId = async (jobId: string) => (await env.DB.prepare('SELECT gpu_call_id FROM jobs WHERE id = ?').bind(jobId).first<{ gpu_call_id: string | null }>())?.gpu_call_id;

describe('encode job end of life', () => {
  it('retries a call that failed after it was accepted with growing delays, and fails the job on the last attempt', async () => {
    const message = await uploaded();
    gpu.defaultBehaviour = 'accept-then-fail';
    const first = await deliverEncode(message, 1);
    expect(first.retryMessages.map((m) => m.msgId)).toEqual([`m-${message.jobId}-1`]);
    expect(first.explicitAcks).toEqual([]);
    for (let attempt = 1; attempt < MAX_ENCODE_ATTEMPTS; attempt++) {
      // The consumer hands this delay to message.retry (the queue result does not report it).
      if (attempt > 1) expect(await runEncodeJob(env, message.jobId, attempt)).toEqual({ kind: 'retry', delaySeconds: 2 ** attempt });
      const job = await jobOf(message.jobId);
      expect(job).toMatchObject({ status: 'queued', attempts: attempt, error: { code: 'engine_failure' } });
      expect(await storedCallId(message.jobId)).toBeNull(); // a failed call is not resumed: the next attempt submits anew
    }
    const last = await deliverEncode(message, MAX_ENCODE_ATTEMPTS);
    expect(last.retryMessages).toEqual([]);
    expect(last.explicitAcks).toEqual([`m-${message.jobId}-${MAX_ENCODE_ATTEMPTS}`]);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'failed', attempts: MAX_ENCODE_ATTEMPTS, error: { code: 'engine_failure' } });
    expect(await videoOf(message.videoId)).toMatchObject({ status: 'failed', error: { code: 'engine_failure' } });
    expect(gpu.calls.encode).toBe(MAX_ENCODE_ATTEMPTS);
    // The source stays for a later retry by hand; no bitstream was written.
    expect((await env.BUCKET.list({ prefix: 'bitstreams/' })).objects).toHaveLength(0);
  });

  it('fails the job at once when the call failed because of its input', async () => {
    const message = await uploaded();
    gpu.on('encode', 'accept-then-reject');
    const result = await deliverEncode(message, 1);
    expect(result.retryMessages).toEqual([]);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'failed', error: { code: 'undecodable_video' } });
    expect(gpu.calls.encode).toBe(1);
  });

  it('marks the job failed when its message reaches the dead-letter queue, without calling the GPU', async () => {
    const message = await uploaded();
    const result = await deliverEncode(message, 1, { queue: 'cmvc-encode-dlq' });
    expect(result.explicitAcks).toEqual([`m-${message.jobId}-1`]);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'failed', error: { code: 'encode_dead_lettered' } });
    expect(await videoOf(message.videoId)).toMatchObject({ status: 'failed', error: { code: 'encode_dead_lettered' } });
    expect(gpu.calls.encode).toBe(0);
  });

  it('resumes a call that outlived its deadline by its stored id instead of submitting again', { timeout: 30_000 }, async () => {
    const message = await uploaded();
    gpu.on('encode', 'accept-then-stall');
    const first = await deliverEncode(message, 1, { overrides: { GPU_TIMEOUT_SECONDS: '1' } });
    expect(first.retryMessages).toHaveLength(1);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'queued', error: { code: 'gpu_timeout' } });
    expect(await storedCallId(message.jobId)).toBe('call-1');

    gpu.finishStalled();
    const second = await deliverEncode(message, 2);
    expect(second.retryMessages).toEqual([]);
    expect(gpu.calls.encode).toBe(1);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'succeeded', progress: 1, error: null });
    expect((await videoOf(message.videoId)).status).toBe('succeeded');
  });

  it('retries, and writes nothing, when the status of the call breaks the contract', async () => {
    const message = await uploaded();
    gpu.on('encode', 'malformed-status');
    const first = await deliverEncode(message, 1);
    expect(first.retryMessages).toHaveLength(1);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'queued', error: { code: 'gpu_bad_response' } });
    expect((await env.BUCKET.list({ prefix: 'bitstreams/' })).objects).toHaveLength(0);
    await deliverEncode(message, 2);
    expect((await jobOf(message.jobId)).status).toBe('succeeded');
  });

  it('submits again when the backend lost the call', async () => {
    const message = await uploaded();
    gpu.on('encode', 'lose-call');
    const first = await deliverEncode(message, 1);
    expect(first.retryMessages).toHaveLength(1);
    expect(await jobOf(message.jobId)).toMatchObject({ status: 'queued', error: { code: 'gpu_call_lost' } });
    expect(await storedCallId(message.jobId)).toBeNull();
    await deliverEncode(message, 2);
    expect(gpu.calls.encode).toBe(2);
    expect((await jobOf(message.jobId)).status).toBe('succeeded');
  });
});
