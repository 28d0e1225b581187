import type { MiddlewareHandler } from 'hono';

/**
 * The benchmark's baseline: `/__bench/r2/{key}` returns an R2 object with no logic at all, so a
 * benchmark can compare the full reconstruction route against it in the same run. Exists only when
 * `BENCH_ROUTES` is "true" (set by `npm run bench`); otherwise it falls through to a 404.
 */
export const benchBaseline = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function benchBaseline(c, next) {
    if (c.env.BENCH_ROUTES !== 'true') return next();
    const key = decodeURIComponent(new URL(c.req.url).pathname.slice('/__bench/r2/'.length));
    const object = await c.env.BUCKET.get(key);
    if (object === null) return c.text('no such object', 404);
    return new Response(object.body, { headers: { 'Content-Length': String(object.size), ETag: object.httpEtag } });
  };
