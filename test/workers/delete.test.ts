// DELETE /v1/videos/{id}: every row, object and cached copy derived from the video goes — unless
// another video shares its bitstream, whose artifacts then stay and keep serving.
import { beforeEach, describe, expect, it } from 'vitest';
import { artifactCacheUrl, bitstreamCacheUrl } from '../../src/cache/keys';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, callSettled, deliverEncode, env, fakeMp4, upload } from './helpers';
import { VideoView } from '../../src/openapi/shapes';
import { json } from '../json';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

async function encoded(headers: Record<string, string> = {}) {
  const { json: accepted } = await upload(fakeMp4(), { 'Content-Type': 'video/mp4', ...headers });
  await deliverEncode({ jobId: accepted.job.id, videoId: accepted.video.id });
  const video = (await json(await call(`/v1/videos/${accepted.video.id}`), VideoView));
  return { id: accepted.video.id as string, jobId: accepted.job.id as string, hash: video.bitstream?.sha256 as string };
}

/** Serves the reconstruction and waits until its copy is in the edge cache; the artifact key. */
async function reconstructed(id: string): Promise<string> {
  const response = await callSettled(`/v/${id}/tt2v.mp4`);
  expect(response.status).toBe(200);
  await response.arrayBuffer();
  return response.headers.get('X-Artifact-Key') as string;
}

const inEdgeCache = async (url: string) => (await caches.default.match(new Request(url))) !== undefined;
const rows = async (table: string, videoId: string) => (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE video_id = ?`).bind(videoId).first<{ n: number }>())?.n;
const remove = (id: string) => callSettled(`/v1/videos/${id}`, { method: 'DELETE' });

describe('DELETE /v1/videos/{id}', () => {
  it('removes the job and idempotency rows, so the same Idempotency-Key uploads anew', async () => {
    const video = await encoded({ 'Idempotency-Key': 'clip-1' });
    expect(await rows('jobs', video.id)).toBe(1);
    expect(await rows('idempotency_keys', video.id)).toBe(1);
    expect((await remove(video.id)).status).toBe(204);
    expect(await rows('jobs', video.id)).toBe(0);
    expect(await rows('idempotency_keys', video.id)).toBe(0);
    expect((await call(`/v1/jobs/${video.jobId}`)).status).toBe(404);
    const again = await upload(fakeMp4(), { 'Content-Type': 'video/mp4', 'Idempotency-Key': 'clip-1' });
    expect(again.response.status).toBe(202);
    expect(again.response.headers.get('Idempotent-Replayed')).toBeNull();
    expect(again.json.video.id).not.toBe(video.id);
  });

  it('purges the Cache API copies of the artifacts and the bitstream', async () => {
    const video = await encoded();
    const artifact = await reconstructed(video.id);
    expect(await inEdgeCache(artifactCacheUrl(artifact))).toBe(true);
    expect(await inEdgeCache(bitstreamCacheUrl(video.hash))).toBe(true);
    expect((await remove(video.id)).status).toBe(204);
    expect(await inEdgeCache(artifactCacheUrl(artifact))).toBe(false);
    expect(await inEdgeCache(bitstreamCacheUrl(video.hash))).toBe(false);
    expect((await env.BUCKET.list()).objects).toHaveLength(0);
  });

  it('keeps a bitstream and its artifacts while another video shares them, and removes them with the last', async () => {
    const first = await encoded();
    const second = await encoded();
    expect(second.hash).toBe(first.hash); // the same content: one content-addressed bitstream
    const artifact = await reconstructed(first.id);
    expect((await remove(first.id)).status).toBe(204);
    expect((await call(`/v/${first.id}/tt2v.mp4`)).status).toBe(404);
    expect(await env.BUCKET.head(`bitstreams/${first.hash}.cmvc`)).not.toBeNull();
    expect(await inEdgeCache(artifactCacheUrl(artifact))).toBe(true);

    const shared = await callSettled(`/v/${second.id}/tt2v.mp4`);
    expect(shared.status).toBe(200);
    expect(shared.headers.get('X-Cache')).toBe('hit-edge');
    expect(gpu.calls.generate).toBe(1);

    expect((await remove(second.id)).status).toBe(204);
    expect((await env.BUCKET.list()).objects).toHaveLength(0);
    expect(await inEdgeCache(artifactCacheUrl(artifact))).toBe(false);
    expect(await inEdgeCache(bitstreamCacheUrl(first.hash))).toBe(false);
  });
});
