/** Sound end to end on the real stack: upload → encode → every reconstruction carries the sound, in sync. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedVideo, ROOT, startStack, type Stack } from './stack';
import { makeSyncClip, offsets, streamTimes, SYNC_CUT_FRAMES, SYNC_FPS } from './sync';

const SPEECH = join(ROOT, 'test', 'fixtures', 'cup-4s-speech.mp4');
let stack: Stack;
const out = mkdtempSync(join(tmpdir(), 'cmvc-e2e-sound-'));

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const auth = () => ({ Authorization: `Bearer ${stack.adminKey}` });
const ffmpegHeaders = () => ['-headers', `Authorization: Bearer ${stack.adminKey}\r\n`];

const encoded = (file: string, query = '') => encodedVideo(stack, file, query);

/** Streams of a reconstruction fetched to a file: codec and duration of each. */
async function streamsOf(path: string) {
  const response = await fetch(`${stack.base}${path}`, { headers: { ...auth(), Prefer: 'wait=60' } });
  expect(response.status, `${path}: ${await response.clone().text().catch(() => '')}`).toBe(200);
  const file = join(out, path.replace(/\W+/g, '_'));
  writeFileSync(file, new Uint8Array(await response.arrayBuffer()));
  return { file, streams: probe(file) };
}

function probe(input: string, headers: string[] = []) {
  const parsed = JSON.parse(execFileSync('ffprobe', ['-v', 'error', ...headers, '-print_format', 'json', '-show_streams', input], { encoding: 'utf8', timeout: 120_000 })) as {
    streams: { codec_type: string; codec_name: string; duration?: string; channels?: number; sample_rate?: string; profile?: string; level?: number }[];
  };
  return parsed.streams;
}

