/**
 * The one place that serves or generates: a reconstruction request from its options to its bytes. The tiers are
 * asked first (cache/: Cache API, then R2); on a miss the payer is admitted (auth/: GPU quota against the planned
 * seconds, then rate-limit units), the artifact's generation is started or joined (generation/: its coordinator,
 * single flight) within the request's wait budget, and the bytes are served from R2 and kept at the edge.
 */
import type { Context } from 'hono';
import { admitGeneration } from '../auth/admit-generation';
import { payerOf } from '../auth/gpu-budget';
import type { ArtifactId } from '../cache/artifact-key';
import { r2BodySource, responseBodySource, serveBody, type StoredObject } from '../cache/serve';
import { edgeCopy, keepAtEdge } from '../cache/tiers';
import { ensureArtifact } from '../generation/ensure-artifact';
import { plannedWork } from '../generation/gpu-estimate';
import { planHlsSegment, planReconstruction, topArtifactId, type GenerationSpec } from '../generation/plan';
import type { Mode } from '../gpu/contract';
import { GPU_COST_MODEL, generatedSize } from '../gpu/cost-model';
import { ApiError, notFound } from '../http/errors';
import { SERVER_TIMING, serverTiming, StageClock } from '../http/server-timing';
import { getVideo, type VideoRow } from '../videos/store';
import { planInput, readyFor } from './ready';

type AppContext = Context<{ Bindings: Env }>;

export const PREFER_WAIT_DEFAULT_SECONDS = 30;
export const PREFER_WAIT_MAX_SECONDS = 60;

/** Seconds from `Prefer: wait=N` (RFC 7240), bounded; the default when absent. */
export function preferWaitSeconds(prefer: string | undefined): number {
  const match = prefer ? /(?:^|[,;\s])wait=(\d{1,6})(?:$|[,;\s])/.exec(prefer) : null;
  if (!match) return PREFER_WAIT_DEFAULT_SECONDS;
  return Math.min(PREFER_WAIT_MAX_SECONDS, Number(match[1]));
}

/** HLS segments generated ahead of the one a player asks for. */
const PREFETCH_SEGMENTS = 2;

/** Names the size a reconstruction was generated at when that is below the size asked (then scaled up, aspect kept). */
export const GENERATED_SIZE_HEADER = 'CMVC-Generated-Size';

/** Serves a reconstruction MP4 (whole video or one segment). */
export async function serveReconstruction(c: AppContext, target: { video: VideoRow; mode: Mode; segment: number | null; cacheControl: string }): Promise<Response> {
  const ready = await readyFor(c, target.video, target.mode, target.segment);
  if (ready.live && target.segment === null) {
    throw new ApiError(409, 'video_live', 'the video is live: the whole video exists once the stream ends; ask for its segments ({mode}/{n}.mp4) or its HLS playlist', {
      headers: { 'Retry-After': '5' },
      details: { segmentsCoded: ready.bitstream.segments.length },
    });
  }
  const input = { ...planInput(ready, target.mode, c.env.GPU_ENGINE), segment: target.segment };
  // Looked up by its id alone: the graph (a whole video's: every segment) is planned only when it must be made.
  const id = await topArtifactId(input);
  const response = await serveArtifact(c, { ...id, plan: () => planReconstruction(input) }, { contentType: 'video/mp4', cacheControl: target.cacheControl, videoId: ready.video.id });
  // A model that generates below the asked size (the model engine: at most 832x480) says so.
  const generated = response.status === 202 ? null : generatedSize(GPU_COST_MODEL, c.env.GPU_ENGINE, ready.options.w, ready.options.h);
  if (generated !== null) response.headers.set(GENERATED_SIZE_HEADER, `${generated.width}x${generated.height}`);
  return response;
}

/** Serves HLS segment `n` (MPEG-TS, derived from the segment's MP4 artifact) and starts generating the next ones. */
export async function serveHlsSegment(c: AppContext, target: { video: VideoRow; mode: Mode; segment: number; cacheControl: string }): Promise<Response> {
  const n = target.segment;
  // a segment asked alone is cut alone (maxKbps): so is each one prefetched after it
  const ready = await readyFor(c, target.video, target.mode, n);
  const input = planInput(ready, target.mode, c.env.GPU_ENGINE);
  const spec = await planHlsSegment(input, n);
  const ahead = [];
  for (let next = n + 1; next <= n + PREFETCH_SEGMENTS && next < ready.bitstream.segments.length; next++) {
    const nextInput = ready.options.maxKbps === null ? input : planInput(await readyFor(c, target.video, target.mode, next), target.mode, c.env.GPU_ENGINE);
    ahead.push(await planHlsSegment(nextInput, next));
  }
  prefetch(c, ready.video.id, ahead);
  return serveArtifact(c, plannedTarget(spec), { contentType: 'video/mp2t', cacheControl: target.cacheControl, videoId: ready.video.id });
}

