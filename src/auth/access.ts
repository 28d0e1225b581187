import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { AUTHORIZATION, principalFromRequest } from './authenticate';
import { keyIsActive } from './keys';
import type { Principal, Scope } from './principal';
import { rateLimit } from './rate-limit';
import { requireScope } from './require-scope';
import { SIGNATURE_PARAM, signingSecrets, verifySignedUrl } from './signed-url';
import { meterUsage } from './usage';
import { authenticate } from './authenticate';
import { chain } from '../http/chain';

/** The checks of an API route, in order: who (401), may they (403), how much (429), then metering. */
export const access = (scope: Scope): MiddlewareHandler<{ Bindings: Env }> => chain(authenticate(), requireScope(scope), rateLimit(), meterUsage());

const SIGNATURE_MESSAGES = {
  invalid_signature: 'the URL signature does not match; the URL was changed after it was signed',
  expired_signature: 'the signed URL has expired',
  malformed_signature: 'the signed URL is malformed (exp, sig and kid must appear once, sig as 43 base64url characters)',
} as const;

/**
 * Reconstruction URLs take either a signed URL (no key needed: a public player) or an API key with the
 * `reconstruct` scope. Runs before any cache lookup, so a cached artifact never skips authorisation.
 */
export const reconstructionAccess = (): MiddlewareHandler<{ Bindings: Env }> =>
  chain(
  async function authenticateReconstruction(c, next) {
    const url = new URL(c.req.url);
    if (!url.searchParams.has(SIGNATURE_PARAM)) {
      const principal = await principalFromRequest(c.req.header(AUTHORIZATION), c.env);
      c.set('principal', principal);
      return next();
    }
    const check = await verifySignedUrl(signingSecrets(c.env.URL_SIGNING_SECRET), url);
    if (!check.ok) throw new ApiError(403, check.code, SIGNATURE_MESSAGES[check.code]);
    if (check.keyId !== null && !(await keyIsActive(c.env.DB, check.keyId))) {
      throw new ApiError(403, 'revoked_signature', 'the key this URL was signed for has been revoked or has expired');
    }
    const videoId = url.pathname.split('/')[2] as string;
    const principal: Principal = {
      keyId: check.keyId ?? `ip:${c.req.header('CF-Connecting-IP') ?? 'local'}`,
      owner: '',
      scopes: new Set(['reconstruct']),
      via: 'signed-url',
      limits: { requestsPerMinute: null, gpuSecondsPerDay: null },
      videoId,
      signedUntil: check.expiresAt,
    };
    c.set('principal', principal);
    return next();
  },
    requireScope('reconstruct'),
    rateLimit(),
    meterUsage(),
  );
