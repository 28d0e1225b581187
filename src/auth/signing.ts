import { timingSafeEqualBytes } from '../http/timing-safe';

/**
 * The Worker's one HMAC-SHA256 signer. Every URL it signs (reconstruction URLs, signed-url.ts; the transfer URLs of
 * artifacts and bitstreams and the source URLs GPU functions read, storage/) is signed with the current secret, the
 * first of `URL_SIGNING_SECRET` (comma-separated), and verified against every secret listed: a secret put in front
 * rotates the setting while URLs signed with the one before are still in flight, and dropping a secret ends them.
 */

const encoder = new TextEncoder();

/** The secrets of a `URL_SIGNING_SECRET` setting: comma-separated, the first one signs, all of them verify. */
export function signingSecrets(setting: string): string[] {
  const secrets = setting.split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.length === 0) throw new Error('URL_SIGNING_SECRET is empty');
  return secrets;
}

/** Each secret's imported HMAC key, imported once per isolate: every signed request verifies with them. */
const hmacKeys = new Map<string, Promise<CryptoKey>>();

async function hmac(secret: string, message: string): Promise<Uint8Array> {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    if (hmacKeys.size >= 16) hmacKeys.clear(); // secrets rotate; a few are valid at once
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    hmacKeys.set(secret, key);
  }
  return new Uint8Array(await crypto.subtle.sign('HMAC', await key, encoder.encode(message)));
}

/** How a MAC is written into a URL. */
export type MacEncoding = (mac: Uint8Array) => string;
export const hexMac: MacEncoding = (mac) => Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('');
export const base64UrlMac: MacEncoding = (mac) => btoa(String.fromCharCode(...mac)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The MAC of `message` under the current secret of `setting`, as `encode` writes it. */
export async function sign(setting: string, message: string, encode: MacEncoding): Promise<string> {
  return encode(await hmac(signingSecrets(setting)[0] as string, message));
}

/**
 * Whether `given` is the MAC of `message` under any secret of `setting`, as `encode` writes it. The written forms are
 * compared, each in constant time and every secret every time: a decoded comparison would accept several spellings
 * of one MAC where an encoding has spare bits (base64's last character).
 */
export async function verify(setting: string, message: string, given: string, encode: MacEncoding): Promise<boolean> {
  const written = encoder.encode(given);
  let valid = false;
  for (const secret of signingSecrets(setting)) valid = timingSafeEqualBytes(encoder.encode(encode(await hmac(secret, message))), written) || valid;
  return valid;
}
