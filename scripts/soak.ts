/**
 * `npm run soak [-- --seconds 90]`: a bounded mixed load (uploads, hits, misses, HLS, bad requests)
 * against the real stack, with the GPU backend behind a fault-injecting proxy (latency, dropped
 * connections, 500s, garbage, and submits whose answer is lost after the call started). Loopback
 * only; stops by itself. Reports statuses, p99, jobs, duplicate generations and a storage audit;
 * exits non-zero when a target is missed.
 *
 * GPU spend: the load runs under three keys (the admin key, a key with the default quota and one with
 * a small quota). At the end it reports, per key, the GPU seconds charged (GET /v1/usage) against the
 * seconds the GPU server counted itself (GET /metrics, failed calls included), the quota overshoot of
 * the small key against one call's estimate, and, per function, estimate ÷ actual of the cost model
 * over the calls the proxy saw finish. A call the Worker gave up on (a garbled poll) is followed up by
 * its payer's meter; the soak waits (bounded) until every reservation is settled before it compares,
 * and reports how many calls were settled that way.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, SAMPLE_CLIP, startStack } from '../test/e2e/stack';
import { estimateCallSeconds, GPU_COST_MODEL } from '../src/gpu/cost-model';
import { estimateEncodeSeconds } from '../src/jobs/encode-estimate';
import type { z } from 'zod';
import type { JobView, UploadAccepted, UsageReport, VideoList, VideoView } from '../src/openapi/shapes';

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 90;
const CONCURRENCY = 8;
/** Encode jobs in flight at once: uploads beyond this wait, as a real uploader would, so the run measures the stack rather than a queue growing without bound. */
const MAX_OUTSTANDING_JOBS = 3;
/** Faults per request to the GPU backend; `lostAnswer` only on submits: forwarded (the call starts), its answer dropped. */
const FAULTS = { latency: 0.2, drop: 0.03, error500: 0.05, garbage: 0.03, lostAnswer: 0.05 };
const SAMPLE = readFileSync(SAMPLE_CLIP);
/**
 * A second upload: one second of noise, coded with keyframes too large to travel inside a generate
 * request (over 64 KiB), so its it2v generations have the GPU function read them by URL and range.
 */
const NOISE_CLIP = join(tmpdir(), 'cmvc-soak-noise.mp4');
execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', "nullsrc=s=640x480:r=24,geq=lum='random(1)*255':cb=128:cr=128", '-t', '1', '-c:v', 'libx264', '-crf', '18', '-pix_fmt', 'yuv420p', NOISE_CLIP]);
const NOISE = readFileSync(NOISE_CLIP);
const NOISE_QUERY = 'keyframeCodec=jpeg&keyframeMaxWidth=640&keyframeBudgetBytes=300000';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const rnd = Math.random;
const faultCounts = { latency: 0, drop: 0, error500: 0, garbage: 0, lostAnswer: 0, passed: 0 };
/** Artifact request body hash → number of generate calls that succeeded for it. */
const generateSuccesses = new Map<string, number>();
const callBodies = new Map<string, string>();
/** Call id → function and (for encode) source bytes, for the estimate ÷ actual report. */
const callFunctions = new Map<string, { fn: string; sourceBytes: number }>();
/** Per function: summed estimates and summed reported seconds of finished calls. */
const estimates = new Map<string, { estimate: number; actual: number; calls: number }>();
const SMALL_QUOTA_SECONDS = 4;

/** What the soak reads of `GET /v1/admin/consistency`. */
interface ConsistencyAudit {
  ok: boolean;
  videos: number;
  objects: number;
  lostBitstreams: unknown[];
  lostSources: unknown[];
  orphanedObjects: unknown[];
}

/** What the soak reads of a finished GPU call's result: its reported seconds and the video it made. */
interface FinishedResult {
  seconds?: { gpu?: number; cpu?: number };
  video?: { frameCount: number; width: number; height: number };
}

function noteFinished(call: { fn: string; sourceBytes: number }, result: FinishedResult | undefined): void {
  const actual = (result?.seconds?.gpu ?? 0) + (result?.seconds?.cpu ?? 0);
  const video = result?.video;
  if (!video || actual <= 0) return;
  const estimate =
    call.fn === 'encode'
      ? estimateEncodeSeconds('reference', call.sourceBytes)
      : estimateCallSeconds(GPU_COST_MODEL, 'reference', call.fn as 'generate', { frames: video.frameCount, width: video.width, height: video.height });
  const row = estimates.get(call.fn) ?? { estimate: 0, actual: 0, calls: 0 };
  estimates.set(call.fn, { estimate: row.estimate + estimate, actual: row.actual + actual, calls: row.calls + 1 });
}

