import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { openApiDocument } from '../openapi/document';
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

/** The documented methods of each documented path, as matchers (the coverage test keeps the document complete). */
const ROUTE_METHODS = Object.entries(openApiDocument().paths as Record<string, Record<string, unknown>>).map(([path, ops]) => ({
  pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  methods: Object.keys(ops).map((m) => m.toUpperCase()),
}));

/**
 * 405 with `Allow` for a known path asked with another method; 404 for an unknown path, and for a
 * documented method on a path whose parameters no route takes (e.g. an unknown mode).
 */
export const onNotFound: NotFoundHandler = function onNotFound(c) {
  const path = new URL(c.req.url).pathname;
  const method = c.req.method === 'HEAD' ? 'GET' : c.req.method;
  const route = ROUTE_METHODS.find((r) => r.pattern.test(path));
  if (route && !route.methods.includes(method)) {
    const allow = [...new Set([...route.methods, ...(route.methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])].join(', ');
    return errorResponse(new ApiError(405, 'method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${allow}`, { headers: { Allow: allow } }));
  }
  return errorResponse(new ApiError(404, 'route_not_found', `no route for ${c.req.method} ${path}`));
};
