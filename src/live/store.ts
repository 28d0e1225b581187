/** D1 access for live streams and their chunks (migrations/0007_live.sql). Times are Unix milliseconds. */

export type LiveState = 'live' | 'ending' | 'ended';
export type ChunkStatus = 'received' | 'coding' | 'coded' | 'failed' | 'appended' | 'skipped';

export interface LiveRow {
  video_id: string;
  token_hash: string;
  state: LiveState;
  charge_to: string;
  newest_chunk: number | null;
  next_append: number;
  frames_coded: number;
  segments_coded: number;
  chunks_skipped: number;
  writer: string | null;
  end_reason: 'ended' | 'idle' | null;
  last_chunk_at: number | null;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
}

export interface ChunkRow {
  video_id: string;
  n: number;
  sha256: string;
  bytes: number;
  content_type: string;
  status: ChunkStatus;
  attempts: number;
  gpu_call_id: string | null;
  first_segment: number | null;
  segment_count: number | null;
  width: number | null;
  height: number | null;
  error_code: string | null;
  error_message: string | null;
  received_at: number;
  started_at: number | null;
  coded_at: number | null;
}

export function getLive(db: D1Database, videoId: string) {
  return db.prepare('SELECT * FROM live_streams WHERE video_id = ?').bind(videoId).first<LiveRow>();
}

export function getChunk(db: D1Database, videoId: string, n: number) {
  return db.prepare('SELECT * FROM live_chunks WHERE video_id = ? AND n = ?').bind(videoId, n).first<ChunkRow>();
}

/** Chunks `from` and after, in order. */
export async function chunksFrom(db: D1Database, videoId: string, from: number): Promise<ChunkRow[]> {
  const { results } = await db.prepare('SELECT * FROM live_chunks WHERE video_id = ? AND n >= ? ORDER BY n').bind(videoId, from).all<ChunkRow>();
  return results;
}

export async function updateChunk(db: D1Database, videoId: string, n: number, fields: Partial<Omit<ChunkRow, 'video_id' | 'n'>>): Promise<void> {
  const entries = Object.entries(fields);
  await db
    .prepare(`UPDATE live_chunks SET ${entries.map(([k]) => `${k} = ?`).join(', ')} WHERE video_id = ? AND n = ?`)
    .bind(...entries.map(([, v]) => v), videoId, n)
    .run();
}

export async function updateLive(db: D1Database, videoId: string, fields: Partial<Omit<LiveRow, 'video_id'>>, now = Date.now()): Promise<void> {
  const entries = Object.entries(fields);
  await db
    .prepare(`UPDATE live_streams SET ${entries.map(([k]) => `${k} = ?`).join(', ')}, updated_at = ? WHERE video_id = ?`)
    .bind(...entries.map(([, v]) => v), now, videoId)
    .run();
}

/** What the live view shows: the state, the segments coded so far, and the chunks. */
export async function chunkCounts(db: D1Database, videoId: string): Promise<Record<ChunkStatus, number>> {
  const { results } = await db.prepare('SELECT status, COUNT(*) AS n FROM live_chunks WHERE video_id = ? GROUP BY status').bind(videoId).all<{ status: ChunkStatus; n: number }>();
  const counts: Record<ChunkStatus, number> = { received: 0, coding: 0, coded: 0, failed: 0, appended: 0, skipped: 0 };
  for (const row of results) counts[row.status] = row.n;
  return counts;
}

/** What the video's view shows of its stream (videos/views.ts `LiveFacts`); null for a video not started live. */
export async function liveFacts(db: D1Database, videoId: string): Promise<(LiveRow & { chunksReceived: number; chunksCoding: number }) | null> {
  const live = await getLive(db, videoId);
  if (live === null) return null;
  const counts = await chunkCounts(db, videoId);
  const received = Object.values(counts).reduce((a, b) => a + b, 0);
  return { ...live, chunksReceived: received, chunksCoding: counts.received + counts.coding + counts.coded };
}

/** liveFacts of several videos at once (a page of the list), by id; videos not started live are absent. */
export async function liveFactsOf(db: D1Database, videoIds: readonly string[]): Promise<Map<string, LiveRow & { chunksReceived: number; chunksCoding: number }>> {
  const out = new Map<string, LiveRow & { chunksReceived: number; chunksCoding: number }>();
  if (videoIds.length === 0) return out;
  const marks = videoIds.map(() => '?').join(', ');
  const { results } = await db
    .prepare(
      `SELECT s.*, (SELECT COUNT(*) FROM live_chunks c WHERE c.video_id = s.video_id) AS chunksReceived,
              (SELECT COUNT(*) FROM live_chunks c WHERE c.video_id = s.video_id AND c.status IN ('received', 'coding', 'coded')) AS chunksCoding
         FROM live_streams s WHERE s.video_id IN (${marks})`,
    )
    .bind(...videoIds)
    .all<LiveRow & { chunksReceived: number; chunksCoding: number }>();
  for (const row of results) out.set(row.video_id, row);
  return out;
}
