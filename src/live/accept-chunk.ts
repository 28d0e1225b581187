import { checkBudget, payerByKeyId } from '../auth/gpu-budget';
import type { Principal } from '../auth/principal';
import { sha256Hex } from '../bitstream';
import { liveChunkKey } from '../cache/keys';
import { readBoundedBody } from '../http/bounded-read';
import { ApiError, badRequest } from '../http/errors';
import { estimateEncodeSeconds } from '../jobs/encode-estimate';
import { SNIFF_BYTES, sniffContainer, type SniffedContainer } from '../uploads/sniff';
import { checkStorageQuota } from '../videos/storage-quota';
import { LIVE_CHUNK_MAX_BYTES, LIVE_CHUNK_TYPES, LIVE_MAX_AHEAD, LIVE_MAX_CHUNKS, LIVE_REORDER_WINDOW, type LiveChunkType } from './limits';
import type { LiveMessage } from './messages';
import { idleSeconds } from './start-live';
import { getChunk, getLive, type ChunkRow } from './store';

/** The container each chunk type must sniff as. */
const CONTAINER_OF: Record<LiveChunkType, SniffedContainer> = { 'video/webm': 'webm', 'video/mp4': 'mp4', 'video/mp2t': 'mpegts' };

export interface AcceptedChunk {
  chunk: ChunkRow;
  /** The same bytes had been received before: nothing new was stored or queued. */
  replayed: boolean;
}

/**
 * Accepts chunk `n` of a live video (`PUT {ingest.url}/{n}`): a self-contained `video/webm`, `video/mp4` or
 * `video/mp2t` of about two seconds, at most LIVE_CHUNK_MAX_BYTES. The same bytes again are a replay; other bytes
 * for a chunk received, a chunk more than LIVE_REORDER_WINDOW behind the newest (or already passed over), or one
 * more than LIVE_MAX_AHEAD past the next to append, are 409. Each chunk checks its encode against the payer's GPU
 * budget before anything is stored, is stored in R2, recorded, and queued on the live queue at once.
 */
export async function acceptChunk(env: Env, videoId: string, nParam: string, request: Request, principal: Principal): Promise<AcceptedChunk> {
  if (!/^\d{1,6}$/.test(nParam) || Number(nParam) > LIVE_MAX_CHUNKS) {
    throw badRequest('invalid_chunk_number', `the chunk number must be an integer in 0..${LIVE_MAX_CHUNKS}, got "${nParam}"`, { chunk: nParam });
  }
  const n = Number(nParam);
  const live = await getLive(env.DB, videoId);
  if (live === null) throw new ApiError(409, 'not_live', 'this video was not started live (POST /v1/videos?live=true)');
  const type = (request.headers.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() as LiveChunkType;
  if (!LIVE_CHUNK_TYPES.includes(type)) {
    throw new ApiError(415, 'unsupported_media_type', `a chunk is one self-contained ${LIVE_CHUNK_TYPES.join(', ')} file`, { details: { accepted: LIVE_CHUNK_TYPES } });
  }
  const bytes = await readBoundedBody(request, LIVE_CHUNK_MAX_BYTES, `a chunk is at most ${LIVE_CHUNK_MAX_BYTES} bytes`);
  const sha256 = await sha256Hex(bytes);
  const seen = await getChunk(env.DB, videoId, n);
  if (seen !== null) return sameOrConflict(seen, sha256);
  if (live.state !== 'live') {
    throw new ApiError(409, 'live_ended', `the stream has ${live.state === 'ended' ? 'ended' : 'been ended'} (${live.end_reason ?? 'ended'}); it takes no more chunks`, { details: { state: live.state } });
  }
  if (n < live.next_append || (live.newest_chunk !== null && n < live.newest_chunk - LIVE_REORDER_WINDOW)) {
    throw new ApiError(409, 'chunk_too_late', `chunk ${n} comes too late: chunks may arrive at most ${LIVE_REORDER_WINDOW} behind the newest (${live.newest_chunk}), and the stream has moved past ${live.next_append - 1}`, {
      details: { chunk: n, newest: live.newest_chunk, window: LIVE_REORDER_WINDOW },
    });
  }
  if (n > live.next_append + LIVE_MAX_AHEAD) {
    throw new ApiError(409, 'chunk_too_far_ahead', `chunk ${n} is more than ${LIVE_MAX_AHEAD} past the next chunk the stream needs (${live.next_append})`, {
      details: { chunk: n, next: live.next_append, maxAhead: LIVE_MAX_AHEAD },
    });
  }
  const container = sniffContainer(bytes.subarray(0, SNIFF_BYTES));
  if (container !== CONTAINER_OF[type]) {
    throw new ApiError(415, 'not_a_video', `chunk ${n} is not a ${type} file${container === null ? '' : ` (it reads as ${container})`}`, { details: { chunk: n } });
  }
  await checkBudget(env, await payerByKeyId(env, live.charge_to), estimateEncodeSeconds(env.GPU_ENGINE, bytes.byteLength));
  await checkStorageQuota(env, principal, bytes.byteLength);

  const now = Date.now();
  await env.BUCKET.put(liveChunkKey(videoId, n), bytes, { httpMetadata: { contentType: type }, sha256 });
  const [inserted] = await env.DB.batch([
    env.DB.prepare(`INSERT INTO live_chunks (video_id, n, sha256, bytes, content_type, status, received_at) VALUES (?, ?, ?, ?, ?, 'received', ?) ON CONFLICT DO NOTHING`).bind(
      videoId,
      n,
      sha256,
      bytes.byteLength,
      type,
      now,
    ),
    // changes(): the statement before changed a row (the chunk is new), so a lost race counts nothing twice
    env.DB.prepare(`UPDATE live_streams SET newest_chunk = MAX(COALESCE(newest_chunk, -1), ?), last_chunk_at = ?, updated_at = ? WHERE video_id = ? AND changes() = 1`).bind(n, now, now, videoId),
    env.DB.prepare(`UPDATE videos SET source_bytes = source_bytes + ?, updated_at = ? WHERE id = ? AND changes() = 1`).bind(bytes.byteLength, now, videoId),
  ]);
  if ((inserted?.meta.changes ?? 0) === 0) {
    // the same chunk number was sent twice at once: the first write won, and this one is its replay or a conflict
    const winner = (await getChunk(env.DB, videoId, n)) as ChunkRow;
    return sameOrConflict(winner, sha256);
  }
  await env.LIVE_QUEUE.sendBatch([{ body: { kind: 'chunk', videoId, n } satisfies LiveMessage }, { body: { kind: 'idle', videoId } satisfies LiveMessage, delaySeconds: idleSeconds(env) }]);
  return { chunk: (await getChunk(env.DB, videoId, n)) as ChunkRow, replayed: false };
}

function sameOrConflict(seen: ChunkRow, sha256: string): AcceptedChunk {
  if (seen.sha256 === sha256) return { chunk: seen, replayed: true };
  throw new ApiError(409, 'chunk_conflict', `chunk ${seen.n} was already received with other bytes; a chunk is never replaced (send the next number)`, {
    details: { chunk: seen.n, sha256: seen.sha256 },
  });
}
