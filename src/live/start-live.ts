import { checkBudget, payerOf } from '../auth/gpu-budget';
import { ingestTokenHash, mintIngestToken } from '../auth/ingest-token';
import type { Principal } from '../auth/principal';
import { sha256Hex } from '../bitstream';
import { badRequest } from '../http/errors';
import { newId } from '../http/ids';
import { estimateEncodeSeconds } from '../jobs/encode-estimate';
import { parseUploadQuery } from '../uploads/upload-options';
import { findIdempotent } from '../videos/store';
import { LIVE_CHUNK_MAX_BYTES, LIVE_DEFAULT_FRAME_RATE, LIVE_FRAME_RATES } from './limits';
import type { LiveMessage } from './messages';

const IDEMPOTENCY_KEY = 'Idempotency-Key';
/** `source_type` of a live video: its chunks say their own types. */
export const LIVE_SOURCE_TYPE = 'application/x-cmvc-live';

export interface StartedLive {
  videoId: string;
  /** The ingest token, shown once (a replayed start mints a new one: the first answer was lost). */
  token: string;
  replayed: boolean;
}

/** The R2 root of a live video's artifacts: fixed when it starts, so its segments' artifacts survive its growth. */
export const liveArtifactRoot = (videoId: string) => sha256Hex(new TextEncoder().encode(`cmvc-live|${videoId}`));

/**
 * Starts a live video (`POST /v1/videos?live=true`): the encode options of an upload (`frameRate` one of
 * LIVE_FRAME_RATES, default LIVE_DEFAULT_FRAME_RATE), a video row that is `running` while live, its job, the live
 * stream with its ingest token's hash, and the first idle check. Refused when the key's GPU budget cannot code a chunk.
 */
export async function startLive(env: Env, request: Request, principal: Principal): Promise<StartedLive> {
  const params = new URL(request.url).searchParams;
  params.delete('live');
  if (!params.has('frameRate')) params.set('frameRate', String(LIVE_DEFAULT_FRAME_RATE));
  const options = parseUploadQuery(params);
  const frameRate = options.encode.frameRate as number;
  if (!(LIVE_FRAME_RATES as readonly number[]).includes(frameRate)) {
    throw badRequest('invalid_option', `option "frameRate" of a live video must be one of ${LIVE_FRAME_RATES.join(', ')} (a frame is then a whole number of 48-kHz samples)`, { option: 'frameRate' });
  }
  const idempotencyKey = request.headers.get(IDEMPOTENCY_KEY);
  if (idempotencyKey !== null && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters');
  }
  const token = mintIngestToken();
  const tokenHash = await ingestTokenHash(token);
  const now = Date.now();
  if (idempotencyKey !== null) {
    const seen = await findIdempotent(env.DB, principal.owner, idempotencyKey);
    if (seen) {
      // only the hash was kept: the caller whose answer was lost gets a new token, and the old one ends
      await env.DB.prepare("UPDATE live_streams SET token_hash = ?, updated_at = ? WHERE video_id = ? AND state = 'live'").bind(tokenHash, now, seen.video_id).run();
      return { videoId: seen.video_id, token, replayed: true };
    }
  }
  // every chunk reserves its own encode; a key that cannot pay for one chunk cannot start
  await checkBudget(env, payerOf(env, principal), estimateEncodeSeconds(env.GPU_ENGINE, LIVE_CHUNK_MAX_BYTES / 8));
  const videoId = newId('vid');
  const jobId = newId('job');
  const statements = [
    env.DB.prepare(
      `INSERT INTO videos (id, owner, status, source_key, source_bytes, source_type, filename, keep_source, options, artifact_root, created_at, updated_at)
       VALUES (?, ?, 'running', NULL, 0, ?, ?, ?, ?, ?, ?, ?)`,
    ).bind(videoId, principal.owner, LIVE_SOURCE_TYPE, options.filename, options.keepSource ? 1 : 0, JSON.stringify(options.encode), await liveArtifactRoot(videoId), now, now),
    env.DB.prepare(`INSERT INTO jobs (id, video_id, kind, status, attempts, created_at, updated_at) VALUES (?, ?, 'encode', 'running', 1, ?, ?)`).bind(jobId, videoId, now, now),
    env.DB.prepare(`INSERT INTO live_streams (video_id, token_hash, state, charge_to, created_at, updated_at) VALUES (?, ?, 'live', ?, ?, ?)`).bind(videoId, tokenHash, principal.keyId, now, now),
  ];
  if (idempotencyKey !== null) {
    statements.push(env.DB.prepare(`INSERT INTO idempotency_keys (owner, key, video_id, job_id, created_at) VALUES (?, ?, ?, ?, ?)`).bind(principal.owner, idempotencyKey, videoId, jobId, now));
  }
  try {
    await env.DB.batch(statements);
  } catch (err) {
    const seen = idempotencyKey === null ? null : await findIdempotent(env.DB, principal.owner, idempotencyKey);
    if (seen) return startLive(env, request, principal); // a concurrent start with the same key won: replay it
    throw err;
  }
  await env.LIVE_QUEUE.send({ kind: 'idle', videoId } satisfies LiveMessage, { delaySeconds: idleSeconds(env) });
  return { videoId, token, replayed: false };
}

/** LIVE_IDLE_SECONDS as a number: how long a stream waits for a chunk before it ends by itself. */
export const idleSeconds = (env: Env) => Number(env.LIVE_IDLE_SECONDS);
