import { ApiError } from '../http/errors';
import { SNIFF_BYTES, sniffContainer, type SniffedContainer } from './sniff';

/** R2 multipart parts must be at least 5 MiB and all of one size (but the last); we buffer about one part. */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

export interface StoredUpload {
  bytes: number;
  container: SniffedContainer;
}

const tooLarge = (maxBytes: number) =>
  new ApiError(413, 'payload_too_large', `the upload exceeds the limit of ${maxBytes} bytes`, { details: { maxBytes } });

/**
 * Streams an upload into R2 at `key` without holding it in memory: checks the first bytes are a
 * video container (415 otherwise), enforces `maxBytes` while reading (413 as soon as it is crossed),
 * and uses a fixed-length put when the length is declared, a multipart upload otherwise.
 */
export async function storeUpload(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  declaredLength: number | null,
  maxBytes: number,
  contentType: string,
): Promise<StoredUpload> {
  if (declaredLength !== null && declaredLength > maxBytes) throw tooLarge(maxBytes);
  const reader = body.getReader();
  const head = await readHead(reader, SNIFF_BYTES);
  if (head.length === 0) {
    throw new ApiError(400, 'empty_body', 'the upload is empty');
  }
  const container = sniffContainer(head);
  if (container === null) {
    await reader.cancel().catch(() => {});
    throw new ApiError(415, 'not_a_video', 'the upload is not a video file this service reads (MP4/MOV, WebM/MKV, AVI, MPEG-TS/PS, FLV, Ogg)');
  }
  const httpMetadata = { contentType };
  if (declaredLength !== null) {
    const fixed = new FixedLengthStream(declaredLength);
    const piping = pump(head, reader, fixed.writable, maxBytes);
    const put = bucket.put(key, fixed.readable, { httpMetadata });
    const [pumped] = await Promise.allSettled([piping, put]);
    if (pumped.status === 'rejected') throw pumped.reason;
    try {
      await put;
    } catch {
      throw new ApiError(400, 'truncated_upload', `the upload ended before its declared ${declaredLength} bytes`);
    }
    return { bytes: declaredLength, container };
  }
  return { bytes: await multipartUpload(bucket, key, head, reader, maxBytes, httpMetadata), container };
}

async function readHead(reader: ReadableStreamDefaultReader<Uint8Array>, want: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  while (length < want) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.byteLength;
  }
  return concat(parts, length);
}

async function pump(head: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>, sink: WritableStream<Uint8Array>, maxBytes: number): Promise<void> {
  const writer = sink.getWriter();
  let total = head.byteLength;
  try {
    if (total > maxBytes) throw tooLarge(maxBytes);
    await writer.write(head);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes);
      await writer.write(value);
    }
    await writer.close();
  } catch (err) {
    await reader.cancel().catch(() => {});
    await writer.abort(err).catch(() => {});
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'truncated_upload', 'the upload did not arrive whole');
  }
}

async function multipartUpload(
  bucket: R2Bucket,
  key: string,
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
  httpMetadata: R2HTTPMetadata,
): Promise<number> {
  const upload = await bucket.createMultipartUpload(key, { httpMetadata });
  const parts: R2UploadedPart[] = [];
  let pending: Uint8Array[] = [head];
  let pendingBytes = head.byteLength;
  let total = head.byteLength;
  try {
    for (;;) {
      if (total > maxBytes) throw tooLarge(maxBytes);
      // R2 wants every part but the last of one size: cut exactly, carry the rest to the next part.
      while (pendingBytes >= MULTIPART_PART_BYTES) {
        const joined = concat(pending, pendingBytes);
        parts.push(await upload.uploadPart(parts.length + 1, joined.subarray(0, MULTIPART_PART_BYTES)));
        pending = [joined.subarray(MULTIPART_PART_BYTES)];
        pendingBytes -= MULTIPART_PART_BYTES;
      }
      const { done, value } = await reader.read();
      if (done) break;
      pending.push(value);
      pendingBytes += value.byteLength;
      total += value.byteLength;
    }
    if (pendingBytes > 0 || parts.length === 0) parts.push(await upload.uploadPart(parts.length + 1, concat(pending, pendingBytes)));
    await upload.complete(parts);
    return total;
  } catch (err) {
    await reader.cancel().catch(() => {});
    await upload.abort().catch(() => {});
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'truncated_upload', 'the upload did not arrive whole');
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
