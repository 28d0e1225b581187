/**
 * Picture–sound sync, measured in files as a player would play them: a clip whose colour cuts come with clicks
 * at the same instants, and the times of cuts (luma jumps) and clicks (sound onsets) in any file FFmpeg reads.
 */
import { execFileSync } from 'node:child_process';

/** Frames per second of the sync clip. */
export const SYNC_FPS = 25;
/** Frames where the sync clip cuts to another colour (scenes of 1.2–1.32 s, irregular so that no shift by whole scenes aligns). */
export const SYNC_CUT_FRAMES = [30, 62, 95];
const SYNC_COLOURS = ['0x202020', '0xe0e0e0', '0x2060c0', '0xe0a020'];
const SYNC_FRAMES = 125;

/** Builds the sync clip (5 s, 320x240 H.264 at 25 fps, stereo AAC at 48 kHz: a 5-ms 2 kHz click at every cut) into `file`. */
export function makeSyncClip(file: string): void {
  const bounds = [0, ...SYNC_CUT_FRAMES, SYNC_FRAMES];
  const inputs = SYNC_COLOURS.flatMap((c, i) => ['-f', 'lavfi', '-i', `color=c=${c}:s=320x240:r=${SYNC_FPS}:d=${(bounds[i + 1]! - bounds[i]!) / SYNC_FPS}`]);
  // commas inside a filter's argument are escaped from the filter graph's parser
  const clicks = SYNC_CUT_FRAMES.map((f) => `between(t\\,${(f / SYNC_FPS).toFixed(3)}\\,${(f / SYNC_FPS + 0.005).toFixed(3)})`).join('+');
  execFileSync(
    'ffmpeg',
    [
      '-v', 'error', '-y', ...inputs,
      '-f', 'lavfi', '-i', `aevalsrc=0.8*sin(2*PI*2000*t)*(${clicks}):s=48000:c=stereo:d=${SYNC_FRAMES / SYNC_FPS}`,
      '-filter_complex', `${SYNC_COLOURS.map((_, i) => `[${i}:v]`).join('')}concat=n=${SYNC_COLOURS.length}:v=1:a=0[v]`,
      '-map', '[v]', '-map', `${SYNC_COLOURS.length}:a`, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '25', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', file,
    ],
    { timeout: 60_000 },
  );
}

export interface StreamTimes {
  /** Seconds (the file's clock) of each video frame whose mean luma jumps by more than 40 levels from the frame before. */
  cuts: number[];
  /** Seconds of each sound onset: a sample over 0.2 after at least 0.3 s under it. */
  clicks: number[];
  videoDuration: number;
  audioDuration: number;
  /** Seconds per frame of the video. */
  frameSeconds: number;
}

/** Cut and click times in `input` (a file, or a URL FFmpeg reads with `headers`). */
export function streamTimes(input: string, headers: string[] = []): StreamTimes {
  const probe = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', ...headers, '-print_format', 'json', '-show_streams', '-show_entries', 'frame=pts_time,media_type', '-show_frames', input], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 }),
  ) as { streams: { codec_type: string; start_time: string; duration?: string; r_frame_rate: string }[]; frames: { media_type: string; pts_time: string }[] };
  const video = probe.streams.find((s) => s.codec_type === 'video')!;
  const audio = probe.streams.find((s) => s.codec_type === 'audio');
  if (audio === undefined) throw new Error(`${input} has no audio stream`);
  const videoFrames = probe.frames.filter((f) => f.media_type === 'video').map((f) => Number(f.pts_time));
  const audioFrames = probe.frames.filter((f) => f.media_type === 'audio').map((f) => Number(f.pts_time));
  const [num, den] = video.r_frame_rate.split('/').map(Number) as [number, number];
  const frameSeconds = den / num;
  const luma = execFileSync('ffmpeg', ['-v', 'error', ...headers, '-i', input, '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf', 'scale=8:8,format=gray', '-f', 'rawvideo', '-'], { timeout: 120_000, maxBuffer: 64 << 20 });
  const means = Array.from({ length: Math.floor(luma.length / 64) }, (_, i) => luma.subarray(i * 64, i * 64 + 64).reduce((n, v) => n + v, 0) / 64);
  const cuts = means.flatMap((m, i) => (i > 0 && Math.abs(m - means[i - 1]!) > 40 ? [videoFrames[i]!] : []));
  const pcm = execFileSync('ffmpeg', ['-v', 'error', ...headers, '-i', input, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 'f32le', '-'], { timeout: 120_000, maxBuffer: 256 << 20 });
  const samples = new Float32Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 4));
  const audioStart = Math.min(...audioFrames);
  const clicks: number[] = [];
  let quiet = Infinity;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]!) > 0.2) {
      if (quiet >= 0.3 * 48_000) clicks.push(audioStart + i / 48_000);
      quiet = 0;
    } else quiet++;
  }
  const videoStart = Math.min(...videoFrames);
  return {
    cuts,
    clicks,
    videoDuration: Math.max(...videoFrames) + frameSeconds - videoStart,
    audioDuration: samples.length / 48_000,
    frameSeconds,
  };
}

/** Each cut's distance to the click nearest it, seconds (click minus cut). */
export function offsets(times: StreamTimes): number[] {
  return times.cuts.map((cut) => times.clicks.reduce((best, click) => (Math.abs(click - cut) < Math.abs(best) ? click - cut : best), Infinity));
}
