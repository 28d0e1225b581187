import { timingSafeEqualBytes } from '../http/timing-safe';

const encoder = new TextEncoder();
export const SOURCE_URL_PATH = '/internal/sources/';

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)));
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** A short-lived URL from which the GPU function fetches an uploaded source (`expiresIn` in seconds). */
export async function signSourceUrl(origin: string, secret: string, videoId: string, expiresIn: number, now = Date.now()): Promise<string> {
  const exp = Math.floor(now / 1000) + expiresIn;
  const sig = hex(await hmac(secret, `source:${videoId}:${exp}`));
  return `${origin.replace(/\/+$/, '')}${SOURCE_URL_PATH}${videoId}?exp=${exp}&sig=${sig}`;
}

export async function verifySourceUrl(secret: string, videoId: string, exp: string | undefined, sig: string | undefined, now = Date.now()): Promise<boolean> {
  if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return false;
  if (Number(exp) < now / 1000) return false;
  const expected = await hmac(secret, `source:${videoId}:${exp}`);
  const given = new Uint8Array(sig.match(/../g)!.map((h) => parseInt(h, 16)));
  return timingSafeEqualBytes(expected, given);
}
