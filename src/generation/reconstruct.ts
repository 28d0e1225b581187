import type { Context } from 'hono';
import { GENERATION_COST, takeOrThrow } from '../auth/rate-limit';
import { applyRatePlan, planRateCut, type Bitstream, type RatePlan } from '../bitstream';
import { loadBitstream } from '../cache/bitstreams';
import { parseReconstructionOptions, type ReconstructionOptions } from '../cache/reconstruction-options';
import { CACHED_COPY_CONTROL, r2BodySource, responseBodySource, serveBody, type StoredObject } from '../cache/serve';
import type { Mode } from '../gpu/contract';
import { ApiError, notFound } from '../http/errors';
import { artifactCacheUrl } from '../storage/keys';
import { getVideo, type VideoRow } from '../videos/store';
import { checkPlannedWork, payerOf } from './budget-check';
import { ensureArtifact, preferWaitSeconds } from './ensure-artifact';
import { planReconstruction, type GenerationSpec } from './plan';

type AppContext = Context<{ Bindings: Env }>;

export interface ReadyVideo {
  video: VideoRow & { bitstream_key: string; bitstream_hash: string };
  /** The bitstream as reconstruction sees it: cut to `options.maxKbps` when given. */
  bitstream: Bitstream;
  options: ReconstructionOptions;
  /** The rate cut `maxKbps` made, when it dropped any keyframe. */
  rateCut: RatePlan | null;
}

/** The encoded video's parsed bitstream and the request's canonical options; 409 while it is still encoding. */
export async function readyVideo(c: AppContext, video: VideoRow, params = new URL(c.req.url).searchParams): Promise<ReadyVideo> {
  if (video.status !== 'succeeded' || video.bitstream_key === null || video.bitstream_hash === null) {
    throw new ApiError(409, 'video_not_ready', `the video is ${video.status}; reconstruction is possible once it is encoded`, {
      headers: { 'Retry-After': '5' },
      details: { status: video.status, video: `/v1/videos/${video.id}` },
    });
  }
  const bitstream = await loadBitstream(c.env.BUCKET, video.bitstream_key, video.bitstream_hash);
  const header = bitstream.header;
  const options = parseReconstructionOptions(params, { width: header.width, height: header.height, fps: header.fpsNum / header.fpsDen, seed: header.seed });
  const plan = options.maxKbps === null ? null : planRateCut(bitstream, video.bitstream_bytes ?? 0, options.maxKbps);
  const rateCut = plan !== null && plan.dropped > 0 ? plan : null;
  return { video: video as ReadyVideo['video'], bitstream: rateCut ? applyRatePlan(bitstream, rateCut) : bitstream, options, rateCut };
}

export function checkSegment(bitstream: Bitstream, segment: number): void {
  if (segment >= bitstream.segments.length) {
    throw new ApiError(404, 'segment_not_found', `segment ${segment} does not exist; the video has ${bitstream.segments.length}`);
  }
}

/** Serves a reconstruction MP4 (whole video or one segment). */
export async function serveReconstruction(c: AppContext, target: { video: VideoRow; mode: Mode; segment: number | null; cacheControl: string }): Promise<Response> {
  const ready = await readyVideo(c, target.video);
  if (target.segment !== null) checkSegment(ready.bitstream, target.segment);
  const spec = await planReconstruction({
    bitstream: ready.bitstream,
    bitstreamHash: ready.video.bitstream_hash,
    mode: target.mode,
    segment: target.segment,
    options: ready.options,
    rateCut: ready.rateCut,
    engine: c.env.GPU_ENGINE,
  });
  return serveArtifact(c, spec, { contentType: 'video/mp4', cacheControl: target.cacheControl, videoId: ready.video.id });
}

/**
 * Serves one artifact from the cheapest tier that has it: Cache API → R2 → generation (single flight,
 * waiting at most the request's wait budget, else 202 with Retry-After).
 */
export async function serveArtifact(c: AppContext, spec: GenerationSpec, how: { contentType: string; cacheControl: string; videoId: string }): Promise<Response> {
  const headers = { 'Cache-Control': how.cacheControl, 'X-Artifact-Key': spec.key };
  const cacheKey = new Request(artifactCacheUrl(spec.key));
  const cached = await caches.default.match(cacheKey);
  if (cached) return serveBody(c.req.raw, responseBodySource(cached), { ...headers, 'X-Cache': 'hit-edge' });

  let object: StoredObject | null = await c.env.BUCKET.head(spec.r2Key);
  let tier = 'hit-r2';
  if (object === null) {
    const payer = payerOf(c.env, c.get('principal'));
    // The video may have come from an isolate's memory: before anything is made, D1 must still have it.
    const [video, overQuota] = await Promise.all([getVideo(c.env.DB, how.videoId), checkPlannedWork(c.env, payer, spec).then(() => null, (err: unknown) => err)]);
    if (video === null) throw notFound('video');
    if (overQuota !== null) throw overQuota;
    await takeOrThrow(c, GENERATION_COST);
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
  }
  c.executionCtx.waitUntil(putInEdgeCache(c.env.BUCKET, cacheKey, object, how.contentType));
  return serveBody(c.req.raw, r2BodySource(c.env.BUCKET, object, how.contentType), { ...headers, 'X-Cache': tier });
}

/**
 * Starts generating artifacts a client will likely ask for next (e.g. the next HLS segments), without
 * waiting. Each costs what a request's generation costs: its rate-limit units and a check of its
 * planned GPU seconds against the payer's budget; one that does not fit is skipped, not an error.
 */
export function prefetch(c: AppContext, videoId: string, specs: GenerationSpec[]): void {
  const payer = payerOf(c.env, c.get('principal'));
  for (const spec of specs) {
    c.executionCtx.waitUntil(
      (async () => {
        if ((await c.env.BUCKET.head(spec.r2Key)) !== null) return;
        if ((await getVideo(c.env.DB, videoId)) === null) return;
        try {
          await checkPlannedWork(c.env, payer, spec);
          await takeOrThrow(c, GENERATION_COST);
        } catch (err) {
          if (err instanceof ApiError && err.status === 429) return;
          throw err;
        }
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