/** Seconds the GPU server counted (its own /metrics, failed calls and uploads included). */
async function metricsSeconds(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // Computing and uploading the output: both are billed (the upload holds the function's container).
  return [...text.matchAll(/^cmvc_gpu_(?:upload_)?seconds_total\{function="\w+"\} ([\d.]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

function proxy(upstreamPort: number) {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const pathname = new URL(path, 'http://proxy').pathname;
      const faulty = path.startsWith('/v1/');
      if (faulty && rnd() < FAULTS.latency) {
        faultCounts.latency++;
        await new Promise((r) => setTimeout(r, 50 + rnd() * 400));
      }
      if (faulty && rnd() < FAULTS.drop) {
        faultCounts.drop++;
        req.socket.destroy();
        return;
      }
      if (faulty && rnd() < FAULTS.error500) {
        faultCounts.error500++;
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'engine_failure', message: 'injected' } }));
        return;
      }
      if (faulty && rnd() < FAULTS.garbage) {
        faultCounts.garbage++;
        res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status": "succeeded", "result": {"garbage": true}}');
        return;
      }
      faultCounts.passed++;
      const loseAnswer = /^\/v1\/\w+\/submit$/.test(pathname) && rnd() < FAULTS.lostAnswer;
      const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, path, method: req.method, headers: req.headers }, (up) => {
        const out: Buffer[] = [];
        up.on('data', (c) => out.push(c));
        up.on('end', () => {
          const text = Buffer.concat(out);
          if (pathname === '/v1/generate/submit' && up.statusCode === 202) callBodies.set(JSON.parse(text.toString()).callId, createHash('sha256').update(body).digest('hex'));
          const submitted = /^\/v1\/(\w+)\/submit$/.exec(pathname);
          if (submitted && up.statusCode === 202) {
            const data = submitted[1] === 'encode' ? (JSON.parse(body.toString()).video?.data ?? '') : '';
            callFunctions.set(JSON.parse(text.toString()).callId, { fn: submitted[1] as string, sourceBytes: Math.floor((data.length * 3) / 4) });
          }
          const poll = /^\/v1\/calls\/(.+)$/.exec(pathname);
          const finished = poll && up.statusCode === 200 ? callFunctions.get(decodeURIComponent(poll[1] as string)) : undefined;
          if (finished) {
            const answer = JSON.parse(text.toString());
            if (answer.status === 'succeeded') noteFinished(finished, answer.result);
            if (answer.status !== 'pending') callFunctions.delete(decodeURIComponent(poll![1] as string));
          }
          if (poll && up.statusCode === 200 && callBodies.has(decodeURIComponent(poll[1] as string))) {
            const status = JSON.parse(text.toString()).status;
            if (status === 'succeeded') {
              const hash = callBodies.get(decodeURIComponent(poll[1] as string)) as string;
              callBodies.delete(decodeURIComponent(poll[1] as string));
              generateSuccesses.set(hash, (generateSuccesses.get(hash) ?? 0) + 1);
            }
          }
          if (loseAnswer) {
            // The backend started the call; the Worker never hears so, and must not start it twice.
            faultCounts.lostAnswer++;
            req.socket.destroy();
            return;
          }
          res.writeHead(up.statusCode ?? 502, up.headers).end(text);
        });
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
}

const FAIRNESS_BURST = 10;

/**
 * One owner's encode alone, then right after another owner's burst of FAIRNESS_BURST uploads: the
 * time from upload to a finished job, in milliseconds (the load is over by then).
 */
