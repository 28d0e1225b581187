/** One rate knob at upload (targetKbps) and cuts by rate at the edge (maxKbps on the bitstream and on IT2V reconstructions). */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { crc32, cutBitstream, readBitstream, walkChunks, writeBitstream, type Bitstream, type Keyframe } from '../../src/bitstream';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, env, fakeMp4 } from './helpers';
import { runEncodeQueue } from './spend-helpers';
import { errorBody, json } from '../json';
import { SignedUrls, UploadAccepted, VideoView } from '../../src/openapi/shapes';
import type { InspectReport } from '../../src/bitstream/inspect';
import type { EncodeRequest, GenerateRequest } from '../../src/gpu/contract';

let gpu: FakeGpu;
/** Bodies the fake GPU was sent, per function. */
let sent: { encode?: EncodeRequest[]; generate?: GenerateRequest[]; [fn: string]: unknown[] | undefined };
beforeEach(() => {
  gpu = installFakeGpu();
  sent = {};
  const handle = gpu.handle;
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const fn = /^\/v1\/(\w+)\/submit$/.exec(new URL(request.url).pathname)?.[1];
    if (fn) {
      const bodies = sent[fn] ?? [];
      sent[fn] = bodies;
      bodies.push(await request.clone().json());
    }
    return handle(request);
  });
});

/** A 32x24 lossless image's VP8L chunk (its header and pad byte included), made with sharp. */
const VP8L_32x24 = Uint8Array.from(atob('VlA4TBEAAAAvH8AFAAdQvCoUuf+BiOh/AAA='), (c) => c.charCodeAt(0));

/**
 * A `bytes`-long (even) WebP file that decodes to 32x24: RIFF, a VP8X chunk, an unknown chunk of `fill` bytes to
 * the size (decoders skip it), then the image (the rates below need keyframes of exact sizes, and the import
 * decodes every keyframe).
 */
function webpOfSize(bytes: number, fill: number): Uint8Array {
  const b = new Uint8Array(bytes);
  const view = new DataView(b.buffer);
  const ascii = (at: number, text: string) => b.set(Array.from(text, (c) => c.charCodeAt(0)), at);
  ascii(0, 'RIFF');
  view.setUint32(4, bytes - 8, true);
  ascii(8, 'WEBPVP8X');
  view.setUint32(16, 10, true); // flags, reserved, then the canvas size minus one (24-bit little-endian each)
  view.setUint16(24, 32 - 1, true);
  view.setUint16(27, 24 - 1, true);
  const junk = bytes - 38 - VP8L_32x24.length;
  ascii(30, 'JUNK');
  view.setUint32(34, junk, true);
  b.fill(fill, 38, 38 + junk);
  b.set(VP8L_32x24, 38 + junk);
  return b;
}
const kf = (frameIndex: number, priority: number, bytes = 400): Keyframe => ({ codec: 'webp', width: 32, height: 24, data: webpOfSize(bytes, frameIndex + 1), frameIndex, priority });

/** 4 s at 24 fps, two segments, five keyframes of 400 bytes: about 4.6 kbps in all, under 1 kbps for the texts. */
const STREAM: Bitstream = {
  header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: 96, durationMs: 4000, engineId: 'reference', engineVersion: '0.2.0', models: {}, seed: 0 },
  segments: [
    { startFrame: 0, frameCount: 48, contentText: 'a scene 320x240; centre: white cup', motionText: 'the camera is static; little object motion', keyframes: [kf(0, 255), kf(24, 100), kf(47, 150)] },
    { startFrame: 48, frameCount: 48, contentText: 'a scene 320x240; centre: brown table', motionText: 'the camera pans right about 2.0% of the width per second', keyframes: [kf(10, 254), kf(40, 90)] },
  ],
};
const BYTES = writeBitstream(STREAM);
const kbps = (bytes: number) => (bytes * 8) / 4 / 1000;

async function imported(): Promise<string> {
  const response = await call('/v1/bitstreams', { method: 'POST', body: BYTES });
  expect(response.status).toBe(201);
  return (await json(response, VideoView)).id;
}

