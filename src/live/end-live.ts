import { appendReady } from './append';

/**
 * Ends a live stream (`POST {ingest.url}/end`, or LIVE_IDLE_SECONDS without a chunk): it takes no more chunks; the
 * chunks received are still coded and appended, chunks that never came are passed over, and once nothing is left
 * to code it becomes an ordinary video. Ending an ended stream changes nothing.
 */
export async function endLive(env: Env, videoId: string, reason: 'ended' | 'idle'): Promise<void> {
  const now = Date.now();
  await env.DB.prepare(`UPDATE live_streams SET state = 'ending', end_reason = ?, updated_at = ? WHERE video_id = ? AND state = 'live'`).bind(reason, now, videoId).run();
  await appendReady(env, videoId);
}
