import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { artifactTransferFromEnv } from '../../src/storage/artifact-transfer';
import { artifactKey } from '../../src/cache/keys';
import { installFakeGpu } from './fake-gpu';
import { call, encodedVideo, env } from './helpers';
import { errorBody } from '../json';

const KEY = artifactKey('a'.repeat(64), 'b'.repeat(64), 'mp4');
const transfer = () => artifactTransferFromEnv(env);

async function checksum(bytes: Uint8Array): Promise<string> {
  return btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))));
}

async function put(url: string, body: BodyInit, headers: Record<string, string>): Promise<Response> {
  return exports.default.fetch(new Request(url, { method: 'PUT', body, headers }));
}

async function upload(url: string, bytes: Uint8Array, sum?: string): Promise<Response> {
  return put(url, bytes, { 'Content-Type': 'video/mp4', 'Content-Length': String(bytes.byteLength), 'x-amz-checksum-sha256': sum ?? (await checksum(bytes)) });
}

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

describe('the signed artifact transfer route (local stand-in for presigned R2 URLs)', () => {
  it('stores an upload checked against its SHA-256 and serves it back by a signed GET', async () => {
    const body = bytes(300_000);
    const target = await transfer().uploadTarget(KEY);
    const response = await upload(target.url, body);
    expect(response.status).toBe(201);
    const stored = await env.BUCKET.head(KEY);
    expect(stored?.size).toBe(300_000);
    expect(stored?.httpMetadata?.contentType).toBe('video/mp4');
    const read = await exports.default.fetch(new Request(await transfer().downloadUrl(KEY)));
    expect(read.status).toBe(200);
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(body);
  });

  it('keeps nothing of a body that does not match its checksum or its length', async () => {
    const target = await transfer().uploadTarget(KEY);
    const altered = await upload(target.url, bytes(1000), await checksum(bytes(1000, 8)));
    expect(altered.status).toBe(400);
    expect((await errorBody(altered)).code).toBe('upload_rejected');
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes(100));
        controller.close();
      },
    });
    const truncated = await put(target.url, stream, { 'Content-Length': '1000', 'x-amz-checksum-sha256': await checksum(bytes(1000)) });
    expect(truncated.status).toBe(400);
    expect(await env.BUCKET.head(KEY)).toBeNull();
  });

  it('is write-once: the same bytes again succeed (a retried upload), other bytes are refused', async () => {
    const target = await transfer().uploadTarget(KEY);
    expect((await upload(target.url, bytes(500))).status).toBe(201);
    const retried = await upload(target.url, bytes(500));
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ bytes: 500 });
    const foreign = await upload((await transfer().uploadTarget(KEY)).url, bytes(500, 9));
    expect(foreign.status).toBe(409);
    const kept = await env.BUCKET.get(KEY);
    expect(new Uint8Array(await kept!.arrayBuffer())).toEqual(bytes(500));
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects).toHaveLength(1);
  });

  it('refuses unsigned, expired, other-method and other-key URLs, and uploads without length or checksum', async () => {
    const target = await transfer().uploadTarget(KEY);
    const url = new URL(target.url);
    const withSig = (sig: string) => `${url.origin}${url.pathname}?exp=${url.searchParams.get('exp')}&sig=${sig}`;
    expect((await upload(withSig('0'.repeat(64)), bytes(10))).status).toBe(403);
    expect((await upload(`${url.origin}${url.pathname}`, bytes(10))).status).toBe(403);
    expect((await upload(await transfer().downloadUrl(KEY), bytes(10))).status).toBe(403); // a GET URL cannot PUT
    const otherKey = target.url.replace(KEY, artifactKey('a'.repeat(64), 'c'.repeat(64), 'mp4'));
    expect((await upload(otherKey, bytes(10))).status).toBe(403);
    const expired = new URL(target.url);
    expired.searchParams.set('exp', '1000');
    expect((await upload(expired.toString(), bytes(10))).status).toBe(403);
    const noSum = await put(target.url, bytes(10), { 'Content-Length': '10' });
    expect(noSum.status).toBe(400);
    expect((await errorBody(noSum)).code).toBe('checksum_required');
    expect(await env.BUCKET.head(KEY)).toBeNull();
  });
});

describe('a miss: the GPU function uploads, the Worker never holds the bytes', () => {

  it('serves what the function PUT to its target, and derived artifacts read their inputs by URL', async () => {
    const gpu = installFakeGpu();
    const id = await encodedVideo(gpu);
    const response = await call(`/v/${id}/it2v.mp4?interp=2`);
    expect(response.status).toBe(200);
    const served = new Uint8Array(await response.arrayBuffer());
    expect(gpu.uploads.map((u) => u.status)).toEqual([201, 201]); // the segment, then its interpolation
    // The interpolation read the 2048-byte generated segment through its signed GET URL.
    expect(new TextDecoder().decode(served).split(':')[3]).toMatch(/^2048\./);
    const digest = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', served)), (b) => b.toString(16).padStart(2, '0')).join('');
    expect(gpu.uploads[1]?.body).toEqual({ bytes: served.byteLength, sha256: digest });
  });

  it('fails retryably, keeping nothing, when a function reports an output it never uploaded', async () => {
    const gpu = installFakeGpu();
    const id = await encodedVideo(gpu);
    gpu.queue.push('skip-upload');
    const response = await call(`/v/${id}/tt2v.mp4`);
    expect(response.status).toBe(503);
    expect((await errorBody(response)).details).toEqual({ cause: 'upload_missing' });
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects).toHaveLength(0);
  });
});
