import type { MiddlewareHandler } from 'hono';
import { ApiError, notFound } from '../http/errors';
import { AUTHORIZATION, authenticate, principalFromRequest } from './authenticate';
import { activeKey, cachedKey, isActive, principalOf } from './keys';
import { ADMIN_PRINCIPAL, type Principal, type Scope } from './principal';
import { rateLimit } from './rate-limit';
import { requireScope } from './require-scope';
import { SIGNATURE_PARAM } from '../shared/signed-url-params';
import { verifySignedUrl } from './signed-url';
import { meterUsage } from './usage';
import { chain } from '../http/chain';

/** The checks of an API route, in order: who (401), may they (403), how much (429), then metering. */
export const access = (scope: Scope): MiddlewareHandler<{ Bindings: Env }> => chain(authenticate(), requireScope(scope), rateLimit(), meterUsage());

const SIGNATURE_MESSAGES = {
  invalid_signature: 'the URL signature does not match; the URL was changed after it was signed',
  expired_signature: 'the signed URL has expired',
  malformed_signature: 'the signed URL is malformed (exp and sig must appear once, kid and mk at most once, sig as 43 base64url characters)',
} as const;

/** Who uploaded a video (its owner: a key id, 'admin', or an owner name shared by keys), or null when there is no such video. */
export type UploaderOf = (env: Env, videoId: string) => Promise<string | null>;

/**
 * Reconstruction URLs take either a signed URL (no key needed: a public player) or an API key with the
 * `reconstruct` scope. Runs before any cache lookup, so a cached artifact never skips authorisation.
 * `uploaderOf` finds who pays for a URL signed before URLs named their minting key.
 */
export const reconstructionAccess = ({ uploaderOf }: { uploaderOf: UploaderOf }): MiddlewareHandler<{ Bindings: Env }> =>
  chain(
    async function authenticateReconstruction(c, next) {
      const url = new URL(c.req.url);
      if (!url.searchParams.has(SIGNATURE_PARAM)) {
        const principal = await principalFromRequest(c.req.header(AUTHORIZATION), c.env);
        c.set('principal', principal);
        return next();
      }
      const check = await verifySignedUrl(c.env.URL_SIGNING_SECRET, url);
      if (!check.ok) throw new ApiError(403, check.code, SIGNATURE_MESSAGES[check.code]);
      const videoId = url.pathname.split('/')[2] as string;
      const minter = check.mintedBy ?? check.keyId;
      const payer = minter !== null ? await signedUrlPayer(c.env, minter) : await uploaderPayer(c.env, videoId, uploaderOf);
      const principal: Principal = {
        ...payer,
        scopes: new Set(['reconstruct']),
        via: 'signed-url',
        videoId,
        signedUntil: check.expiresAt,
        urlBinding: { mintedBy: check.mintedBy ?? undefined, keyId: check.keyId ?? undefined },
        // Not bound to a key: each viewer's address is limited too, on top of the payer.
        ...(check.keyId === null ? { viewerIp: `ip:${viewerAddress(c.env, c.req.header('CF-Connecting-IP'))}` } : {}),
      };
      c.set('principal', principal);
      return next();
    },
    requireScope('reconstruct'),
    rateLimit(),
    meterUsage(),
  );

type UrlPayer = Pick<Principal, 'keyId' | 'owner' | 'limits'>;

/**
 * The key a signed URL charges: the one that minted it (or, for a URL minted before `mk` existed, the
 * key it was bound to). A revoked or expired minting key ends its URLs (403).
 */
async function signedUrlPayer(env: Env, keyId: string): Promise<UrlPayer> {
  if (keyId === ADMIN_PRINCIPAL.keyId) return ADMIN_PRINCIPAL;
  const row = await activeKey(env.DB, keyId);
  if (row === null) throw new ApiError(403, 'revoked_signature', 'the key that minted this URL has been revoked or has expired');
  const { owner, limits } = principalOf(row);
  return { keyId, owner, limits };
}

/**
 * Who pays for a URL signed before URLs named a key (neither `mk` nor `kid`): the video's uploader, as
 * its encode was charged — the key with that id under its limits, or an owner name shared by several
 * keys under the default limits; a revoked or expired uploader key ends such URLs as it ends the URLs it
 * minted. (Such URLs were charged to each viewer's address, each at a full default daily GPU quota.)
 */
async function uploaderPayer(env: Env, videoId: string, uploaderOf: UploaderOf): Promise<UrlPayer> {
  const owner = await uploaderOf(env, videoId);
  if (owner === null) throw notFound('video');
  if (owner === ADMIN_PRINCIPAL.keyId) return ADMIN_PRINCIPAL;
  const row = await cachedKey(env.DB, owner);
  if (row === null) return { keyId: owner, owner, limits: { requestsPerMinute: null, gpuSecondsPerDay: null } };
  if (!isActive(row)) throw new ApiError(403, 'revoked_signature', 'the key that uploaded this video has been revoked or has expired');
  const { limits } = principalOf(row);
  return { keyId: owner, owner: row.owner, limits };
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
