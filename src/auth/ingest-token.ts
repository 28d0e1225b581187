/**
 * Ingest tokens: a credential for one live video's ingest routes and nothing else, so a broadcasting page never
 * holds an API key. `cmvc_it_` + 43 base64url characters (256 random bits), shown once when the stream starts and
 * stored only as its SHA-256.
 */
export const INGEST_TOKEN_PREFIX = 'cmvc_it_';

const encoder = new TextEncoder();

export function mintIngestToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return INGEST_TOKEN_PREFIX + btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Hex SHA-256 of a token: what is stored and compared. */
export async function ingestTokenHash(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(token)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export const isIngestToken = (secret: string) => secret.startsWith(INGEST_TOKEN_PREFIX);
