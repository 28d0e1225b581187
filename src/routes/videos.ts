import { Hono } from 'hono';
import { access } from '../auth/access';
import { ApiError, badRequest, notFound } from '../http/errors';
import { newId } from '../http/ids';
import { fileFromMultipart } from '../uploads/multipart';
import { storeUpload } from '../uploads/store-upload';
import { findIdempotent, getJob, getVideo, insertVideoWithJob, jobForVideo, listVideos } from '../videos/store';
import { parseUploadQuery } from '../videos/upload-options';
import { jobView, videoView } from '../videos/views';
import { checkBudget, payerOf } from '../auth/gpu-budget';
import { estimateEncodeSeconds } from '../jobs/encode-estimate';
import { checkStorageQuota } from '../videos/storage-quota';
import type { EncodeMessage } from '../jobs/messages';
import { sourceKey } from '../cache/keys';
import { visibleVideo } from '../videos/visibility';
import { deleteVideo } from '../videos/delete-video';

const IDEMPOTENCY_KEY = 'Idempotency-Key';

export const videos = new Hono<{ Bindings: Env }>();

/** POST /v1/videos — upload a video (raw `video/*` body or multipart field `file`); 202 with the video and its encode job. */
videos.post('/', access('encode'), async (c) => {
  const principal = c.get('principal');
  const options = parseUploadQuery(new URL(c.req.url).searchParams);
  const idempotencyKey = c.req.header(IDEMPOTENCY_KEY) ?? null;
  if (idempotencyKey !== null && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters');
  }
  if (idempotencyKey !== null) {
    const seen = await findIdempotent(c.env.DB, principal.owner, idempotencyKey);
    if (seen) return accepted(c.env, seen.video_id, seen.job_id, true);
  }

  const maxBytes = Number(c.env.MAX_UPLOAD_BYTES);
  const contentType = (c.req.header('Content-Type') ?? '').toLowerCase();
  const lengthHeader = c.req.header('Content-Length');
  const declaredLength = lengthHeader === undefined ? null : Number(lengthHeader);
  if (declaredLength !== null && !(Number.isSafeInteger(declaredLength) && declaredLength >= 0)) throw badRequest('invalid_content_length', 'Content-Length is not a number');
  if (declaredLength === 0 || c.req.raw.body === null) throw badRequest('empty_body', 'the upload is empty');

  // Encoding spends GPU seconds and the source takes room: refuse before storing anything when either quota cannot cover it.
  await checkBudget(c.env, payerOf(c.env, principal), estimateEncodeSeconds(c.env.GPU_ENGINE, declaredLength ?? 0));
  await checkStorageQuota(c.env, principal.owner, declaredLength ?? 0);

  const videoId = newId('vid');
  const key = sourceKey(videoId);
  let stored: { bytes: number };
  let storedType: string;
  let filename = options.filename;
  if (contentType.startsWith('video/') || contentType === 'application/octet-stream') {
    storedType = contentType.split(';')[0] as string;
    stored = await storeUpload(c.env.BUCKET, key, c.req.raw.body, declaredLength, maxBytes, storedType);
  } else if (contentType.startsWith('multipart/form-data')) {
    if (declaredLength !== null && declaredLength > maxBytes + 64 * 1024) {
      throw new ApiError(413, 'payload_too_large', `the upload exceeds the limit of ${maxBytes} bytes`, { details: { maxBytes } });
    }
    // The boundary is case-sensitive, so the header is read again rather than lower-cased.
    const file = await fileFromMultipart(c.req.raw.body, c.req.header('Content-Type') ?? '', 'file');
    storedType = file.contentType;
    filename ??= file.filename;
    // The file's length is unknown until its closing delimiter: storeUpload enforces maxBytes while streaming.
    stored = await storeUpload(c.env.BUCKET, key, file.stream, null, maxBytes, storedType);
  } else {
    throw new ApiError(415, 'unsupported_media_type', 'send the video as a video/* body or as multipart/form-data with a field "file"');
  }

  try {
    await checkStorageQuota(c.env, principal.owner, stored.bytes); // the length was not known before streaming
  } catch (err) {
    await c.env.BUCKET.delete(key);
    throw err;
  }

  const jobId = newId('job');
  try {
    await insertVideoWithJob(c.env.DB, {
      id: videoId,
      jobId,
      owner: principal.owner,
      sourceKey: key,
      sourceBytes: stored.bytes,
      sourceType: storedType,
      filename,
      keepSource: options.keepSource,
      options: options.encode,
      idempotencyKey,
    });
  } catch (err) {
    await c.env.BUCKET.delete(key);
    // A concurrent upload with the same Idempotency-Key won the race: answer with its result.
    const seen = idempotencyKey === null ? null : await findIdempotent(c.env.DB, principal.owner, idempotencyKey);
    if (seen) return accepted(c.env, seen.video_id, seen.job_id, true);
    throw err;
  }
  await c.env.ENCODE_QUEUE.send({ jobId, videoId, chargeTo: principal.keyId } satisfies EncodeMessage);
  return accepted(c.env, videoId, jobId, false);
});

/** GET /v1/videos — this key's videos, newest first; `?limit=` (≤ 100) and `?cursor=` from the previous page. */
videos.get('/', access('read'), async (c) => {
  const principal = c.get('principal');
  const limit = Number(c.req.query('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('invalid_option', 'option "limit" must be an integer in 1..100', { option: 'limit' });
  const cursor = c.req.query('cursor');
  if (cursor !== undefined && !/^[0-9]{1,15}$/.test(cursor)) throw badRequest('invalid_option', 'option "cursor" is not valid', { option: 'cursor' });
  const before = cursor === undefined ? null : Number(cursor);
  const rows = await listVideos(c.env.DB, principal.scopes.has('admin') ? null : principal.owner, limit, before);
  const last = rows.at(-1);
  return c.json({ videos: rows.map((v) => videoView(v, null)), nextCursor: rows.length === limit && last ? String(last.created_at) : null });
});

/** GET /v1/videos/{id} — status, sizes, kbps, segments and links. */
videos.get('/:id', access('read'), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  return c.json(videoView(video, await jobForVideo(c.env.DB, video.id)));
});

/** DELETE /v1/videos/{id} — the video, its source, bitstream and every artifact; later requests get 404. */
videos.delete('/:id', access('encode'), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  await deleteVideo(c.env, video);
  return c.body(null, 204);
});

async function accepted(env: Env, videoId: string, jobId: string, replayed: boolean) {
  const [video, job] = await Promise.all([getVideo(env.DB, videoId), getJob(env.DB, jobId)]);
  if (!video || !job) throw notFound('video');
  return new Response(JSON.stringify({ video: videoView(video, job), job: jobView(job) }), {
    status: 202,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      Location: `/v1/videos/${videoId}`,
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    },
  });
}
