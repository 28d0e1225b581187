import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, errorResponse } from './errors';

/** Turns every thrown error into the one JSON error shape; internals are logged, never sent. */
export const onError: ErrorHandler = function onError(err, c) {
  if (err instanceof ApiError) return errorResponse(err);
  if (err instanceof HTTPException) {
    return errorResponse(new ApiError(err.status as 400, `http_${err.status}`, err.message || 'request failed'));
  }
  console.error(`unhandled error on ${c.req.method} ${new URL(c.req.url).pathname}:`, err);
  return errorResponse(new ApiError(500, 'internal_error', 'an internal error occurred; it has been logged'));
};

/** A known path (as a matcher) and the methods its routes answer. */
export interface RouteMethods {
  pattern: RegExp;
  methods: string[];
}

/**
 * 405 with `Allow` for a known path asked with another method; 404 for an unknown path, and for a
 * known method on a path whose parameters no route takes (e.g. an unknown mode). The app hands in the
 * table of known paths, so this layer knows no API document.
 */
export const onNotFound = (routes: readonly RouteMethods[]): NotFoundHandler =>
  function onNotFound(c) {
    const path = new URL(c.req.url).pathname;
    const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
    const route = routes.find((r) => r.pattern.test(path));
    if (route && !route.methods.includes(method)) {
      const allow = [...new Set([...route.methods, ...(route.methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])].join(', ');
      return errorResponse(new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${allow}`, { headers: { Allow: allow } }));
    }
    return errorResponse(new ApiError(404, 'route_not_found', `no route for ${c.req.method} ${path}`));
  };
