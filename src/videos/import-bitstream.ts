import { type Bitstream, BitstreamError, BITSTREAM_MIME, readBitstream, sha256Hex } from '../bitstream';
import { readBoundedBody } from '../http/bounded-read';
import { ApiError } from '../http/errors';
import { newId } from '../http/ids';
import { bitstreamKey } from '../cache/keys';
import { bitstreamRateFacts } from './bitstream-facts';
import { checkKeyframesDecode, checkReconstructable } from './import-rules';
import { checkStorageQuota } from './storage-quota';
import { getVideo } from './store';
import { videoView } from './views';

/** Reads a bitstream body of at most `maxBytes` (413 past it, checked before and while reading). */
export const readBoundedBitstream = (request: Request, maxBytes: number) => readBoundedBody(request, maxBytes, `bitstreams are limited to ${maxBytes} bytes`);

/** Turns a bitstream error into a 422 with its stable code, chunk and byte offset. */
export function bitstreamApiError(err: BitstreamError): ApiError {
  return new ApiError(422, `bitstream_${err.code}`, err.message, { details: { chunk: err.chunk ?? null, offset: err.offset ?? null } });
}

/**
 * Validates a bitstream (its keyframes decoded whole), checks it fits in the owner's storage quota (413
 * `storage_quota_exceeded`, as an upload), stores it content-addressed, and records a video that reconstructs
 * like an encoded one.
 */
export async function importBitstream(env: Env, bytes: Uint8Array, principal: { owner: string; limits: { storageBytes?: number | null } }, now = Date.now()) {
  const owner = principal.owner;
  let parsed: Bitstream;
  try {
    parsed = readBitstream(bytes);
  } catch (err) {
    if (err instanceof BitstreamError) throw bitstreamApiError(err);
    throw err;
  }
  checkReconstructable(parsed);
  await checkStorageQuota(env, principal, bytes.byteLength);
  await checkKeyframesDecode(parsed);
  const hash = await sha256Hex(bytes);
  const key = bitstreamKey(hash);
  if ((await env.BUCKET.head(key)) === null) await env.BUCKET.put(key, bytes, { httpMetadata: { contentType: BITSTREAM_MIME }, sha256: hash });
  const { header, segments } = parsed;
  const id = newId('vid');
  const facts = bitstreamRateFacts(bytes, parsed);
  await env.DB.prepare(
    `INSERT INTO videos (id, owner, status, source_key, source_bytes, source_type, filename, keep_source, options, bitstream_key, bitstream_hash, bitstream_bytes, rate_floor_bytes, audio,
       width, height, fps, frame_count, duration_seconds, segment_count, engine, created_at, updated_at)
     VALUES (?, ?, 'succeeded', NULL, 0, ?, NULL, 0, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(id, owner, BITSTREAM_MIME, key, hash, bytes.byteLength, facts.rate_floor_bytes, facts.audio, header.width, header.height, header.fpsNum / header.fpsDen, header.frameCount, header.durationMs / 1000, segments.length, `${header.engineId}@${header.engineVersion}`, now, now)
    .run();
  const video = await getVideo(env.DB, id);
  if (!video) throw new Error('imported video vanished');
  return videoView(video, null);
}
