import type { MiddlewareHandler } from 'hono';
import { AUTHORIZATION, principalFromRequest } from '../auth/authenticate';
import { ingestTokenHash, isIngestToken } from '../auth/ingest-token';
import { getKey, principalOf } from '../auth/keys';
import { ADMIN_PRINCIPAL, type Principal } from '../auth/principal';
import { rateLimit } from '../auth/rate-limit';
import { requireScope } from '../auth/require-scope';
import { meterUsage } from '../auth/usage';
import { chain } from '../http/chain';
import { ApiError } from '../http/errors';
import { timingSafeEqualStrings } from '../http/timing-safe';
import { getLive } from './store';

const BEARER = /^Bearer ([\x21-\x7e]{8,512})$/;

const unauthorized = (code: string, message: string) => new ApiError(401, code, message, { headers: { 'WWW-Authenticate': 'Bearer realm="cmvc-ingest"' } });

/**
 * The ingest routes of live video `:id` take its ingest token (that video's ingest only, paid by the key that started
 * the stream) or an API key with the `encode` scope that may see the video; then the key's rate limit and metering.
 */
export const ingestAccess = (): MiddlewareHandler<{ Bindings: Env }> =>
  chain(
    async function authenticateIngest(c, next) {
      const authorization = c.req.header(AUTHORIZATION) ?? '';
      const secret = BEARER.exec(authorization)?.[1];
      if (secret === undefined || !isIngestToken(secret)) {
        c.set('principal', await principalFromRequest(authorization, c.env));
        return next();
      }
      const videoId = c.req.param('id') as string;
      const live = await getLive(c.env.DB, videoId);
      // a token names one video: for any other (or an unknown one) it is no credential at all
      if (live === null || !(await timingSafeEqualStrings(await ingestTokenHash(secret), live.token_hash))) {
        throw unauthorized('invalid_ingest_token', "the ingest token is not valid for this video's ingest");
      }
      c.set('principal', await ingestPrincipal(c.env, live.charge_to, videoId));
      return next();
    },
    requireScope('encode'),
    rateLimit(),
    meterUsage(),
  );

/** The principal of an ingest token: the starting key's owner, limits and budget, for one video's ingest only. */
async function ingestPrincipal(env: Env, keyId: string, videoId: string): Promise<Principal> {
  const key = keyId === ADMIN_PRINCIPAL.keyId ? null : await getKey(env.DB, keyId);
  if (keyId !== ADMIN_PRINCIPAL.keyId && (key === null || key.revoked_at !== null || (key.expires_at !== null && key.expires_at <= Date.now()))) {
    throw unauthorized('revoked_ingest_token', 'the key that started this stream has been revoked or has expired');
  }
  const base = key === null ? ADMIN_PRINCIPAL : principalOf(key);
  return { keyId, owner: base.owner, limits: base.limits, scopes: new Set(['encode']), via: 'ingest-token', videoId };
}
