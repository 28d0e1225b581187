// Live videos in the Workers runtime, on the fake GPU: ingest (tokens, chunk numbers, replays, conflicts, late and
// corrupt chunks), chunks coded as they arrive and appended in order, reads while live, the end and the idle end.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { readBitstream } from '../../src/bitstream';
import { LIVE_CHUNK_MAX_BYTES, LIVE_REORDER_WINDOW } from '../../src/live/limits';
import { estimateEncodeSeconds } from '../../src/jobs/encode-estimate';
import type { LiveMessage } from '../../src/live/messages';
import { ChunkAccepted, JobView, LiveStarted, VideoView } from '../../src/openapi/shapes';
import { errorBody, json } from '../json';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { ADMIN_KEY, call, callSettled, env, fakeMp4 } from './helpers';
import { liveArtifactRoot } from '../../src/live/start-live';
import { newKey, SPEND_SCOPES } from './spend-helpers';

let gpu: FakeGpu;
let sent: { body: LiveMessage; delaySeconds?: number }[];
beforeEach(() => {
  gpu = installFakeGpu();
  sent = [];
});

/** A live queue that records what is sent; tests deliver chunk messages by hand (`deliver`). */
const liveQueue = () =>
  ({
    send: async (body: LiveMessage, options?: { delaySeconds?: number }) => void sent.push({ body, delaySeconds: options?.delaySeconds }),
    sendBatch: async (messages: Iterable<{ body: LiveMessage; delaySeconds?: number }>) => void sent.push(...messages),
  }) as unknown as Queue<LiveMessage>;

/** A few bytes that sniff as WebM (the EBML magic); the fake GPU never decodes them. */
function webm(fill = 1, bytes = 2048): Uint8Array {
  const out = new Uint8Array(bytes).fill(fill);
  out.set([0x1a, 0x45, 0xdf, 0xa3]);
  return out;
}

async function start(query = '', key: string = ADMIN_KEY) {
  const response = await callSettled(`/v1/videos?live=true${query}`, { method: 'POST', key }, { LIVE_QUEUE: liveQueue() });
  expect(response.status).toBe(201);
  return json(response, LiveStarted);
}

function put(url: string, n: number | string, body: BodyInit, token: string, type = 'video/webm', headers: Record<string, string> = {}) {
  return callSettled(`${url}/${n}`, { method: 'PUT', body, key: token, headers: { 'Content-Type': type, ...headers } }, { LIVE_QUEUE: liveQueue() });
}

/** Delivers the recorded chunk messages (those not delivered yet), in the order given, as the live queue would. */
async function deliver(order?: number[]) {
  const chunks = sent.filter((m) => m.body.kind === 'chunk');
  const byN = new Map(chunks.map((m) => [(m.body as { n: number }).n, m]));
  for (const n of order ?? [...byN.keys()]) {
    const message = byN.get(n);
    if (message === undefined) throw new Error(`no message for chunk ${n}`);
    sent = sent.filter((m) => m !== message);
    await runLive(message.body);
  }
}

