/**
 * The presigned-R2 transfer against a real S3 API: moto's server mode (gpu-functions/requirements-s3.txt,
 * its own virtual environment), started locally as the reference GPU server is. The Worker's code
 * presigns (`presignedTransfer`), the GPU function's own code moves the bytes (`cmvc_gpu.outputs.upload`,
 * `cmvc_gpu.media.sources.keyframe_bytes`). What moto enforces is tested here; what it does not (the
 * signature, the checksum) and how R2 differs is in docs/storage.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureToolVenv } from '../../scripts/setup-python.mjs';
import { presignedTransfer } from '../../src/storage/artifact-transfer';
import { freePort, ROOT } from '../e2e/stack';

const BUCKET = 'cmvc-edge';
const CREDENTIALS = { accountId: 'acct0123', bucket: BUCKET, accessKeyId: 'AKIDCMVCTEST', secretAccessKey: 'cmvc-test-secret' };
const GPU_PYTHON = join(ROOT, 'gpu-functions', '.venv', 'bin', 'python');

let server: ChildProcess;
let endpoint: string;

beforeAll(async () => {
  const bin = ensureToolVenv('.venv-s3', 'requirements-s3.txt');
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  // Its own process group, stopped whole in afterAll.
  server = spawn(join(bin, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('the local S3 server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  // The bucket, made as an operator would (R2 buckets are made in the dashboard or with wrangler).
  const admin = new AwsClient({ accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: CREDENTIALS.secretAccessKey, service: 's3', region: 'us-east-1' });
  expect((await admin.fetch(`${endpoint}/${BUCKET}`, { method: 'PUT' })).status).toBe(200);
}, 300_000);

afterAll(() => {
  if (server?.pid !== undefined) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {}
  }
});

/** Runs `code` with the GPU function's Python (its package importable), `input` as JSON on stdin; its JSON answer. */
function gpuPython(code: string, input: unknown): Record<string, unknown> {
  const run = spawnSync(GPU_PYTHON, ['-c', code], {
    cwd: join(ROOT, 'gpu-functions'),
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, CMVC_SOURCE_ORIGINS: endpoint },
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

const ANSWER_CONTRACT_ERRORS = `
import base64, json, sys
from cmvc_gpu.errors import ContractError
request = json.load(sys.stdin)
def answer(run):
    try:
        print(json.dumps(run()))
    except ContractError as error:
        print(json.dumps({"error": error.code, "details": error.details}))
`;

/** The GPU function's upload of `data` to `target`, as `deliver` makes it (Content-Length, x-amz-checksum-sha256, the target's headers). */
const upload = (target: unknown, data: Uint8Array) =>
  gpuPython(
    `${ANSWER_CONTRACT_ERRORS}
from cmvc_gpu.outputs import upload
answer(lambda: {"sha256": upload(request["target"], base64.b64decode(request["data"]), "video/mp4")})`,
    { target, data: Buffer.from(data).toString('base64') },
  );

/** The GPU function's read of a generate request's keyframe named by URL and byte range. */
const keyframeBytes = (source: { url: string; offset: number; length: number }) =>
  gpuPython(
    `${ANSWER_CONTRACT_ERRORS}
from cmvc_gpu.media.sources import keyframe_bytes
answer(lambda: {"data": base64.b64encode(keyframe_bytes({"source": request}, "segment.keyframes[0]")).decode()})`,
    source,
  );

const hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesOf = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251);
const artifactKey = (seed: number) => `artifacts/${'a'.repeat(64)}/${hex(bytesOf(8, seed))}.mp4`;

describe('presigned R2 transfers against a local S3 server (moto)', () => {
  it("stores exactly the bytes the GPU function uploads to its presigned target, and the presigned GET reads them back", async () => {
    const transfer = presignedTransfer({ ...CREDENTIALS, endpoint }, 600);
    const key = artifactKey(1);
    const data = bytesOf(300_000, 1);
    const target = await transfer.uploadTarget(key);
    expect(target.url.startsWith(`${endpoint}/${BUCKET}/artifacts/`)).toBe(true);
    expect(upload(target, data)).toEqual({ sha256: hex(data) });
    const got = await fetch(await transfer.downloadUrl(key));
    expect(got.status).toBe(200);
    expect(hex(new Uint8Array(await got.arrayBuffer()))).toBe(hex(data));
  });

  it('makes the target write-once: a second upload is refused (412, If-None-Match) and the first bytes stay', async () => {
    const transfer = presignedTransfer({ ...CREDENTIALS, endpoint }, 600);
    const key = artifactKey(2);
    const first = bytesOf(5000, 2);
    const target = await transfer.uploadTarget(key);
    expect(upload(target, first)).toEqual({ sha256: hex(first) });
    // The same target again, and a new target for the same key: both refused, neither replaces it.
    for (const again of [target, await transfer.uploadTarget(key)]) {
      expect(upload(again, bytesOf(5000, 3))).toEqual({ error: 'upload_failed', details: { field: 'output.url', status: 412 } });
    }
    const stored = new Uint8Array(await (await fetch(await transfer.downloadUrl(key))).arrayBuffer());
    expect(hex(stored)).toBe(hex(first));
  });

  it('serves a keyframe image out of a presigned bitstream by byte range (206), as a generate reads it', async () => {
    const transfer = presignedTransfer({ ...CREDENTIALS, endpoint }, 600);
    const key = `bitstreams/${'b'.repeat(64)}.cmvc`;
    const image = bytesOf(70_000, 4);
    const stream = new Uint8Array([...bytesOf(1843, 5), ...image, ...bytesOf(500, 6)]);
    expect(upload(await transfer.uploadTarget(key), stream)).toEqual({ sha256: hex(stream) });
    const url = await transfer.downloadUrl(key);
    // The server honours the Range itself (the function would also cut a whole answer to the range).
    const ranged = await fetch(url, { headers: { Range: `bytes=1843-${1843 + image.length - 1}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('Content-Range')).toBe(`bytes 1843-${1843 + image.length - 1}/${stream.length}`);
    expect(hex(new Uint8Array(await ranged.arrayBuffer()))).toBe(hex(image));
    const read = keyframeBytes({ url, offset: 1843, length: image.length });
    expect(hex(Buffer.from(read.data as string, 'base64'))).toBe(hex(image));
    // A range the object does not hold is refused by the store and fails the call, naming the keyframe.
    expect(keyframeBytes({ url, offset: stream.length + 10, length: 100 })).toMatchObject({ error: 'fetch_failed', details: { field: 'segment.keyframes[0].source.url', status: 416 } });
  });

  it('refuses a presigned URL stripped of its signature (403): a request without one reads nothing', async () => {
    const transfer = presignedTransfer({ ...CREDENTIALS, endpoint }, 600);
    const key = artifactKey(7);
    expect(upload(await transfer.uploadTarget(key), bytesOf(100, 7))).toMatchObject({ sha256: expect.any(String) });
    const url = new URL(await transfer.downloadUrl(key));
    url.searchParams.delete('X-Amz-Signature');
    expect((await fetch(url)).status).toBe(403);
  });
});
