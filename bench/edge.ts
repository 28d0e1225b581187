/**
 * Edge benchmarks against the real stack (wrangler dev + reference GPU server) over loopback, with
 * autocannon: cache-hit throughput and latency of the full routes beside a bare Worker route that
 * returns the same R2 object (same process, same run, the two routes' runs interleaved, and the bare
 * route measured against itself as the noise floor of that comparison), single
 * flight under a cold burst, and the miss overhead for artifacts of about 0.3, 1, 5 and 20 MB, each
 * beside the bare route serving the same bytes.
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadAccepted, VideoView } from '../src/openapi/shapes';
import { startStack, type Stack } from '../test/e2e/stack';
import { json } from '../test/json';

const DURATION_SECONDS = 8;
const CONNECTIONS = 16;
/** Rounds of the hit-path comparison, each DURATION_SECONDS of each route. */
const HOT_PATH_ROUNDS = 5;
/**
 * Within a round the two routes take turns in slices (hit, bare, bare, hit, …), so a machine whose
 * load drifts (this one is shared) weighs on both alike; latencies are pooled over a route's slices.
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

interface LoadResult {
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

/** Each target for DURATION_SECONDS, interleaved in slices (a b c, c b a, a b c, …). */
async function interleaved(targets: { url: string; headers: Record<string, string> }[]): Promise<LoadResult[]> {
  const seconds = DURATION_SECONDS / SLICES_PER_ROUTE;
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
    return { requestsPerSecond: run.requests / DURATION_SECONDS, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), non2xx: run.non2xx, bytes: run.bytes };
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
 * left after its compute and upload seconds — the submit's and the long poll's own cost.
 */
