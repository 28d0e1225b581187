export const SCOPES = ['encode', 'read', 'reconstruct', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface KeyLimits {
  /** Requests per minute; null for the default. */
  requestsPerMinute: number | null;
  /** GPU seconds a day; null for the default. */
  gpuSecondsPerDay: number | null;
}

/** Who is calling: an API key's id and rights, or the bearer of a signed URL. */
export interface Principal {
  /** The key id, 'admin' for the bootstrap key, or 'ip:<address>' for an unbound signed URL. */
  keyId: string;
  owner: string;
  scopes: ReadonlySet<Scope>;
  via: 'api-key' | 'signed-url';
  limits: KeyLimits;
  /** For a signed URL: the one video it opens, and until when (unix seconds). */
  videoId?: string;
  signedUntil?: number;
}

export const ADMIN_PRINCIPAL: Principal = {
  keyId: 'admin',
  owner: 'admin',
  scopes: new Set(SCOPES),
  via: 'api-key',
  limits: { requestsPerMinute: null, gpuSecondsPerDay: null },
};
