/** D1 access for videos and their encode jobs. Times are Unix milliseconds. */

export type Status = 'queued' | 'running' | 'succeeded' | 'failed';

export interface VideoRow {
  id: string;
  owner: string;
  status: Status;
  source_key: string | null;
  source_bytes: number;
  source_type: string;
  filename: string | null;
  keep_source: number;
  options: string;
  bitstream_key: string | null;
  bitstream_hash: string | null;
  bitstream_bytes: number | null;
  /** Bytes of the bitstream's texts-only cut (every keyframe and the sound dropped). */
  rate_floor_bytes: number | null;
  /** JSON `{codec, channels, sampleRate, bytes}` of the bitstream's sound (v1.2); null: silent, or not ready. */
  audio: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
  frame_count: number | null;
  duration_seconds: number | null;
  segment_count: number | null;
  engine: string | null;
  error_code: string | null;
  error_message: string | null;
  /** R2 root of its artifacts when not its bitstream's hash: a video started live (fixed at its start); null otherwise. */
  artifact_root: string | null;
  created_at: number;
  updated_at: number;
}

/** Whether a video is live: started live and not yet an ordinary video (its bitstream grows; its view says `live`). */
export const isStreaming = (video: Pick<VideoRow, 'status' | 'artifact_root'>) => video.status === 'running' && video.artifact_root !== null;

export interface JobRow {
  id: string;
  video_id: string;
  kind: 'encode';
  status: Status;
  progress: number;
  attempts: number;
  gpu_call_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** JSON array of the encode's warnings (`{code, message}`); null: none. */
  warnings: string | null;
  created_at: number;
  updated_at: number;
}

export interface NewVideo {
  id: string;
  jobId: string;
  owner: string;
  sourceKey: string;
  sourceBytes: number;
  sourceType: string;
  filename: string | null;
  keepSource: boolean;
  options: unknown;
  idempotencyKey: string | null;
  /** What the Idempotency-Key is bound to (uploads/fingerprint.ts); stored as JSON beside it. */
  fingerprint?: unknown;
}

export async function insertVideoWithJob(db: D1Database, v: NewVideo, now = Date.now()): Promise<void> {
  const statements = [
    db
      .prepare(
        `INSERT INTO videos (id, owner, status, source_key, source_bytes, source_type, filename, keep_source, options, created_at, updated_at)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(v.id, v.owner, v.sourceKey, v.sourceBytes, v.sourceType, v.filename, v.keepSource ? 1 : 0, JSON.stringify(v.options), now, now),
    db
      .prepare(`INSERT INTO jobs (id, video_id, kind, status, created_at, updated_at) VALUES (?, ?, 'encode', 'queued', ?, ?)`)
      .bind(v.jobId, v.id, now, now),
  ];
  if (v.idempotencyKey !== null) {
    statements.push(
      db
        .prepare(`INSERT INTO idempotency_keys (owner, key, video_id, job_id, created_at, fingerprint) VALUES (?, ?, ?, ?, ?, ?)`)
        .bind(v.owner, v.idempotencyKey, v.id, v.jobId, now, v.fingerprint === undefined ? null : JSON.stringify(v.fingerprint)),
    );
  }
  await db.batch(statements);
}

export function findIdempotent(db: D1Database, owner: string, key: string) {
  return db
    .prepare(`SELECT video_id, job_id, fingerprint FROM idempotency_keys WHERE owner = ? AND key = ?`)
    .bind(owner, key)
    .first<{ video_id: string; job_id: string; fingerprint: string | null }>();
}

export function getVideo(db: D1Database, id: string) {
  return db.prepare(`SELECT * FROM videos WHERE id = ?`).bind(id).first<VideoRow>();
}

export function getJob(db: D1Database, id: string) {
  return db.prepare(`SELECT * FROM jobs WHERE id = ?`).bind(id).first<JobRow>();
}

export async function listVideos(db: D1Database, owner: string | null, limit: number, before: number | null) {
  const where: string[] = [];
  const args: unknown[] = [];
  if (owner !== null) {
    where.push('owner = ?');
    args.push(owner);
  }
  if (before !== null) {
    where.push('created_at < ?');
    args.push(before);
  }
  const sql = `SELECT * FROM videos ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
  const { results } = await db.prepare(sql).bind(...args, limit).all<VideoRow>();
  return results;
}

export async function updateJob(db: D1Database, id: string, fields: Partial<Omit<JobRow, 'id' | 'video_id' | 'kind' | 'created_at'>>, now = Date.now()) {
  const entries = Object.entries(fields);
  await db
    .prepare(`UPDATE jobs SET ${entries.map(([k]) => `${k} = ?`).join(', ')}, updated_at = ? WHERE id = ?`)
    .bind(...entries.map(([, v]) => v), now, id)
    .run();
}

export async function updateVideo(db: D1Database, id: string, fields: Partial<Omit<VideoRow, 'id' | 'owner' | 'created_at'>>, now = Date.now()) {
  const entries = Object.entries(fields);
  await db
    .prepare(`UPDATE videos SET ${entries.map(([k]) => `${k} = ?`).join(', ')}, updated_at = ? WHERE id = ?`)
    .bind(...entries.map(([, v]) => v), now, id)
    .run();
}

export function jobForVideo(db: D1Database, videoId: string) {
  return db.prepare(`SELECT * FROM jobs WHERE video_id = ? ORDER BY created_at DESC LIMIT 1`).bind(videoId).first<JobRow>();
}
