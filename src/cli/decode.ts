/**
 * `cmvc decode FILE.cmvc --out FILE.y4m|FILE.mp4`: an offline IT2V (or TT2V) decode with no server and no GPU,
 * by the client decoder. Y4M needs nothing; MP4 pipes the Y4M through FFmpeg (libx264) when it is installed.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { decodeBitstream, geometryOf, parseForDecode } from '../client/decode';
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

/** FFmpeg reading Y4M on stdin and writing an H.264 MP4; its exit awaited by `done`. */
function ffmpegMp4(out: string): { stdin: Writable; done: Promise<void> } {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'yuv4mpegpipe', '-i', '-', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '18', '-movflags', '+faststart', out], { stdio: ['pipe', 'ignore', 'pipe'] });
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
  const sink = mp4 ? ffmpegMp4(out) : (() => {
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
    });
  }
  const mode = modes.size === 1 ? [...modes][0]! : 'mixed';
  return { file: out, mode, width, height, fps, frames, segments: bitstream.segments.length, bitstreamBytes: bytes.length, seconds: (performance.now() - started) / 1000 };
}
