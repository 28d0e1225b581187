const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/** A random, URL-safe id with a readable prefix: `vid_` + 26 chars (130 bits). */
export function newId(prefix: 'vid' | 'job' | 'key'): string {
  const bytes = crypto.getRandomValues(new Uint8Array(26));
  let out = `${prefix}_`;
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

export const ID_PATTERN = /^(vid|job|key)_[0-9a-hjkmnp-tv-z]{26}$/;
