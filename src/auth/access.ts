import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { AUTHORIZATION, authenticate, principalFromRequest } from './authenticate';
import { activeKey, principalOf } from './keys';
import { ADMIN_PRINCIPAL, type Principal, type Scope } from './principal';
import { rateLimit } from './rate-limit';
import { requireScope } from './require-scope';
import { SIGNATURE_PARAM, signingSecrets, verifySignedUrl } from './signed-url';
import { meterUsage } from './usage';
import { chain } from '../http/chain';

/** The checks of an API route, in order: who (401), may they (403), how much (429), then metering. */
export const access = (scope: Scope): MiddlewareHandler<{ Bindings: Env }> => chain(authenticate(), requireScope(scope), rateLimit(), meterUsage());

const SIGNATURE_MESSAGES = {
  invalid_signature: 'the URL signature does not match; the URL was changed after it was signed',
  expired_signature: 'the signed URL has expired',
  malformed_signature: 'the signed URL is malformed (exp and sig must appear once, kid and mk at most once, sig as 43 base64url characters)',
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
      const videoId = url.pathname.split('/')[2] as string;
      const viewerIp = `ip:${viewerAddress(c.env, c.req.header('CF-Connecting-IP'))}`;
      const payer = await signedUrlPayer(c.env, check.mintedBy ?? check.keyId);
      const principal: Principal = {
        ...(payer ?? { keyId: viewerIp, owner: '', limits: { requestsPerMinute: null, gpuSecondsPerDay: null } }),
        scopes: new Set(['reconstruct']),
        via: 'signed-url',
        videoId,
        signedUntil: check.expiresAt,
        ...(payer !== null && check.keyId === null ? { viewerIp } : {}),
      };
      c.set('principal', principal);
      return next();
    },
    requireScope('reconstruct'),
    rateLimit(),
    meterUsage(),
  );

/**
 * The key a signed URL charges: the one that minted it (or, for a URL minted before `mk` existed, the
 * key it was bound to); null for an old unbound URL, which is charged to the viewer's address. A
 * revoked or expired minting key ends its URLs (403).
 */
async function signedUrlPayer(env: Env, keyId: string | null): Promise<Pick<Principal, 'keyId' | 'owner' | 'limits'> | null> {
  if (keyId === null) return null;
  if (keyId === ADMIN_PRINCIPAL.keyId) return ADMIN_PRINCIPAL;
  const row = await activeKey(env.DB, keyId);
  if (row === null) throw new ApiError(403, 'revoked_signature', 'the key that minted this URL has been revoked or has expired');
  const { owner, limits } = principalOf(row);
  return { keyId, owner, limits };
}

/**
 * The viewer's address for the per-viewer limit. On Cloudflare, `CF-Connecting-IP` is set from the
 * connection and cannot be forged. Under `npm start` (`VIEWER_IP_FROM=loopback`) the Worker listens on
 * 127.0.0.1 only, so every connection is from loopback, and Miniflare would keep a client-sent header.
 */
export function viewerAddress(env: Env, header: string | undefined): string {
  if (env.VIEWER_IP_FROM === 'loopback') return '127.0.0.1';
  return header ?? 'unknown';
}