async function measureEncodeFairness(base: string, admin: Record<string, string>): Promise<{ aloneMs: number; behindBurstMs: number; keyIds: string[] }> {
  const keyIds: string[] = [];
  const key = async (owner: string) => {
    const response = await fetch(`${base}/v1/keys`, { method: 'POST', headers: { ...admin, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: owner, scopes: ['encode', 'read'], owner }) });
    const created = (await response.json()) as { id: string; secret: string };
    keyIds.push(created.id);
    return { Authorization: `Bearer ${created.secret}` };
  };
  const [burster, other] = [await key('soak-burst'), await key('soak-other')];
  const upload = async (headers: Record<string, string>) =>
    ((await (await fetch(`${base}/v1/videos`, { method: 'POST', headers: { ...headers, 'Content-Type': 'video/mp4' }, body: SAMPLE })).json()) as z.infer<typeof UploadAccepted>).job.id;
  const finished = async (headers: Record<string, string>, jobId: string) => {
    for (const deadline = Date.now() + 180_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const status = ((await (await fetch(`${base}/v1/jobs/${jobId}`, { headers })).json()) as z.infer<typeof JobView>).status;
      if (status === 'succeeded' || status === 'failed') return;
    }
  };
  const timed = async (headers: Record<string, string>) => {
    const started = performance.now();
    await finished(headers, await upload(headers));
    return performance.now() - started;
  };
  const aloneMs = await timed(other);
  const burst = [];
  for (let i = 0; i < FAIRNESS_BURST; i++) burst.push(await upload(burster));
  const behindBurstMs = await timed(other);
  for (const jobId of burst) await finished(burster, jobId);
  return { aloneMs, behindBurstMs, keyIds };
}

/** Longest wait for the GPU calls still unsettled at the end (given-up calls followed up by their meter), in milliseconds. */
const SETTLE_WAIT_MS = 180_000;

/**
 * Waits until no key has an unsettled reservation — every call ended and was charged, the calls the
 * Worker gave up on included once their follow-up learnt what they spent — or SETTLE_WAIT_MS passes.
 * Returns the keys' in-flight reports at the end.
 */
