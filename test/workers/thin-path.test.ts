import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { MULTIPART_PART_BYTES, storeUpload } from '../../src/uploads/store-upload';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, env, fakeMp4, refusedUpload, upload } from './helpers';
import { errorBody, json } from '../json';
import { JobView, VideoView } from '../../src/openapi/shapes';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

async function encode(jobId: string, videoId: string, attempts = 1) {
  const batch = createMessageBatch('cmvc-encode', [{ id: `m-${jobId}-${attempts}`, timestamp: new Date(), attempts, body: { jobId, videoId } }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<{ jobId: string; videoId: string }>, env, ctx);
  return getQueueResult(batch, ctx);
}

describe('upload errors', () => {
  it('answers 401 without a key and with a wrong key', async () => {
    const none = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key: null });
    expect(none.status).toBe(401);
    expect((await errorBody(none)).code).toBe('missing_api_key');
    const wrong = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key: 'not-the-admin-key' });
    expect(wrong.status).toBe(401);
    expect((await errorBody(wrong)).code).toBe('invalid_api_key');
  });

  it('answers 400 for an empty body', async () => {
    const { response, error } = await refusedUpload(new Uint8Array(0));
    expect(response.status).toBe(400);
    expect(error.code).toBe('empty_body');
  });

  it('answers 415 for a text body sent as video, and for a text content type', async () => {
    const asVideo = await refusedUpload(new TextEncoder().encode('hello, this is not a video at all'.repeat(10)));
    expect(asVideo.response.status).toBe(415);
    expect(asVideo.error.code).toBe('not_a_video');
    const asText = await refusedUpload('plain text', { 'Content-Type': 'text/plain' });
    expect(asText.response.status).toBe(415);
    expect(asText.error.code).toBe('unsupported_media_type');
  });

  it('names an unknown upload option', async () => {
    const response = await call('/v1/videos?sceneLength=3', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(400);
    expect((await errorBody(response))).toMatchObject({ code: 'invalid_option', details: { option: 'sceneLength' } });
  });

  it('stores nothing when the upload is refused', async () => {
    await refusedUpload(new TextEncoder().encode('x'.repeat(300)));
    const listed = await env.BUCKET.list({ prefix: 'sources/' });
    expect(listed.objects).toHaveLength(0);
    const { results } = await env.DB.prepare('SELECT id FROM videos').all();
    expect(results).toHaveLength(0);
  });

  it('answers 404 for an unknown video', async () => {
    const response = await call('/v/vid_00000000000000000000000000/it2v.mp4');
    expect(response.status).toBe(404);
    expect((await errorBody(response)).code).toBe('not_found');
  });
});

