// Reconstruction when the GPU accepts a call and then fails it, stalls, garbles its status or loses
// it: the answer (status, Retry-After, error code), the coordinator's remembered failure and back-off
// (no resubmission per request), and nothing stored.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { GENERATION_DEADLINE_MS, RESUME_WINDOW_MS } from '../../src/generation/coordinator';
import type { GenerationSpec } from '../../src/generation/plan';
import { coordinatorFor } from '../../src/generation/stub';
import { artifactTransferFromEnv } from '../../src/storage/artifact-transfer';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, encodedVideo, env, plannedSpec } from './helpers';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; details?: { cause?: string } } }).error;
const storedArtifacts = async () => (await env.BUCKET.list({ prefix: 'artifacts/' })).objects.length;

/**
 * A generate call the GPU accepted and is still running (stalled), submitted as the coordinator submits
 * it (with the artifact's upload target) a whole deadline ago by an instance that has since restarted:
 * only storage remembers it. The watchdog alarm then gives it up at the Worker.
 */
async function stalledPastItsDeadline(spec: GenerationSpec) {
  if (spec.kind !== 'generate') throw new Error('a one-segment video is one generate call');
  gpu.on('generate', 'accept-then-stall');
  const output = await artifactTransferFromEnv(env).uploadTarget(spec.r2Key);
  const body = JSON.stringify({ ...spec.request, output });
  const submitted = (await (await gpu.handle('http://gpu.test/v1/generate/submit', { method: 'POST', body })).json()) as { callId: string };
  const stub = coordinatorFor(env, spec.key);
  await runInDurableObject(stub, async (_instance, state) => {
    const submittedAt = Date.now() - GENERATION_DEADLINE_MS - 1000;
    await state.storage.put('state', { status: 'running', spec, chargeTo: null, callId: submitted.callId, submittedAt, progress: null, startedAt: submittedAt, attempts: 1 });
    await state.storage.setAlarm(Date.now() + 60_000);
  });
  expect(await runDurableObjectAlarm(stub)).toBe(true);
}

/** Moves the coordinator's remembered failure into the past, as if its back-off had run out. */
async function expireBackoff(spec: GenerationSpec) {
  await runInDurableObject(coordinatorFor(env, spec.key), async (_instance, state) => {
    const stored = (await state.storage.get<{ status: string; retryAt: number }>('state'))!;
    expect(stored.status).toBe('failed');
    await state.storage.put('state', { ...stored, retryAt: Date.now() - 1 });
  });
}

describe('a GPU call that fails after it was accepted', () => {
  it('answers 503 with Retry-After, does not resubmit within the back-off, doubles it, and succeeds later', async () => {
    const id = await encodedVideo(gpu);
    const spec = await plannedSpec(id, 'tt2v');
    gpu.on('generate', 'accept-then-fail', 'accept-then-fail');

    const first = await call(`/v/${id}/tt2v.mp4`);
    expect(first.status).toBe(503);
    expect(first.headers.get('Retry-After')).toBe('5');
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    expect(await errorOf(first)).toMatchObject({ code: 'gpu_unavailable', details: { cause: 'engine_failure' } });

    // Within the back-off the remembered failure answers: no second GPU call however often it is asked.
    for (let i = 0; i < 3; i++) {
      const again = await call(`/v/${id}/tt2v.mp4`);
      expect(again.status).toBe(503);
      expect(Number(again.headers.get('Retry-After'))).toBeGreaterThan(0);
      expect(Number(again.headers.get('Retry-After'))).toBeLessThanOrEqual(5);
    }
    expect(gpu.calls.generate).toBe(1);

    await expireBackoff(spec);
    const second = await call(`/v/${id}/tt2v.mp4`);
    expect(second.status).toBe(503);
    expect(second.headers.get('Retry-After')).toBe('10'); // the second failure in a row waits twice as long
    expect(gpu.calls.generate).toBe(2);
    expect(await storedArtifacts()).toBe(0);

    await expireBackoff(spec);
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(3);
    expect(await storedArtifacts()).toBe(1);
  });

  it('answers 422 generation_rejected when the call failed because of its input, and remembers it', async () => {
    const id = await encodedVideo(gpu);
    gpu.on('generate', 'accept-then-reject');
    const first = await call(`/v/${id}/it2v.mp4`);
    expect(first.status).toBe(422);
    expect(first.headers.get('Retry-After')).toBe('300');
    expect(first.headers.get('Cache-Control')).toBe('no-store');
    expect(await errorOf(first)).toMatchObject({ code: 'generation_rejected', details: { cause: 'undecodable_video' } });
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(422);
    expect(gpu.calls.generate).toBe(1);
    expect(await storedArtifacts()).toBe(0);
  });

  it('never stores anything from a call whose status breaks the contract', async () => {
    const id = await encodedVideo(gpu);
    gpu.on('generate', 'malformed-status');
    const response = await call(`/v/${id}/tt2v.mp4`);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await errorOf(response)).toMatchObject({ code: 'gpu_unavailable', details: { cause: 'gpu_bad_response' } });
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(503);
    expect(gpu.calls.generate).toBe(1);
    expect(await storedArtifacts()).toBe(0);
  });

  it('treats a call id the backend no longer knows as lost work (503, retried later), not as refused input', async () => {
    const id = await encodedVideo(gpu);
    const spec = await plannedSpec(id, 'tt2v');
    gpu.on('generate', 'lose-call');
    const lost = await call(`/v/${id}/tt2v.mp4`);
    expect(lost.status).toBe(503);
    expect(lost.headers.get('Retry-After')).toBe('5');
    expect(await errorOf(lost)).toMatchObject({ code: 'gpu_unavailable', details: { cause: 'gpu_call_lost' } });
    expect(gpu.calls.generate).toBe(1);

    await expireBackoff(spec);
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(2);
  });
});

