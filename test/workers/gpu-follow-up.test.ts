// A GPU call the Worker gave up on (a garbled status, a timeout) while the GPU function goes on
// running it: the payer's meter follows the call up from its alarm and settles the reservation to the
// seconds the function reports when it ends — once, whoever learns the end first.
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { FOLLOW_UP_MAX_ASKS, meterFor } from '../../src/auth/access-meter';
import { estimateEncodeSeconds } from '../../src/jobs/encode-estimate';
import { JobView, UsageReport } from '../../src/openapi/shapes';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { ADMIN_KEY, call, deliverEncode, env, upload } from './helpers';
import { encodedVideo, gpuSecondsUsed, instrumentGpu, newKey, type GpuLedger, SPEND_SCOPES, SEGMENT_ESTIMATE } from './spend-helpers';
import { json } from '../json';

let gpu: FakeGpu;
let ledger: GpuLedger;
beforeEach(() => {
  gpu = installFakeGpu();
  ledger = instrumentGpu(gpu);
});


/** The key's unsettled reservations and follow-ups (`GET /v1/usage` about one key). */
async function inFlight(secret: string) {
  const report = await json(await call(`/v1/usage${secret === ADMIN_KEY ? '?keyId=admin' : ''}`, { key: secret }), UsageReport);
  if (report.inFlight === undefined) throw new Error('a report about one key has inFlight');
  return report.inFlight;
}

/** Makes every follow-up of the key's meter due now, as if its interval had passed, and runs the meter's alarm. */
async function followUpNow(keyId: string): Promise<void> {
  const meter = meterFor(env, keyId);
  await runInDurableObject(meter, async (_instance, state) => {
    for (const [key, r] of await state.storage.list<{ followUp?: { nextAt: number } }>({ prefix: 'res:' })) {
      if (r.followUp) await state.storage.put(key, { ...r, followUp: { ...r.followUp, nextAt: Date.now() } });
    }
  });
  await runDurableObjectAlarm(meter);
}

describe('a generation given up on while the GPU function goes on running it', () => {
  it('is settled to the seconds the function reports when it ends, not to its estimate', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    ledger.reportSeconds = SEGMENT_ESTIMATE / 4;
    ledger.reportUploadSeconds = 0.01;
    gpu.on('generate', 'malformed-status');
    expect((await call(`/v/${id}/tt2v.mp4?seed=31`, { key: key.secret })).status).toBe(503);
    // Not charged yet: the call may still be running, and its reservation still holds its estimate.
    expect(await gpuSecondsUsed(key.secret)).toBeCloseTo(before, 9);
    expect(await inFlight(key.secret)).toMatchObject({ reservations: 1, followUps: { pending: 1, settled: 0, unreported: 0 } });
    expect((await inFlight(key.secret)).reservedSeconds).toBeCloseTo(SEGMENT_ESTIMATE, 9);

    gpu.turn('malformed-status', 'ok'); // the function finishes, and its status reads well again
    await followUpNow(key.id);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(SEGMENT_ESTIMATE / 4 + 0.01, 6);
    expect(await inFlight(key.secret)).toMatchObject({ reservedSeconds: 0, reservations: 0, followUps: { pending: 0, settled: 1, unreported: 0 } });
    const [today] = (await json(await call('/v1/usage', { key: key.secret }), UsageReport)).usage;
    expect(today?.generations).toBe(1);

    await followUpNow(key.id); // nothing left to follow up: charged once
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(SEGMENT_ESTIMATE / 4 + 0.01, 6);
  });

  it('keeps asking while the call runs, and settles it to the seconds its failure report says when it fails', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    ledger.failNext = 1; // this call ends failed, reporting its seconds in details.seconds
    gpu.on('generate', 'malformed-status');
    expect((await call(`/v/${id}/tt2v.mp4?seed=32`, { key: key.secret })).status).toBe(503);
    const callId = gpu.polled.at(-1) as string;
    const asked = () => gpu.polled.filter((c) => c === callId).length;
    const askedByWorker = asked();
    gpu.turn('malformed-status', 'accept-then-stall');
    await followUpNow(key.id);
    await followUpNow(key.id);
    expect(asked()).toBe(askedByWorker + 2);
    expect(await gpuSecondsUsed(key.secret)).toBeCloseTo(before, 9);
    expect((await inFlight(key.secret)).followUps.pending).toBe(1);

    ledger.reportSeconds = 0.125;
    gpu.turn('accept-then-stall', 'ok');
    await followUpNow(key.id);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(0.125, 9);
    expect((await inFlight(key.secret)).followUps).toEqual({ pending: 0, settled: 1, unreported: 0 });
  });

  it('stays at its estimate when the backend no longer knows the call id', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    ledger.reportSeconds = SEGMENT_ESTIMATE / 4;
    gpu.on('generate', 'malformed-status');
    expect((await call(`/v/${id}/tt2v.mp4?seed=33`, { key: key.secret })).status).toBe(503);
    const callId = gpu.polled.at(-1) as string;
    gpu.turn('malformed-status', 'lose-call'); // restarted, or its result expired
    await followUpNow(key.id);
    expect(gpu.polled.at(-1)).toBe(callId); // the follow-up asked
    const charged = (await gpuSecondsUsed(key.secret)) - before;
    expect(charged).toBeGreaterThanOrEqual(SEGMENT_ESTIMATE - 1e-9);
    expect(charged).toBeLessThan(SEGMENT_ESTIMATE + 30); // the estimate, or the wall time when the Worker waited longer
    expect(await inFlight(key.secret)).toMatchObject({ reservations: 0, followUps: { pending: 0, settled: 0, unreported: 1 } });
  });

  it('is not followed up when the Worker itself learnt that the id is gone: charged its estimate at once', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    gpu.on('generate', 'lose-call');
    expect((await call(`/v/${id}/tt2v.mp4?seed=34`, { key: key.secret })).status).toBe(503);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeGreaterThanOrEqual(SEGMENT_ESTIMATE - 1e-9);
    expect(await inFlight(key.secret)).toMatchObject({ reservations: 0, followUps: { pending: 0 } });
  });
});

