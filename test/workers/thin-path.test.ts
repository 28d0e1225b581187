import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, env, fakeMp4, upload } from './helpers';

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
    expect(((await none.json()) as any).error.code).toBe('missing_api_key');
    const wrong = await call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' }, key: 'not-the-admin-key' });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as any).error.code).toBe('invalid_api_key');
  });

  it('answers 400 for an empty body', async () => {
    const { response, json } = await upload(new Uint8Array(0));
    expect(response.status).toBe(400);
    expect(json.error.code).toBe('empty_body');
  });

  it('answers 415 for a text body sent as video, and for a text content type', async () => {
    const asVideo = await upload(new TextEncoder().encode('hello, this is not a video at all'.repeat(10)));
    expect(asVideo.response.status).toBe(415);
    expect(asVideo.json.error.code).toBe('not_a_video');
    const asText = await upload('plain text', { 'Content-Type': 'text/plain' });
    expect(asText.response.status).toBe(415);
    expect(asText.json.error.code).toBe('unsupported_media_type');
  });

  it('names an unknown upload option', async () => {
    const response = await call('/v1/videos?sceneLength=3', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error).toMatchObject({ code: 'invalid_option', details: { option: 'sceneLength' } });
  });

  it('stores nothing when the upload is refused', async () => {
    await upload(new TextEncoder().encode('x'.repeat(300)));
    const listed = await env.BUCKET.list({ prefix: 'sources/' });
    expect(listed.objects).toHaveLength(0);
    const { results } = await env.DB.prepare('SELECT id FROM videos').all();
    expect(results).toHaveLength(0);
  });

  it('answers 404 for an unknown video', async () => {
    const response = await call('/v/vid_00000000000000000000000000/it2v.mp4');
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe('not_found');
  });
});

describe('the thin path', () => {
  it('uploads, encodes through the queue, and serves a cached reconstruction', async () => {
    const { response, json } = await upload();
    expect(response.status).toBe(202);
    expect(json.job.status).toBe('queued');
    const { video, job } = json;
    expect(await env.BUCKET.head(`sources/${video.id}`)).not.toBeNull();

    const result = await encode(job.id, video.id);
    expect(result.explicitAcks).toEqual([`m-${job.id}-1`]);
    const jobNow = (await (await call(`/v1/jobs/${job.id}`)).json()) as any;
    expect(jobNow).toMatchObject({ status: 'succeeded', progress: 1 });
    const described = (await (await call(`/v1/videos/${video.id}`)).json()) as any;
    expect(described.status).toBe('succeeded');
    expect(described.bitstream.bytes).toBeGreaterThan(50);
    expect(described.video).toMatchObject({ width: 320, height: 240, segmentCount: 1 });
    expect(await env.BUCKET.head(`sources/${video.id}`)).toBeNull(); // source deleted after success
    expect(await env.BUCKET.head(`bitstreams/${described.bitstream.sha256}.cmvc`)).not.toBeNull();

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
    const { json } = await upload();
    gpu.queue.push('fail-input');
    const result = await encode(json.job.id, json.video.id);
    expect(result.explicitAcks).toHaveLength(1);
    const jobNow = (await (await call(`/v1/jobs/${json.job.id}`)).json()) as any;
    expect(jobNow).toMatchObject({ status: 'failed', error: { code: 'undecodable_video' } });
  });

  it('retries a job when the GPU backend fails, and garbage is never stored', async () => {
    const { json } = await upload();
    gpu.queue.push('garbage');
    const result = await encode(json.job.id, json.video.id);
    expect(result.retryMessages).toHaveLength(1);
    expect((await env.BUCKET.list({ prefix: 'bitstreams/' })).objects).toHaveLength(0);
    const retried = await encode(json.job.id, json.video.id, 2);
    expect(retried.explicitAcks).toHaveLength(1);
    const jobNow = (await (await call(`/v1/jobs/${json.job.id}`)).json()) as any;
    expect(jobNow).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});