describe('a failure inside the artifact graph', () => {
  it('keeps the segments made before a failed assemble, and retries only the assemble after its back-off', async () => {
    const id = await encodedVideo(gpu, 3);
    const spec = await plannedSpec(id, 'it2v');
    gpu.on('assemble', 'accept-then-fail');
    const failed = await call(`/v/${id}/it2v.mp4`);
    expect(failed.status).toBe(503);
    expect(await errorOf(failed)).toMatchObject({ code: 'gpu_unavailable', details: { cause: 'engine_failure' } });
    expect(gpu.calls).toMatchObject({ generate: 3, assemble: 1 });
    expect(await storedArtifacts()).toBe(3); // the three segments, not the whole video

    await expireBackoff(spec);
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(200);
    expect(gpu.calls).toMatchObject({ generate: 3, assemble: 2 });
    expect(await storedArtifacts()).toBe(4);
  });

  it('does not assemble when a segment fails, and names the segment failure', async () => {
    const id = await encodedVideo(gpu, 3);
    gpu.on('generate', 'ok', 'accept-then-reject', 'ok');
    const failed = await call(`/v/${id}/it2v.mp4`);
    expect(failed.status).toBe(422);
    expect(await errorOf(failed)).toMatchObject({ code: 'generation_rejected', details: { cause: 'undecodable_video' } });
    expect(gpu.calls).toMatchObject({ generate: 3, assemble: 0 });
    expect(await storedArtifacts()).toBe(2);
  });
});

describe('a GPU call that stalls after it was accepted', () => {
  it('answers 202 while it runs, never resubmits, and serves the video once the call ends', { timeout: 30_000 }, async () => {
    const id = await encodedVideo(gpu);
    gpu.on('generate', 'accept-then-stall');
    for (let i = 0; i < 3; i++) {
      const waiting = await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=0' } });
      expect(waiting.status).toBe(202);
      expect(waiting.headers.get('Retry-After')).toBe('3');
      expect(waiting.headers.get('Cache-Control')).toBe('no-store');
    }
    expect(gpu.calls.generate).toBe(1);
    gpu.finishStalled();
    expect((await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=20' } })).status).toBe(200);
    expect(gpu.calls.generate).toBe(1);
  });

  it('gives up a call past its deadline after a restart, instead of granting it a fresh deadline', async () => {
    const id = await encodedVideo(gpu);
    const spec = await plannedSpec(id, 'tt2v');
    if (spec.kind !== 'generate') throw new Error('a one-segment video is one generate call');
    await stalledPastItsDeadline(spec);

    const response = await call(`/v/${id}/tt2v.mp4`);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await errorOf(response)).toMatchObject({ code: 'gpu_unavailable', details: { cause: 'gpu_timeout' } });
    expect(gpu.calls.generate).toBe(1); // the stalled one; nothing resubmitted within the back-off
    expect(await storedArtifacts()).toBe(0);
  });

  it('resumes a call that timed out by its id once the back-off ends: the same generation is never submitted (and paid for) twice', { timeout: 30_000 }, async () => {
    const id = await encodedVideo(gpu);
    const spec = await plannedSpec(id, 'tt2v');
    if (spec.kind !== 'generate') throw new Error('a one-segment video is one generate call');
    await stalledPastItsDeadline(spec);
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(503); // timed out at the Worker; still running at the GPU

    // Still pending after the back-off: asked again by id, not submitted again.
    await expireBackoff(spec);
    expect((await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=0' } })).status).toBe(503);
    expect(gpu.calls.generate).toBe(1);

    // It ends: the next attempt finds it by id and serves it.
    gpu.finishStalled();
    await expireBackoff(spec);
    expect((await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=20' } })).status).toBe(200);
    expect(gpu.calls.generate).toBe(1);
    expect(await storedArtifacts()).toBe(1);
  });

  it('abandons a call still pending twice its deadline after its submit, and submits it again', { timeout: 30_000 }, async () => {
    const id = await encodedVideo(gpu);
    const spec = await plannedSpec(id, 'tt2v');
    if (spec.kind !== 'generate') throw new Error('a one-segment video is one generate call');
    gpu.on('generate', 'accept-then-stall', 'ok');
    const submitted = (await (await gpu.handle('http://gpu.test/v1/generate/submit', { method: 'POST', body: JSON.stringify(spec.request) })).json()) as { callId: string };
    await runInDurableObject(coordinatorFor(env, spec.key), async (_instance, state) => {
      const submittedAt = Date.now() - RESUME_WINDOW_MS - 1000;
      const resume = { callId: submitted.callId, submittedAt, startedAt: submittedAt };
      const error = { code: 'gpu_timeout', message: 'generate did not finish', retryable: true };
      await state.storage.put('state', { status: 'failed', error, retryAt: Date.now() - 1, attempts: 1, resume });
    });
    expect((await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=20' } })).status).toBe(200);
    expect(gpu.calls.generate).toBe(2);
  });
});
