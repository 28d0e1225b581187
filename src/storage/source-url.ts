import { hexMac, sign, verify } from '../auth/signing';

export const SOURCE_URL_PATH = '/internal/sources/';

const signedMessage = (videoId: string, exp: number | string) => `source:${videoId}:${exp}`;

/**
 * A short-lived URL from which the GPU function fetches an uploaded source (`expiresIn` in seconds), signed with the
 * current secret of `setting` (URL_SIGNING_SECRET): it stays valid when the setting rotates before it is fetched.
 */
export async function signSourceUrl(origin: string, setting: string, videoId: string, expiresIn: number, now = Date.now()): Promise<string> {
  const exp = Math.floor(now / 1000) + expiresIn;
  const sig = await sign(setting, signedMessage(videoId, exp), hexMac);
  return `${origin.replace(/\/+$/, '')}${SOURCE_URL_PATH}${videoId}?exp=${exp}&sig=${sig}`;
}

/** Whether `sig` signs the source of `videoId` until `exp` (unix seconds, not yet past), under any secret of `setting`. */
export async function verifySourceUrl(setting: string, videoId: string, exp: string | undefined, sig: string | undefined, now = Date.now()): Promise<boolean> {
  if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return false;
  if (Number(exp) < now / 1000) return false;
  return verify(setting, signedMessage(videoId, exp), sig, hexMac);
}