describe('targetKbps at upload', () => {
  it.each([
    ['0.1', 'targetKbps'],
    ['1001', 'targetKbps'],
    ['fast', 'targetKbps'],
    ['', 'targetKbps'],
  ])('targetKbps=%s is a 400 naming the option', async (value, option) => {
    const response = await call(`/v1/videos?targetKbps=${value}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(400);
    expect((await errorBody(response))).toMatchObject({ code: 'invalid_option', details: { option } });
  });

  it('given twice, or with keyframeBudgetBytes, is a 400 naming it', async () => {
    for (const query of ['targetKbps=5&targetKbps=6', 'targetKbps=5&keyframeBudgetBytes=900']) {
      const response = await call(`/v1/videos?${query}`, { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
      expect(response.status, query).toBe(400);
      expect((await errorBody(response))).toMatchObject({ code: 'invalid_option', details: { option: 'targetKbps' } });
    }
  });

  it('travels to the encoder, and the video view reports the achieved rate, the target and the texts-only floor', async () => {
    gpu.keyframeBytes = 1350; // the fake encoder lands near 12.5 kbps over its 1 s
    const response = await call('/v1/videos?targetKbps=12.5', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    expect(response.status).toBe(202);
    const { video, job } = await json(response, UploadAccepted);
    await runEncodeQueue(job, video);
    expect(sent.encode?.[0]?.options).toMatchObject({ targetKbps: 12.5 });
    const view = (await json(await call(`/v1/videos/${video.id}`), VideoView));
    const stored = new Uint8Array(await (await env.BUCKET.get(`bitstreams/${view.bitstream!.sha256}.cmvc`))!.arrayBuffer());
    const floor = cutBitstream(stored, { profile: 'tt2v' }).length;
    expect(view.bitstream).toMatchObject({ targetKbps: 12.5, requestedTargetKbps: 12.5, textsOnly: false });
    expect(view.bitstream!.kbps).toBeCloseTo((stored.length * 8) / 1000 / view.video!.durationSeconds!, 2);
    expect(view.bitstream!.rateFloorKbps).toBeCloseTo((floor * 8) / 1000 / view.video!.durationSeconds!, 2);
    expect(view.bitstream!.rateFloorKbps).toBeLessThan(view.bitstream!.kbps!);
  });

  it('reports no target an encode did not honour (issue 24: the model engine ignored it), only the one requested', async () => {
    // The fake encoder codes one small keyframe whatever the target: far under 12.5 kbps, and above its floor.
    const response = await call('/v1/videos?targetKbps=12.5', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4' } });
    const { video, job } = await json(response, UploadAccepted);
    await runEncodeQueue(job, video);
    const view = await json(await call(`/v1/videos/${video.id}`), VideoView);
    expect(view.bitstream!.kbps!).toBeLessThan(0.8 * 12.5);
    expect(view.bitstream).toMatchObject({ targetKbps: null, requestedTargetKbps: 12.5, textsOnly: false });
  });
});

describe('maxKbps on the bitstream', () => {
  it('cuts to a valid stream at or under the rate, lowest priority first, naming the achieved rate', async () => {
    const id = await imported();
    const floorBytes = cutBitstream(BYTES, { profile: 'tt2v' }).length;
    for (const maxKbps of [1000, 4, 3, 2, 1.5, 0.1]) {
      const response = await call(`/v1/videos/${id}/bitstream?maxKbps=${maxKbps}`);
      expect(response.status).toBe(200);
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect(Number(response.headers.get('CMVC-Kbps'))).toBeCloseTo(kbps(bytes.length), 2);
      expect(kbps(bytes.length)).toBeLessThanOrEqual(Math.max(maxKbps, kbps(floorBytes)));
      const kept = readBitstream(bytes).segments.flatMap((s) => s.keyframes.map((k) => k.priority));
      const dropped = STREAM.segments.flatMap((s) => s.keyframes.map((k) => k.priority)).filter((p) => !kept.includes(p));
      expect(Math.max(-1, ...dropped)).toBeLessThan(Math.min(256, ...kept)); // lowest priorities went first
    }
    const floor = await call(`/v1/videos/${id}/bitstream?maxKbps=0.1`);
    expect(new Uint8Array(await floor.arrayBuffer())).toEqual(cutBitstream(BYTES, { profile: 'tt2v' }));
  });

  it('two rates that keep the same keyframes share an ETag', async () => {
    const id = await imported();
    const a = await call(`/v1/videos/${id}/bitstream?maxKbps=3.9`);
    const b = await call(`/v1/videos/${id}/bitstream?maxKbps=3.8`);
    expect(a.headers.get('ETag')).toBe(b.headers.get('ETag'));
    expect(await a.arrayBuffer()).toEqual(await b.arrayBuffer());
  });

  it.each([['0.05'], ['1001'], ['abc'], ['1e3']])('maxKbps=%s is a 400 naming the option', async (value) => {
    const id = await imported();
    const response = await call(`/v1/videos/${id}/bitstream?maxKbps=${value}`);
    expect(response.status).toBe(400);
    expect((await errorBody(response))).toMatchObject({ code: 'invalid_option', details: { option: 'maxKbps' } });
  });

  it('given twice is a 400 naming it', async () => {
    const id = await imported();
    const response = await call(`/v1/videos/${id}/bitstream?maxKbps=2&maxKbps=3`);
    expect(response.status).toBe(400);
    expect((await errorBody(response)).details).toEqual({ option: 'maxKbps' });
  });
});

describe('maxKbps as an IT2V reconstruction option', () => {
  it('generates a segment from the keyframes its own cut keeps (the bitstream\'s `segments=n&maxKbps`), and rates that cut alike share one artifact', async () => {
    const id = await imported();
    expect((await call(`/v/${id}/it2v/0.mp4`)).status).toBe(200);
    expect(sent.generate?.[0]?.segment.keyframes?.map((k) => k.priority)).toEqual([255, 100, 150]);
    // a segment asked alone is cut alone: the keyframes the bitstream's one-segment cut keeps at that rate
    const keptAlone = async (n: number, kbps: number) => {
      const cut = await call(`/v1/videos/${id}/bitstream?segments=${n}&maxKbps=${kbps}`);
      return readBitstream(new Uint8Array(await cut.arrayBuffer())).segments[0]!.keyframes.map((k) => k.priority);
    };
    const kept = await keptAlone(0, 3.9);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(3);
    expect((await call(`/v/${id}/it2v/0.mp4?maxKbps=3.9`)).status).toBe(200);
    expect(sent.generate?.[1]?.segment.keyframes?.map((k) => k.priority).sort()).toEqual([...kept].sort());
    // a slightly lower rate that keeps the same keyframes makes no new generation
    expect(await keptAlone(0, 3.8)).toEqual(kept);
    expect((await call(`/v/${id}/it2v/0.mp4?maxKbps=3.8`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(2);
    // a rate that drops nothing shares the full artifact
    expect((await call(`/v/${id}/it2v/1.mp4?maxKbps=1000`)).status).toBe(200);
    expect((await call(`/v/${id}/it2v/1.mp4`)).status).toBe(200);
    expect(gpu.calls.generate).toBe(3);
  });

  it('on tt2v is a 400 naming the option, also when minting a signed URL', async () => {
    const id = await imported();
    const response = await call(`/v/${id}/tt2v.mp4?maxKbps=2`);
    expect(response.status).toBe(400);
    expect((await errorBody(response))).toMatchObject({ code: 'invalid_option', details: { option: 'maxKbps' } });
    const mint = await call(`/v1/videos/${id}/urls`, { method: 'POST', body: JSON.stringify({ modes: ['tt2v'], expiresIn: 60, options: { maxKbps: 2 } }), headers: { 'Content-Type': 'application/json' } });
    expect(mint.status).toBe(400);
    const ok = await call(`/v1/videos/${id}/urls`, { method: 'POST', body: JSON.stringify({ modes: ['it2v'], expiresIn: 60, options: { maxKbps: 2 } }), headers: { 'Content-Type': 'application/json' } });
    expect(ok.status).toBe(200);
    expect((await json(ok, SignedUrls)).urls[0]?.url).toContain('maxKbps=2');
  });
});

describe('v1.1 keyframe indices at import and inspect', () => {
  it('a kfrx out of order or out of range is a typed 4xx naming the chunk, and inspect reports it', async () => {
    for (const frameIndex of [5, 48]) {
      const bad = BYTES.slice();
      const kfrx = walkChunks(bad).chunks.filter((c) => c.type === 'kfrx')[1]!; // segment 0's second kfrx (frame 47)
      const view = new DataView(bad.buffer);
      view.setUint32(kfrx.offset + 8, frameIndex); // below the previous kfrx's 24, or past the segment's 48 frames
      view.setUint32(kfrx.offset + 8 + kfrx.length, crc32(bad.subarray(kfrx.offset + 8, kfrx.offset + 8 + kfrx.length), crc32(new TextEncoder().encode('kfrx'))));
      const imported = await call('/v1/bitstreams', { method: 'POST', body: bad });
      expect(imported.status).toBe(422);
      expect((await errorBody(imported))).toMatchObject({ code: 'bitstream_malformed_chunk', details: { chunk: 'kfrx', offset: kfrx.offset + 8 } });
      const inspected = (await (await call('/v1/bitstreams/inspect', { method: 'POST', body: bad })).json()) as InspectReport;
      expect(inspected).toMatchObject({ valid: false, error: { code: 'malformed_chunk', chunk: 'kfrx' } });
    }
  });
});
