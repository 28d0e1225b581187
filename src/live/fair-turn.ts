/**
 * Fair turns between owners on the live queue, as on the encode queue (jobs/fair-turn.ts): an owner one of whose
 * chunks started coding after another owner's chunk was received, while that chunk still waits, has had its turn;
 * its next chunk steps back (one second, at most LIVE_MAX_STEP_BACKS times, so a stream stays near real time).
 */
export async function liveShouldStepBack(db: D1Database, videoId: string, n: number, owner: string): Promise<boolean> {
  const waiting = await db
    .prepare(
      `SELECT 1 FROM live_chunks c JOIN videos v ON v.id = c.video_id
        WHERE c.status = 'received' AND c.attempts = 0 AND v.owner != ?1
          AND EXISTS (SELECT 1 FROM live_chunks d JOIN videos w ON w.id = d.video_id
                       WHERE w.owner = ?1 AND NOT (d.video_id = ?2 AND d.n = ?3) AND d.started_at >= c.received_at)
        LIMIT 1`,
    )
    .bind(owner, videoId, n)
    .first();
  return waiting !== null;
}