function overheadStages(stages: Record<string, number>, gpuMs: number, uploadMs: number): Record<string, number> {
  const { coordinator: _whole, 'do-call': call = 0, ...rest } = stages;
  return { ...rest, 'call beyond GPU+upload': call - gpuMs - uploadMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;

export async function runEdgeBench(): Promise<Record<string, unknown>> {
  process.env.CMVC_BENCH_ROUTES = '1';
  const stack = await startStack();
  try {
    const auth = { Authorization: `Bearer ${stack.adminKey}` };
    const bareUrl = (key: string) => `${stack.base}/__bench/r2/${encodeURIComponent(key)}`;
    const timed = async (url: string, headers: Record<string, string> = auth) => {
      const t = performance.now();
      await (await fetch(url, { headers })).arrayBuffer();
      return performance.now() - t;
    };
    // A miss: the edge's wall time, against what the GPU function reports on /metrics for the same
    // call: its compute seconds and, apart, the seconds it spent uploading the output.
    const timedMiss = async (url: string, hash: string) => {
      const [computeBefore, uploadBefore] = await Promise.all([metric(stack, 'cmvc_gpu_seconds_total', 'generate'), metric(stack, 'cmvc_gpu_upload_seconds_total', 'generate')]);
      const started = performance.now();
      const response = await fetch(url, { headers: { ...auth, Prefer: 'wait=60' } });
      const bytes = (await response.arrayBuffer()).byteLength;
      const edgeMs = performance.now() - started;
      if (response.status !== 200) throw new Error(`miss answered ${response.status}`);
      const gpuMs = ((await metric(stack, 'cmvc_gpu_seconds_total', 'generate')) - computeBefore) * 1000;
      const uploadMs = ((await metric(stack, 'cmvc_gpu_upload_seconds_total', 'generate')) - uploadBefore) * 1000;
      const stages = overheadStages(stagesOf(response), gpuMs, uploadMs);
      const artifactKey = response.headers.get('X-Artifact-Key') as string;
      const r2Key = `artifacts/${hash}/${artifactKey}.mp4`;
      // What serving the same bytes costs by itself: the bare route on the same object, best of three.
      const serveMs = Math.min(await timed(bareUrl(r2Key), {}), await timed(bareUrl(r2Key), {}), await timed(bareUrl(r2Key), {}));
      const overheadMs = edgeMs - gpuMs;
      return { url, artifactKey, r2Key, bytes, edgeMs, gpuMs, uploadMs, overheadMs, serveMs, beyondServeMs: overheadMs - serveMs, stages };
    };

    // A zooming fractal with a detailed keyframe: its IT2V reconstruction at 1920x1440 is about 1.1 MB,
    // the hot-path artifact.
    const clip = join(tmpdir(), 'cmvc-bench-mandelbrot.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'mandelbrot=size=320x240:rate=24', '-t', '4', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip]);
    const video = await uploadAndWait(stack, clip, 'keyframeBudgetBytes=30000', auth);
    const hash = video.bitstream?.sha256 as string;
    const artifactUrl = `${stack.base}/v/${video.id}/it2v.mp4?w=1920&h=1440`;
    const hot = await timedMiss(artifactUrl, hash);
    const artifactBytes = hot.bytes;
    const r2Key = hot.r2Key;

    // Misses by artifact size, from a panning noise clip.
    const noise = join(tmpdir(), 'cmvc-bench-noise.png');
    const pan = join(tmpdir(), 'cmvc-bench-noise-pan.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', "nullsrc=s=1600x960:r=1,geq=lum='random(1)*255':cb=128:cr=128", '-frames:v', '1', noise]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', noise, '-vf', "crop=1280:960:x='t*60':y=0,format=yuv420p", '-r', '24', '-t', '2', '-c:v', 'libx264', '-crf', '23', pan]);
    const noisy = await uploadAndWait(stack, pan, 'keyframeCodec=jpeg&keyframeMaxWidth=1280&keyframeBudgetBytes=1000000', auth);
    const missRows = [];
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
        overheadMs: pick((m) => m.overheadMs),
        serveMs: pick((m) => m.serveMs),
        beyondServeMs: pick((m) => m.beyondServeMs),
        beyondServeAndUploadMs: pick((m) => m.beyondServeMs - m.uploadMs),
        stages: Object.fromEntries(Object.keys(misses[0]?.stages ?? {}).map((name) => [name, pick((m) => m.stages[name] ?? 0)])),
        misses,
      });
    }

    // Tiers, one request each after warming: the edge-cache hit vs the bare route reading R2.
    const edgeHitMs = await timed(artifactUrl);
    const bareMs = await timed(bareUrl(r2Key), {});

    // The hit path beside the bare route, interleaved.
    const rounds = [];
    for (let round = 0; round < HOT_PATH_ROUNDS; round++) {
      // The third route serves the hit's Cache API copy with no logic: the cost of the tier itself. The
      // fourth is the bare route again, measured as a route of its own: how far these ratios move when
      // nothing differs (the noise floor of a round on this machine).
      const [hit, bare, bareCache, bareAgain] = (await interleaved([
        { url: artifactUrl, headers: auth },
        { url: bareUrl(r2Key), headers: {} },
        { url: `${stack.base}/__bench/cache/${hot.artifactKey}`, headers: {} },
        { url: bareUrl(r2Key), headers: {} },
      ])) as [LoadResult, LoadResult, LoadResult, LoadResult];
      rounds.push({
        hit,
        bare,
        bareCache,
        bareAgain,
        throughput: hit.requestsPerSecond / bare.requestsPerSecond,
        p99: hit.p99Ms / bare.p99Ms,
        throughputVsCache: hit.requestsPerSecond / bareCache.requestsPerSecond,
        p99VsCache: hit.p99Ms / bareCache.p99Ms,
        throughputAA: bareAgain.requestsPerSecond / bare.requestsPerSecond,
        p99AA: bareAgain.p99Ms / bare.p99Ms,
      });
    }
    const full = rounds[rounds.length - 1]!.hit;
    const bare = rounds[rounds.length - 1]!.bare;
    const bitstreamRoute = await load(`${stack.base}/v1/videos/${video.id}/bitstream`, auth);
    const bareBitstream = await load(bareUrl(`bitstreams/${hash}.cmvc`), {});

    const generateBefore = await metric(stack, 'cmvc_gpu_calls_total', 'generate');
    const burst = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${stack.base}/v/${video.id}/tt2v.mp4?seed=99`, { headers: { ...auth, Prefer: 'wait=60' } });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    const generations = (await metric(stack, 'cmvc_gpu_calls_total', 'generate')) - generateBefore;

    const cell = (c: string | number, width: number) => (typeof c === 'number' ? c.toFixed(c < 10 ? 2 : 0) : c).toString().padEnd(width);
    console.log(`\nEdge hot path (${CONNECTIONS} connections, ${DURATION_SECONDS} s per route and round in ${SLICES_PER_ROUTE} interleaved slices, artifact ${(artifactBytes / 1e6).toFixed(2)} MB, loopback):`);
    console.log(['round', 'hit req/s', 'hit p99', 'bare req/s', 'bare p99', 'vs bare req/s', 'vs bare p99', 'cache req/s', 'cache p99', 'vs cache req/s', 'vs cache p99', 'A/A req/s', 'A/A p99'].map((c, i) => cell(c, i === 0 ? 7 : 13)).join(''));
    for (const [n, r] of rounds.entries()) {
      console.log(
        [`${n + 1}`, r.hit.requestsPerSecond, r.hit.p99Ms, r.bare.requestsPerSecond, r.bare.p99Ms, r.throughput, r.p99, r.bareCache.requestsPerSecond, r.bareCache.p99Ms, r.throughputVsCache, r.p99VsCache, r.throughputAA, r.p99AA]
          .map((c, i) => cell(c, i === 0 ? 7 : 13))
          .join(''),
      );
    }
    console.log(`range over ${rounds.length} rounds: req/s ${range(rounds.map((r) => r.throughput))}x the bare route's, p99 ${range(rounds.map((r) => r.p99))}x (target: >= 0.95x, <= 1.2x)`);
    console.log(`against the bare Cache API route (the hit's own tier, no logic): req/s ${range(rounds.map((r) => r.throughputVsCache))}x, p99 ${range(rounds.map((r) => r.p99VsCache))}x`);
    console.log(`the bare route against itself (A/A, the noise floor of a round): req/s ${range(rounds.map((r) => r.throughputAA))}x, p99 ${range(rounds.map((r) => r.p99AA))}x`);
    const rows = [
      ['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'vs bare req/s', 'vs bare p99'],
      ['bitstream route', bitstreamRoute.requestsPerSecond, bitstreamRoute.p50Ms, bitstreamRoute.p99Ms, bitstreamRoute.non2xx, bitstreamRoute.requestsPerSecond / bareBitstream.requestsPerSecond, bitstreamRoute.p99Ms / bareBitstream.p99Ms],
      ['bare R2 route (bitstream)', bareBitstream.requestsPerSecond, bareBitstream.p50Ms, bareBitstream.p99Ms, bareBitstream.non2xx, 1, 1],
    ];
    console.log('');
    for (const row of rows) console.log(row.map((c, i) => cell(c, i === 0 ? 30 : 14)).join(''));
    console.log(`\nSingle flight: ${generations} generate call(s) for a burst of 100 concurrent cold requests (statuses: ${[...new Set(burst)].join(', ')})`);
    console.log(`\nMiss overhead (median of ${MISSES_PER_SIZE} misses per size; edge time beyond the GPU function's compute seconds on /metrics; its upload seconds shown apart):`);
    console.log(['artifact', 'bytes', 'edge ms', 'GPU ms', 'upload ms', 'overhead', 'serve ms', 'beyond serve', 'beyond serve+upload'].map((c, i) => cell(c, i === 0 ? 10 : 13)).join(''));
    for (const m of missRows) {
      console.log([m.size, m.bytes, m.edgeMs, m.gpuMs, m.uploadMs, m.overheadMs, m.serveMs, m.beyondServeMs, m.beyondServeAndUploadMs].map((c, i) => (typeof c === 'number' ? c.toFixed(0) : c).padEnd(i === 0 ? 10 : 13)).join(''));
    }
    const stageNames = Object.keys(missRows[0]?.stages ?? {});
    console.log(`\nWhere a miss's overhead goes (median ms per stage, from its Server-Timing; do- stages inside the coordinator; "first-byte" includes the R2 read that "serve ms" also counts):`);
    console.log(['stage', ...missRows.map((m) => m.size)].map((c, i) => c.padEnd(i === 0 ? 26 : 10)).join(''));
    for (const name of stageNames) console.log([name, ...missRows.map((m) => (m.stages[name] ?? 0).toFixed(0))].map((c, i) => c.padEnd(i === 0 ? 26 : 10)).join(''));
    console.log(
      `hot-path artifact miss (${(hot.bytes / 1e6).toFixed(2)} MB, one, the first generate call of the run): overhead ${hot.overheadMs.toFixed(0)} ms, of which upload ${hot.uploadMs.toFixed(0)} ms; serve ${hot.serveMs.toFixed(0)} ms; beyond serve ${hot.beyondServeMs.toFixed(0)} ms, beyond serve and upload ${(hot.beyondServeMs - hot.uploadMs).toFixed(0)} ms (target <= 25 ms)`,
    );
    console.log(`One request each: edge-cache hit ${edgeHitMs.toFixed(1)} ms, bare R2 route ${bareMs.toFixed(1)} ms`);
    return {
      artifactBytes,
      connections: CONNECTIONS,
      durationSeconds: DURATION_SECONDS,
      reconstructionHit: full,
      bareArtifact: bare,
      hotPathRounds: rounds,
      bitstreamRoute,
      bareBitstream,
      ratios: {
        hitThroughput: full.requestsPerSecond / bare.requestsPerSecond,
        hitP99: full.p99Ms / bare.p99Ms,
        hitThroughputRange: [Math.min(...rounds.map((r) => r.throughput)), Math.max(...rounds.map((r) => r.throughput))],
        hitP99Range: [Math.min(...rounds.map((r) => r.p99)), Math.max(...rounds.map((r) => r.p99))],
        bareAgainstItselfThroughputRange: [Math.min(...rounds.map((r) => r.throughputAA)), Math.max(...rounds.map((r) => r.throughputAA))],
        bareAgainstItselfP99Range: [Math.min(...rounds.map((r) => r.p99AA)), Math.max(...rounds.map((r) => r.p99AA))],
        bitstreamThroughput: bitstreamRoute.requestsPerSecond / bareBitstream.requestsPerSecond,
        bitstreamP99: bitstreamRoute.p99Ms / bareBitstream.p99Ms,
      },
      singleFlight: { burst: 100, generations },
      hotArtifactMiss: hot,
      missesBySize: missRows,
      oneRequestMs: { edgeHit: edgeHitMs, bare: bareMs },
    };
  } finally {
    await stack.stop();
  }
}