describe('the thin path', () => {
  it('uploads, encodes through the queue, and serves a cached reconstruction', async () => {
    const { response, json: accepted } = await upload();
    expect(response.status).toBe(202);
    expect(accepted.job.status).toBe('queued');
    const { video, job } = accepted;
    expect(await env.BUCKET.head(`sources/${video.id}`)).not.toBeNull();

    const result = await encode(job.id, video.id);
    expect(result.explicitAcks).toEqual([`m-${job.id}-1`]);
    const jobNow = (await json(await call(`/v1/jobs/${job.id}`), JobView));
    expect(jobNow).toMatchObject({ status: 'succeeded', progress: 1 });
    const described = (await json(await call(`/v1/videos/${video.id}`), VideoView));
    expect(described.status).toBe('succeeded');
    expect(described.bitstream!.bytes).toBeGreaterThan(50);
    expect(described.video).toMatchObject({ width: 320, height: 240, segmentCount: 1 });
    expect(await env.BUCKET.head(`sources/${video.id}`)).toBeNull(); // source deleted after success
    expect(await env.BUCKET.head(`bitstreams/${described.bitstream!.sha256}.cmvc`)).not.toBeNull();

    const first = await call(`/v/${video.id}/it2v.mp4`);
    expect(first.status).toBe(200);
    expect(first.headers.get('Content-Type')).toBe('video/mp4');
    const bytes = new Uint8Array(await first.arrayBuffer());
    expect(Number(first.headers.get('Content-Length'))).toBe(bytes.byteLength);
    const etag = first.headers.get('ETag');
    expect(etag).toMatch(/^"/);
    expect(gpu.calls.generate).toBe(1);

    const second = await call(`/v/${video.id}/it2v.mp4`);
    expect(second.status).toBe(200);
    expect(new Uint8Array(await second.arrayBuffer())).toEqual(bytes);
    expect(gpu.calls.generate).toBe(1);

    const notModified = await call(`/v/${video.id}/it2v.mp4`, { headers: { 'If-None-Match': etag as string } });
    expect(notModified.status).toBe(304);
    const range = await call(`/v/${video.id}/it2v.mp4`, { headers: { Range: 'bytes=10-19' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('Content-Range')).toBe(`bytes 10-19/${bytes.byteLength}`);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });

  it('marks the job failed when the GPU refuses the input, without retrying', async () => {
    const { json: accepted } = await upload();
    gpu.queue.push('fail-input');
    const result = await encode(accepted.job.id, accepted.video.id);
    expect(result.explicitAcks).toHaveLength(1);
    const jobNow = (await json(await call(`/v1/jobs/${accepted.job.id}`), JobView));
    expect(jobNow).toMatchObject({ status: 'failed', error: { code: 'undecodable_video' } });
  });

  it('retries a job when the GPU backend fails, and garbage is never stored', async () => {
    const { json: accepted } = await upload();
    gpu.queue.push('garbage');
    const result = await encode(accepted.job.id, accepted.video.id);
    expect(result.retryMessages).toHaveLength(1);
    expect((await env.BUCKET.list({ prefix: 'bitstreams/' })).objects).toHaveLength(0);
    const retried = await encode(accepted.job.id, accepted.video.id, 2);
    expect(retried.explicitAcks).toHaveLength(1);
    const jobNow = (await json(await call(`/v1/jobs/${accepted.job.id}`), JobView));
    expect(jobNow).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('streams a multipart upload larger than one R2 part byte for byte, and stores nothing for a truncated one', { timeout: 60_000 }, async () => {
    const file = fakeMp4(9 * 1024 * 1024 + 123);
    for (let at = 4096; at < file.byteLength; at += 65536) crypto.getRandomValues(file.subarray(at, Math.min(at + 65536, file.byteLength)));
    const boundary = '----cmvcBoundary7MA4YWxkTrZu0gW';
    file.set(new TextEncoder().encode(`\r\n--${boundary.slice(0, -1)}\r\n-${boundary}`), 8 * 1024 * 1024 - 10); // across the R2 part edge
    const head = new TextEncoder().encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nbefore the file\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big \\"clip\\".mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    const tail = new TextEncoder().encode(`\r\n--${boundary}--\r\n`);
    const body = new Uint8Array(head.byteLength + file.byteLength + tail.byteLength);
    body.set(head);
    body.set(file, head.byteLength);
    body.set(tail, head.byteLength + file.byteLength);
    const sha256 = async (bytes: ArrayBuffer | Uint8Array) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

    const { response, json: accepted } = await upload(body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    expect(response.status).toBe(202);
    const stored = await env.BUCKET.get(`sources/${accepted.video.id}`);
    expect(stored?.httpMetadata?.contentType).toBe('video/mp4');
    const storedBytes = await (stored as R2ObjectBody).arrayBuffer();
    expect(storedBytes.byteLength).toBe(file.byteLength);
    expect(await sha256(storedBytes)).toBe(await sha256(file));
    const { results } = await env.DB.prepare('SELECT filename, source_bytes FROM videos WHERE id = ?').bind(accepted.video.id).all();
    expect(results).toEqual([{ filename: 'big "clip".mp4', source_bytes: file.byteLength }]);
    await env.BUCKET.delete(`sources/${accepted.video.id}`);

    const truncated = await refusedUpload(body.slice(0, body.byteLength - tail.byteLength), { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    expect(truncated.response.status).toBe(400);
    expect(truncated.error.code).toBe('truncated_upload');
    expect((await env.BUCKET.list({ prefix: 'sources/' })).objects).toHaveLength(0);
  });
});

describe('storing an upload of unknown length', () => {
  it('sends R2 parts of exactly one size but the last, whatever the chunking', { timeout: 30_000 }, async () => {
    const sizes: number[] = [];
    const written: Uint8Array[] = [];
    const bucket = {
      createMultipartUpload: async () => ({
        uploadPart: async (n: number, data: Uint8Array) => {
          sizes.push(data.byteLength);
          written.push(data.slice());
          return { partNumber: n, etag: `p${n}` };
        },
        complete: async () => ({}),
        abort: async () => {},
      }),
    } as unknown as R2Bucket;
    const total = 2 * MULTIPART_PART_BYTES + 12_345;
    const source = new Uint8Array(total);
    const pattern = new Uint8Array(65_521).map((_, i) => (i * 31) & 0xff); // a prime length: no part edge lines up with it
    for (let at = 0; at < total; at += pattern.length) source.set(pattern.subarray(0, Math.min(pattern.length, total - at)), at);
    source.set(fakeMp4().subarray(0, 64));
    // Odd chunk sizes, so the part edges fall inside chunks.
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= total) return controller.close();
        const size = Math.min(total - at, 1_000_003);
        controller.enqueue(source.subarray(at, at + size));
        at += size;
      },
    });
    const stored = await storeUpload(bucket, 'sources/x', body, null, 64 * 1024 * 1024, 'video/mp4');
    expect(stored.bytes).toBe(total);
    expect(sizes).toEqual([MULTIPART_PART_BYTES, MULTIPART_PART_BYTES, 12_345]);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const part of written) {
      joined.set(part, offset);
      offset += part.byteLength;
    }
    const hex = async (bytes: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(await hex(joined)).toBe(await hex(source));
  });
});
