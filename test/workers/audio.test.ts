/** Sound at the edge: the upload option, the view and the job, maxKbps on the whole stream, and reconstructions that carry it. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readBitstream } from '../../src/bitstream';
import type { AssembleRequest } from '../../src/gpu/contract';
import { JobView, UploadAccepted, VideoView } from '../../src/openapi/shapes';
import { errorBody, json } from '../json';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, callSettled, deliverEncode, env, fakeMp4, recordingQueue } from './helpers';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
  vi.stubGlobal('fetch', gpu.handle);
});

/** Uploads with `query`, encodes on the fake GPU (with sound unless told otherwise); the upload's answer. */
async function encoded(query = '', { segments = 2, audio = true } = {}) {
  gpu.segments = segments;
  gpu.audio = audio;
  const response = await callSettled(`/v1/videos${query}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } }, { ENCODE_QUEUE: recordingQueue() });
  expect(response.status).toBe(202);
  const accepted = await json(response, UploadAccepted);
  await deliverEncode({ jobId: accepted.job.id, videoId: accepted.video.id });
  return accepted;
}

const assembles = () => gpu.submitted.filter((s) => s.fn === 'assemble').map((s) => s.body as AssembleRequest);

describe('audioKbps at upload', () => {
  it.each(['5', '129', '7.5', '-1', 'loud', ''])('audioKbps=%s is a 400 naming the option', async (value) => {
    const response = await call(`/v1/videos?audioKbps=${value}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(400);
    expect(await errorBody(response)).toMatchObject({ code: 'invalid_option', details: { option: 'audioKbps' } });
  });

  it.each([
    ['', 16],
    ['0', 0],
    ['6', 6],
    ['128', 128],
  ])('audioKbps=%s reaches the encoder as %d (16 by default)', async (value, kbps) => {
    const query = value === '' ? '' : `?audioKbps=${value}`;
    const response = await call(`/v1/videos${query}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(202);
    const { video } = (await response.json()) as { video: { id: string } };
    const row = await env.DB.prepare('SELECT options FROM videos WHERE id = ?').bind(video.id).first<{ options: string }>();
    expect(JSON.parse(row!.options)).toMatchObject({ audioKbps: kbps });
  });
});

describe('the view, the job and the bitstream of a video with sound', () => {
  it('reports the total rate, the video\'s rate and the audio apart, from the stored stream', async () => {
    const accepted = await encoded();
    const view = await json(await call(`/v1/videos/${accepted.video.id}`), VideoView);
    const stored = new Uint8Array(await (await env.BUCKET.get(`bitstreams/${view.bitstream!.sha256}.cmvc`))!.arrayBuffer());
    expect(stored[9]).toBe(2);
    const audioBytes = 2 * (12 + 14 + 51 * 2); // two audo chunks of 51 one-byte packets
    expect(view.bitstream!.audio).toEqual({ codec: 'opus', kbps: Math.round((audioBytes * 8) / 1000 / 2 * 1000) / 1000, bytes: audioBytes, channels: 1, sampleRate: 48_000 });
    expect(view.bitstream!.kbps).toBeCloseTo((stored.length * 8) / 1000 / 2, 3);
    expect(view.bitstream!.videoKbps).toBeCloseTo(((stored.length - audioBytes) * 8) / 1000 / 2, 3);
    // the inspect route reports the same
    const inspected = (await (await call('/v1/bitstreams/inspect', { method: 'POST', body: stored })).json()) as { kbps: number; videoKbps: number; audio: unknown };
    expect(inspected.audio).toEqual(view.bitstream!.audio);
    expect(inspected.videoKbps).toBeCloseTo(view.bitstream!.videoKbps!, 3);
  });

  it('a silent source gives audio null; a warning of the encoder reaches the job', async () => {
    gpu.warnings = [{ code: 'audio_undecodable', message: 'the aac audio stream does not decode; the video is encoded without sound' }];
    const accepted = await encoded('', { audio: false });
    const view = await json(await call(`/v1/videos/${accepted.video.id}`), VideoView);
    expect(view.status).toBe('succeeded');
    expect(view.bitstream).toMatchObject({ audio: null });
    expect(view.bitstream!.videoKbps).toBe(view.bitstream!.kbps);
    const job = await json(await call(`/v1/jobs/${accepted.job.id}`), JobView);
    expect(job.warnings).toEqual(gpu.warnings);
  });

  it('maxKbps drops keyframes first, then the audio, and the headers say which', async () => {
    const accepted = await encoded();
    const id = accepted.video.id;
    const full = await call(`/v1/videos/${id}/bitstream`);
    const whole = new Uint8Array(await full.arrayBuffer());
    const audioKbps = (2 * (12 + 14 + 51 * 2) * 8) / 1000 / 2;
    const totalKbps = (whole.length * 8) / 1000 / 2;
    const keyframesKept = await call(`/v1/videos/${id}/bitstream?maxKbps=${totalKbps.toFixed(3)}`);
    expect([keyframesKept.headers.get('CMVC-Keyframes-Dropped'), keyframesKept.headers.get('CMVC-Audio')]).toEqual(['0', 'kept']);
    // just under the whole: a keyframe goes, the audio stays
    const keyframeGone = await call(`/v1/videos/${id}/bitstream?maxKbps=${(totalKbps - 0.01).toFixed(3)}`);
    expect([keyframeGone.headers.get('CMVC-Keyframes-Dropped'), keyframeGone.headers.get('CMVC-Audio')]).toEqual(['1', 'kept']);
    const cut = readBitstream(new Uint8Array(await keyframeGone.arrayBuffer()));
    expect(cut.segments.every((s) => s.audio !== undefined)).toBe(true);
    // under what texts and sound need: every keyframe, then the audio
    const silent = await call(`/v1/videos/${id}/bitstream?maxKbps=${(audioKbps / 2).toFixed(3)}`);
    expect([silent.headers.get('CMVC-Keyframes-Dropped'), silent.headers.get('CMVC-Audio')]).toEqual(['2', 'dropped']);
    const bytes = new Uint8Array(await silent.arrayBuffer());
    expect(readBitstream(bytes).segments.every((s) => s.audio === undefined)).toBe(true);
    expect(Number(silent.headers.get('CMVC-Kbps'))).toBeCloseTo((bytes.length * 8) / 1000 / 2, 3);
  });
});

describe('reconstructions carry the sound', () => {
  it('the whole video and one segment are assembled with the sound of their segments; audio=0 is another, silent artifact', async () => {
    const accepted = await encoded();
    const id = accepted.video.id;
    const whole = await call(`/v/${id}/tt2v.mp4`, { headers: { Prefer: 'wait=10' } });
    expect(whole.status).toBe(200);
    const [all] = assembles();
    expect(all!.audio).toMatchObject({ startSample: 0, window: null, grid: false });
    expect(all!.audio!.parts).toHaveLength(2);
    expect(all!.parts).toHaveLength(2);
    const one = await call(`/v/${id}/tt2v/1.mp4`, { headers: { Prefer: 'wait=10' } });
    expect(one.status).toBe(200);
    const segment = assembles()[1]!;
    expect(segment.parts).toHaveLength(1);
    expect(segment.audio).toMatchObject({ startSample: 48_000, window: null });
    expect(segment.audio!.parts).toHaveLength(1);
    const generated = gpu.calls.generate;
    const silent = await call(`/v/${id}/tt2v.mp4?audio=0`, { headers: { Prefer: 'wait=10' } });
    expect(silent.status).toBe(200);
    expect(silent.headers.get('ETag')).not.toBe(whole.headers.get('ETag'));
    const last = assembles().at(-1)!;
    expect(last.audio ?? null).toBeNull();
    expect(gpu.calls.generate).toBe(generated); // the generated segments are shared
    const bad = await call(`/v/${id}/tt2v.mp4?audio=2`);
    expect(bad.status).toBe(400);
    expect(await errorBody(bad)).toMatchObject({ code: 'invalid_option', details: { option: 'audio' } });
  });

  it('signed URLs take audio=0 and serve the silent artifact', async () => {
    const accepted = await encoded('', { segments: 1 });
    const minted = await call(`/v1/videos/${accepted.video.id}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['tt2v'], expiresIn: 600, options: { audio: 0 } }) });
    expect(minted.status).toBe(200);
    const { urls } = (await minted.json()) as { urls: { url: string }[] };
    expect(urls[0]!.url).toMatch(/[?&]audio=0/);
    const played = await call(new URL(urls[0]!.url).pathname + new URL(urls[0]!.url).search, { key: null, headers: { Prefer: 'wait=10' } });
    expect(played.status).toBe(200);
    expect(assembles()).toHaveLength(0); // one silent segment: the generated artifact itself
  });

  it('HLS segments carry their samples on the AAC grid, coded with their neighbours\' sound', async () => {
    const accepted = await encoded('', { segments: 3 });
    const id = accepted.video.id;
    const ts = await call(`/v/${id}/tt2v/1.ts`, { headers: { Prefer: 'wait=10' } });
    expect(ts.status).toBe(200);
    const segment = assembles().find((a) => a.container === 'mpegts' && a.timeOffsetSeconds === 1)!;
    expect(segment.audio).toMatchObject({ startSample: 0, window: { start: 48_000, end: 96_000 }, grid: true });
    expect(segment.audio!.parts).toHaveLength(3);
  });

  it('a video without sound is reconstructed as before: no assemble for one segment, no audio in any', async () => {
    const accepted = await encoded('', { segments: 1, audio: false });
    const response = await call(`/v/${accepted.video.id}/tt2v.mp4`, { headers: { Prefer: 'wait=10' } });
    expect(response.status).toBe(200);
    expect(assembles()).toHaveLength(0);
  });
});
