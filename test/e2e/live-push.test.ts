// `npx cmvc live push FILE|-` against the real stack: a file, and stdin, streamed in real time through FFmpeg in 2-s
// MPEG-TS chunks, each PUT with the ingest token; the stream ends with the input and becomes an ordinary video.
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { ROOT, SAMPLE_CLIP, startStack, type Stack } from './stack';

/** The sample clip with speech (test/fixtures/README.md). */
const SPEECH_CLIP = join(ROOT, 'test', 'fixtures', 'cup-4s-speech.mp4');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function endedVideo(id: string) {
  for (let i = 0; i < 60; i++) {
    const video = await (await fetch(`${stack.base}/v1/videos/${id}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } })).json();
    if (video.status !== 'live') return video;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`${id} is still live`);
}

describe('cmvc live push', () => {
  it('streams a file in real time, chunk by chunk with its sound, and ends the stream with the file', async () => {
    let out = '';
    const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (out += t) }, env: { CMVC_API: stack.base, CMVC_API_KEY: stack.adminKey } };
    const started = Date.now();
    const code = await main(['live', 'push', SPEECH_CLIP, '--json'], io);
    expect(code).toBe(0);
    const summary = JSON.parse(out.trim().split('\n').at(-1) as string);
    // the 4-s clip took about 4 s: real time, not as fast as FFmpeg can
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect(summary.chunksSent).toBeGreaterThanOrEqual(2);
    expect(summary.chunksRefused).toEqual([]);
    expect(summary.watchUrl).toMatch(/\/live\.html#url=/);
    const video = await endedVideo(summary.videoId);
    expect(video).toMatchObject({ status: 'succeeded', live: { state: 'ended', endReason: 'ended', chunksSkipped: 0 } });
    expect(video.live.chunksReceived).toBe(summary.chunksSent);
    expect(video.video.durationSeconds).toBeGreaterThan(3.5);
    // the clip's sound was kept, chunk by chunk
    expect(video.bitstream.audio).toMatchObject({ codec: 'opus' });
  });

  it('streams stdin (`-`: here an MPEG-TS, as a pipe carries one), and refuses a file that is not there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cmvc-push-'));
    const ts = join(dir, 'sample.ts');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-i', SAMPLE_CLIP, '-c', 'copy', '-f', 'mpegts', ts]);
    const child = spawn('node', [join(ROOT, 'bin', 'cmvc.mjs'), 'live', 'push', '-', '--json', '--no-sound'], { cwd: ROOT, env: { ...process.env, CMVC_API: stack.base, CMVC_API_KEY: stack.adminKey }, stdio: ['pipe', 'pipe', 'pipe'] });
    createReadStream(ts).pipe(child.stdin);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    expect([code, err]).toEqual([0, '']);
    const summary = JSON.parse(out.trim().split('\n').at(-1) as string);
    expect(summary.chunksSent).toBeGreaterThanOrEqual(2);
    const video = await endedVideo(summary.videoId);
    expect(video).toMatchObject({ status: 'succeeded', bitstream: { audio: null } });

    let missing = '';
    const io = { stdout: { write: () => true }, stderr: { write: (t: string) => (missing += t) }, env: { CMVC_API: stack.base, CMVC_API_KEY: stack.adminKey } };
    expect(await main(['live', 'push', join(ROOT, 'no-such-clip.mp4')], io)).toBe(4);
    expect(missing).toMatch(/no such file/);
  });
});