describe('sound end to end', () => {
  it('the clip with sound comes back with sound of the video\'s duration from every URL; audio=0 is silent', async () => {
    const { video } = await encoded(SPEECH);
    expect(video.bitstream!.audio).toMatchObject({ codec: 'opus', channels: 1, sampleRate: 48_000 });
    expect(video.bitstream!.audio!.kbps).toBeGreaterThan(8);
    expect(video.bitstream!.kbps).toBeCloseTo(video.bitstream!.videoKbps! + video.bitstream!.audio!.kbps, 2);
    const frame = 1 / video.video!.fps!;
    const paths = [`/v/${video.id}/it2v.mp4`, `/v/${video.id}/tt2v.mp4`, ...Array.from({ length: video.video!.segmentCount! }, (_, n) => `/v/${video.id}/it2v/${n}.mp4`)];
    for (const path of paths) {
      const { streams } = await streamsOf(path);
      const v = streams.find((s) => s.codec_type === 'video')!;
      const a = streams.find((s) => s.codec_type === 'audio');
      expect(a, path).toMatchObject({ codec_name: 'aac', channels: 1, sample_rate: '48000' });
      expect(Math.abs(Number(a!.duration) - Number(v.duration)), path).toBeLessThanOrEqual(frame);
    }
    // HLS under FFmpeg: every segment's audio joined lasts the video
    const hls = probe(`${stack.base}/v/${video.id}/tt2v/media.m3u8`, ffmpegHeaders());
    expect(hls.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });
    const times = streamTimes(`${stack.base}/v/${video.id}/tt2v/media.m3u8`, ffmpegHeaders());
    expect(Math.abs(times.audioDuration - times.videoDuration)).toBeLessThanOrEqual(frame);
    // the master playlist names the codecs its segments really carry (Safari picks a variant by them)
    const master = await (await fetch(`${stack.base}/v/${video.id}/tt2v.m3u8`, { headers: auth() })).text();
    const codecs = /CODECS="([^"]+)"/.exec(master)?.[1];
    const h264 = hls.find((s) => s.codec_type === 'video')!;
    expect(h264.profile).toBe('High');
    expect(codecs).toBe(`avc1.6400${h264.level!.toString(16).padStart(2, '0')},mp4a.40.2`);
    const silentMaster = await (await fetch(`${stack.base}/v/${video.id}/tt2v.m3u8?audio=0`, { headers: auth() })).text();
    expect(/CODECS="([^"]+)"/.exec(silentMaster)?.[1]).toBe(`avc1.6400${h264.level!.toString(16).padStart(2, '0')}`);
    const { streams } = await streamsOf(`/v/${video.id}/it2v.mp4?audio=0`);
    expect(streams.map((s) => s.codec_type)).toEqual(['video']);
  });

  it('picture and sound stay in sync within one frame: MP4s, and HLS under FFmpeg', async () => {
    const clip = join(out, 'sync.mp4');
    makeSyncClip(clip);
    const { video } = await encoded(clip);
    expect(video.video!.segmentCount).toBe(SYNC_CUT_FRAMES.length + 1);
    const frame = 1 / SYNC_FPS;
    const measured: Record<string, number[]> = {};
    for (const path of [`/v/${video.id}/it2v.mp4`, `/v/${video.id}/tt2v.mp4`]) {
      const { file } = await streamsOf(path);
      const times = streamTimes(file);
      expect(times.cuts, path).toHaveLength(SYNC_CUT_FRAMES.length);
      measured[path] = offsets(times);
      expect(Math.abs(times.audioDuration - times.videoDuration), path).toBeLessThanOrEqual(frame);
    }
    const hls = streamTimes(`${stack.base}/v/${video.id}/it2v/media.m3u8`, ffmpegHeaders());
    expect(hls.cuts).toHaveLength(SYNC_CUT_FRAMES.length);
    measured.hls = offsets(hls);
    for (const [where, values] of Object.entries(measured)) {
      for (const offset of values) expect(Math.abs(offset), `${where}: ${values.map((v) => (v * 1000).toFixed(1)).join(', ')} ms`).toBeLessThanOrEqual(frame);
    }
    console.log(`sync offsets (click − cut, ms): ${Object.entries(measured).map(([w, v]) => `${w.replace(/^\/v\/[^/]+\//, '')} ${v.map((x) => (x * 1000).toFixed(1)).join('/')}`).join('; ')}`);
  });

  it('bad input gets its documented result: no audio, 6 channels, 8 kHz, audio shorter than the video', async () => {
    const make = (name: string, audio: string[]) => {
      const file = join(out, name);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=160x120:r=24:d=3', ...audio, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file], { timeout: 60_000 });
      return file;
    };
    const silent = make('silent.mp4', []);
    const six = make('six.mp4', ['-f', 'lavfi', '-i', 'sine=f=440:r=48000:d=3', '-ac', '6']);
    const narrow = make('narrow.mp4', ['-f', 'lavfi', '-i', 'sine=f=1000:r=8000:d=3', '-ar', '8000']);
    // the audio stops after 1 s of the 3 (-shortest would cut the video: not given here)
    const short = join(out, 'short.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=160x120:r=24:d=3', '-f', 'lavfi', '-i', 'sine=f=440:r=48000:d=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', short], { timeout: 60_000 });

    const none = await encoded(silent);
    expect([none.video.bitstream!.audio, none.job.warnings]).toEqual([null, []]);

    const downmixed = await encoded(six, '?audioKbps=64');
    expect(downmixed.video.bitstream!.audio).toMatchObject({ channels: 2, sampleRate: 48_000 });
    expect(downmixed.job.warnings).toEqual([]);

    const resampled = await encoded(narrow);
    expect(resampled.video.bitstream!.audio).toMatchObject({ channels: 1, sampleRate: 48_000 });

    const truncated = await encoded(short);
    expect(truncated.job.warnings.map((w) => w.code)).toEqual(['audio_short']);
    const { streams } = await streamsOf(`/v/${truncated.video.id}/tt2v.mp4`);
    const v = streams.find((s) => s.codec_type === 'video')!;
    const a = streams.find((s) => s.codec_type === 'audio')!;
    expect(Math.abs(Number(a.duration) - Number(v.duration))).toBeLessThanOrEqual(1 / 24); // the rest is silence, not missing
  });
});