/** GPU seconds still to spend on `spec` (which R2 was just found not to hold): its graph's artifacts that R2 does not hold yet, by the cost model. */
const plannedSeconds = (env: Env, spec: GenerationSpec) => async () => (await plannedWork(env.BUCKET, spec, env.GPU_ENGINE, true)).seconds;

/** An artifact to serve: its id, and how to plan what makes it (planned only when no tier holds it, and once). */
interface ArtifactTarget extends ArtifactId {
  plan: () => Promise<GenerationSpec>;
}

/** A target already planned. */
const plannedTarget = (spec: GenerationSpec): ArtifactTarget => ({ key: spec.key, r2Key: spec.r2Key, plan: async () => spec });

/**
 * Serves one artifact from the cheapest tier that has it: Cache API → R2 → generation (single flight,
 * waiting at most the request's wait budget, else 202 with Retry-After). Its graph is planned only on a miss,
 * and only after the payer is known to have something left of its quota.
 */
async function serveArtifact(c: AppContext, target: ArtifactTarget, how: { contentType: string; cacheControl: string; videoId: string }): Promise<Response> {
  let planning: Promise<GenerationSpec> | undefined;
  const plan = () => (planning ??= target.plan());
  const headers: Record<string, string> = { 'Cache-Control': how.cacheControl, 'X-Artifact-Key': target.key };
  const cached = await edgeCopy(target.key);
  if (cached) return serveBody(c.req.raw, responseBodySource(cached), { ...headers, 'X-Cache': 'hit-edge' });

  const clock = new StageClock();
  let object: StoredObject | null = await c.env.BUCKET.head(target.r2Key);
  clock.lap('lookup');
  let tier = 'hit-r2';
  if (object === null) {
    // The video may have come from an isolate's memory: before anything is made, D1 must still have it.
    const stillThere = getVideo(c.env.DB, how.videoId).then((video) => {
      if (video === null) throw notFound('video');
    });
    // A payer with a quota plans only once the budget is known to have something left (a refusal plans nothing); one
    // without plans at once, so that a request the plan refuses (a 400 or 422) takes no rate-limit units.
    const unlimited = payerOf(c.env, c.get('principal')).quotaSeconds === null;
    const precondition = Promise.all([stillThere, unlimited ? plan() : undefined]);
    const payer = await admitGeneration(c, async () => plannedSeconds(c.env, await plan())(), precondition);
    const spec = await plan();
    clock.lap('admit');
    const calledAt = Date.now();
    const ensured = await ensureArtifact(c.env, spec, payer, preferWaitSeconds(c.req.header('Prefer')), (p) => c.executionCtx.waitUntil(p));
    if (!ensured.ready) {
      return c.json({ status: 'running', progress: ensured.progress, artifact: spec.key }, 202, {
        'Retry-After': '3',
        'Cache-Control': 'no-store',
        Location: c.req.url,
      });
    }
    // The coordinator wrote it and says what it wrote: no second look at R2 before serving.
    object = { key: ensured.artifact.r2Key, size: ensured.artifact.bytes, httpEtag: ensured.artifact.etag };
    tier = 'miss';
    clock.lap('coordinator');
    if (ensured.timing !== null) {
      const { enteredAt, answeredAt, stages } = ensured.timing;
      clock.add('do-', [{ name: 'rpc-in', ms: enteredAt - calledAt }, ...stages, { name: 'rpc-out', ms: Date.now() - answeredAt }]);
    }
  }
  c.executionCtx.waitUntil(keepAtEdge(c.env.BUCKET, target.key, object, how.contentType));
  const response = await serveBody(c.req.raw, r2BodySource(c.env.BUCKET, object, how.contentType), { ...headers, 'X-Cache': tier });
  clock.lap('first-byte');
  if (c.env.BENCH_ROUTES === 'true') response.headers.set(SERVER_TIMING, serverTiming(clock.stages));
  return response;
}

/**
 * Starts generating artifacts a client will likely ask for next (e.g. the next HLS segments), without
 * waiting. Each costs what a request's generation costs: its rate-limit units and a check of its
 * planned GPU seconds against the payer's budget; one that does not fit is skipped, not an error.
 */
function prefetch(c: AppContext, videoId: string, specs: GenerationSpec[]): void {
  for (const spec of specs) {
    c.executionCtx.waitUntil(
      (async () => {
        if ((await c.env.BUCKET.head(spec.r2Key)) !== null) return;
        if ((await getVideo(c.env.DB, videoId)) === null) return;
        const payer = await admitGeneration(c, plannedSeconds(c.env, spec)).catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 429) return null;
          throw err;
        });
        if (payer === null) return;
        await ensureArtifact(c.env, spec, payer, 0, (p) => c.executionCtx.waitUntil(p));
      })().catch((err) => console.error('prefetch failed:', err)),
    );
  }
}
