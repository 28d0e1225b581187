import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedVideo, ROOT, SAMPLE_CLIP as SAMPLE, startStack, type Stack } from './stack';
import { readBitstream } from '../../src/bitstream';
import { JobView, UploadAccepted, VideoView } from '../../src/openapi/shapes';
import { errorBody, json } from '../json';

let stack: Stack;
const out = mkdtempSync(join(tmpdir(), 'cmvc-e2e-out-'));

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const auth = () => ({ Authorization: `Bearer ${stack.adminKey}` });

function ffprobe(file: string) {
  const json = execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8' });
  return JSON.parse(json) as { format: { duration: string; format_name: string }; streams: { codec_type: string; width: number; height: number; codec_name: string }[] };
}

async function waitForJob(jobId: string) {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const job = await json(await fetch(`${stack.base}/v1/jobs/${jobId}`, { headers: auth() }), JobView);
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status}\n${stack.log()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

let sample: Promise<{ id: string; sourceBytes: number }> | undefined;

/** The sample uploaded and encoded once, by whichever test asks first: no test depends on another having run. */
function sampleVideo() {
  sample ??= (async () => {
    const source = readFileSync(SAMPLE);
    const uploaded = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'video/mp4' }, body: source });
    expect(uploaded.status).toBe(202);
    const { video, job } = await json(uploaded, UploadAccepted);
    const done = await waitForJob(job.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    return { id: video.id, sourceBytes: source.byteLength };
  })();
  return sample;
}

describe('end to end: upload → encode → reconstruct', () => {
  it('gives an MP4 with the source duration and size from a bitstream under 2% of the source', async () => {
    const { id, sourceBytes } = await sampleVideo();
    const described = await json(await fetch(`${stack.base}/v1/videos/${id}`, { headers: auth() }), VideoView);
    expect(described.bitstream!.bytes).toBeLessThan(0.02 * sourceBytes);

    // A seed no other test asks for: this reconstruction is generated here, whatever ran before.
    const url = `${stack.base}/v/${id}/it2v.mp4?seed=101`;
    const before = await generateCalls();
    const response = await fetch(url, { headers: auth() });
    expect(response.status, await response.clone().text().catch(() => '')).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('video/mp4');
    expect(response.headers.get('X-Cache')).toBe('miss');
    const file = join(out, 'it2v.mp4');
    writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
    const probe = ffprobe(file);
    const stream = probe.streams.find((s) => s.codec_type === 'video');
    expect(stream).toMatchObject({ width: 320, height: 240, codec_name: 'h264' });
    expect(Math.abs(Number(probe.format.duration) - 4)).toBeLessThan(0.3);

    const again = await fetch(url, { headers: auth() });
    expect(again.status).toBe(200);
    expect(again.headers.get('X-Cache')).toMatch(/^hit/);
    await again.arrayBuffer();
    expect((await generateCalls()) - before).toBe(1);
  });

  it('answers bad input with clear 4xx errors', async () => {
    const noKey = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { 'Content-Type': 'video/mp4' }, body: 'x' });
    expect(noKey.status).toBe(401);
    const text = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'video/mp4' }, body: 'this is text, not a video'.repeat(20) });
    expect(text.status).toBe(415);
    const empty = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { ...auth(), 'Content-Type': 'video/mp4' }, body: '' });
    expect(empty.status).toBe(400);
    const unknown = await fetch(`${stack.base}/v/vid_00000000000000000000000000/it2v.mp4`, { headers: auth() });
    expect(unknown.status).toBe(404);
    for (const r of [noKey, text, empty, unknown]) expect((await errorBody(r)).code).toMatch(/^[a-z_]+$/);
  });
});

