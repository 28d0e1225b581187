import { describe, expect, it } from 'vitest';
import { artifactTransferFromEnv, presignedTransfer, verifyArtifactUrl, workerTransfer } from '../../src/storage/artifact-transfer';

const KEY = `artifacts/${'a'.repeat(64)}/${'b'.repeat(64)}.mp4`;
const CREDENTIALS = { accountId: 'acct0123', bucket: 'cmvc-edge', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('presigned R2 transfer (production)', () => {
  it('signs a write-once PUT and a GET for the object, SigV4 in the query', async () => {
    const transfer = presignedTransfer(CREDENTIALS, 600);
    const target = await transfer.uploadTarget(KEY);
    const url = new URL(target.url);
    expect(url.origin).toBe('https://acct0123.r2.cloudflarestorage.com');
    expect(url.pathname).toBe(`/cmvc-edge/${KEY}`);
    const q = url.searchParams;
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toMatch(/^AKIDEXAMPLE\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(q.get('X-Amz-Expires')).toBe('600');
    expect(q.get('X-Amz-Date')).toMatch(/^\d{8}T\d{6}Z$/);
    // If-None-Match is signed, so the uploader cannot drop it: R2 refuses to replace an existing object.
    expect(q.get('X-Amz-SignedHeaders')?.split(';')).toEqual(['host', 'if-none-match']);
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(target.headers).toEqual({ 'If-None-Match': '*' });

    const get = new URL(await transfer.downloadUrl(KEY));
    expect(get.pathname).toBe(`/cmvc-edge/${KEY}`);
    expect(get.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(get.searchParams.get('X-Amz-Signature')).not.toBe(q.get('X-Amz-Signature'));
    // A bitstream whose large keyframe a call reads: only the host is signed, so the reader adds its Range.
    const bitstream = new URL(await transfer.downloadUrl(`bitstreams/${'c'.repeat(64)}.cmvc`));
    expect(bitstream.pathname).toBe(`/cmvc-edge/bitstreams/${'c'.repeat(64)}.cmvc`);
    expect(bitstream.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
  });

  it('is chosen when R2 S3 credentials are configured, the Worker route otherwise', async () => {
    const base = { PUBLIC_ORIGIN: 'http://127.0.0.1:8787', URL_SIGNING_SECRET: 'one,two' };
    const withCredentials = artifactTransferFromEnv({ ...base, R2_ACCOUNT_ID: 'acct', R2_BUCKET_NAME: 'b', R2_ACCESS_KEY_ID: 'k', R2_SECRET_ACCESS_KEY: 's' });
    expect(new URL((await withCredentials.uploadTarget(KEY)).url).host).toBe('acct.r2.cloudflarestorage.com');
    const local = await artifactTransferFromEnv(base).uploadTarget(KEY);
    expect(local.url.startsWith(`http://127.0.0.1:8787/internal/${KEY}?exp=`)).toBe(true); // /internal/artifacts/{bitstream}/{file}
    expect(local.headers).toEqual({});
  });
});

describe('the Worker route signature (local)', () => {
  it('binds the method, the key and the expiry', async () => {
    const now = 1_800_000_000_000;
    const transfer = workerTransfer('http://w', 'secret', 60, () => now);
    const put = new URL((await transfer.uploadTarget(KEY)).url);
    const [exp, sig] = [put.searchParams.get('exp') ?? undefined, put.searchParams.get('sig') ?? undefined];
    expect(await verifyArtifactUrl('secret', 'PUT', KEY, exp, sig, now)).toBe(true);
    expect(await verifyArtifactUrl('secret', 'GET', KEY, exp, sig, now)).toBe(false);
    expect(await verifyArtifactUrl('secret', 'PUT', KEY.replace('b', 'c'), exp, sig, now)).toBe(false);
    expect(await verifyArtifactUrl('other', 'PUT', KEY, exp, sig, now)).toBe(false);
    expect(await verifyArtifactUrl('secret', 'PUT', KEY, exp, sig, now + 61_000)).toBe(false);
  });
});
