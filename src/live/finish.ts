import { jobForVideo, updateJob } from '../videos/store';
import { getLive } from './store';

/** What a live stream did not do as asked but that did not stop it; reported in its job's `warnings`. */
export interface LiveWarning {
  code: 'chunk_missing' | 'chunk_failed' | 'chunk_geometry_changed';
  message: string;
}

/** The job keeps at most this many warnings (a long stream that loses many chunks reports the first ones and a count). */
const MAX_WARNINGS = 32;

/** Adds `warnings` to the live video's job. */
export async function addWarnings(env: Env, videoId: string, warnings: readonly LiveWarning[]): Promise<void> {
  if (warnings.length === 0) return;
  const job = await jobForVideo(env.DB, videoId);
  if (job === null) return;
  const all = [...(job.warnings ? (JSON.parse(job.warnings) as LiveWarning[]) : []), ...warnings];
  await updateJob(env.DB, job.id, { warnings: JSON.stringify(all.slice(0, MAX_WARNINGS)) });
}

/**
 * Once an ending stream has nothing left to code or append: the video becomes ordinary (`succeeded`, its bitstream
 * immutable from now on) — or `failed` (`live_empty`) when no chunk was ever coded — and its job ends with it.
 */
export async function finishIfSettled(env: Env, videoId: string): Promise<void> {
  const now = Date.now();
  const settled = await env.DB.prepare(
    `UPDATE live_streams SET state = 'ended', ended_at = ?, updated_at = ?
      WHERE video_id = ? AND state = 'ending'
        AND NOT EXISTS (SELECT 1 FROM live_chunks WHERE video_id = ? AND status IN ('received', 'coding', 'coded'))`,
  )
    .bind(now, now, videoId, videoId)
    .run();
  if ((settled.meta.changes ?? 0) === 0) return;
  const live = await getLive(env.DB, videoId);
  const job = await jobForVideo(env.DB, videoId);
  const empty = (live?.segments_coded ?? 0) === 0;
  const error = empty ? { error_code: 'live_empty', error_message: 'the stream ended before any chunk was coded' } : { error_code: null, error_message: null };
  await env.DB.batch([
    env.DB.prepare(`UPDATE videos SET status = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?`).bind(empty ? 'failed' : 'succeeded', error.error_code, error.error_message, now, videoId),
    ...(job === null ? [] : [env.DB.prepare(`UPDATE jobs SET status = ?, progress = 1, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?`).bind(empty ? 'failed' : 'succeeded', error.error_code, error.error_message, now, job.id)]),
  ]);
}
