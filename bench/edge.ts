/**
 * Edge benchmarks against the real stack (wrangler dev + reference GPU server) over loopback, with
 * autocannon: cache-hit throughput and latency of the full routes for every principal a viewer comes
 * as (the admin key, a customer key, and signed URLs minted by each, bound and unbound), beside a bare
 * Worker route that returns the same R2 object (same process, same run, every route's runs
 * interleaved, and the bare route measured against itself as the noise floor of that comparison), on
 * a small and a large artifact; single flight under a cold burst; and the miss overhead for artifacts
 * of about 0.3, 1, 5 and 20 MB, each beside the bare route serving the same bytes.
 * `--hit-path-only` runs the hit-path rounds alone.
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedUrls, UploadAccepted, VideoView } from '../src/openapi/shapes';
import { SAMPLE_CLIP, startStack, type Stack } from '../test/e2e/stack';
import { json } from '../test/json';

const DURATION_SECONDS = 8;
const CONNECTIONS = 16;
/** Rounds of the hit-path comparison, each DURATION_SECONDS of each route. */
const HOT_PATH_ROUNDS = 5;
/**
 * Within a round the routes take turns in slices (a b … z, z … b a, …), so a machine whose load drifts
 * (this one is shared) weighs on all alike; latencies are pooled over a route's slices.
 */
const SLICES_PER_ROUTE = 4;
/** Misses per artifact size (new seeds), for a median. */
const MISSES_PER_SIZE = 3;
/**
 * Reconstructions of a panning noise clip (keyframe of up to 1 MB, so every frame is detail) whose
 * artifacts are about 0.3, 1, 5 and 20 MB: the size a miss carries is what this part measures.
 */
const MISS_SIZES = [
  { label: '~0.3 MB', query: 'w=640&h=480&fps=2' },
  { label: '~1 MB', query: 'w=640&h=480&fps=10' },
  { label: '~5 MB', query: 'w=1280&h=960&fps=6' },
  { label: '~20 MB', query: 'w=1920&h=1440&fps=32' },
];

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  bytes: number;
}

async function load(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_SECONDS });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    bytes: result.throughput.total,
  };
}

/** One slice of load on `url`; every response's latency (ms) is appended to `latencies`. */
function loadSlice(url: string, headers: Record<string, string>, seconds: number, latencies: number[]): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, headers, connections: CONNECTIONS, duration: seconds }, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;

/** Each target for `duration` seconds, interleaved in slices (a b c, c b a, a b c, …). */
export async function interleaved(targets: { url: string; headers: Record<string, string> }[], duration = DURATION_SECONDS): Promise<LoadResult[]> {
  const seconds = duration / SLICES_PER_ROUTE;
  const runs = targets.map(() => ({ latencies: [] as number[], requests: 0, non2xx: 0, bytes: 0 }));
  for (let slice = 0; slice < SLICES_PER_ROUTE; slice++) {
    const order = targets.map((_, n) => (slice % 2 === 0 ? n : targets.length - 1 - n));
    for (const n of order) {
      const run = runs[n]!;
      const result = await loadSlice(targets[n]!.url, targets[n]!.headers, seconds, run.latencies);
      run.requests += result.requests.total;
      run.non2xx += result.non2xx;
      run.bytes += result.throughput.total;
    }
  }
  return runs.map((run) => {
    const sorted = [...run.latencies].sort((x, y) => x - y);
    return { requestsPerSecond: run.requests / duration, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), non2xx: run.non2xx, bytes: run.bytes };
  });
}

async function metric(stack: Stack, name: string, fn: string): Promise<number> {
  const text = await (await fetch(`${stack.gpu}/metrics`)).text();
  return Number(new RegExp(`${name}\\{function="${fn}"\\} ([\\d.e+-]+)`).exec(text)?.[1] ?? 0);
}

