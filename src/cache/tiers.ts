import { artifactCacheUrl } from './keys';
import { CACHED_COPY_CONTROL, type StoredObject } from './serve';

/**
 * The tiers an artifact is kept in, cheapest first: this location's Cache API (a full 200 response, ranges cut from
 * it), then R2 (durable). Looking an artifact up here never plans, admits or generates anything: the reconstruction
 * capability (src/reconstruction/) decides what a miss costs.
 */

/** This location's Cache API copy of the artifact with this key, if it has one. */
export function edgeCopy(artifactKey: string): Promise<Response | undefined> {
  return caches.default.match(new Request(artifactCacheUrl(artifactKey)));
}

/** Keeps a copy of the stored artifact in this location's Cache API, as a full 200 response that never changes. */
export async function keepAtEdge(bucket: R2Bucket, artifactKey: string, object: StoredObject, contentType: string): Promise<void> {
  const body = await bucket.get(object.key);
  if (body === null) return;
  await caches.default.put(
    new Request(artifactCacheUrl(artifactKey)),
    new Response(body.body, {
      headers: { 'Content-Type': contentType, 'Content-Length': String(object.size), ETag: object.httpEtag, 'Cache-Control': CACHED_COPY_CONTROL },
    }),
  );
}