describe('end to end: streaming and HTTP semantics', () => {
  it('plays the HLS playlist to the full duration with ffprobe over HTTP', async () => {
    const videoId = (await sampleVideo()).id;
    // ffprobe sends the key on the playlist and on every segment it fetches.
    const playlist = `${stack.base}/v/${videoId}/tt2v.m3u8`;
    const json = execFileSync(
      'ffprobe',
      ['-v', 'error', '-headers', `Authorization: Bearer ${stack.adminKey}\r\n`, '-print_format', 'json', '-show_format', '-show_streams', '-count_frames', '-select_streams', 'v:0', playlist],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const probe = JSON.parse(json);
    expect(Math.abs(Number(probe.format.duration) - 4)).toBeLessThan(0.3);
    expect(Number(probe.streams[0].nb_read_frames)).toBeGreaterThan(90);
  });

  it('serves the poster and captions straight from the bitstream', async () => {
    const videoId = (await sampleVideo()).id;
    const poster = await fetch(`${stack.base}/v/${videoId}/poster.webp`, { headers: auth() });
    expect(poster.status).toBe(200);
    expect(poster.headers.get('Content-Type')).toBe('image/webp');
    const bytes = new Uint8Array(await poster.arrayBuffer());
    expect(new TextDecoder().decode(bytes.subarray(8, 12))).toBe('WEBP');
    const vtt = await (await fetch(`${stack.base}/v/${videoId}/captions.vtt`, { headers: auth() })).text();
    expect(vtt.startsWith('WEBVTT')).toBe(true);
  });

  it('answers Range with 206 and If-None-Match with 304 on real requests', async () => {
    const videoId = (await sampleVideo()).id;
    const url = `${stack.base}/v/${videoId}/it2v.mp4`;
    const full = await fetch(url, { headers: auth() });
    const bytes = new Uint8Array(await full.arrayBuffer());
    const partial = await fetch(url, { headers: { ...auth(), Range: 'bytes=100-199' } });
    expect(partial.status).toBe(206);
    expect(new Uint8Array(await partial.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    const again = await fetch(url, { headers: { ...auth(), 'If-None-Match': full.headers.get('ETag') as string } });
    expect(again.status).toBe(304);
  });

  it('runs one generate call per distinct artifact under a burst of 100 concurrent requests', async () => {
    const videoId = (await sampleVideo()).id;
    const before = await generateCalls();
    const responses = await Promise.all(Array.from({ length: 100 }, () => fetch(`${stack.base}/v/${videoId}/tt2v.mp4?seed=42`, { headers: auth() })));
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect((await generateCalls()) - before).toBe(1);
  });
});

async function generateCalls(): Promise<number> {
  const metrics = await (await fetch(`${stack.gpu}/metrics`)).text();
  return Number(/cmvc_gpu_calls_total\{function="generate"\} ([\d.]+)/.exec(metrics)?.[1] ?? 0);
}

describe('end to end: one rate knob, cut by rate at the edge', () => {
  /** The rate of the bitstream as written and served: its bytes over its duration (the clip has no sound). */
  async function writtenKbps(videoId: string): Promise<{ kbps: number; bytes: Uint8Array }> {
    const response = await fetch(`${stack.base}/v1/videos/${videoId}/bitstream`, { headers: auth() });
    expect(response.status).toBe(200);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { kbps: (bytes.length * 8) / readBitstream(bytes).header.durationMs, bytes };
  }

  it.each([5, 10, 30])('targetKbps=%d: the bitstream written lands within 20 percent of it, with keyframes', async (target) => {
    const { video } = await encodedVideo(stack, SAMPLE, `?targetKbps=${target}&audioKbps=0`);
    const { kbps, bytes } = await writtenKbps(video.id);
    expect(Math.abs(kbps - target) / target, `${kbps.toFixed(2)} kbps written for ${target}`).toBeLessThanOrEqual(0.2);
    expect(readBitstream(bytes).segments.some((s) => s.keyframes.length > 0)).toBe(true);
    // the view reports what was written
    expect(video.bitstream).toMatchObject({ targetKbps: target, textsOnly: false, bytes: bytes.length });
    expect(video.bitstream!.kbps!).toBeCloseTo(kbps, 1);
    expect(video.bitstream!.rateFloorKbps).toBeLessThan(kbps);
  });

  it('maxKbps cuts the same encode lower, and the cut reconstructs', async () => {
    const { video } = await encodedVideo(stack, SAMPLE, '?targetKbps=10&audioKbps=0');
    const whole = await writtenKbps(video.id);
    const cut = await fetch(`${stack.base}/v1/videos/${video.id}/bitstream?maxKbps=4`, { headers: auth() });
    expect(cut.status).toBe(200);
    const bytes = new Uint8Array(await cut.arrayBuffer());
    expect(Number(cut.headers.get('CMVC-Kbps'))).toBeLessThanOrEqual(4);
    expect((bytes.length * 8) / readBitstream(bytes).header.durationMs).toBeLessThanOrEqual(4);
    expect(bytes.length).toBeLessThan(whole.bytes.length);
    const reconstructed = await fetch(`${stack.base}/v/${video.id}/it2v/0.mp4?maxKbps=4`, { headers: { ...auth(), Prefer: 'wait=60' } });
    expect(reconstructed.status).toBe(200);
    const file = join(out, 'it2v-4kbps.mp4');
    writeFileSync(file, new Uint8Array(await reconstructed.arrayBuffer()));
    expect(ffprobe(file).streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 320, height: 240 });
  });
});

describe('end to end: the cmvc CLI', () => {
  const cli = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync('node', [join(ROOT, 'bin', 'cmvc.mjs'), ...args], {
      cwd: out,
      encoding: 'utf8',
      env: { ...process.env, CMVC_API: stack.base, CMVC_API_KEY: stack.adminKey, ...env },
      timeout: 120_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('encodes a file, inspects the bitstream it wrote, and mints a URL that plays', async () => {
    const encoded = cli(['encode', SAMPLE, '--out', join(out, 'cup.cmvc'), '--json']);
    expect(encoded.code, encoded.stderr).toBe(0);
    const { video } = JSON.parse(encoded.stdout);
    const inspected = cli(['inspect', join(out, 'cup.cmvc'), '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(JSON.parse(inspected.stdout)).toBeTypeOf('object');
    expect(cli(['inspect', join(out, 'cup.cmvc')]).stdout).toContain('cup.cmvc');

    const url = cli(['url', video.id, 'it2v', '--exp', '10m']);
    expect(url.code, url.stderr).toBe(0);
    const signed = url.stdout.trim();
    expect(signed).toMatch(/sig=/);
    const played = await fetch(signed, { headers: { Prefer: 'wait=60' } });
    expect(played.status).toBe(200);
    await played.arrayBuffer();

    const playlist = cli(['url', video.id, 'it2v', '--hls']);
    expect(playlist.code, playlist.stderr).toBe(0);
    const master = await fetch(playlist.stdout.trim());
    expect(master.status).toBe(200);
    expect(await master.text()).toMatch(/^#EXTM3U\n/);
    expect(cli(['url', video.id, 'it2v', '--hls', '--segment', '0']).code).toBe(2);

    // --bitstream: a signed URL that serves, with no key, the very bitstream encode wrote (Range too), for the client decoder
    const bitstream = cli(['url', video.id, 'it2v', '--bitstream']);
    expect(bitstream.code, bitstream.stderr).toBe(0);
    const bitstreamUrl = bitstream.stdout.trim();
    expect(bitstreamUrl).toMatch(new RegExp(`/v/${video.id}/bitstream\\.cmvc\\?.*sig=`));
    const whole = await fetch(bitstreamUrl);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('application/vnd.cmvc');
    const written = new Uint8Array(readFileSync(join(out, 'cup.cmvc')));
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(written);
    const head = await fetch(bitstreamUrl, { headers: { Range: 'bytes=0-7' } });
    expect(head.status).toBe(206);
    expect(new Uint8Array(await head.arrayBuffer())).toEqual(written.subarray(0, 8));
    const textsOnly = await fetch(cli(['url', video.id, 'tt2v', '--bitstream']).stdout.trim());
    expect(textsOnly.status).toBe(200);
    expect(readBitstream(new Uint8Array(await textsOnly.arrayBuffer())).segments.every((s) => s.keyframes.length === 0)).toBe(true);
    expect(cli(['url', video.id, 'it2v', '--bitstream', '--segment', '0']).code).toBe(2);
  });

  it('creates, lists and revokes keys', () => {
    const created = cli(['keys', 'create', 'cli-test', '--scopes', 'read', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key.secret).toMatch(/^cmvc_sk_/);
    expect(cli(['keys', 'list']).stdout).toContain(key.id);
    expect(cli(['keys', 'revoke', key.id]).code).toBe(0);
    expect(cli(['keys', 'list', '--json']).stdout).toContain('"revokedAt":"');
  });

  it('exits with codes scripts can trust', () => {
    expect(cli(['frobnicate']).code).toBe(2);
    expect(cli(['url', 'only-one-arg']).code).toBe(2);
    expect(cli(['keys', 'create', 'x']).code).toBe(2);
    const unreachable = cli(['keys', 'list'], { CMVC_API: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot reach the CMVC API');
    expect(unreachable.stderr).not.toContain('    at ');
    expect(cli(['keys', 'list'], { CMVC_API_KEY: 'cmvc_sk_wrongwrongwrongwrongwrongwrongwrongwrongwro' }).code).toBe(5);
    expect(cli(['url', 'vid_00000000000000000000000000', 'tt2v']).code).toBe(4);
    expect(cli(['inspect', join(out, 'missing.cmvc')]).code).toBe(4);
    expect(cli(['--help']).stdout).toContain('usage: cmvc');
  });
});
