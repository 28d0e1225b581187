/**
 * What an upload's Idempotency-Key is bound to: the digest of the file it carried (the raw body, or the multipart
 * field `file`, so a new multipart boundary is the same upload), its options (the query, canonical) and its content
 * type (the media type, without parameters). The same key with another of these is not a retry.
 */
import { readWithin } from '../http/bounded-read';
import { ApiError } from '../http/errors';

export interface UploadFingerprint {
  /** Lowercase hex SHA-256 of the file's bytes. */
  bodySha256: string;
  /** The upload query, parameters sorted: `?b=1&a=2` and `?a=2&b=1` are one. */
  options: string;
  /** `video/mp4`, `multipart/form-data`, … */
  contentType: string;
}

/** What differs, by name, as `details.mismatch` lists it. */
export type FingerprintPart = 'body' | 'options' | 'contentType';

/** The parts of a fingerprint known before the body is read. */
export function requestFingerprint(request: Request): Omit<UploadFingerprint, 'bodySha256'> {
  const params = [...new URL(request.url).searchParams].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const contentType = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  return { options: new URLSearchParams(params).toString(), contentType };
}

/** The parts in which `current` differs from `stored`, in a fixed order. */
export function mismatchOf(stored: UploadFingerprint, current: UploadFingerprint): FingerprintPart[] {
  return (['body', 'options', 'contentType'] as const).filter((part) => (part === 'body' ? stored.bodySha256 !== current.bodySha256 : stored[part] !== current[part]));
}

/** 422 `idempotency_key_reused`: the key was first used for another request; `details.mismatch` names what differs. */
export function keyReused(mismatch: FingerprintPart[]): ApiError {
  return new ApiError(422, 'idempotency_key_reused', `this Idempotency-Key was used for another upload (its ${mismatch.join(', ')} differ); use a new key for a new upload`, {
    details: { mismatch },
  });
}

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** A pass-through stream that digests what flows through it (SHA-256); `sha256()` resolves once it has ended. */
export function digesting(): { stream: TransformStream<Uint8Array, Uint8Array>; sha256: () => Promise<string> } {
  const digest = new crypto.DigestStream('SHA-256');
  const writer = digest.getWriter();
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    async transform(chunk, controller) {
      await writer.write(chunk);
      controller.enqueue(chunk);
    },
    async flush() {
      await writer.close();
    },
  });
  return { stream, sha256: async () => hex(await digest.digest) };
}

/** The SHA-256 of a stream read to its end, or null when it is longer than `maxBytes` (it cannot be an upload that was accepted). */
export async function sha256Within(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<string | null> {
  const digest = new crypto.DigestStream('SHA-256');
  const writer = digest.getWriter();
  if (!(await readWithin(body, maxBytes, (chunk) => writer.write(chunk)))) {
    await writer.abort().catch(() => {});
    return null;
  }
  await writer.close();
  return hex(await digest.digest);
}
