import type { z } from 'zod';
import { newId } from '../http/ids';
import type { KeyView } from './key-view';
import type { Principal, Scope } from './principal';
import { timingSafeEqualBytes } from '../http/timing-safe';
import { KEY_CACHE_TTL_MS } from './key-cache';

/** Secrets look like `cmvc_sk_` + 43 base64url characters (256 random bits). */
export const SECRET_PREFIX = 'cmvc_sk_';

export interface KeyRow {
  id: string;
  name: string;
  owner: string;
  secret_prefix: string;
  secret_hash: string;
  scopes: string;
  requests_per_minute: number | null;
  gpu_seconds_per_day: number | null;
  storage_bytes: number | null;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

export interface NewKey {
  name: string;
  scopes: Scope[];
  owner?: string;
  expiresAt?: number | null;
  requestsPerMinute?: number | null;
  gpuSecondsPerDay?: number | null;
  storageBytes?: number | null;
}

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text: string) => new Uint8Array(text.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return SECRET_PREFIX + btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Creates a key; the secret is returned here once and stored only as its hash. */
export async function createKey(db: D1Database, input: NewKey, createdBy: string, now = Date.now()): Promise<{ row: KeyRow; secret: string }> {
  const id = newId('key');
  const secret = randomSecret();
  const row: KeyRow = {
    id,
    name: input.name,
    owner: input.owner ?? id,
    secret_prefix: secret.slice(0, 12),
    secret_hash: hex(await sha256(secret)),
    scopes: JSON.stringify([...new Set(input.scopes)].sort()),
    requests_per_minute: input.requestsPerMinute ?? null,
    gpu_seconds_per_day: input.gpuSecondsPerDay ?? null,
    storage_bytes: input.storageBytes ?? null,
    created_by: createdBy,
    created_at: now,
    expires_at: input.expiresAt ?? null,
    revoked_at: null,
  };
  const columns = Object.keys(row);
  await db
    .prepare(`INSERT INTO api_keys (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
    .bind(...Object.values(row))
    .run();
  return { row, secret };
}

export async function listKeys(db: D1Database): Promise<KeyRow[]> {
  return (await db.prepare('SELECT * FROM api_keys ORDER BY created_at DESC, id DESC').all<KeyRow>()).results;
}

export function getKey(db: D1Database, id: string): Promise<KeyRow | null> {
  return db.prepare('SELECT * FROM api_keys WHERE id = ?').bind(id).first<KeyRow>();
}

/** Revokes a key at once in D1; isolates that cached it stop trusting it within KEY_CACHE_TTL_MS. */
export async function revokeKey(db: D1Database, id: string, now = Date.now()): Promise<boolean> {
  const result = await db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').bind(now, id).run();
  lookups.clear();
  return result.meta.changes > 0;
}

export type KeyCheck = { ok: true; principal: Principal; row: KeyRow } | { ok: false; code: 'invalid_api_key' | 'revoked_api_key' | 'expired_api_key' };

const lookups = new Map<string, { row: KeyRow | null; at: number }>();

/** Finds the key whose secret this is (by its hash, compared in constant time) and says whether it may be used. */
export async function checkSecret(db: D1Database, secret: string, now = Date.now()): Promise<KeyCheck> {
  if (!secret.startsWith(SECRET_PREFIX)) return { ok: false, code: 'invalid_api_key' };
  const digest = await sha256(secret);
  const hash = hex(digest);
  let cached = lookups.get(hash);
  if (!cached || now - cached.at > KEY_CACHE_TTL_MS) {
    cached = { row: await db.prepare('SELECT * FROM api_keys WHERE secret_hash = ?').bind(hash).first<KeyRow>(), at: now };
    if (lookups.size > 1000) lookups.clear();
    lookups.set(hash, cached);
  }
  const row = cached.row;
  if (row === null || !timingSafeEqualBytes(fromHex(row.secret_hash), digest)) return { ok: false, code: 'invalid_api_key' };
  if (row.revoked_at !== null) return { ok: false, code: 'revoked_api_key' };
  if (row.expires_at !== null && row.expires_at <= now) return { ok: false, code: 'expired_api_key' };
  return { ok: true, row, principal: principalOf(row) };
}

export function principalOf(row: KeyRow): Principal {
  return {
    keyId: row.id,
    owner: row.owner,
    scopes: new Set(JSON.parse(row.scopes) as Scope[]),
    via: 'api-key',
    limits: { requestsPerMinute: row.requests_per_minute, gpuSecondsPerDay: row.gpu_seconds_per_day, storageBytes: row.storage_bytes },
    keyExpiresAt: row.expires_at,
  };
}

/** The key with this id, revoked or not (null: none), from this isolate's memory for KEY_CACHE_TTL_MS like secret lookups. */
export async function cachedKey(db: D1Database, id: string, now = Date.now()): Promise<KeyRow | null> {
  const cacheKey = `id:${id}`;
  let cached = lookups.get(cacheKey);
  if (!cached || now - cached.at > KEY_CACHE_TTL_MS) {
    cached = { row: await getKey(db, id), at: now };
    if (lookups.size > 1000) lookups.clear();
    lookups.set(cacheKey, cached);
  }
  return cached.row;
}

/** Whether a key may still be used: not revoked, not expired. */
export const isActive = (row: KeyRow, now = Date.now()) => row.revoked_at === null && (row.expires_at === null || row.expires_at > now);

/** The key with this id if it is still usable (not revoked, not expired), else null; cached like secret lookups. */
export async function activeKey(db: D1Database, id: string, now = Date.now()): Promise<KeyRow | null> {
  const row = await cachedKey(db, id, now);
  return row !== null && isActive(row, now) ? row : null;
}

export function keyView(row: KeyRow): z.infer<typeof KeyView> {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    prefix: row.secret_prefix,
    scopes: JSON.parse(row.scopes) as Scope[],
    limits: { requestsPerMinute: row.requests_per_minute, gpuSecondsPerDay: row.gpu_seconds_per_day, storageBytes: row.storage_bytes },
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at).toISOString(),
  };
}
