import type { Context } from 'hono';
import { admitGeneration } from '../auth/admit-generation';
import { payerOf } from '../auth/gpu-budget';
import { ApiError, notFound } from '../http/errors';
import { ensureArtifact, preferWaitSeconds } from '../generation/ensure-artifact';
import { plannedWork } from '../generation/gpu-estimate';
import type { GenerationSpec } from '../generation/plan';
import type { ArtifactId } from './artifact-key';
import { getVideo } from '../videos/store';
import { SERVER_TIMING, serverTiming, StageClock } from '../http/server-timing';
import { artifactCacheUrl } from './keys';
import { CACHED_COPY_CONTROL, r2BodySource, responseBodySource, serveBody, type StoredObject } from './serve';

type AppContext = Context<{ Bindings: Env }>;

/** GPU seconds still to spend on `spec` (which R2 was just found not to hold): its graph's artifacts that R2 does not hold yet, by the cost model. */
const plannedSeconds = (env: Env, spec: GenerationSpec) => async () => (await plannedWork(env.BUCKET, spec, env.GPU_ENGINE, true)).seconds;

/** An artifact to serve: its id, and how to plan what makes it (planned only when no tier holds it, and once). */
export interface ArtifactTarget extends ArtifactId {
  plan: () => Promise<GenerationSpec>;
}

/** A target already planned. */
export const plannedTarget = (spec: GenerationSpec): ArtifactTarget => ({ key: spec.key, r2Key: spec.r2Key, plan: async () => spec });

/**
 * Serves one artifact from the cheapest tier that has it: Cache API → R2 → generation (single flight,
 * waiting at most the request's wait budget, else 202 with Retry-After). Its graph is planned only on a miss,
 * and only after the payer is known to have something left of its quota.
 */
export async function serveArtifact(c: AppContext, target: ArtifactTarget, how: { contentType: string; cacheControl: string; videoId: string }): Promise<Response> {
  let planning: Promise<GenerationSpec> | undefined;
  const plan = () => (planning ??= target.plan());
  const headers: Record<string, string> = { 'Cache-Control': how.cacheControl, 'X-Artifact-Key': target.key };
  const cacheKey = new Request(artifactCacheUrl(target.key));
  const cached = await caches.default.match(cacheKey);
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
  c.executionCtx.waitUntil(putInEdgeCache(c.env.BUCKET, cacheKey, object, how.contentType));
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
export function prefetch(c: AppContext, videoId: string, specs: GenerationSpec[]): void {
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

async function putInEdgeCache(bucket: R2Bucket, cacheKey: Request, object: StoredObject, contentType: string): Promise<void> {
  const body = await bucket.get(object.key);
  if (body === null) return;
  await caches.default.put(
    cacheKey,
    new Response(body.body, {
      headers: { 'Content-Type': contentType, 'Content-Length': String(object.size), ETag: object.httpEtag, 'Cache-Control': CACHED_COPY_CONTROL },
    }),
  );
}