async function uploadAndWait(stack: Stack, clip: string, query: string, auth: Record<string, string>) {
  const upload = await json(await fetch(`${stack.base}/v1/videos?${query}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: readFileSync(clip) }), UploadAccepted);
  await waitForJob(stack, upload.job.id, auth);
  return json(await fetch(`${stack.base}/v1/videos/${upload.video.id}`, { headers: auth }), VideoView);
}

async function waitForJob(stack: Stack, jobId: string, auth: Record<string, string>) {
  for (;;) {
    const job = (await (await fetch(`${stack.base}/v1/jobs/${jobId}`, { headers: auth })).json()) as { status: string };
    if (job.status === 'succeeded') return;
    if (job.status === 'failed') throw new Error('encode failed');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A miss's `Server-Timing` (sent under the bench routes) as stage → milliseconds. */
function stagesOf(response: Response): Record<string, number> {
  const header = response.headers.get('Server-Timing') ?? '';
  return Object.fromEntries(
    header
      .split(',')
      .map((entry) => /^\s*([\w-]+);dur=([\d.]+)/.exec(entry))
      .filter((m) => m !== null)
      .map((m) => [m[1] as string, Number(m[2])]),
  );
}

/**
 * The stages of a miss that are not the GPU function's own work: the edge's and the coordinator's
 * (the `coordinator` stage is the sum of the `do-` ones and the hops), and, of the GPU call, what is
 * left after its compute, input-fetch and upload seconds — the submit's and the long poll's own cost.
 */
function overheadStages(stages: Record<string, number>, gpuMs: number, uploadMs: number, fetchMs: number): Record<string, number> {
  const { coordinator: _whole, 'do-call': call = 0, ...rest } = stages;
  return { ...rest, 'call beyond GPU+fetch+upload': call - gpuMs - fetchMs - uploadMs };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Who asks for a cached artifact: each principal is measured as a route of its own. */
interface Viewer {
  name: string;
  /** A column's name in the round-by-round table. */
  short: string;
  url: string;
  headers: Record<string, string>;
}

const BARE = 'bare R2 route';
const BARE_CACHE = 'bare Cache API route';
const BARE_AGAIN = 'bare R2 route again (A/A)';

interface HitRound {
  /** One-minute load average of the machine when the round ended. */
  load: number;
  routes: Record<string, LoadResult>;
  /** Each route's req/s and p99 against the bare R2 route's in the same round. */
  ratios: Record<string, { throughput: number; p99: number }>;
}

/**
 * Every viewer's hit beside the bare R2 route, the bare Cache API route (the hit's own tier, no logic)
 * and the bare R2 route again (A/A: how far a round's ratios move when nothing differs), all interleaved
 * in each of HOT_PATH_ROUNDS rounds. A viewer's hit passes when its req/s ratio has a median over the
 * rounds of at least 0.95 and every round at or above the run's A/A minimum; its p99 is judged the same
 * way against the A/A (every round at or below the A/A's maximum).
 */
async function hitPath(label: string, bytes: number, viewers: Viewer[], bareUrl: string, bareCacheUrl: string) {
  const targets = [
    ...viewers,
    { name: BARE, short: 'bare', url: bareUrl, headers: {} },
    { name: BARE_CACHE, short: 'bare cache', url: bareCacheUrl, headers: {} },
    { name: BARE_AGAIN, short: 'bare A/A', url: bareUrl, headers: {} },
  ];
  for (const t of targets) {
    const response = await fetch(t.url, { headers: t.headers });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${t.name} answered ${response.status} before the rounds`);
  }
  const loadBefore = loadavg()[0] as number;
  const rounds: HitRound[] = [];
  for (let round = 0; round < HOT_PATH_ROUNDS; round++) {
    const results = await interleaved(targets);
    const routes = Object.fromEntries(targets.map((t, i) => [t.name, results[i] as LoadResult]));
    const bare = routes[BARE] as LoadResult;
    const ratios = Object.fromEntries(
      targets.filter((t) => t.name !== BARE).map((t) => [t.name, { throughput: (routes[t.name] as LoadResult).requestsPerSecond / bare.requestsPerSecond, p99: (routes[t.name] as LoadResult).p99Ms / bare.p99Ms }]),
    );
    rounds.push({ load: loadavg()[0] as number, routes, ratios });
  }
  const series = (f: (r: HitRound) => number) => rounds.map(f);
  const aaThroughput = series((r) => r.ratios[BARE_AGAIN]!.throughput);
  const aaP99 = series((r) => r.ratios[BARE_AGAIN]!.p99);
  const summary = targets.map((t) => {
    const throughput = t.name === BARE ? rounds.map(() => 1) : series((r) => r.ratios[t.name]!.throughput);
    const p99 = t.name === BARE ? rounds.map(() => 1) : series((r) => r.ratios[t.name]!.p99);
    const isViewer = viewers.some((v) => v.name === t.name);
    return {
      route: t.name,
      requestsPerSecond: median(series((r) => r.routes[t.name]!.requestsPerSecond)),
      p50Ms: median(series((r) => r.routes[t.name]!.p50Ms)),
      p99Ms: median(series((r) => r.routes[t.name]!.p99Ms)),
      non2xx: rounds.reduce((n, r) => n + r.routes[t.name]!.non2xx, 0),
      throughput: { median: median(throughput), min: Math.min(...throughput), max: Math.max(...throughput) },
      p99: { median: median(p99), min: Math.min(...p99), max: Math.max(...p99) },
      ...(isViewer
        ? {
            meets: {
              medianAtLeast095: median(throughput) >= 0.95,
              everyRoundAtOrAboveAAMin: throughput.every((x) => x >= Math.min(...aaThroughput)),
              p99EveryRoundAtOrBelowAAMax: p99.every((x) => x <= Math.max(...aaP99)),
            },
          }
        : {}),
    };
  });

  const cell = (c: string | number, width: number) => (typeof c === 'number' ? c.toFixed(c < 10 ? 2 : 0) : c).toString().padEnd(width);
  const ratio = (x: { median: number; min: number; max: number }) => `${x.median.toFixed(2)} (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
  console.log(
    `\nCache hits, ${label} artifact (${(bytes / 1e3).toFixed(1)} KB): ${HOT_PATH_ROUNDS} rounds, ${CONNECTIONS} connections, ${DURATION_SECONDS} s per route and round in ${SLICES_PER_ROUTE} interleaved slices, loopback; load average ${loadBefore.toFixed(2)} before, ${rounds.map((r) => r.load.toFixed(2)).join(' / ')} after each round`,
  );
  console.log(['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'vs bare req/s: median (range)', 'vs bare p99: median (range)', 'verdict'].map((c, i) => cell(c, [40, 8, 8, 8, 9, 32, 30, 0][i] as number)).join(''));
  for (const row of summary) {
    const verdict =
      row.meets === undefined
        ? ''
        : [row.meets.medianAtLeast095 ? 'median>=0.95' : 'MEDIAN<0.95', row.meets.everyRoundAtOrAboveAAMin ? 'rounds>=A/A min' : 'A ROUND<A/A MIN', row.meets.p99EveryRoundAtOrBelowAAMax ? 'p99<=A/A max' : 'P99>A/A MAX', row.non2xx > 0 ? 'NON-2XX!' : ''].join(' ');
    console.log([row.route, row.requestsPerSecond, row.p50Ms, row.p99Ms, row.non2xx, ratio(row.throughput), ratio(row.p99), verdict].map((c, i) => cell(c, [40, 8, 8, 8, 9, 32, 30, 0][i] as number)).join(''));
  }
  console.log('req/s against the bare R2 route, round by round:');
  console.log(['round', 'load', ...targets.filter((t) => t.name !== BARE).map((t) => t.short)].map((c, i) => cell(c, i < 2 ? 7 : 16)).join(''));
  for (const [n, r] of rounds.entries()) {
    console.log([`${n + 1}`, r.load, ...targets.filter((t) => t.name !== BARE).map((t) => r.ratios[t.name]!.throughput)].map((c, i) => cell(c, i < 2 ? 7 : 16)).join(''));
  }
  return { label, bytes, loadBefore, rounds, summary };
}

export async function runEdgeBench(options = { hitPathOnly: process.argv.includes('--hit-path-only') }): Promise<Record<string, unknown>> {
  process.env.CMVC_BENCH_ROUTES = '1';
  // The per-address limit of unbound signed URLs is a setting; every viewer here is one loopback
  // address, so at its default (300 a minute) the unbound URL would be measured answering 429.
  process.env.SIGNED_URL_REQUESTS_PER_MINUTE = '1000000';
  const stack = await startStack();
  try {
    const auth = { Authorization: `Bearer ${stack.adminKey}` };
    // A customer's key, as an admin makes one, with a per-minute limit the bench's load stays under
    // (a limit it reached would be measured answering 429, not serving).
    const created = await fetch(`${stack.base}/v1/keys`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'bench customer', scopes: ['encode', 'read', 'reconstruct'], limits: { requestsPerMinute: 1_000_000 } }),
    });
    if (created.status !== 201) throw new Error(`creating the customer key answered ${created.status}`);
    const customer = { Authorization: `Bearer ${((await created.json()) as { secret: string }).secret}` };
    const mint = async (key: Record<string, string>, videoId: string, query: string, bindToKey: boolean) => {
      const options = Object.fromEntries(new URLSearchParams(query));
      const response = await fetch(`${stack.base}/v1/videos/${videoId}/urls`, {
        method: 'POST',
        headers: { ...key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ modes: ['it2v'], expiresIn: 86_400, options, bindToKey }),
      });
      return (await json(response, SignedUrls)).urls[0]!.url;
    };
    /** The principals a cached artifact is asked for by: the admin key, a customer key, and the signed URLs each mints. */
    const viewersOf = async (videoId: string, query: string): Promise<Viewer[]> => {
      const url = `${stack.base}/v/${videoId}/it2v.mp4${query ? `?${query}` : ''}`;
      return [
        { name: 'admin key', short: 'admin', url, headers: auth },
        { name: 'customer key', short: 'customer', url, headers: customer },
        { name: 'signed URL, admin-minted', short: 'signed admin', url: await mint(auth, videoId, query, true), headers: {} },
        { name: 'signed URL, customer-minted, bound', short: 'signed bound', url: await mint(customer, videoId, query, true), headers: {} },
        { name: 'signed URL, customer-minted, unbound', short: 'signed unbound', url: await mint(customer, videoId, query, false), headers: {} },
      ];
    };
    const bareUrl = (key: string) => `${stack.base}/__bench/r2/${encodeURIComponent(key)}`;
    const bareCacheUrl = (artifactKey: string) => `${stack.base}/__bench/cache/${artifactKey}`;
    const timed = async (url: string, headers: Record<string, string> = auth) => {
      const t = performance.now();
      await (await fetch(url, { headers })).arrayBuffer();
      return performance.now() - t;
    };
    // A miss: the edge's wall time, against what the GPU function reports on /metrics for the same
    // call: its compute seconds and, apart, the seconds it spent fetching its inputs and uploading its output.
    const timedMiss = async (url: string, hash: string) => {
      const [computeBefore, uploadBefore, fetchBefore] = await Promise.all([
        metric(stack, 'cmvc_gpu_seconds_total', 'generate'),
        metric(stack, 'cmvc_gpu_upload_seconds_total', 'generate'),
        metric(stack, 'cmvc_gpu_fetch_seconds_total', 'generate'),
      ]);
      const started = performance.now();
      const response = await fetch(url, { headers: { ...auth, Prefer: 'wait=60' } });
      const bytes = (await response.arrayBuffer()).byteLength;
      const edgeMs = performance.now() - started;
      if (response.status !== 200) throw new Error(`miss answered ${response.status}`);
      const gpuMs = ((await metric(stack, 'cmvc_gpu_seconds_total', 'generate')) - computeBefore) * 1000;
      const uploadMs = ((await metric(stack, 'cmvc_gpu_upload_seconds_total', 'generate')) - uploadBefore) * 1000;
      const fetchMs = ((await metric(stack, 'cmvc_gpu_fetch_seconds_total', 'generate')) - fetchBefore) * 1000;
      const stages = overheadStages(stagesOf(response), gpuMs, uploadMs, fetchMs);
      const artifactKey = response.headers.get('X-Artifact-Key') as string;
      const r2Key = `artifacts/${hash}/${artifactKey}.mp4`;
      // What serving the same bytes costs by itself: the bare route on the same object, best of three.
      const serveMs = Math.min(await timed(bareUrl(r2Key), {}), await timed(bareUrl(r2Key), {}), await timed(bareUrl(r2Key), {}));
      // The GPU function's input fetches are the edge's overhead too (its compute seconds exclude them).
      const overheadMs = edgeMs - gpuMs;
      return { url, artifactKey, r2Key, bytes, edgeMs, gpuMs, uploadMs, fetchMs, overheadMs, serveMs, beyondServeMs: overheadMs - serveMs, stages };
    };

    // A zooming fractal with a detailed keyframe: its IT2V reconstruction at 1920x1440 is about 1.1 MB,
    // the large hot-path artifact. The customer uploads it, so that its key and its URLs may read it.
    const clip = join(tmpdir(), 'cmvc-bench-mandelbrot.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=24', '-t', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
    const video = await uploadAndWait(stack, clip, 'keyframeBudgetBytes=30000', customer);
    const hash = video.bitstream?.sha256 as string;
    const largeQuery = 'w=1920&h=1440';
    const artifactUrl = `${stack.base}/v/${video.id}/it2v.mp4?${largeQuery}`;
    const hot = await timedMiss(artifactUrl, hash);
    const artifactBytes = hot.bytes;
    const r2Key = hot.r2Key;
    // The small one: the sample clip's IT2V reconstruction at its own size (about 13 KB), where a
    // request's own work weighs most against the bytes it moves.
    const sample = await uploadAndWait(stack, SAMPLE_CLIP, '', customer);
    const small = await timedMiss(`${stack.base}/v/${sample.id}/it2v.mp4`, sample.bitstream?.sha256 as string);

    const missRows = [];
    let generations = 0;
    let burst: number[] = [];
    if (!options.hitPathOnly) {
      // Misses by artifact size, from a panning noise clip.
      const noise = join(tmpdir(), 'cmvc-bench-noise.png');
      const pan = join(tmpdir(), 'cmvc-bench-noise-pan.mp4');
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', "nullsrc=s=1600x960:r=1,geq=lum='random(1)*255':cb=128:cr=128", '-frames:v', '1', noise]);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', noise, '-vf', "crop=1280:960:x='t*60':y=0,format=yuv420p", '-r', '24', '-t', '2', '-c:v', 'libx264', '-crf', '23', pan]);
      const noisy = await uploadAndWait(stack, pan, 'keyframeCodec=jpeg&keyframeMaxWidth=1280&keyframeBudgetBytes=1000000', auth);
      for (const size of MISS_SIZES) {
        const misses: Awaited<ReturnType<typeof timedMiss>>[] = [];
        for (let seed = 1; seed <= MISSES_PER_SIZE; seed++) misses.push(await timedMiss(`${stack.base}/v/${noisy.id}/it2v.mp4?${size.query}&seed=${seed}`, noisy.bitstream?.sha256 as string));
        const pick = (f: (m: Awaited<ReturnType<typeof timedMiss>>) => number) => median(misses.map(f));
        missRows.push({
          size: size.label,
          query: size.query,
          bytes: pick((m) => m.bytes),
          edgeMs: pick((m) => m.edgeMs),
          gpuMs: pick((m) => m.gpuMs),
          uploadMs: pick((m) => m.uploadMs),
          fetchMs: pick((m) => m.fetchMs),
          overheadMs: pick((m) => m.overheadMs),
          serveMs: pick((m) => m.serveMs),
          beyondServeMs: pick((m) => m.beyondServeMs),
          beyondServeAndUploadMs: pick((m) => m.beyondServeMs - m.uploadMs),
          stages: Object.fromEntries(Object.keys(misses[0]?.stages ?? {}).map((name) => [name, pick((m) => m.stages[name] ?? 0)])),
          misses,
        });
      }
    }

    // Tiers, one request each after warming: the edge-cache hit vs the bare route reading R2.
    const edgeHitMs = await timed(artifactUrl);
    const bareMs = await timed(bareUrl(r2Key), {});

    // The hit path of every principal beside the bare routes, interleaved: the small artifact, then the large.
    const hits = [
      await hitPath('small', small.bytes, await viewersOf(sample.id, ''), bareUrl(small.r2Key), bareCacheUrl(small.artifactKey)),
      await hitPath('large', artifactBytes, await viewersOf(video.id, largeQuery), bareUrl(r2Key), bareCacheUrl(hot.artifactKey)),
    ];
    if (options.hitPathOnly) return { connections: CONNECTIONS, durationSeconds: DURATION_SECONDS, hits };

    const bitstreamRoute = await load(`${stack.base}/v1/videos/${video.id}/bitstream`, auth);
    const bareBitstream = await load(bareUrl(`bitstreams/${hash}.cmvc`), {});

    const generateBefore = await metric(stack, 'cmvc_gpu_calls_total', 'generate');
    burst = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${stack.base}/v/${video.id}/tt2v.mp4?seed=99`, { headers: { ...auth, Prefer: 'wait=60' } });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    generations = (await metric(stack, 'cmvc_gpu_calls_total', 'generate')) - generateBefore;

    const cell = (c: string | number, width: number) => (typeof c === 'number' ? c.toFixed(c < 10 ? 2 : 0) : c).toString().padEnd(width);
    const rows = [
      ['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'vs bare req/s', 'vs bare p99'],
      ['bitstream route', bitstreamRoute.requestsPerSecond, bitstreamRoute.p50Ms, bitstreamRoute.p99Ms, bitstreamRoute.non2xx, bitstreamRoute.requestsPerSecond / bareBitstream.requestsPerSecond, bitstreamRoute.p99Ms / bareBitstream.p99Ms],
      ['bare R2 route (bitstream)', bareBitstream.requestsPerSecond, bareBitstream.p50Ms, bareBitstream.p99Ms, bareBitstream.non2xx, 1, 1],
    ];
    console.log('');
    for (const row of rows) console.log(row.map((c, i) => cell(c, i === 0 ? 30 : 14)).join(''));
    console.log(`\nSingle flight: ${generations} generate call(s) for a burst of 100 concurrent cold requests (statuses: ${[...new Set(burst)].join(', ')})`);
    console.log(`\nMiss overhead (median of ${MISSES_PER_SIZE} misses per size; edge time beyond the GPU function's compute seconds on /metrics, which leave out its input fetches and its upload; both shown apart, both overhead):`);
    console.log(['artifact', 'bytes', 'edge ms', 'GPU ms', 'fetch ms', 'upload ms', 'overhead', 'serve ms', 'beyond serve', 'beyond serve+upload'].map((c, i) => cell(c, i === 0 ? 10 : 13)).join(''));
    for (const m of missRows) {
      console.log([m.size, m.bytes, m.edgeMs, m.gpuMs, m.fetchMs, m.uploadMs, m.overheadMs, m.serveMs, m.beyondServeMs, m.beyondServeAndUploadMs].map((c, i) => (typeof c === 'number' ? c.toFixed(0) : c).padEnd(i === 0 ? 10 : 13)).join(''));
    }
    const stageNames = Object.keys(missRows[0]?.stages ?? {});
    console.log(`\nWhere a miss's overhead goes (median ms per stage, from its Server-Timing; do- stages inside the coordinator; "first-byte" includes the R2 read that "serve ms" also counts):`);
    console.log(['stage', ...missRows.map((m) => m.size)].map((c, i) => c.padEnd(i === 0 ? 26 : 10)).join(''));
    for (const name of stageNames) console.log([name, ...missRows.map((m) => (m.stages[name] ?? 0).toFixed(0))].map((c, i) => c.padEnd(i === 0 ? 26 : 10)).join(''));
    console.log(
      `hot-path artifact miss (${(hot.bytes / 1e6).toFixed(2)} MB, one, the first generate call of the run): overhead ${hot.overheadMs.toFixed(0)} ms, of which input fetch ${hot.fetchMs.toFixed(0)} ms and upload ${hot.uploadMs.toFixed(0)} ms; serve ${hot.serveMs.toFixed(0)} ms; beyond serve ${hot.beyondServeMs.toFixed(0)} ms, beyond serve and upload ${(hot.beyondServeMs - hot.uploadMs).toFixed(0)} ms (target <= 25 ms)`,
    );
    console.log(`One request each: edge-cache hit ${edgeHitMs.toFixed(1)} ms, bare R2 route ${bareMs.toFixed(1)} ms`);
    return {
      artifactBytes,
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      hits,
      bitstreamRoute,
      bareBitstream,
      ratios: {
        bitstreamThroughput: bitstreamRoute.requestsPerSecond / bareBitstream.requestsPerSecond,
        bitstreamP99: bitstreamRoute.p99Ms / bareBitstream.p99Ms,
      },
      singleFlight: { burst: 100, generations },
      hotArtifactMiss: hot,
      smallArtifactMiss: small,
      missesBySize: missRows,
      oneRequestMs: { edgeHit: edgeHitMs, bare: bareMs },
    };
  } finally {
    await stack.stop();
  }
}
