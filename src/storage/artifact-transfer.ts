import { AwsClient } from 'aws4fetch';
import { hexMac, sign as signWith, verify } from '../auth/signing';
import { GENERATION_CALL_LIFETIME_MS, type UploadTarget } from '../gpu/contract';

/**
 * How GPU functions move artifact bytes without the Worker in the way: they PUT their output to an
 * upload target and GET their input videos from short-lived URLs. In production these are R2's own
 * S3 endpoint (presigned with aws4fetch); locally, where Miniflare has no S3 endpoint, the Worker's
 * `/internal/artifacts/…` and `/internal/bitstreams/…` routes, signed with HMAC over the method, the key
 * and the expiry.
 */
export interface ArtifactTransfer {
  /** Where the artifact `r2Key` is uploaded: write-once, so a retried upload cannot replace it. */
  uploadTarget(r2Key: string): Promise<UploadTarget>;
  /** A URL from which the object `r2Key` (an artifact, or a bitstream whose keyframes a call reads) can be read until it expires; it honours `Range`. */
  downloadUrl(r2Key: string): Promise<string>;
}

/** Lifetime of an upload target or download URL, in seconds: as long as the call it is made for may run (`GENERATION_TIMING`). */
export const TRANSFER_TTL_SECONDS = GENERATION_CALL_LIFETIME_MS / 1000;

const signedMessage = (method: 'GET' | 'PUT', r2Key: string, exp: number | string) => `artifact:${method}:${r2Key}:${exp}`;

/** The Worker's own signed route (local development and tests), signed with the current secret of `setting` (URL_SIGNING_SECRET). */
export function workerTransfer(origin: string, setting: string, ttlSeconds = TRANSFER_TTL_SECONDS, now = () => Date.now()): ArtifactTransfer {
  const base = origin.replace(/\/+$/, '');
  const sign = async (method: 'GET' | 'PUT', r2Key: string) => {
    const exp = Math.floor(now() / 1000) + ttlSeconds;
    const sig = await signWith(setting, signedMessage(method, r2Key, exp), hexMac);
    // `artifacts/{bitstream}/{file}` is served at `/internal/artifacts/{bitstream}/{file}`, `bitstreams/{file}` at `/internal/bitstreams/{file}`.
    return `${base}/internal/${r2Key}?exp=${exp}&sig=${sig}`;
  };
  return {
    uploadTarget: async (r2Key) => ({ url: await sign('PUT', r2Key), headers: {} }),
    downloadUrl: (r2Key) => sign('GET', r2Key),
  };
}

/** Whether `sig` signs `method` on `r2Key` until `exp` (unix seconds, not yet past), under any secret of `setting`. */
export async function verifyArtifactUrl(
  setting: string,
  method: 'GET' | 'PUT',
  r2Key: string,
  exp: string | undefined,
  sig: string | undefined,
  now = Date.now(),
): Promise<boolean> {
  if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[0-9a-f]{64}$/.test(sig)) return false;
  if (Number(exp) < now / 1000) return false;
  return verify(setting, signedMessage(method, r2Key, exp), sig, hexMac);
}

export interface R2S3Credentials {
  accountId: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * The S3 endpoint, when not `https://{accountId}.r2.cloudflarestorage.com`: a jurisdiction's
   * (`https://{accountId}.eu.r2.cloudflarestorage.com`), or a local S3 server in tests. Path-style.
   */
  endpoint?: string;
}

/**
 * R2's S3 endpoint, presigned (SigV4 in the query). The PUT carries `If-None-Match: *`, signed, so R2
 * refuses to replace an object that exists: the target is single-use.
 */
export function presignedTransfer(credentials: R2S3Credentials, ttlSeconds = TRANSFER_TTL_SECONDS): ArtifactTransfer {
  const client = new AwsClient({ accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, service: 's3', region: 'auto' });
  const endpoint = (credentials.endpoint ?? `https://${credentials.accountId}.r2.cloudflarestorage.com`).replace(/\/+$/, '');
  const objectUrl = (r2Key: string) => `${endpoint}/${credentials.bucket}/${r2Key.split('/').map(encodeURIComponent).join('/')}?X-Amz-Expires=${ttlSeconds}`;
  return {
    async uploadTarget(r2Key) {
      const headers = { 'If-None-Match': '*' };
      const signed = await client.sign(objectUrl(r2Key), { method: 'PUT', headers, aws: { signQuery: true } });
      return { url: signed.url, headers };
    },
    async downloadUrl(r2Key) {
      return (await client.sign(objectUrl(r2Key), { method: 'GET', aws: { signQuery: true } })).url;
    },
  };
}

export interface TransferSettings {
  PUBLIC_ORIGIN: string;
  URL_SIGNING_SECRET: string;
  R2_ACCOUNT_ID?: string;
  R2_BUCKET_NAME?: string;
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  /** Optional: another S3 endpoint for the bucket (see R2S3Credentials.endpoint). */
  R2_S3_ENDPOINT?: string;
}

/** Presigned R2 URLs when R2 S3 credentials are configured, else the Worker's own signed route. */
export function artifactTransferFromEnv(env: TransferSettings): ArtifactTransfer {
  const { R2_ACCOUNT_ID, R2_BUCKET_NAME, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_S3_ENDPOINT } = env;
  if (R2_ACCOUNT_ID && R2_BUCKET_NAME && R2_ACCESS_KEY_ID && R2_SECRET_ACCESS_KEY) {
    return presignedTransfer({ accountId: R2_ACCOUNT_ID, bucket: R2_BUCKET_NAME, accessKeyId: R2_ACCESS_KEY_ID, secretAccessKey: R2_SECRET_ACCESS_KEY, endpoint: R2_S3_ENDPOINT || undefined });
  }
  // The first secret signs, as for every other signed URL of this Worker; all of them verify (auth/signing.ts).
  return workerTransfer(env.PUBLIC_ORIGIN, env.URL_SIGNING_SECRET);
}