describe('an encode given up on at its deadline', () => {
  const ENCODE_REPORT = 0.375;

  async function timedOutEncode() {
    const { json: accepted } = await upload();
    const message = { jobId: accepted.job.id as string, videoId: accepted.video.id as string };
    ledger.reportSeconds = ENCODE_REPORT;
    gpu.on('encode', 'accept-then-stall');
    const first = await deliverEncode(message, 1, { overrides: { GPU_TIMEOUT_SECONDS: '1' } });
    expect(first.retryMessages).toHaveLength(1);
    expect((await inFlight(ADMIN_KEY)).followUps.pending).toBe(1);
    return message;
  }

  it(`keeps its fallback charge after ${FOLLOW_UP_MAX_ASKS} questions that found it still running, and asks no more`, async () => {
    await timedOutEncode();
    for (let i = 0; i < FOLLOW_UP_MAX_ASKS; i++) await followUpNow('admin');
    const charged = await gpuSecondsUsed(ADMIN_KEY);
    // the wall time since the reservation (the Worker gave up after GPU_TIMEOUT_SECONDS=1; measured 0.74 s from the
    // reservation here), and no less than the estimate
    expect(charged).toBeGreaterThanOrEqual(0.5);
    expect(charged).toBeGreaterThanOrEqual(estimateEncodeSeconds(env.GPU_ENGINE, 4096) - 1e-9);
    expect((await inFlight(ADMIN_KEY)).followUps).toEqual({ pending: 0, settled: 0, unreported: 1 });
    expect(await runDurableObjectAlarm(meterFor(env, 'admin'))).toBe(false);
  });

  // The next attempt resumes the same call by its stored id while the follow-up asks about it too.
  const orders = {
    'the follow-up first': async (resume: () => Promise<unknown>) => {
      await followUpNow('admin');
      await resume();
    },
    'the resumed attempt first': async (resume: () => Promise<unknown>) => {
      await resume();
      await followUpNow('admin');
    },
    'both at once': async (resume: () => Promise<unknown>) => {
      await Promise.all([followUpNow('admin'), resume()]);
    },
  };
  for (const [order, race] of Object.entries(orders)) {
    it(`is charged once, to its reported seconds, when its next attempt resumes it (${order})`, { timeout: 30_000 }, async () => {
      const message = await timedOutEncode();
      gpu.finishStalled();
      await race(() => deliverEncode(message, 2));
      expect(gpu.calls.encode).toBe(1);
      expect((await json(await call(`/v1/jobs/${message.jobId}`), JobView)).status).toBe('succeeded');
      expect(await gpuSecondsUsed(ADMIN_KEY)).toBeCloseTo(ENCODE_REPORT, 9);
      expect(await inFlight(ADMIN_KEY)).toMatchObject({ reservations: 0, followUps: { pending: 0, unreported: 0 } });
    });
  }
});

describe('a submit whose answer was lost after the backend started the call', () => {
  it('is sent again under the same idempotency key: the call runs once and is billed the seconds it reports', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const before = await gpuSecondsUsed(key.secret);
    const started = gpu.calls.generate;
    ledger.reportSeconds = SEGMENT_ESTIMATE / 4;
    gpu.on('generate', 'lose-answer');
    expect((await call(`/v/${id}/tt2v.mp4?seed=41`, { key: key.secret })).status).toBe(200);
    expect(gpu.calls.generate - started).toBe(1);
    expect(gpu.repeatedSubmits).toBe(1);
    expect((await gpuSecondsUsed(key.secret)) - before).toBeCloseTo(SEGMENT_ESTIMATE / 4, 6);
    expect(await inFlight(key.secret)).toMatchObject({ reservedSeconds: 0, reservations: 0 });
  });
});
