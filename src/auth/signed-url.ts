/**
 * Signed reconstruction URLs: `…?{options}&exp={unix seconds}&mk={minting key id}[&kid={key id}][&adj={names}]&sig={base64url HMAC-SHA256}`.
 * `mk` names the key that minted the URL: its GPU time, quota and rate limit pay for the URL, and
 * revoking it ends the URL. `kid` (bindToKey) marks a URL for the key's own players: no per-viewer
 * limit on top. URLs minted before `mk` existed carry neither or only `kid` and keep working until
 * they expire.
 * The MAC covers the method-independent canonical form `{path}\n{query}`, where the query is every
 * parameter but `sig`, sorted by name then value, each percent-encoded as by encodeURIComponent.
 * Verification re-parses the URL structurally and recomputes over the same form; several secrets may
 * be valid at once (the first signs), so secrets can rotate.
 * `adj` (signed itself) names parameters the holder may set or change without a new signature: only those in
 * ADJUSTABLE_PARAMS (a bitstream player choosing each segment and its rate), which the MAC then leaves out. The
 * parameters' names are declared in shared/signed-url-params.ts.
 */
import { ADJUSTABLE_PARAM, ADJUSTABLE_PARAMS, EXPIRY_PARAM, KEY_ID_PARAM, MINTER_PARAM, SIGNATURE_PARAM } from '../shared/signed-url-params';
import { base64UrlMac, sign, verify } from './signing';

/** Longest lifetime of a signed URL, in seconds (one year). */
export const MAX_SIGNED_URL_SECONDS = 365 * 24 * 3600;

export function canonicalSigningInput(path: string, params: URLSearchParams, adjustable: readonly string[] = []): string {
  const pairs = [...params].filter(([name]) => name !== SIGNATURE_PARAM && !adjustable.includes(name)).sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return `${path}\n${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
}

const SIGNATURE_FORM = /^[A-Za-z0-9_-]{43}$/;

/** Who a URL is signed for: the key that minted it (pays, can revoke) and, when bound, the key whose players use it. */
export interface UrlBinding {
  mintedBy?: string;
  keyId?: string;
  /** Parameters (of ADJUSTABLE_PARAMS) the holder may set without a new signature. */
  adjustable?: readonly (typeof ADJUSTABLE_PARAMS)[number][];
}

/**
 * Signs `path` with `options` under the current secret of `setting` (URL_SIGNING_SECRET), valid until `expiresAt` (unix
 * seconds), carrying the minting key and an optional binding.
 */
export async function signUrl(setting: string, path: string, options: Record<string, string>, expiresAt: number, binding: UrlBinding = {}): Promise<string> {
  const params = new URLSearchParams(options);
  params.set(EXPIRY_PARAM, String(expiresAt));
  if (binding.mintedBy !== undefined) params.set(MINTER_PARAM, binding.mintedBy);
  if (binding.keyId !== undefined) params.set(KEY_ID_PARAM, binding.keyId);
  const adjustable = binding.adjustable ?? [];
  if (adjustable.length > 0) {
    params.set(ADJUSTABLE_PARAM, [...adjustable].sort().join('.'));
    for (const name of adjustable) params.delete(name);
  }
  const sig = await sign(setting, canonicalSigningInput(path, params), base64UrlMac);
  const query = canonicalSigningInput('', params).slice(1);
  return `${path}?${query}&${SIGNATURE_PARAM}=${sig}`;
}

export type SignatureCheck =
  | { ok: true; expiresAt: number; keyId: string | null; mintedBy: string | null; adjustable: string[] }
  | { ok: false; code: 'invalid_signature' | 'expired_signature' | 'malformed_signature' };

/** Verifies a signed URL in constant time against every secret of `setting` (URL_SIGNING_SECRET). */
export async function verifySignedUrl(setting: string, url: URL, nowSeconds = Date.now() / 1000): Promise<SignatureCheck> {
  const params = url.searchParams;
  const sigs = params.getAll(SIGNATURE_PARAM);
  const exps = params.getAll(EXPIRY_PARAM);
  const kids = params.getAll(KEY_ID_PARAM);
  const minters = params.getAll(MINTER_PARAM);
  const adjs = params.getAll(ADJUSTABLE_PARAM);
  if (sigs.length !== 1 || exps.length !== 1 || kids.length > 1 || minters.length > 1 || adjs.length > 1 || !/^\d{1,12}$/.test(exps[0] as string)) return { ok: false, code: 'malformed_signature' };
  if (!SIGNATURE_FORM.test(sigs[0] as string)) return { ok: false, code: 'malformed_signature' };
  const adjustable = adjs.length === 0 ? [] : (adjs[0] as string).split('.');
  if (!adjustable.every((name) => (ADJUSTABLE_PARAMS as readonly string[]).includes(name))) return { ok: false, code: 'malformed_signature' };
  const valid = await verify(setting, canonicalSigningInput(url.pathname, params, adjustable), sigs[0] as string, base64UrlMac);
  if (!valid) return { ok: false, code: 'invalid_signature' };
  const expiresAt = Number(exps[0]);
  if (expiresAt <= nowSeconds) return { ok: false, code: 'expired_signature' };
  return { ok: true, expiresAt, keyId: kids[0] ?? null, mintedBy: minters[0] ?? null, adjustable };
}
