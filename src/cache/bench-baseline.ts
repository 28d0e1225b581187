import type { MiddlewareHandler } from 'hono';
import { ARTIFACT_KEY_PATTERN, BITSTREAM_KEY_PATTERN, artifactCacheUrl } from './keys';

const CACHE_PREFIX = '/__bench/cache/';

/**
 * The benchmark's baselines: `/__bench/r2/{key}` returns an R2 object with no logic at all, so a
 * benchmark can compare the full reconstruction route against it in the same run; and
 * `/__bench/cache/{artifactKey}` returns an artifact's Cache API copy with the same lack of logic,
 * so a hit's own work can be told apart from the cost of the tier it reads. Exist only when
 * `BENCH_ROUTES` is "true" (set by `npm run bench`); otherwise they fall through to a 404. They need
 * no key, so the R2 route reads only what a hit serves — artifacts and bitstreams, which are named by
 * hashes — and never an uploaded source (`sources/`) or anything else: 404 as for a missing object.
 */
export const benchBaseline = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function benchBaseline(c, next) {
    if (c.env.BENCH_ROUTES !== 'true') return next();
    const path = new URL(c.req.url).pathname;
    if (path.startsWith(CACHE_PREFIX)) {
      const cached = await caches.default.match(new Request(artifactCacheUrl(decodeURIComponent(path.slice(CACHE_PREFIX.length)))));
      if (cached === undefined) return c.text('no such cache entry', 404);
      return new Response(cached.body, { headers: { 'Content-Length': cached.headers.get('Content-Length') ?? '', ETag: cached.headers.get('ETag') ?? '' } });
    }
    const key = decodeURIComponent(path.slice('/__bench/r2/'.length));
    if (!ARTIFACT_KEY_PATTERN.test(key) && !BITSTREAM_KEY_PATTERN.test(key)) return c.text('no such object', 404);
    const object = await c.env.BUCKET.get(key);
    if (object === null) return c.text('no such object', 404);
    return new Response(object.body, { headers: { 'Content-Length': String(object.size), ETag: object.httpEtag } });
  };
