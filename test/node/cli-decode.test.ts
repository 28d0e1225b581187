/** `cmvc decode`: an offline decode of a bitstream to Y4M / MP4, and its exit codes on bad input. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBitstream, writeBitstream } from '../../src/bitstream';
import { main, type Io } from '../../src/cli/main';

const VECTORS = join(import.meta.dirname, '../vectors');
const dir = mkdtempSync(join(tmpdir(), 'cmvc-decode-'));
/** The one-segment vector (texts only, 320x240, 96 frames at 24 fps; its motion text is prose outside the grammar). */
const PROSE = join(VECTORS, 'one-segment.cmvc');
/** The same with a motion text in the grammar. */
const PANNING = join(dir, 'panning.cmvc');
const vector = readBitstream(new Uint8Array(readFileSync(PROSE)));
writeFileSync(PANNING, writeBitstream({ ...vector, segments: vector.segments.map((s) => ({ ...s, motionText: 'the camera slowly pans right about 2.1% of the width per second; little object motion' })) }));

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) }, env: {} };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

function hasFfmpeg(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('cmvc decode', () => {
  it('writes a texts-only stream as Y4M: header, then every frame as 4:2:0 planes', { timeout: 60_000 }, async () => {
    const out = join(dir, 'one.y4m');
    const result = await run('decode', PANNING, '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ mode: 'tt2v', width: 320, height: 240, fps: 24, frames: 96, segments: 1 });
    const bytes = readFileSync(out);
    const header = 'YUV4MPEG2 W320 H240 F24:1 Ip A1:1 C420jpeg\n';
    expect(bytes.subarray(0, header.length).toString('latin1')).toBe(header);
    expect(bytes.length).toBe(header.length + 96 * ('FRAME\n'.length + 320 * 240 * 1.5));
  });

  it.runIf(hasFfmpeg())('writes MP4 through FFmpeg, which ffprobe reads back with every frame', { timeout: 120_000 }, async () => {
    const out = join(dir, 'one.mp4');
    const result = await run('decode', PANNING, '--out', out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/96 tt2v frames of 320x240 at 24 fps/);
    const probe = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', out]).toString();
    expect(JSON.parse(probe).streams[0]).toMatchObject({ codec_name: 'h264', width: 320, height: 240, nb_read_frames: '96' });
  });

  it.runIf(hasFfmpeg())('writes a stream with sound as MP4 with AAC of the video\'s duration; Y4M says it left the sound out', { timeout: 120_000 }, async () => {
    // test/vectors/audio.cmvc: 24 frames at 24 fps, a 440 Hz tone then a 660 Hz one, half a second each
    const withSound = join(VECTORS, 'audio.cmvc');
    const out = join(dir, 'sound.mp4');
    const result = await run('decode', withSound, '--out', out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/with the sound \(AAC\)/);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,duration', '-of', 'json', out]).toString()).streams as { codec_type: string; codec_name: string; duration: string }[];
    const audio = probe.find((s) => s.codec_type === 'audio')!;
    expect(audio.codec_name).toBe('aac');
    expect(Math.abs(Number(audio.duration) - 1)).toBeLessThanOrEqual(1 / 24);
    // the tones are where the segments are: 440 Hz in the first half second, 660 Hz in the second
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out, '-map', '0:a', '-ac', '1', '-ar', '48000', '-f', 'f32le', '-']);
    const samples = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.length / 4);
    const crossings = (from: number, to: number) => {
      let n = 0;
      for (let i = from + 1; i < to; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) n++;
      return n / ((to - from) / 48_000);
    };
    expect(crossings(4_800, 19_200)).toBeCloseTo(440, -1);
    expect(crossings(28_800, 43_200)).toBeCloseTo(660, -1);
    const y4m = await run('decode', withSound, '--out', join(dir, 'sound.y4m'));
    expect(y4m.code, y4m.stderr).toBe(0);
    expect(y4m.stdout).toMatch(/has sound, which Y4M cannot carry: left out/);
    expect(JSON.parse((await run('decode', withSound, '--out', join(dir, 'sound2.y4m'), '--json')).stdout)).toMatchObject({ audio: 'left-out' });
  });

  it('exits 1 with a message for a file that is no bitstream, and writes nothing', async () => {
    const bad = join(dir, 'bad.cmvc');
    writeFileSync(bad, 'not a bitstream at all');
    const out = join(dir, 'bad.y4m');
    const result = await run('decode', bad, '--out', out);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot decode \(bad_bitstream\)/);
    expect(() => statSync(out)).toThrow();
  });

  it('exits 1 naming bad_motion_text for prose outside the grammar; --lenient-motion decodes it as the reference engine would', { timeout: 120_000 }, async () => {
    const strict = await run('decode', PROSE, '--out', join(dir, 'prose.y4m'));
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/bad_motion_text/);
    expect(() => statSync(join(dir, 'prose.y4m'))).toThrow();
    const lenient = await run('decode', PROSE, '--out', join(dir, 'lenient.y4m'), '--lenient-motion');
    expect(lenient.code, lenient.stderr).toBe(0);
  });

  it('exits 2 without --out or with another extension', async () => {
    expect((await run('decode', PANNING)).code).toBe(2);
    expect((await run('decode', PANNING, '--out', 'x.avi')).code).toBe(2);
  });
});

describe('cmvc decode on hostile files (issue 25, finding 2)', () => {
  it('ends each in exit 1 with one line naming a typed error, no stack trace, under 512 MiB resident', { timeout: 120_000 }, async () => {
    const { decodeCorpus, runDecodeCorpus } = await import('../../scripts/decode-corpus');
    const hostile = (await decodeCorpus()).filter((f) => f.expect !== 'decodes');
    expect(hostile.map((f) => f.name)).toEqual(['keyframes-8192', 'lying-keyframe', 'header-65535', 'segment-2^32-frames', 'fps-4e9', 'fps-1-in-4294967295', 'ancillary-flood']);
    const results = await runDecodeCorpus(hostile);
    expect(results.filter((r) => r.problem !== null)).toEqual([]);
    expect(results.every((r) => r.exitCode === 1)).toBe(true);
  });
});
