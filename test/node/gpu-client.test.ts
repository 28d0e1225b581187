import { describe, expect, it } from 'vitest';
import { GpuClient } from '../../src/gpu/client';
import { CircuitBreaker } from '../../src/gpu/circuit-breaker';
import { GpuError } from '../../src/gpu/errors';

const ENGINE = { id: 'fake', version: '1', models: {} };
const generated = { engine: ENGINE, video: { container: 'mp4', mimeType: 'video/mp4', width: 32, height: 32, fps: 8, frameCount: 8, bytes: 3, sha256: 'ab'.repeat(32) }, seconds: { gpu: 0, cpu: 0.1, upload: 0.01 } };
const request = { mode: 'tt2v' as const, segment: { contentText: 'a', motionText: 'b' }, width: 32, height: 32, fps: 8, frameCount: 8, seed: 1, output: { url: 'http://store/artifacts/a.mp4?sig=x' } };

/** A scripted backend: each call takes the next answer. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
  const seen: string[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    seen.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
    const next = answers.shift();
    if (!next) throw new Error('no more answers');
    return next();
  }) as typeof globalThis.fetch;
  return { fetch, seen };
}
const json = (body: unknown, status = 200) => () => new Response(JSON.stringify(body), { status });

async function failure(p: Promise<unknown>): Promise<GpuError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GpuError);
  return err as GpuError;
}

describe('GpuClient', () => {
  it('submits, polls through pending, and validates the result', async () => {
    const backend = scripted([json({ callId: 'c1' }, 202), json({ status: 'pending', progress: 0.5 }), json({ status: 'succeeded', result: generated })]);
    const progress: (number | null)[] = [];
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', fetch: backend.fetch });
    const result = await client.run('generate', request, { deadlineMs: 5000, pollIntervalMs: 1, onProgress: (p) => void progress.push(p) });
    expect(result.video.frameCount).toBe(8);
    expect(progress).toEqual([0.5]);
    expect(backend.seen).toEqual(['POST /v1/generate/submit', 'GET /v1/calls/c1', 'GET /v1/calls/c1']);
  });

  it('retries retryable failures with backoff and then succeeds', async () => {
    const backend = scripted([() => Promise.reject(new TypeError('refused')), json({ error: { code: 'overloaded', message: 'busy' } }, 503), json(generated)]);
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', fetch: backend.fetch, backoffMs: 1 });
    expect((await client.call('generate', request)).engine.id).toBe('fake');
    expect(backend.seen).toHaveLength(3);
  });

  it('never retries input errors', async () => {
    const backend = scripted([json({ error: { code: 'undecodable_video', message: 'no' } }, 422), json(generated)]);
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', fetch: backend.fetch, backoffMs: 1 });
    const err = await failure(client.call('generate', request));
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: 'undecodable_video', retryable: false });
    expect(backend.seen).toHaveLength(1);
  });

  it('treats garbage as a failure: non-JSON, and JSON that breaks the contract', async () => {
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', attempts: 1, fetch: scripted([() => new Response('<html>oops</html>')]).fetch });
    expect((await failure(client.call('generate', request))).code).toBe('gpu_bad_response');
    const bad = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', attempts: 1, fetch: scripted([json({ ...generated, video: { ...generated.video, frameCount: -1 } })]).fetch });
    const err = await failure(bad.call('generate', request));
    expect(err.code).toBe('gpu_bad_response');
    expect(err.message).toContain('video.frameCount');
  });

  it('gives up polling at the deadline with a retryable timeout', async () => {
    const pending = Array.from({ length: 50 }, () => json({ status: 'pending', progress: null }));
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', fetch: scripted([json({ callId: 'c9' }, 202), ...pending]).fetch });
    const err = await failure(client.run('generate', request, { deadlineMs: 30, pollIntervalMs: 10 }));
    expect({ code: err.code, retryable: err.retryable }).toEqual({ code: 'gpu_timeout', retryable: true });
  });

  it('times out a stalled request', async () => {
    const client = new GpuClient({ breaker: new CircuitBreaker(), baseUrl: 'http://gpu', attempts: 1, requestTimeoutMs: 50, fetch: ((_: unknown, init?: RequestInit) => new Promise((_r, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)))) as typeof fetch });
    expect((await failure(client.call('generate', request))).code).toBe('gpu_timeout');
  });
});

describe('circuit breaker', () => {
  it('opens after repeated backend failures, fails fast while open, and closes after a good trial', async () => {
    let now = 0;
    const breaker = new CircuitBreaker(3, 10_000, () => now);
    let calls = 0;
    let healthy = false;
    const fetch = (async () => {
      calls += 1;
      if (!healthy) throw new TypeError('connection refused');
      return new Response(JSON.stringify(generated));
    }) as typeof globalThis.fetch;
    const client = new GpuClient({ baseUrl: 'http://gpu', attempts: 1, fetch, breaker });
    for (let i = 0; i < 3; i++) expect((await failure(client.call('generate', request))).code).toBe('gpu_unreachable');
    expect(calls).toBe(3);
    const open = await failure(client.call('generate', request));
    expect({ code: open.code, retryable: open.retryable }).toEqual({ code: 'gpu_circuit_open', retryable: true });
    expect(calls).toBe(3); // no call reached the dead backend
    now += 10_001;
    healthy = true;
    expect((await client.call('generate', request)).engine.id).toBe('fake');
    expect(breaker.retryInMs()).toBe(0);
  });

  it('does not count refused input as the backend being down', async () => {
    const breaker = new CircuitBreaker(2, 10_000);
    const answers = Array.from({ length: 5 }, () => json({ error: { code: 'invalid_request', message: 'no' } }, 422));
    const client = new GpuClient({ baseUrl: 'http://gpu', attempts: 1, fetch: scripted(answers).fetch, breaker });
    for (let i = 0; i < 4; i++) expect((await failure(client.call('generate', request))).code).toBe('invalid_request');
    expect(breaker.retryInMs()).toBe(0);
  });
});