async function settledBills(base: string, admin: Record<string, string>, keyIds: string[]): Promise<{ waitedMs: number; inFlight: NonNullable<z.infer<typeof UsageReport>['inFlight']>[] }> {
  const started = performance.now();
  for (;;) {
    const inFlight = await Promise.all(
      keyIds.map(async (keyId) => {
        const report = (await (await fetch(`${base}/v1/usage?keyId=${encodeURIComponent(keyId)}`, { headers: admin })).json()) as z.infer<typeof UsageReport>;
        if (report.inFlight === undefined) throw new Error(`GET /v1/usage?keyId=${keyId} has no inFlight`);
        return report.inFlight;
      }),
    );
    const waitedMs = performance.now() - started;
    if (inFlight.every((f) => f.reservations === 0) || waitedMs > SETTLE_WAIT_MS) return { waitedMs, inFlight };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function main() {
  const [gpuPort, proxyPort, workerPort] = [await freePort(), await freePort(), await freePort()];
  const gpu = spawn(join(ROOT, 'gpu-functions', '.venv', 'bin', 'python'), ['-m', 'uvicorn', 'cmvc_gpu.app:app', '--host', '127.0.0.1', '--port', String(gpuPort), '--log-level', 'warning'], {
    cwd: join(ROOT, 'gpu-functions'),
    // As `npm start` runs it: inputs (videos, large keyframes) are fetched by URL from the Worker only.
    env: { ...process.env, CMVC_SOURCE_ORIGINS: `http://127.0.0.1:${workerPort}` },
    detached: true,
    stdio: 'ignore',
  });
  const faultProxy = proxy(gpuPort).listen(proxyPort, '127.0.0.1');
  process.env.GPU_BACKEND_URL = `http://127.0.0.1:${proxyPort}`;
  const stack = await startStack({ port: workerPort });
  const auth = { Authorization: `Bearer ${stack.adminKey}` };
  const makeKey = async (name: string, limits?: object) => {
    const response = await fetch(`${stack.base}/v1/keys`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ name, scopes: ['encode', 'read', 'reconstruct'], owner: 'admin', ...(limits ? { limits } : {}) }) });
    return (await response.json()) as { id: string; secret: string };
  };
  const keys = [
    { id: 'admin', auth },
    ...(await Promise.all([makeKey('soak-default'), makeKey('soak-small', { gpuSecondsPerDay: SMALL_QUOTA_SECONDS })])).map((k) => ({ id: k.id, auth: { Authorization: `Bearer ${k.secret}` } })),
  ];
  const someKey = () => keys[Math.floor(rnd() * keys.length)]!.auth;
  const statuses = new Map<string, number>();
  const latencies: number[] = [];
  const unexpected: string[] = [];
  const jobs = new Set<string>();
  const ready: string[] = [];
  const settled = new Set<string>();
  const outstanding = () => jobs.size - settled.size;

  async function hit(kind: string, url: string, init: RequestInit = {}, expect4xx = false) {
    const started = performance.now();
    let status = 0;
    let retryAfter: string | null = null;
    try {
      const response = await fetch(url, init);
      status = response.status;
      retryAfter = response.headers.get('Retry-After');
      const body = await response.arrayBuffer();
      if (kind === 'upload' && status === 202) jobs.add(JSON.parse(new TextDecoder().decode(body)).video.id);
    } catch {
      status = -1;
    }
    latencies.push(performance.now() - started);
    statuses.set(`${kind} ${status}`, (statuses.get(`${kind} ${status}`) ?? 0) + 1);
    const bad5xx = status >= 500 && !(status === 503 && retryAfter);
    // A valid request may be rate-limited or over quota (429), never refused otherwise.
    const refusedValid = !expect4xx && status >= 400 && status < 500 && status !== 429;
    if (bad5xx || status === -1 || refusedValid || (expect4xx && (status < 400 || status >= 500))) unexpected.push(`${kind} ${url.replace(stack.base, '')} → ${status}`);
  }

  const actions: [number, () => Promise<void>][] = [
    [
      1,
      async () => {
        if (outstanding() >= MAX_OUTSTANDING_JOBS) return;
        const noise = rnd() < 0.3;
        await hit('upload', `${stack.base}/v1/videos${noise ? `?${NOISE_QUERY}` : ''}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: noise ? NOISE : SAMPLE });
      },
    ],
    [6, async () => (ready.length ? hit('hit', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/it2v.mp4`, { headers: { ...auth, Prefer: 'wait=20' } }) : undefined)],
    [2, async () => (ready.length ? hit('miss', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/tt2v.mp4?seed=${Math.floor(rnd() * 20)}`, { headers: { ...someKey(), Prefer: 'wait=20' } }) : undefined)],
    [2, async () => (ready.length ? hit('hls', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/it2v/0.ts`, { headers: { ...someKey(), Prefer: 'wait=20' } }) : undefined)],
    [1, () => hit('bad', `${stack.base}/v1/videos`, { method: 'POST', headers: { 'Content-Type': 'video/mp4' }, body: 'x' }, true)],
    [1, () => hit('bad', `${stack.base}/v/vid_00000000000000000000000000/it2v.mp4?quality=9`, { headers: auth }, true)],
    [1, () => hit('bad', `${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: 'not a video'.repeat(50) }, true)],
  ];
  const weight = actions.reduce((s, [w]) => s + w, 0);
  const deadline = Date.now() + SECONDS * 1000;

  const refresh = setInterval(async () => {
    const list = (await (await fetch(`${stack.base}/v1/videos?limit=100`, { headers: auth })).json().catch(() => ({ videos: [] }))) as Pick<z.infer<typeof VideoList>, 'videos'>;
    ready.splice(0, ready.length, ...list.videos.filter((v) => v.status === 'succeeded').map((v) => v.id));
    for (const v of list.videos) if (v.status === 'succeeded' || v.status === 'failed') settled.add(v.id);
  }, 2000);

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        let pick = rnd() * weight;
        const action =
          actions.find(([w]) => {
            pick -= w;
            return pick < 0;
          }) ?? actions[0]!;
        await action[1]();
      }
    }),
  );
  clearInterval(refresh);

  // Let queued jobs finish (retries included), then audit.
  const settleBy = Date.now() + 120_000;
  let finished = 0;
  let failed = 0;
  while (Date.now() < settleBy) {
    const states = await Promise.all([...jobs].map(async (id) => ((await (await fetch(`${stack.base}/v1/videos/${id}`, { headers: auth })).json()) as z.infer<typeof VideoView>).status));
    finished = states.filter((s) => s === 'succeeded').length;
    failed = states.filter((s) => s === 'failed').length;
    if (finished + failed === jobs.size) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const fairness = await measureEncodeFairness(stack.base, auth);
  const audit = (await (await fetch(`${stack.base}/v1/admin/consistency`, { headers: auth })).json()) as ConsistencyAudit;
  // The comparison is of settled bills: calls still running, and calls the Worker gave up on, settle when their follow-up learns their end.
  const settledAt = await settledBills(stack.base, auth, [...keys.map((k) => k.id), ...fairness.keyIds]);
  const serverSeconds = await metricsSeconds(gpuPort);
  const { usage } = (await (await fetch(`${stack.base}/v1/usage`, { headers: auth })).json()) as z.infer<typeof UsageReport>;
  const charged = new Map<string, number>();
  for (const row of usage) charged.set(row.keyId, (charged.get(row.keyId) ?? 0) + row.gpuSeconds);
  const workerLog = join(tmpdir(), 'cmvc-soak-worker.log');
  writeFileSync(workerLog, stack.log());
  await stack.stop();
  faultProxy.close();
  try {
    process.kill(-(gpu.pid as number), 'SIGTERM');
  } catch {}

  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const duplicates = [...generateSuccesses.values()].filter((n) => n > 1).length;
  console.log(`\nSoak: ${SECONDS} s, ${CONCURRENCY} concurrent clients, GPU faults injected: ${JSON.stringify(faultCounts)}`);
  console.log('requests by kind and status:');
  for (const [k, n] of [...statuses].sort()) console.log(`  ${k.padEnd(16)} ${n}`);
  console.log(`latency p50 ${p(0.5).toFixed(0)} ms, p99 ${p(0.99).toFixed(0)} ms over ${latencies.length} requests`);
  console.log(`jobs: ${jobs.size} started, ${finished} succeeded, ${failed} failed, ${jobs.size - finished - failed} unfinished`);
  console.log(`generations: ${generateSuccesses.size} distinct artifacts, ${duplicates} generated more than once`);
  console.log(`storage audit: ${audit.ok ? 'ok' : 'NOT OK'} — ${audit.videos} videos, ${audit.objects} objects, lost ${audit.lostBitstreams.length + audit.lostSources.length}, orphaned ${audit.orphanedObjects.length}`);
  console.log(`unexpected answers (5xx other than 503+Retry-After, network errors, a valid request refused other than by 429, bad input not refused): ${unexpected.length}`);
  for (const u of unexpected.slice(0, 20)) console.log(`  ${u}`);
  const totalCharged = [...charged.values()].reduce((a, b) => a + b, 0);
  const spendGap = serverSeconds > 0 ? Math.abs(totalCharged - serverSeconds) / serverSeconds : 0;
  console.log('GPU seconds charged per key (GET /v1/usage):');
  for (const [keyId, seconds] of charged) console.log(`  ${keyId.padEnd(32)} ${seconds.toFixed(3)} s`);
  console.log(`GPU seconds: charged ${totalCharged.toFixed(3)} s in total, the GPU server counted ${serverSeconds.toFixed(3)} s (/metrics): ${(spendGap * 100).toFixed(2)}% apart`);
  const unsettled = settledAt.inFlight.reduce((n, f) => n + f.reservations, 0);
  const followUps = settledAt.inFlight.reduce((sum, f) => ({ settled: sum.settled + f.followUps.settled, unreported: sum.unreported + f.followUps.unreported }), { settled: 0, unreported: 0 });
  console.log(
    `calls the Worker gave up on, settled by their meter's follow-up: ${followUps.settled} to the seconds the GPU server reported, ${followUps.unreported} to their estimate or wall time (unknown id, or no answer in time); ${unsettled} reservations still unsettled after waiting ${(settledAt.waitedMs / 1000).toFixed(1)} s`,
  );
  const small = keys[2]!.id;
  const largestEstimate = Math.max(0, ...[...estimates.values()].map((e) => e.estimate / e.calls));
  const overshoot = Math.max(0, (charged.get(small) ?? 0) - SMALL_QUOTA_SECONDS);
  console.log(`quota overshoot of the ${SMALL_QUOTA_SECONDS}-s key: ${overshoot.toFixed(3)} s (one call's estimate: about ${largestEstimate.toFixed(3)} s at most)`);
  console.log('cost model, estimate ÷ actual per function (finished calls):');
  for (const [fn, e] of [...estimates].sort()) console.log(`  ${fn.padEnd(12)} ${(e.estimate / e.actual).toFixed(2)} over ${e.calls} calls`);
  const spendOk = spendGap <= 0.01 && overshoot <= largestEstimate && unsettled === 0;
  if (!spendOk) console.log(`GPU spend targets missed: charged and counted seconds must agree within 1%, and the overshoot stay within one call estimate (the Worker's log, with each call charged without a report: ${workerLog})`);
  console.log(`encode fairness: another owner's encode took ${fairness.aloneMs.toFixed(0)} ms alone and ${fairness.behindBurstMs.toFixed(0)} ms uploaded right after a burst of ${FAIRNESS_BURST} by one owner (${(fairness.behindBurstMs / fairness.aloneMs).toFixed(1)}x; in line behind the burst it would wait for all ${FAIRNESS_BURST})`);
  const ok = unexpected.length === 0 && audit.ok && duplicates === 0 && jobs.size === finished + failed && spendOk;
  console.log(ok ? 'all soak targets met' : 'SOAK TARGETS MISSED');
  process.exit(ok ? 0 : 1);
}

await main();
