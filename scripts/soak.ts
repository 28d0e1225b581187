/**
 * `npm run soak [-- --seconds 90]`: a bounded mixed load (uploads, hits, misses, HLS, bad requests)
 * against the real stack, with the GPU backend behind a fault-injecting proxy (latency, dropped
 * connections, 500s, garbage). Loopback only; stops by itself. Reports statuses, p99, jobs, duplicate
 * generations and a storage audit; exits non-zero when a target is missed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as netServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, startStack, SAMPLE_CLIP } from '../test/e2e/stack';

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 90;
const CONCURRENCY = 8;
/** Encode jobs in flight at once: uploads beyond this wait, as a real uploader would, so the run measures the stack rather than a queue growing without bound. */
const MAX_OUTSTANDING_JOBS = 3;
const FAULTS = { latency: 0.2, drop: 0.03, error500: 0.05, garbage: 0.03 };
const SAMPLE = readFileSync(SAMPLE_CLIP);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = netServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const rnd = Math.random;
const faultCounts = { latency: 0, drop: 0, error500: 0, garbage: 0, passed: 0 };
/** Artifact request body hash → number of generate calls that succeeded for it. */
const generateSuccesses = new Map<string, number>();
const callBodies = new Map<string, string>();

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
      const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, path, method: req.method, headers: req.headers }, (up) => {
        const out: Buffer[] = [];
        up.on('data', (c) => out.push(c));
        up.on('end', () => {
          const text = Buffer.concat(out);
          if (pathname === '/v1/generate/submit' && up.statusCode === 202) callBodies.set(JSON.parse(text.toString()).callId, createHash('sha256').update(body).digest('hex'));
          const poll = /^\/v1\/calls\/(.+)$/.exec(pathname);
          if (poll && up.statusCode === 200 && callBodies.has(decodeURIComponent(poll[1] as string))) {
            const status = JSON.parse(text.toString()).status;
            if (status === 'succeeded') {
              const hash = callBodies.get(decodeURIComponent(poll[1] as string)) as string;
              callBodies.delete(decodeURIComponent(poll[1] as string));
              generateSuccesses.set(hash, (generateSuccesses.get(hash) ?? 0) + 1);
            }
          }
          res.writeHead(up.statusCode ?? 502, up.headers).end(text);
        });
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
}

async function main() {
  const [gpuPort, proxyPort] = [await freePort(), await freePort()];
  const gpu = spawn(join(ROOT, 'gpu-functions', '.venv', 'bin', 'python'), ['-m', 'uvicorn', 'cmvc_gpu.app:app', '--host', '127.0.0.1', '--port', String(gpuPort), '--log-level', 'warning'], {
    cwd: join(ROOT, 'gpu-functions'),
    detached: true,
    stdio: 'ignore',
  });
  const faultProxy = proxy(gpuPort).listen(proxyPort, '127.0.0.1');
  process.env.GPU_BACKEND_URL = `http://127.0.0.1:${proxyPort}`;
  const stack = await startStack();
  const auth = { Authorization: `Bearer ${stack.adminKey}` };
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
    if (bad5xx || status === -1 || (expect4xx && (status < 400 || status >= 500))) unexpected.push(`${kind} ${url.replace(stack.base, '')} → ${status}`);
  }

  const actions: [number, () => Promise<void>][] = [
    [1, async () => (outstanding() >= MAX_OUTSTANDING_JOBS ? undefined : hit('upload', `${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: SAMPLE }))],
    [6, async () => (ready.length ? hit('hit', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/it2v.mp4`, { headers: { ...auth, Prefer: 'wait=20' } }) : undefined)],
    [2, async () => (ready.length ? hit('miss', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/tt2v.mp4?seed=${Math.floor(rnd() * 20)}`, { headers: { ...auth, Prefer: 'wait=20' } }) : undefined)],
    [2, async () => (ready.length ? hit('hls', `${stack.base}/v/${ready[Math.floor(rnd() * ready.length)]}/it2v/0.ts`, { headers: { ...auth, Prefer: 'wait=20' } }) : undefined)],
    [1, () => hit('bad', `${stack.base}/v1/videos`, { method: 'POST', headers: { 'Content-Type': 'video/mp4' }, body: 'x' }, true)],
    [1, () => hit('bad', `${stack.base}/v/vid_00000000000000000000000000/it2v.mp4?quality=9`, { headers: auth }, true)],
    [1, () => hit('bad', `${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: 'not a video'.repeat(50) }, true)],
  ];
  const weight = actions.reduce((s, [w]) => s + w, 0);
  const deadline = Date.now() + SECONDS * 1000;

  const refresh = setInterval(async () => {
    const list = (await (await fetch(`${stack.base}/v1/videos?limit=100`, { headers: auth })).json().catch(() => ({ videos: [] }))) as any;
    ready.splice(0, ready.length, ...list.videos.filter((v: any) => v.status === 'succeeded').map((v: any) => v.id));
    for (const v of list.videos) if (v.status === 'succeeded' || v.status === 'failed') settled.add(v.id);
  }, 2000);

  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        let pick = rnd() * weight;
        const action = actions.find(([w]) => (pick -= w) < 0) ?? actions[0]!;
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
    const states = await Promise.all([...jobs].map(async (id) => ((await (await fetch(`${stack.base}/v1/videos/${id}`, { headers: auth })).json()) as any).status));
    finished = states.filter((s) => s === 'succeeded').length;
    failed = states.filter((s) => s === 'failed').length;
    if (finished + failed === jobs.size) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const audit = (await (await fetch(`${stack.base}/v1/admin/consistency`, { headers: auth })).json()) as any;
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
  console.log(`unexpected answers (5xx other than 503+Retry-After, network errors, bad input not refused): ${unexpected.length}`);
  for (const u of unexpected.slice(0, 20)) console.log(`  ${u}`);
  const ok = unexpected.length === 0 && audit.ok && duplicates === 0 && jobs.size === finished + failed;
  console.log(ok ? 'all soak targets met' : 'SOAK TARGETS MISSED');
  process.exit(ok ? 0 : 1);
}

await main();
