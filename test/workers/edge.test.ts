import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { coordinatorFor } from '../../src/generation/stub';
import { artifactTransferFromEnv } from '../../src/storage/artifact-transfer';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, callSettled, encodedVideo as encodedVideoOn, env, plannedSpec } from './helpers';
import { errorBody, json } from '../json';
import { SignedUrls, VideoView } from '../../src/openapi/shapes';
import type { InspectReport } from '../../src/bitstream/inspect';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

const encodedVideo = (segments = 1) => encodedVideoOn(gpu, segments);

describe('single flight', () => {
  it('makes exactly one generation for 50 concurrent cold requests', async () => {
    const id = await encodedVideo();
    gpu.pendingPolls = 3;
    const responses = await Promise.all(Array.from({ length: 50 }, () => call(`/v/${id}/tt2v.mp4?seed=3`)));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const bodies = await Promise.all(responses.map(async (r) => new Uint8Array(await r.arrayBuffer()).byteLength));
    expect(new Set(bodies).size).toBe(1);
    expect(gpu.calls.generate).toBe(1);
  });

  it('gives a video and no duplicate when the backend fails twice then works', async () => {
    const id = await encodedVideo();
    gpu.queue.push('fail-500', 'fail-500');
    const response = await call(`/v/${id}/it2v.mp4`);
    expect(response.status).toBe(200);
    expect(gpu.calls.generate).toBe(3); // two failed submits retried by the client, one success
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(3);
  });

  // The bound is asserted under a test timeout well above it, so a slow answer fails the assertion, not the clock.
  it('answers 503 with Retry-After within a bounded time when the backend is dead, and caches nothing', { timeout: 30_000 }, async () => {
    const id = await encodedVideo();
    gpu.defaultBehaviour = 'down';
    const started = Date.now();
    const response = await call(`/v/${id}/tt2v.mp4`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect((await errorBody(response)).code).toBe('gpu_unavailable');
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects).toHaveLength(0);
  });

  it('never stores garbage from the backend', async () => {
    const id = await encodedVideo();
    gpu.queue.push('garbage', 'garbage', 'garbage');
    const response = await call(`/v/${id}/tt2v.mp4`);
    expect(response.status).toBe(503);
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects).toHaveLength(0);
  });

  it('answers 202 with Retry-After when not ready within Prefer: wait, and 200 later', { timeout: 30_000 }, async () => {
    const id = await encodedVideo();
    gpu.pendingPolls = 4;
    const early = await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=0' } });
    expect(early.status).toBe(202);
    expect(early.headers.get('Retry-After')).toBe('3');
    expect(early.headers.get('Cache-Control')).toBe('no-store');
    const later = await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=20' } });
    expect(later.status).toBe(200);
    expect(gpu.calls.generate).toBe(1);
  });

  it('resumes a generation after its coordinator restarts, polling the same call', async () => {
    const id = await encodedVideo();
    const spec = await plannedSpec(id, 'tt2v');
    // A generation was submitted before the restart: its call id is all that survives, in storage.
    gpu.pendingPolls = 2;
    const output = await artifactTransferFromEnv(env).uploadTarget(spec.r2Key);
    const body = JSON.stringify(spec.kind === 'generate' ? { ...spec.request, output } : {});
    const submitted = (await (await gpu.handle('http://gpu.test/v1/generate/submit', { method: 'POST', body })).json()) as { callId: string };
    const stub = coordinatorFor(env, spec.key);
    await runInDurableObject(stub, async (_instance, state) => {
      await state.storage.put('state', { status: 'running', spec, chargeTo: null, callId: submitted.callId, progress: 0.1, startedAt: Date.now(), attempts: 1 });
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    // The fresh instance has nothing in memory; its alarm resumes polling the stored call.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(1); // the one submitted before the restart; none after
  });
});

describe('artifact graph', () => {
  it('derives the interpolated variant from the cached segment, and assembles whole videos from segments', async () => {
    const id = await encodedVideo(3);
    expect((await call(`/v/${id}/it2v/1.mp4`)).status).toBe(200);
    expect(gpu.calls).toMatchObject({ generate: 1, interpolate: 0, assemble: 0 });
    expect((await call(`/v/${id}/it2v/1.mp4?interp=2`)).status).toBe(200);
    expect(gpu.calls).toMatchObject({ generate: 1, interpolate: 1 });
    expect((await call(`/v/${id}/it2v.mp4`)).status).toBe(200);
    expect(gpu.calls).toMatchObject({ generate: 3, interpolate: 1, assemble: 1 });
    expect((await call(`/v/${id}/it2v/3.mp4`)).status).toBe(404);
  });
});

describe('HTTP semantics', () => {
  it('answers HEAD, 416 and names bad options', async () => {
    const id = await encodedVideo();
    const head = await call(`/v/${id}/tt2v.mp4`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const size = Number(head.headers.get('Content-Length'));
    expect(size).toBeGreaterThan(0);
    const outside = await call(`/v/${id}/tt2v.mp4`, { headers: { Range: `bytes=${size}-` } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('Content-Range')).toBe(`bytes */${size}`);
    const unknown = await call(`/v/${id}/tt2v.mp4?quality=high`);
    expect(unknown.status).toBe(400);
    expect((await errorBody(unknown))).toMatchObject({ code: 'unknown_option', details: { option: 'quality' } });
  });
});

describe('streaming for low-bandwidth clients', () => {
  it('serves HLS playlists, segments, poster and captions', async () => {
    const id = await encodedVideo(2);
    const master = await call(`/v/${id}/it2v.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('Content-Type')).toBe('application/vnd.apple.mpegurl');
    const masterText = await master.text();
    expect(masterText).toContain('#EXT-X-STREAM-INF');
    expect(masterText).toContain('it2v/media.m3u8');
    const media = await (await call(`/v/${id}/it2v/media.m3u8`)).text();
    expect(media.match(/#EXTINF:1\.000,/g)).toHaveLength(2);
    expect(media).toContain('#EXT-X-ENDLIST');
    const segment = await callSettled(`/v/${id}/it2v/0.ts`); // settled: its prefetch of segment 1 has run
    expect(segment.status).toBe(200);
    expect(segment.headers.get('Content-Type')).toBe('video/mp2t');
    const generated = gpu.calls.generate;
    const poster = await callSettled(`/v/${id}/poster.webp`);
    expect(poster.headers.get('Content-Type')).toBe('image/webp');
    expect(new TextDecoder().decode(await poster.arrayBuffer())).toBe('RIFF-fake-webp-0');
    const vtt = await (await callSettled(`/v/${id}/captions.vtt`)).text();
    expect(gpu.calls.generate).toBe(generated); // the poster and captions need no GPU
    expect(vtt).toMatch(/^WEBVTT\n\n0\n00:00:00\.000 --> 00:00:01\.000\na scene 320x240; centre: white cup number 0\n/);
  });

  it('signs the URIs inside a playlist fetched by signed URL', async () => {
    const id = await encodedVideo(2);
    const minted = await json(await call(`/v1/videos/${id}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['tt2v'], expiresIn: 600 }) }), SignedUrls);
    const hls = minted.urls[0]!.url.replace('/tt2v.mp4?', '/tt2v.m3u8?');
    // The mp4 URL's signature does not open the playlist: each path is signed on its own.
    expect((await call(hls.replace(/^https?:\/\/[^/]+/, ''), { key: null })).status).toBe(403);

    // A playlist URL minted as such opens, and so does every URI inside it, with no key.
    const mint = (body: unknown) => call(`/v1/videos/${id}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const both = await json(await mint({ modes: ['tt2v'], formats: ['mp4', 'hls'], expiresIn: 600 }), SignedUrls);
    expect(both.urls.map((u) => [u.format, u.segment])).toEqual([['mp4', null], ['hls', null]]);
    const playlistUrl = new URL(both.urls[1]!.url);
    expect(playlistUrl.pathname).toBe(`/v/${id}/tt2v.m3u8`);
    const master = await call(playlistUrl.pathname + playlistUrl.search, { key: null });
    expect(master.status).toBe(200);
    const mediaUri = (await master.text()).split('\n').find((l) => l && !l.startsWith('#')) as string;
    expect(mediaUri).toMatch(/[?&]sig=/);
    const mediaUrl = new URL(mediaUri, playlistUrl);
    const media = await call(mediaUrl.pathname + mediaUrl.search, { key: null });
    expect(media.status).toBe(200);
    const segmentUri = (await media.text()).split('\n').find((l) => l && !l.startsWith('#')) as string;
    const segmentUrl = new URL(segmentUri, mediaUrl);
    const segment = await call(segmentUrl.pathname + segmentUrl.search, { key: null });
    expect(segment.status).toBe(200);
    expect(segment.headers.get('Content-Type')).toBe('video/mp2t');
    // An HLS playlist is the whole video: asking for it per segment is refused.
    const refused = await mint({ modes: ['tt2v'], formats: ['hls'], segments: [0], expiresIn: 600 });
    expect(refused.status).toBe(400);
    expect((await errorBody(refused)).details).toHaveProperty('field', 'formats');
  });
});

describe('bitstream routes', () => {
  it('serves the bitstream with ETag and Range, cuts it, imports it and inspects it', async () => {
    const id = await encodedVideo(3);
    const full = await call(`/v1/videos/${id}/bitstream`);
    expect(full.status).toBe(200);
    expect(full.headers.get('Content-Type')).toBe('application/vnd.cmvc');
    const bytes = new Uint8Array(await full.arrayBuffer());
    const etag = full.headers.get('ETag') as string;
    expect((await call(`/v1/videos/${id}/bitstream`, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    const range = await call(`/v1/videos/${id}/bitstream`, { headers: { Range: 'bytes=0-7' } });
    expect(range.status).toBe(206);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(bytes.subarray(0, 8));

    const tt2v = new Uint8Array(await (await call(`/v1/videos/${id}/bitstream?profile=tt2v`)).arrayBuffer());
    expect(tt2v.byteLength).toBeLessThan(bytes.byteLength);
    const one = new Uint8Array(await (await call(`/v1/videos/${id}/bitstream?segments=1-1`)).arrayBuffer());
    expect(one.byteLength).toBeLessThan(bytes.byteLength);
    expect((await call(`/v1/videos/${id}/bitstream?segments=2-5`)).status).toBe(400);

    const inspected = (await (await call('/v1/bitstreams/inspect', { method: 'POST', body: one })).json()) as InspectReport;
    expect(inspected.valid).toBe(true);
    expect(inspected.segments).toHaveLength(1);
    expect(inspected.segments[0]).toMatchObject({ startFrame: 24, frameCount: 24 });
    const imported = await call('/v1/bitstreams', { method: 'POST', body: tt2v });
    expect(imported.status).toBe(201);
    const importedId = (await json(imported, VideoView)).id;
    expect((await call(`/v/${importedId}/tt2v/0.mp4`)).status).toBe(200);
    const noKeyframe = await call(`/v/${importedId}/it2v/0.mp4`);
    expect(noKeyframe.status).toBe(422);
    expect((await errorBody(noKeyframe)).code).toBe('mode_unavailable');

    const broken = bytes.slice(0, bytes.byteLength - 5);
    const refused = await call('/v1/bitstreams', { method: 'POST', body: broken });
    expect(refused.status).toBe(422);
    expect((await errorBody(refused)).code).toMatch(/^bitstream_/);
  });

  it('deletes a video with everything derived from it', async () => {
    const id = await encodedVideo();
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(200);
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects.length).toBeGreaterThan(0);
    expect((await call(`/v1/videos/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await env.BUCKET.list()).objects).toHaveLength(0);
    expect((await call(`/v/${id}/tt2v.mp4`)).status).toBe(404);
    expect((await call(`/v1/videos/${id}/bitstream`)).status).toBe(404);
    expect(gpu.calls.generate).toBe(1);
  });

  it('never makes anything for a video another isolate deleted while this one still remembers it', async () => {
    const id = await encodedVideo(3);
    expect((await callSettled(`/v1/videos/${id}/bitstream`)).status).toBe(200); // now remembered in this isolate
    // Deleted elsewhere: the rows go, this isolate's memory does not hear of it.
    await env.DB.prepare('DELETE FROM videos WHERE id = ?').bind(id).run();
    const miss = await callSettled(`/v/${id}/tt2v.mp4`);
    expect(miss.status).toBe(404);
    expect((await callSettled(`/v/${id}/it2v/0.ts`)).status).toBe(404); // settled: any prefetch it scheduled has run
    expect(gpu.calls.generate).toBe(0);
    expect((await env.BUCKET.list({ prefix: 'artifacts/' })).objects).toHaveLength(0);
  });
});
