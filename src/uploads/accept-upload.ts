import { checkBudget, payerOf } from '../auth/gpu-budget';
import type { Principal } from '../auth/principal';
import { sourceKey } from '../cache/keys';
import { ApiError, badRequest } from '../http/errors';
import { newId } from '../http/ids';
import { estimateEncodeSeconds } from '../jobs/encode-estimate';
import type { EncodeMessage } from '../jobs/messages';
import { checkStorageQuota } from '../videos/storage-quota';
import { findIdempotent, insertVideoWithJob } from '../videos/store';
import { fileFromMultipart } from './multipart';
import { digesting, keyReused, mismatchOf, requestFingerprint, sha256Within, type UploadFingerprint } from './fingerprint';
import { storeUpload } from './store-upload';
import { parseUploadQuery } from './upload-options';

const IDEMPOTENCY_KEY = 'Idempotency-Key';
/** Room a multipart envelope may take around its file, in bytes, before the declared length alone is too large. */
const MULTIPART_ENVELOPE_BYTES = 64 * 1024;

/**
 * The video and job an earlier upload with this Idempotency-Key made, when this request is that upload again
 * (same file, options and content type); else 422 `idempotency_key_reused` naming what differs. A key recorded
 * before fingerprints were kept replays as it did.
 */
function replay(seen: { video_id: string; job_id: string; fingerprint: string | null }, current: UploadFingerprint): AcceptedUpload {
  if (seen.fingerprint !== null) {
    const mismatch = mismatchOf(JSON.parse(seen.fingerprint) as UploadFingerprint, current);
    if (mismatch.length > 0) throw keyReused(mismatch);
  }
  return { videoId: seen.video_id, jobId: seen.job_id, replayed: true };
}

/** The digest of the file a request carries (its body, or its multipart field `file`); '' when it is longer than any upload may be. */
async function fileSha256(request: Request, maxBytes: number): Promise<string> {
  if (request.body === null) return '';
  const contentType = request.headers.get('Content-Type') ?? '';
  const body = contentType.toLowerCase().startsWith('multipart/form-data') ? (await fileFromMultipart(request.body, contentType, 'file')).stream : request.body;
  return (await sha256Within(body, maxBytes)) ?? '';
}

/** The video and encode job an upload made, or (`replayed`) those an earlier upload with the same Idempotency-Key made. */
export interface AcceptedUpload {
  videoId: string;
  jobId: string;
  replayed: boolean;
}

/**
 * Accepts `POST /v1/videos`: replays an Idempotency-Key seen before for the same request (else 422); refuses an upload whose encode or
 * source the payer's GPU or storage quota cannot cover; streams a raw `video/*` body or the multipart
 * field `file` into R2 (bounded by MAX_UPLOAD_BYTES, sniffed as a video container); records the video
 * with its job (removing the stored source if that fails) and enqueues the encode.
 */
export async function acceptUpload(env: Env, request: Request, principal: Principal): Promise<AcceptedUpload> {
  const options = parseUploadQuery(new URL(request.url).searchParams);
  const idempotencyKey = request.headers.get(IDEMPOTENCY_KEY);
  if (idempotencyKey !== null && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters');
  }
  const maxBytes = Number(env.MAX_UPLOAD_BYTES);
  const asked = requestFingerprint(request);
  if (idempotencyKey !== null) {
    const seen = await findIdempotent(env.DB, principal.owner, idempotencyKey);
    if (seen) return replay(seen, { ...asked, bodySha256: await fileSha256(request, maxBytes) });
  }

  const contentType = (request.headers.get('Content-Type') ?? '').toLowerCase();
  const lengthHeader = request.headers.get('Content-Length');
  const declaredLength = lengthHeader === null ? null : Number(lengthHeader);
  if (declaredLength !== null && !(Number.isSafeInteger(declaredLength) && declaredLength >= 0)) throw badRequest('invalid_content_length', 'Content-Length is not a number');
  if (declaredLength === 0 || request.body === null) throw badRequest('empty_body', 'the upload is empty');

  // Encoding spends GPU seconds and the source takes room: refuse before storing anything when either quota cannot cover it.
  await checkBudget(env, payerOf(env, principal), estimateEncodeSeconds(env.GPU_ENGINE, declaredLength ?? 0));
  await checkStorageQuota(env, principal, declaredLength ?? 0);

  const videoId = newId('vid');
  const key = sourceKey(videoId);
  let stored: { bytes: number };
  let storedType: string;
  let filename = options.filename;
  // The file's digest, taken as it is stored, binds the Idempotency-Key to this upload.
  const hashing = digesting();
  if (contentType.startsWith('video/') || contentType === 'application/octet-stream') {
    storedType = contentType.split(';')[0] as string;
    stored = await storeUpload(env.BUCKET, key, request.body.pipeThrough(hashing.stream), declaredLength, maxBytes, storedType);
  } else if (contentType.startsWith('multipart/form-data')) {
    if (declaredLength !== null && declaredLength > maxBytes + MULTIPART_ENVELOPE_BYTES) {
      throw new ApiError(413, 'payload_too_large', `the upload exceeds the limit of ${maxBytes} bytes`, { details: { maxBytes } });
    }
    // The boundary is case-sensitive, so the header is read again rather than lower-cased.
    const file = await fileFromMultipart(request.body, request.headers.get('Content-Type') ?? '', 'file');
    storedType = file.contentType;
    filename ??= file.filename;
    // The file's length is unknown until its closing delimiter: storeUpload enforces maxBytes while streaming.
    stored = await storeUpload(env.BUCKET, key, file.stream.pipeThrough(hashing.stream), null, maxBytes, storedType);
  } else {
    throw new ApiError(415, 'unsupported_media_type', 'send the video as a video/* body or as multipart/form-data with a field "file"');
  }

  try {
    await checkStorageQuota(env, principal, stored.bytes); // the length was not known before streaming
  } catch (err) {
    await env.BUCKET.delete(key);
    throw err;
  }

  const fingerprint: UploadFingerprint = { ...asked, bodySha256: await hashing.sha256() };
  const jobId = newId('job');
  try {
    await insertVideoWithJob(env.DB, {
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
      fingerprint,
    });
  } catch (err) {
    await env.BUCKET.delete(key);
    // A concurrent upload with the same Idempotency-Key won the race: answer with its result.
    const seen = idempotencyKey === null ? null : await findIdempotent(env.DB, principal.owner, idempotencyKey);
    if (seen) return replay(seen, fingerprint);
    throw err;
  }
  await env.ENCODE_QUEUE.send({ jobId, videoId, chargeTo: principal.keyId } satisfies EncodeMessage);
  return { videoId, jobId, replayed: false };
}
