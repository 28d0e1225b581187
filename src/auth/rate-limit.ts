import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { meterFor, type TakeResult } from './access-meter';
import type { Principal } from './principal';

/** What a request costs from a principal's bucket: a cache hit is cheap, a generation is not. */
export const REQUEST_COST = 1;
export const GENERATION_COST = 30;

function perMinute(env: Env, principal: Principal): number | null {
  if (principal.keyId === 'admin') return null; // the bootstrap key is the operator's (and so are URLs it mints)
  if (principal.limits.requestsPerMinute !== null) return principal.limits.requestsPerMinute;
  return Number(principal.via === 'signed-url' && principal.keyId.startsWith('ip:') ? env.SIGNED_URL_REQUESTS_PER_MINUTE : env.DEFAULT_REQUESTS_PER_MINUTE);
}

function rateLimitHeaders(result: TakeResult): Record<string, string> {
  return {
    'RateLimit-Limit': String(result.limit),
    'RateLimit-Remaining': String(result.remaining),
    'RateLimit-Reset': String(result.resetSeconds),
    'RateLimit-Policy': `${result.limit};w=60`,
  };
}

/**
 * Takes `cost` from the principal's bucket, or throws 429 with Retry-After and RateLimit-* headers.
 * A viewer of an unbound signed URL also takes it from their own address's bucket: the second limit.
 */
export async function takeOrThrow(c: Context<{ Bindings: Env }>, cost: number): Promise<Record<string, string>> {
  const principal = c.get('principal');
  if (principal.viewerIp !== undefined) await takeFrom(c.env, principal.viewerIp, Number(c.env.SIGNED_URL_REQUESTS_PER_MINUTE), cost);
  const limit = perMinute(c.env, principal);
  if (limit === null) return {};
  return takeFrom(c.env, principal.keyId, limit, cost);
}

async function takeFrom(env: Env, meterKey: string, limit: number, cost: number): Promise<Record<string, string>> {
  const result = await meterFor(env, meterKey).take(cost, limit);
  const headers = rateLimitHeaders(result);
  if (!result.ok) {
    throw new ApiError(429, 'rate_limited', `rate limit of ${limit} request units a minute reached; a generation costs ${GENERATION_COST}`, {
      headers: { ...headers, 'Retry-After': String(result.retryAfterSeconds) },
    });
  }
  return headers;
}

/** Counts every authenticated request against its principal's per-minute budget. */
export const rateLimit = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function rateLimit(c, next) {
    const headers = await takeOrThrow(c, REQUEST_COST);
    await next();
    if (Object.keys(headers).length === 0) return;
    c.res = new Response(c.res.body, c.res);
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  };
