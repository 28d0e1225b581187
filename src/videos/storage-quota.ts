import { ApiError } from '../http/errors';

/** Bytes an owner stores: sources not yet deleted plus bitstreams. */
export async function storedBytes(db: D1Database, owner: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COALESCE(SUM(CASE WHEN source_key IS NULL THEN 0 ELSE source_bytes END), 0) + COALESCE(SUM(bitstream_bytes), 0) AS bytes FROM videos WHERE owner = ?`)
    .bind(owner)
    .first<{ bytes: number }>();
  return row?.bytes ?? 0;
}

/** The bytes the uploading key's owner may store: the key's own `storageBytes` when the admin set one, else `STORAGE_BYTES_PER_OWNER`. */
export const storageQuotaBytes = (env: Env, limits: { storageBytes?: number | null }) => limits.storageBytes ?? Number(env.STORAGE_BYTES_PER_OWNER);

/**
 * Refuses an upload of `uploadBytes` by `principal` that would take its owner's stored bytes past
 * the quota (storageQuotaBytes): 413 `storage_quota_exceeded` with `{ usedBytes, uploadBytes,
 * quotaBytes }`. The bootstrap admin key is not limited.
 */
export async function checkStorageQuota(env: Env, principal: { owner: string; limits: { storageBytes?: number | null } }, uploadBytes: number): Promise<void> {
  const owner = principal.owner;
  if (owner === 'admin') return;
  const quota = storageQuotaBytes(env, principal.limits);
  const used = await storedBytes(env.DB, owner);
  if (used + uploadBytes <= quota) return;
  throw new ApiError(413, 'storage_quota_exceeded', `this upload of ${uploadBytes} bytes would take the key's stored bytes (${used}) past its quota of ${quota}; delete videos to make room`, {
    details: { usedBytes: used, uploadBytes, quotaBytes: quota },
  });
}
