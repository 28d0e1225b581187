import { Hono, type Context } from 'hono';
import { UPLOAD_CHECKSUM_HEADER } from '../gpu/contract';
import { ApiError } from '../http/errors';
import { ARTIFACT_KEY_PATTERN, BITSTREAM_KEY_PATTERN } from '../cache/keys';
import { r2BodySource, serveBody } from '../cache/serve';
import { verifyArtifactUrl } from '../storage/artifact-transfer';

/** Largest artifact a GPU function may upload, in bytes (a whole video at the largest geometry). */
export const MAX_ARTIFACT_BYTES = 2 * 1024 ** 3;

export const internalArtifacts = new Hono<{ Bindings: Env }>();

type AppContext = Context<{ Bindings: Env }>;

/** `key`, when it matches `pattern` and the request's `exp` and `sig` sign `method` on it; else a 403. */
async function signedKey(c: AppContext, method: 'GET' | 'PUT', key: string, pattern: RegExp): Promise<string> {
  const [exp, sig] = [c.req.query('exp'), c.req.query('sig')];
  const valid = pattern.test(key) && (await verifyArtifactUrl(c.env.URL_SIGNING_SECRET, method, key, exp, sig));
  if (!valid) throw new ApiError(403, 'invalid_signature', 'the transfer URL is invalid or expired');
  return key;
}

const artifactKey = (c: AppContext, method: 'GET' | 'PUT') => signedKey(c, method, `artifacts/${c.req.param('bitstream')}/${c.req.param('file')}`, ARTIFACT_KEY_PATTERN);

/** The hex SHA-256 named by the upload's checksum header (base64 of 32 bytes), or a 400. */
function declaredSha256(header: string | undefined): string {
  let bytes: string | null = null;
  try {
    bytes = header && /^[A-Za-z0-9+/]{43}=$/.test(header) ? atob(header) : null;
  } catch {
    bytes = null;
  }
  if (bytes === null || bytes.length !== 32) {
    throw new ApiError(400, 'checksum_required', `${UPLOAD_CHECKSUM_HEADER} must carry the base64 SHA-256 of the body`);
  }
  return Array.from(bytes, (ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

const storedSha256 = (object: R2Object) => (object.checksums.sha256 ? [...new Uint8Array(object.checksums.sha256)].map((b) => b.toString(16).padStart(2, '0')).join('') : null);

/**
 * PUT /internal/artifacts/{bitstream}/{file}?exp&sig (the R2 key `artifacts/{bitstream}/{file}`) — a GPU function's output, streamed into R2. Write-once: the
 * same bytes again answer 200 (a retried upload), other bytes 409. R2 checks the SHA-256 the uploader
 * declares while it stores the body, so a truncated or altered upload leaves no object behind.
 */
internalArtifacts.put('/:bitstream/:file', async (c) => {
  const key = await artifactKey(c, 'PUT');
  const sha256 = declaredSha256(c.req.header(UPLOAD_CHECKSUM_HEADER));
  const declared = c.req.header('Content-Length');
  if (declared === undefined || !/^\d{1,12}$/.test(declared)) throw new ApiError(411, 'length_required', 'an upload must declare its Content-Length');
  const length = Number(declared);
  if (length === 0) throw new ApiError(400, 'empty_upload', 'an artifact cannot be empty');
  if (length > MAX_ARTIFACT_BYTES) throw new ApiError(413, 'too_large', `an artifact is at most ${MAX_ARTIFACT_BYTES} bytes`);
  const existing = await c.env.BUCKET.head(key);
  if (existing !== null) return alreadyStored(c, existing, sha256);
  const body = (c.req.raw.body as ReadableStream).pipeThrough(new FixedLengthStream(length));
  let stored: R2Object | null;
  try {
    stored = await c.env.BUCKET.put(key, body, {
      sha256,
      httpMetadata: { contentType: c.req.header('Content-Type') ?? 'application/octet-stream' },
      // Another upload may have landed since the head: never replace it.
      onlyIf: { etagDoesNotMatch: '*' },
    });
  } catch (err) {
    console.warn(`artifact upload to ${key} refused:`, err);
    throw new ApiError(400, 'upload_rejected', 'the body does not match its Content-Length or SHA-256; nothing was stored');
  }
  if (stored === null) {
    const raced = await c.env.BUCKET.head(key);
    if (raced !== null) return alreadyStored(c, raced, sha256);
    throw new ApiError(503, 'upload_conflict', 'the upload raced another one; try again', { headers: { 'Retry-After': '1' } });
  }
  return c.json({ bytes: stored.size, sha256 }, 201, { 'Cache-Control': 'no-store' });
});

function alreadyStored(c: AppContext, existing: R2Object, sha256: string): Response {
  if (storedSha256(existing) !== sha256) throw new ApiError(409, 'target_used', 'this upload target already holds other bytes');
  return c.json({ bytes: existing.size, sha256 }, 200, { 'Cache-Control': 'no-store' });
}

/** GET /internal/artifacts/{bitstream}/{file}?exp&sig — an artifact, for a GPU function that derives another from it. */
internalArtifacts.get('/:bitstream/:file', async (c) => {
  const key = await artifactKey(c, 'GET');
  const object = await c.env.BUCKET.get(key);
  if (object === null) throw new ApiError(404, 'not_found', 'artifact not found');
  return new Response(object.body, {
    headers: { 'Content-Type': object.httpMetadata?.contentType ?? 'application/octet-stream', 'Content-Length': String(object.size), 'Cache-Control': 'no-store' },
  });
});

export const internalBitstreams = new Hono<{ Bindings: Env }>();

/**
 * GET /internal/bitstreams/{sha256}.cmvc?exp&sig — a stored bitstream, whole or one byte range (`Range`),
 * for a GPU function reading a keyframe image that was too large to send inline.
 */
internalBitstreams.get('/:file', async (c) => {
  const key = await signedKey(c, 'GET', `bitstreams/${c.req.param('file')}`, BITSTREAM_KEY_PATTERN);
  const object = await c.env.BUCKET.head(key);
  if (object === null) throw new ApiError(404, 'not_found', 'bitstream not found');
  return serveBody(c.req.raw, r2BodySource(c.env.BUCKET, object, 'application/vnd.cmvc'), { 'Cache-Control': 'no-store' });
});
