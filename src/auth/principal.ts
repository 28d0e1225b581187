import type { UrlBinding } from './signed-url';
export const SCOPES = ['encode', 'read', 'reconstruct', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface KeyLimits {
  /** Requests per minute; null for the default. */
  requestsPerMinute: number | null;
  /** GPU seconds a day; null for the default. */
  gpuSecondsPerDay: number | null;
  /** Bytes the key's owner may store, checked on the key's uploads; null (or absent) for `STORAGE_BYTES_PER_OWNER`. */
  storageBytes?: number | null;
}

/** Who is calling: an API key's id and rights, or the bearer of a signed URL. */
export interface Principal {
  /**
   * Who pays: the key id, 'admin' for the bootstrap key, the minting key for a signed URL, or for a
   * URL signed before URLs named a key, the video's uploader (its owner).
   */
  keyId: string;
  owner: string;
  scopes: ReadonlySet<Scope>;
  via: 'api-key' | 'signed-url';
  limits: KeyLimits;
  /** When the API key expires (ms since the epoch); null or absent: never. */
  keyExpiresAt?: number | null;
  /** For a signed URL: the one video it opens, and until when (unix seconds). */
  videoId?: string;
  signedUntil?: number;
  /** For a signed URL not bound to a key: the viewer's address, limited per minute on top of the minting key. */
  viewerIp?: string;
  /** For a signed URL: the keys it names (`mk`, `kid`), which URLs signed on its behalf (a playlist's) name too. */
  urlBinding?: UrlBinding;
}

export const ADMIN_PRINCIPAL: Principal = {
  keyId: 'admin',
  owner: 'admin',
  scopes: new Set(SCOPES),
  via: 'api-key',
  limits: { requestsPerMinute: null, gpuSecondsPerDay: null },
};
