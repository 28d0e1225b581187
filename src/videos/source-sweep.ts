/**
 * Sources of failed encodes are kept for a grace period (`FAILED_SOURCE_GRACE_SECONDS`, default one
 * day: time to look into the failure), then deleted unless the upload asked `keepSource`. Run by the
 * Worker's cron trigger.
 */

const DEFAULT_GRACE_SECONDS = 86_400;
/** Sources deleted per run at most; the next run takes the rest. */
const SWEEP_BATCH = 200;

export function failedSourceGraceMs(env: Env): number {
  const seconds = Number(env.FAILED_SOURCE_GRACE_SECONDS);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_GRACE_SECONDS) * 1000;
}

/** Deletes the sources of videos that failed more than the grace period ago; returns how many. */
export async function sweepFailedSources(env: Env, now = Date.now()): Promise<number> {
  const { results } = await env.DB.prepare(
    `SELECT id, source_key FROM videos
      WHERE status = 'failed' AND keep_source = 0 AND source_key IS NOT NULL AND updated_at <= ?
      LIMIT ?`,
  )
    .bind(now - failedSourceGraceMs(env), SWEEP_BATCH)
    .all<{ id: string; source_key: string }>();
  if (results.length === 0) return 0;
  await env.BUCKET.delete(results.map((r) => r.source_key));
  await env.DB.batch(results.map((r) => env.DB.prepare(`UPDATE videos SET source_key = NULL, source_bytes = 0 WHERE id = ? AND source_key = ?`).bind(r.id, r.source_key)));
  return results.length;
}
