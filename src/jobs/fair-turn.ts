/**
 * Fair turns between keys on the encode queue. The queue hands out messages in order, so ten quick
 * uploads by one owner would run before another owner's one. An owner whose encode started (or ran)
 * after another owner's job was queued has had its turn: its next job steps back behind the waiting one.
 */

/** How long a job that steps back waits before it is offered again, in seconds. */
export const STEP_BACK_DELAY_SECONDS = 1;
/** A job steps back at most this many times, so a job left `queued` by accident blocks nobody for long. */
export const MAX_STEP_BACKS = 60;

/** Whether job `jobId` of `owner` should let another owner's waiting job go first. */
export async function shouldStepBack(db: D1Database, jobId: string, owner: string): Promise<boolean> {
  const waiting = await db
    .prepare(
      `SELECT 1 FROM jobs j JOIN videos v ON v.id = j.video_id
        WHERE j.status = 'queued' AND j.attempts = 0 AND v.owner != ?1 AND j.id != ?2
          AND EXISTS (SELECT 1 FROM jobs k JOIN videos w ON w.id = k.video_id
                       WHERE w.owner = ?1 AND k.id != ?2 AND k.attempts >= 1 AND k.updated_at >= j.created_at)
        LIMIT 1`,
    )
    .bind(owner, jobId)
    .first();
  return waiting !== null;
}
