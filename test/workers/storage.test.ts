import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { failedSourceGraceMs } from '../../src/videos/source-sweep';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, env, fakeMp4 } from './helpers';
import { errorOf, newKey, runEncodeQueue } from './spend-helpers';
import { UploadAccepted } from '../../src/openapi/shapes';
import { json } from '../json';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

async function failedUpload(query = '') {
  gpu.queue.push('fail-input');
  const response = await call(`/v1/videos${query}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
  const { video, job } = await json(response, UploadAccepted);
  await runEncodeQueue(job, video);
  const row = await env.DB.prepare('SELECT status, source_key FROM videos WHERE id = ?').bind(video.id).first<{ status: string; source_key: string }>();
  expect(row?.status).toBe('failed');
  return { id: video.id as string, sourceKey: row!.source_key };
}

async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: '*/30 * * * *' }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe('sources of failed encodes', () => {
  it('are deleted by the cron trigger once the grace period is over, unless keepSource', async () => {
    const dropped = await failedUpload();
    const kept = await failedUpload('?keepSource=true');
    await runCron(); // within the grace period: nothing goes
    expect(await env.BUCKET.head(dropped.sourceKey)).not.toBeNull();

    const past = Date.now() - failedSourceGraceMs(env) - 1000;
    await env.DB.prepare('UPDATE videos SET updated_at = ? WHERE id IN (?, ?)').bind(past, dropped.id, kept.id).run();
    await runCron();
    expect(await env.BUCKET.head(dropped.sourceKey)).toBeNull();
    expect((await env.DB.prepare('SELECT source_key FROM videos WHERE id = ?').bind(dropped.id).first<{ source_key: string | null }>())?.source_key).toBeNull();
    expect(await env.BUCKET.head(kept.sourceKey)).not.toBeNull();
  });
});

/** Records a stored video of `bytes` (its source kept) for `owner`, as if uploaded earlier. */
async function storedVideo(owner: string, bytes: number, id = 'vid_00000000000000000000000000') {
  await env.DB.prepare(
    `INSERT INTO videos (id, owner, status, source_key, source_bytes, source_type, keep_source, options, created_at, updated_at)
     VALUES (?, ?, 'succeeded', ?, ?, 'video/mp4', 1, '{}', 0, 0)`,
  )
    .bind(id, owner, `sources/${id}`, bytes)
    .run();
}

describe('storage quota', () => {
  it("refuses an upload that would take the key's stored bytes past the quota, storing nothing", async () => {
    const key = await newKey(['encode', 'read']);
    const quota = Number(env.STORAGE_BYTES_PER_OWNER);
    await storedVideo(key.owner, quota - 1000);
    const before = (await env.BUCKET.list({ prefix: 'sources/' })).objects.length;
    const refused = await errorOf(await call('/v1/videos', { method: 'POST', body: fakeMp4(4096), headers: { 'Content-Type': 'video/mp4' }, key: key.secret }));
    expect(refused).toEqual({ status: 413, code: 'storage_quota_exceeded', details: { usedBytes: quota - 1000, uploadBytes: 4096, quotaBytes: quota } });
    expect((await env.BUCKET.list({ prefix: 'sources/' })).objects.length).toBe(before);
    expect((await call('/v1/videos', { method: 'POST', body: fakeMp4(500), headers: { 'Content-Type': 'video/mp4' }, key: key.secret })).status).toBe(202);
  });

  it("takes a key's own storage quota, set by the admin at its creation, instead of STORAGE_BYTES_PER_OWNER", async () => {
    const quota = 10_000;
    const key = await newKey(['encode', 'read'], { limits: { storageBytes: quota } });
    expect(key.limits.storageBytes).toBe(quota);
    await storedVideo(key.owner, quota - 5000);
    const refused = await errorOf(await call('/v1/videos', { method: 'POST', body: fakeMp4(6000), headers: { 'Content-Type': 'video/mp4' }, key: key.secret }));
    expect(refused).toEqual({ status: 413, code: 'storage_quota_exceeded', details: { usedBytes: quota - 5000, uploadBytes: 6000, quotaBytes: quota } });
    expect((await call('/v1/videos', { method: 'POST', body: fakeMp4(5000), headers: { 'Content-Type': 'video/mp4' }, key: key.secret })).status).toBe(202); // exactly the quota

    const roomy = await newKey(['encode', 'read'], { limits: { storageBytes: Number(env.STORAGE_BYTES_PER_OWNER) * 2 } });
    await storedVideo(roomy.owner, Number(env.STORAGE_BYTES_PER_OWNER), 'vid_00000000000000000000000001');
    expect((await call('/v1/videos', { method: 'POST', body: fakeMp4(4096), headers: { 'Content-Type': 'video/mp4' }, key: roomy.secret })).status).toBe(202);
  });

  it('refuses a storage quota that is not a whole number of bytes from 0, naming it', async () => {
    for (const storageBytes of [-1, 1.5, '100']) {
      const response = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'k', scopes: ['encode'], limits: { storageBytes } }) });
      expect(response.status).toBe(400);
      expect(JSON.stringify(await response.json())).toContain('storageBytes');
    }
  });
});