async function runLive(body: LiveMessage, queue = 'cmvc-live', attempts = 1) {
  const batch = createMessageBatch(queue, [{ id: `m-${JSON.stringify(body)}-${attempts}`, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<LiveMessage>, { ...env, LIVE_QUEUE: liveQueue() }, ctx);
  return getQueueResult(batch, ctx);
}

const view = async (id: string) => json(await call(`/v1/videos/${id}`), VideoView);
const jobOf = async (id: string) => json(await call((await view(id)).links.job as string), JobView);

describe('starting a live video', () => {
  it('answers 201 with the video (live, nothing coded) and an ingest URL and token, and schedules the idle check', async () => {
    const started = await start();
    expect(started.ingest.url).toBe(`/v1/videos/${started.video.id}/live`);
    expect(started.ingest.token).toMatch(/^cmvc_it_[A-Za-z0-9_-]{43}$/);
    expect(started.video).toMatchObject({ status: 'live', live: { state: 'live', segmentsCoded: 0, ingest: started.ingest.url }, bitstream: null });
    expect(sent).toEqual([{ body: { kind: 'idle', videoId: started.video.id }, delaySeconds: Number(env.LIVE_IDLE_SECONDS) }]);
    // frameRate must be a whole number of 48-kHz samples a frame
    const bad = await call('/v1/videos?live=true&frameRate=29', { method: 'POST' });
    expect([bad.status, (await errorBody(bad)).code]).toEqual([400, 'invalid_option']);
  });

  it("scopes the ingest token to that video's ingest: no other video, no other route", async () => {
    const a = await start();
    const b = await start();
    const wrongVideo = await put(b.ingest.url, 0, webm(), a.ingest.token);
    expect([wrongVideo.status, (await errorBody(wrongVideo)).code]).toEqual([401, 'invalid_ingest_token']);
    const otherRoute = await call(`/v1/videos/${a.video.id}`, { key: a.ingest.token });
    expect(otherRoute.status).toBe(401);
    const bitstream = await call(`/v1/videos/${a.video.id}/bitstream`, { key: a.ingest.token });
    expect(bitstream.status).toBe(401);
    // an encode key of the owner works too; another owner's key sees no such video
    expect((await put(a.ingest.url, 0, webm(), ADMIN_KEY)).status).toBe(202);
    const stranger = await newKey(SPEND_SCOPES);
    expect((await put(a.ingest.url, 1, webm(), stranger.secret)).status).toBe(404);
  });
});

describe('chunks', () => {
  it('202 received, the same bytes again 200, other bytes 409; bad numbers, types, bytes and sizes refused', async () => {
    const { video, ingest } = await start();
    const first = await put(ingest.url, 0, webm(1), ingest.token);
    expect(first.status).toBe(202);
    expect((await json(first, ChunkAccepted)).chunk).toMatchObject({ n: 0, status: 'received', bytes: 2048 });
    expect(sent.filter((m) => m.body.kind === 'chunk')).toEqual([{ body: { kind: 'chunk', videoId: video.id, n: 0 } }]);
    expect((await put(ingest.url, 0, webm(1), ingest.token)).status).toBe(200);
    expect(sent.filter((m) => m.body.kind === 'chunk')).toHaveLength(1); // a replay queues nothing
    const conflict = await put(ingest.url, 0, webm(2), ingest.token);
    expect([conflict.status, (await errorBody(conflict)).code]).toEqual([409, 'chunk_conflict']);
    for (const [n, body, type, status, code] of [
      ['x', webm(), 'video/webm', 400, 'invalid_chunk_number'],
      ['-1', webm(), 'video/webm', 400, 'invalid_chunk_number'],
      [1, webm(), 'image/png', 415, 'unsupported_media_type'],
      [1, new Uint8Array(2048).fill(7), 'video/webm', 415, 'not_a_video'],
      [1, webm(), 'video/mp4', 415, 'not_a_video'], // WebM bytes sent as MP4: another codec than it says
      [1, new Uint8Array(0), 'video/webm', 400, 'empty_body'],
    ] as const) {
      const response = await put(ingest.url, n, body, ingest.token, type);
      expect([n, response.status, (await errorBody(response)).code]).toEqual([n, status, code]);
    }
    const tooLarge = await put(ingest.url, 1, webm(1, LIVE_CHUNK_MAX_BYTES + 1), ingest.token);
    expect([tooLarge.status, (await errorBody(tooLarge)).code]).toEqual([413, 'payload_too_large']);
    // nothing refused was stored
    expect((await env.BUCKET.list({ prefix: `live/${video.id}/chunks/` })).objects.map((o) => o.key)).toEqual([`live/${video.id}/chunks/0`]);
  });

  it('codes each chunk as it arrives, appends in chunk order even when coded out of order, and keeps its sound', async () => {
    gpu.audio = true;
    const { video, ingest } = await start();
    for (const n of [0, 2, 1]) expect((await put(ingest.url, n, webm(n + 1), ingest.token)).status).toBe(202);
    await deliver([0]);
    expect((await view(video.id)).live).toMatchObject({ state: 'live', segmentsCoded: 1, secondsCoded: 1, chunksCoding: 2 });
    await deliver([2]); // coded before 1: waits for it
    expect((await view(video.id)).live?.segmentsCoded).toBe(1);
    await deliver([1]);
    const now = await view(video.id);
    expect(now).toMatchObject({ status: 'live', live: { segmentsCoded: 3, chunksCoding: 0, nextChunk: 3 }, video: { fps: 25, frameCount: 75 } });
    const bytes = new Uint8Array(await (await call(`/v1/videos/${video.id}/bitstream`)).arrayBuffer());
    const stream = readBitstream(bytes);
    expect(stream.segments.map((s) => [s.startFrame, s.frameCount])).toEqual([
      [0, 25],
      [25, 25],
      [50, 25],
    ]);
    // each segment's text names the chunk it came from, in order: the fake codes chunk k's bytes as "cup number 0"
    expect(stream.segments.every((s) => s.audio?.sampleCount === 48_000)).toBe(true);
    expect(gpu.submitted.filter((s) => s.fn === 'encode').map((s) => s.body.options.frameRate)).toEqual([25, 25, 25]);
    // the chunk each segment came from
    for (const n of [0, 1, 2]) {
      const one = await call(`/v1/videos/${video.id}/bitstream?segments=${n}`);
      expect(one.headers.get('CMVC-Live-Chunk')).toBe(String(n));
    }
    // coded chunks leave nothing behind but the bitstream (the sources go, as an upload's do)
    expect((await env.BUCKET.list({ prefix: `live/${video.id}/` })).objects).toEqual([]);
  });

  it('passes over a chunk that never arrives once the newest is past the window, and refuses it afterwards', async () => {
    const { video, ingest } = await start();
    const missing = 1;
    for (const n of [0, ...Array.from({ length: LIVE_REORDER_WINDOW + 1 }, (_, i) => missing + 1 + i)]) await put(ingest.url, n, webm(n + 1), ingest.token);
    await deliver();
    const now = await view(video.id);
    expect(now.live).toMatchObject({ segmentsCoded: LIVE_REORDER_WINDOW + 2, chunksSkipped: 1 });
    expect((await jobOf(video.id)).warnings).toEqual([{ code: 'chunk_missing', message: `chunk ${missing} never arrived; the stream goes on from chunk ${missing + 1}` }]);
    const late = await put(ingest.url, missing, webm(9), ingest.token);
    expect([late.status, (await errorBody(late)).code]).toEqual([409, 'chunk_too_late']);
    const ahead = await put(ingest.url, 500, webm(9), ingest.token);
    expect([ahead.status, (await errorBody(ahead)).code]).toEqual([409, 'chunk_too_far_ahead']);
  });

  it('waits for a missing chunk within the window, and takes it when it comes late but in time', async () => {
    const { video, ingest } = await start();
    for (const n of [0, 2]) await put(ingest.url, n, webm(n + 1), ingest.token);
    await deliver();
    expect((await view(video.id)).live?.segmentsCoded).toBe(1);
    expect((await put(ingest.url, 1, webm(5), ingest.token)).status).toBe(202);
    await deliver();
    expect((await view(video.id)).live).toMatchObject({ segmentsCoded: 3, chunksSkipped: 0 });
  });

  it('passes over a chunk that does not decode, and goes on', async () => {
    const { video, ingest } = await start();
    for (const n of [0, 1, 2]) await put(ingest.url, n, webm(n + 1), ingest.token);
    gpu.on('encode', 'ok', 'accept-then-reject', 'ok');
    await deliver([0, 1, 2]);
    expect((await view(video.id)).live).toMatchObject({ segmentsCoded: 2, chunksSkipped: 1 });
    expect((await jobOf(video.id)).warnings).toEqual([{ code: 'chunk_failed', message: 'chunk 1 could not be coded (undecodable_video: cannot decode the source); the stream goes on without it' }]);
  });

  it('retries a chunk whose encode failed for the GPU\'s sake, and passes it over when its messages are dead-lettered', async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(), ingest.token);
    gpu.on('encode', 'accept-then-fail');
    const body = { kind: 'chunk', videoId: video.id, n: 0 } as const;
    const first = await runLive(body);
    expect(first.retryMessages).toHaveLength(1);
    expect((await view(video.id)).live).toMatchObject({ segmentsCoded: 0, chunksCoding: 1 });
    await runLive(body, 'cmvc-live-dlq');
    expect((await view(video.id)).live).toMatchObject({ segmentsCoded: 0, chunksSkipped: 1 });
  });

  it('shows a chunk of another resolution at the stream\'s and says so', async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(1), ingest.token);
    await deliver();
    gpu.width = 640;
    gpu.height = 480;
    await put(ingest.url, 1, webm(2), ingest.token);
    await deliver();
    expect((await view(video.id)).video).toMatchObject({ width: 320, height: 240 });
    expect((await jobOf(video.id)).warnings).toEqual([{ code: 'chunk_geometry_changed', message: 'chunk 1 is 640x480; the stream is 320x240, at which it is shown' }]);
  });

  it('takes a chunk of another container or codec mid-stream: each chunk is decoded on its own', async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(1), ingest.token);
    const mp4 = fakeMp4();
    expect((await put(ingest.url, 1, mp4, ingest.token, 'video/mp4')).status).toBe(202);
    await deliver();
    expect((await view(video.id)).live).toMatchObject({ segmentsCoded: 2, chunksSkipped: 0 });
  });

  it("refuses a start, and a chunk, whose encode the payer's GPU budget cannot cover, before storing anything", async () => {
    const broke = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: 0 } });
    const refused = await callSettled('/v1/videos?live=true', { method: 'POST', key: broke.secret }, { LIVE_QUEUE: liveQueue() });
    expect([refused.status, (await errorBody(refused)).code]).toEqual([429, 'gpu_quota_exceeded']);
    // enough for the start's one-chunk check (LIVE_CHUNK_MAX_BYTES / 8), not for a chunk of the largest size
    const quota = (estimateEncodeSeconds(env.GPU_ENGINE, LIVE_CHUNK_MAX_BYTES / 8) + estimateEncodeSeconds(env.GPU_ENGINE, LIVE_CHUNK_MAX_BYTES)) / 2;
    const key = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: quota } });
    const { video, ingest } = await start('', key.secret);
    const big = await put(ingest.url, 0, webm(1, LIVE_CHUNK_MAX_BYTES), ingest.token);
    expect([big.status, (await errorBody(big)).code]).toEqual([429, 'gpu_quota_exceeded']);
    expect((await env.BUCKET.list({ prefix: `live/${video.id}/` })).objects).toEqual([]);
    expect((await put(ingest.url, 0, webm(1), ingest.token)).status).toBe(202);
  });
});

