/**
 * `npm run bench -- ratelimit`: what each way of counting a per-minute limit costs a request, under
 * `wrangler dev` (Miniflare) on loopback — the mechanisms issue 27 chose between. One Worker
 * (bench/rate-limit-worker) serves the same 12.7 KB body with no counting, with one AccessMeter
 * (Durable Object) call per request, with tokens leased per isolate from that meter, and with
 * Cloudflare's rate-limiting binding; the routes' runs are interleaved in rounds, beside the
 * uncounted route measured again (A/A).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT } from '../test/e2e/stack';
import { interleaved, type LoadResult, median } from './edge';

const ROUNDS = 3;
const SECONDS_PER_ROUTE = 8;
const ROUTES = [
  { name: 'no counting', path: '/none' },
  { name: 'AccessMeter per request', path: '/meter' },
  { name: 'tokens leased per isolate', path: '/lease' },
  { name: 'rate-limiting binding', path: '/binding' },
  { name: 'no counting again (A/A)', path: '/none' },
];

async function startWorker(): Promise<{ base: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), 'cmvc-ratelimit-'));
  const child: ChildProcess = spawn(
    'npx',
    ['wrangler', 'dev', '--config', 'bench/rate-limit-worker/wrangler.toml', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--show-interactive-dev-session=false'],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' }, detached: true, stdio: 'ignore' },
  );
  const stop = async () => {
    try {
      process.kill(-(child.pid as number), 'SIGINT');
    } catch {}
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(state, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 120_000; ; ) {
    try {
      if ((await fetch(`${base}/none`)).ok) return { base, stop };
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('the rate-limit bench Worker did not start');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

export async function runRateLimitBench(): Promise<Record<string, unknown>> {
  const worker = await startWorker();
  try {
    const targets = ROUTES.map((r) => ({ url: `${worker.base}${r.path}`, headers: {} }));
    for (const t of targets) await (await fetch(t.url)).arrayBuffer(); // each route warm, the meter made
    const loadBefore = loadavg()[0] as number;
    const rounds: { load: number; results: LoadResult[] }[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push({ results: await interleaved(targets, SECONDS_PER_ROUTE), load: loadavg()[0] as number });
    const rows = ROUTES.map((route, i) => {
      const ratios = rounds.map((r) => (r.results[i] as LoadResult).requestsPerSecond / (r.results[0] as LoadResult).requestsPerSecond);
      return {
        route: route.name,
        requestsPerSecond: median(rounds.map((r) => (r.results[i] as LoadResult).requestsPerSecond)),
        p50Ms: median(rounds.map((r) => (r.results[i] as LoadResult).p50Ms)),
        p99Ms: median(rounds.map((r) => (r.results[i] as LoadResult).p99Ms)),
        non2xx: rounds.reduce((n, r) => n + (r.results[i] as LoadResult).non2xx, 0),
        vsNone: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      };
    });
    console.log(
      `\nCounting a per-minute limit, one 12.7 KB body per request (wrangler dev, 16 connections, ${ROUNDS} rounds of ${SECONDS_PER_ROUTE} s per route, interleaved; load average ${loadBefore.toFixed(2)} before, ${rounds.map((r) => r.load.toFixed(2)).join(' / ')} after each round):`,
    );
    console.log(['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'vs no counting: median (range)'].map((c, i) => c.padEnd(i === 0 ? 30 : 10)).join(''));
    for (const r of rows) {
      console.log(
        [r.route, r.requestsPerSecond.toFixed(0), r.p50Ms.toFixed(0), r.p99Ms.toFixed(0), String(r.non2xx), `${r.vsNone.median.toFixed(2)} (${r.vsNone.min.toFixed(2)}–${r.vsNone.max.toFixed(2)})`]
          .map((c, i) => c.padEnd(i === 0 ? 30 : 10))
          .join(''),
      );
    }
    return { rounds: ROUNDS, secondsPerRoute: SECONDS_PER_ROUTE, loadBefore, rows, roundsDetail: rounds };
  } finally {
    await worker.stop();
  }
}
