/**
 * `cmvc decode FILE.cmvc --out FILE.y4m|FILE.mp4`: an offline IT2V (or TT2V) decode with no server and no GPU,
 * by the client decoder. Y4M needs nothing; MP4 pipes the Y4M through FFmpeg (libx264) when it is installed, with
 * the bitstream's sound (each segment's audo chunk as Ogg Opus, decoded by FFmpeg, joined, coded as AAC). Y4M has no
 * sound: the summary says the sound was left out.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { audioSampleAt, OPUS_SAMPLE_RATE, type Bitstream } from '../bitstream';
import { decodeBitstream, geometryOf, parseForDecode } from '../client/decode';
import { oggOpus } from '../client/ogg-opus';
import type { Mode } from '../gpu/contract';
import { parseArgs, UsageError } from './args';
import { decodeImageNode } from './decode-image';
import { y4mFrame, y4mHeader } from './y4m';

export interface DecodeSummary {
  file: string;
  mode: Mode | 'mixed';
  width: number;
  height: number;
  fps: number;
  frames: number;
  segments: number;
  bitstreamBytes: number;
  seconds: number;
  /** What became of the bitstream's sound: `aac` (in the MP4), `left-out` (Y4M carries none), `none` (a silent stream). */
  audio: 'aac' | 'left-out' | 'none';
}

/** AAC rate of the CLI's MP4s per channel, kbps (as the reconstructions': transparent enough for Opus up to 128 kbps). */
const AAC_KBPS_PER_CHANNEL = 64;

/**
 * FFmpeg's inputs and filter for the stream's sound, after the video on input 0: each segment as an Ogg Opus file in
 * `dir` (a silent segment as silence of its length), trimmed and padded to exactly its samples and joined.
 */
function soundInputs(bitstream: Bitstream, dir: string): { inputs: string[]; filter: string; channels: number } {
  const inputs: string[] = [];
  const labels: string[] = [];
  const channels = Math.max(...bitstream.segments.map((s) => s.audio?.channels ?? 1));
  const layout = channels === 2 ? 'stereo' : 'mono';
  const filters = bitstream.segments.map((s, n) => {
    const samples = audioSampleAt(s.startFrame + s.frameCount, bitstream.header, OPUS_SAMPLE_RATE) - audioSampleAt(s.startFrame, bitstream.header, OPUS_SAMPLE_RATE);
    if (s.audio === undefined) {
      inputs.push('-f', 'lavfi', '-i', `anullsrc=r=${OPUS_SAMPLE_RATE}:cl=${layout}`);
    } else {
      const file = join(dir, `${n}.opus`);
      writeFileSync(file, oggOpus(s.audio));
      inputs.push('-i', file);
    }
    labels.push(`[a${n}]`);
    return `[${n + 1}:a]aresample=${OPUS_SAMPLE_RATE},aformat=channel_layouts=${layout},atrim=end_sample=${samples},apad=whole_len=${samples}[a${n}]`;
  });
  return { inputs, filter: `${filters.join(';')};${labels.join('')}concat=n=${labels.length}:v=0:a=1[sound]`, channels };
}

async function write(stream: Writable, bytes: Uint8Array): Promise<void> {
  if (!stream.write(bytes)) await once(stream, 'drain');
}

function finish(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(resolve);
  });
}

/** FFmpeg reading Y4M on stdin and writing an H.264 MP4, with the stream's sound when it has any; its exit awaited by `done`. */
function ffmpegMp4(out: string, bitstream: Bitstream, dir: string | null): { stdin: Writable; done: Promise<void> } {
  const sound = dir === null ? null : soundInputs(bitstream, dir);
  const audioArgs = sound === null ? [] : [...sound.inputs, '-filter_complex', sound.filter, '-map', '0:v', '-map', '[sound]', '-c:a', 'aac', '-b:a', `${AAC_KBPS_PER_CHANNEL * sound.channels}k`];
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'yuv4mpegpipe', '-i', '-', ...audioArgs, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart', out];
  const child = spawn('ffmpeg', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new UsageError('writing MP4 needs FFmpeg on PATH (ffmpeg not found); write .y4m instead') : err));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim().slice(-500)}`))));
  });
  child.stdin.on('error', () => {}); // an early ffmpeg exit surfaces through `done`
  return { stdin: child.stdin, done };
}

export async function decodeCommand(argv: string[]): Promise<DecodeSummary> {
  const args = parseArgs(argv, new Set(['out']), new Set(['json', 'tt2v', 'lenient-motion']));
  const [file, extra] = args.positionals;
  if (file === undefined || extra !== undefined) throw new UsageError('decode takes one FILE');
  const out = args.options.get('out');
  if (typeof out !== 'string' || !/\.(y4m|mp4)$/i.test(out)) throw new UsageError('decode needs --out FILE.y4m or --out FILE.mp4');
  const started = performance.now();
  const bytes = new Uint8Array(readFileSync(file));
  const bitstream = parseForDecode(bytes);
  const { width, height, fps } = geometryOf(bitstream.header);
  const mp4 = /\.mp4$/i.test(out);
  const hasSound = bitstream.segments.some((s) => s.audio !== undefined);
  const soundDir = mp4 && hasSound ? mkdtempSync(join(tmpdir(), 'cmvc-decode-')) : null;
  const sink = mp4 ? ffmpegMp4(out, bitstream, soundDir) : (() => {
    const stream = createWriteStream(out);
    return { stdin: stream as Writable, done: Promise.resolve() };
  })();
  let frames = 0;
  const modes = new Set<Mode>();
  let failed = true;
  try {
    await write(sink.stdin, y4mHeader(width, height, fps));
    for await (const segment of decodeBitstream(bitstream, { decodeImage: decodeImageNode, mode: args.options.has('tt2v') ? 'tt2v' : 'it2v', strictMotion: !args.options.has('lenient-motion') })) {
      modes.add(segment.mode);
      for (const frame of segment.frames) {
        await write(sink.stdin, y4mFrame(frame));
        frames++;
      }
    }
    failed = false;
  } finally {
    await finish(sink.stdin).catch(() => {});
    await sink.done.catch((err) => {
      failed = true;
      throw err;
    }).finally(() => {
      // a half-written video is no video: nothing stays behind when the decode fails
      if (failed) rmSync(out, { force: true });
      if (soundDir !== null) rmSync(soundDir, { recursive: true, force: true });
    });
  }
  const mode = modes.size === 1 ? [...modes][0]! : 'mixed';
  const audio = !hasSound ? 'none' : mp4 ? 'aac' : 'left-out';
  return { file: out, mode, width, height, fps, frames, segments: bitstream.segments.length, bitstreamBytes: bytes.length, seconds: (performance.now() - started) / 1000, audio };
}
