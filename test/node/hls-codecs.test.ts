/** The master playlist's CODECS: the H.264 level named is the one libx264 (which makes every reconstruction) writes. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { h264Level, variantCodecs } from '../../src/reconstruction/hls';

const out = mkdtempSync(join(tmpdir(), 'cmvc-hls-codecs-'));

/** level_idc of two frames coded as the GPU functions code them (libx264, High, CRF, veryfast, no B-frames). */
function x264Level(w: number, h: number, fps: number): number {
  const file = join(out, `${w}x${h}@${fps}.mp4`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=s=${w}x${h}:r=${fps}:d=${2 / fps}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-bf', '0', '-profile:v', 'high', '-pix_fmt', 'yuv420p', file], { timeout: 60_000 });
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', file], { encoding: 'utf8' })) as { streams: { level: number; profile: string }[] };
  expect(probe.streams[0]!.profile).toBe('High');
  return probe.streams[0]!.level;
}

describe('HLS codecs', () => {
  it.each([
    [160, 120, 12],
    [320, 240, 24],
    [640, 360, 30],
    [832, 480, 16],
    [1280, 720, 30],
    [1280, 720, 60],
    [1920, 1080, 30],
    [1920, 1080, 60],
  ])('%dx%d at %d fps: the level libx264 writes', (w, h, fps) => {
    expect(h264Level(w, h, fps)).toBe(x264Level(w, h, fps));
  });

  it('names AAC-LC beside H.264 High only when the variant carries sound', () => {
    expect(variantCodecs({ w: 1280, h: 720, fps: 30, interp: 1 }, true)).toBe('avc1.64001f,mp4a.40.2');
    expect(variantCodecs({ w: 1280, h: 720, fps: 30, interp: 2 }, false)).toBe('avc1.640020');
  });
});
