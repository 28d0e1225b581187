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

export const onNotFound: NotFoundHandler = function onNotFound(c) {
  return errorResponse(new ApiError(404, 'route_not_found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
};