describe('reading a live video', () => {
  it('serves the bitstream and HLS playlists a second in caches with the live edge, and waits for the next segment', async () => {
    const { video, ingest } = await start();
    const early = await call(`/v1/videos/${video.id}/bitstream`);
    expect([early.status, (await errorBody(early)).code]).toEqual([409, 'video_not_ready']);
    await put(ingest.url, 0, webm(), ingest.token);
    await deliver();
    const whole = await call(`/v1/videos/${video.id}/bitstream`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('Cache-Control')).toBe('private, max-age=1');
    expect([whole.headers.get('CMVC-Live'), whole.headers.get('CMVC-Live-Segments')]).toEqual(['live', '1']);
    const next = await call(`/v1/videos/${video.id}/bitstream?segments=1`, { headers: { Prefer: 'wait=1' } });
    expect([next.status, (await errorBody(next)).code, next.headers.get('Retry-After'), next.headers.get('Cache-Control')]).toEqual([404, 'segment_not_ready', '1', 'no-store']);
    const playlist = await (await call(`/v/${video.id}/it2v/media.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    expect(playlist).not.toContain('#EXT-X-ENDLIST');
    const wholeMp4 = await call(`/v/${video.id}/it2v.mp4`);
    expect([wholeMp4.status, (await errorBody(wholeMp4)).code]).toEqual([409, 'video_live']);
  });

  it('answers a reader waiting for the next segment as soon as it is coded', async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(1), ingest.token);
    await deliver();
    await put(ingest.url, 1, webm(2), ingest.token);
    const waiting = call(`/v1/videos/${video.id}/bitstream?segments=1`, { headers: { Prefer: 'wait=10' } });
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    await deliver();
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(readBitstream(new Uint8Array(await answered.arrayBuffer())).segments.map((s) => s.startFrame)).toEqual([25]);
  });

  it("keeps a segment's reconstruction made while live a hit as the stream grows and after it ends", async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(1), ingest.token);
    await deliver();
    const made = await callSettled(`/v/${video.id}/it2v/0.mp4`, { headers: { Prefer: 'wait=10' } });
    expect(made.status).toBe(200);
    const key = made.headers.get('X-Artifact-Key');
    const generated = gpu.calls.generate;
    await put(ingest.url, 1, webm(2), ingest.token);
    await deliver();
    await callSettled(`${ingest.url}/end`, { method: 'POST', key: ingest.token }, { LIVE_QUEUE: liveQueue() });
    expect((await view(video.id)).status).toBe('succeeded');
    const again = await callSettled(`/v/${video.id}/it2v/0.mp4`, { headers: { Prefer: 'wait=10' } });
    expect([again.status, again.headers.get('X-Artifact-Key')]).toEqual([200, key]);
    expect(again.headers.get('X-Cache')).toMatch(/^hit/);
    expect(gpu.calls.generate).toBe(generated);
    // every artifact of the video lives under its own root, which its deletion empties
    const root = await liveArtifactRoot(video.id);
    const artifacts = (await env.BUCKET.list({ prefix: 'artifacts/' })).objects.map((o) => o.key);
    expect(artifacts.length).toBeGreaterThan(0);
    expect(artifacts.every((k) => k.startsWith(`artifacts/${root}/`))).toBe(true);
    expect((await call(`/v1/videos/${video.id}`, { method: 'DELETE' })).status).toBe(204);
    const left = (await env.BUCKET.list()).objects.map((o) => o.key).filter((k) => k.includes(video.id) || k.startsWith('artifacts/'));
    expect(left).toEqual([]);
  });
});

describe('the end of a stream', () => {
  it('codes what was received, then is an ordinary video with immutable bitstream and a VOD playlist; later chunks 409', async () => {
    const { video, ingest } = await start();
    for (const n of [0, 1]) await put(ingest.url, n, webm(n + 1), ingest.token);
    await deliver([0]);
    const ended = await callSettled(`${ingest.url}/end`, { method: 'POST', key: ingest.token }, { LIVE_QUEUE: liveQueue() });
    expect(ended.status).toBe(202);
    expect((await view(video.id)).live).toMatchObject({ state: 'ending', segmentsCoded: 1 });
    const after = await put(ingest.url, 2, webm(3), ingest.token);
    expect([after.status, (await errorBody(after)).code]).toEqual([409, 'live_ended']);
    await deliver([1]); // received before the end: still coded, nothing lost
    const done = await view(video.id);
    expect(done).toMatchObject({ status: 'succeeded', live: { state: 'ended', segmentsCoded: 2, endReason: 'ended', ingest: null }, links: { it2v: `/v/${video.id}/it2v.mp4` } });
    expect((await jobOf(video.id)).status).toBe('succeeded');
    const bitstream = await call(`/v1/videos/${video.id}/bitstream`);
    expect([bitstream.headers.get('Cache-Control'), bitstream.headers.get('CMVC-Live')]).toEqual(['private, max-age=31536000, immutable', 'ended']);
    const playlist = await (await call(`/v/${video.id}/it2v/media.m3u8`)).text();
    expect(playlist).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    // ending again changes nothing
    expect((await callSettled(`${ingest.url}/end`, { method: 'POST', key: ingest.token }, { LIVE_QUEUE: liveQueue() })).status).toBe(202);
    expect((await view(video.id)).status).toBe('succeeded');
  });

  it('ends by itself LIVE_IDLE_SECONDS after the last chunk (a broadcaster that disappeared), losing nothing received', async () => {
    const { video, ingest } = await start();
    await put(ingest.url, 0, webm(), ingest.token);
    const idle = { kind: 'idle', videoId: video.id } as const;
    await runLive(idle); // the chunk just came: still live
    expect((await view(video.id)).live?.state).toBe('live');
    const past = Date.now() - Number(env.LIVE_IDLE_SECONDS) * 1000 - 1000;
    await env.DB.prepare('UPDATE live_streams SET last_chunk_at = ? WHERE video_id = ?').bind(past, video.id).run();
    await runLive(idle);
    expect((await view(video.id)).live).toMatchObject({ state: 'ending', endReason: 'idle' });
    await deliver();
    expect(await view(video.id)).toMatchObject({ status: 'succeeded', live: { state: 'ended', segmentsCoded: 1, endReason: 'idle' } });
  });

  it('fails a stream that ended before any chunk was coded', async () => {
    const { video, ingest } = await start();
    await callSettled(`${ingest.url}/end`, { method: 'POST', key: ingest.token }, { LIVE_QUEUE: liveQueue() });
    expect(await view(video.id)).toMatchObject({ status: 'failed', error: { code: 'live_empty' }, live: { state: 'ended' } });
  });
});
