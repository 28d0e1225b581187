/**
 * `cmvc live push FILE|-`: streams a file (or stdin) to a new live video in real time through FFmpeg. FFmpeg reads
 * the input at its own rate (`-re`) and cuts it into self-contained MPEG-TS chunks of `--chunk-seconds` (each starting
 * on a keyframe); each chunk is PUT with the stream's ingest token as soon as FFmpeg closes it (its segment list says
 * so), and the stream is ended when the input ends (or on Ctrl-C).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import type { LiveStarted, SignedUrls } from '../openapi/shapes';
import { api, ApiFailure, type ApiConfig } from './api';
import { parseArgs, UsageError } from './args';

export interface PushSummary {
  videoId: string;
  chunksSent: number;
  chunksRefused: { n: number; code: string }[];
  watchUrl: string;
  bytes: number;
}

const CHUNK_TYPE = 'video/mp2t';
/** How often the segment list FFmpeg appends to is read, in milliseconds. */
const LIST_POLL_MS = 100;

/** The FFmpeg arguments that cut `input` into `seconds`-long self-contained MPEG-TS chunks in `dir`, in real time. */
export function ffmpegArgs(input: string, dir: string, seconds: number, frameRate: number, sound: boolean): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-i',
    input === '-' ? 'pipe:0' : input,
    '-map',
    '0:v:0',
    ...(sound ? ['-map', '0:a:0?', '-c:a', 'aac', '-b:a', '64k'] : ['-an']),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-pix_fmt',
    'yuv420p',
    '-r',
    String(frameRate),
    // a keyframe at every chunk boundary, so each chunk decodes on its own
    '-force_key_frames',
    `expr:gte(t,n_forced*${seconds})`,
    '-f',
    'segment',
    '-segment_time',
    String(seconds),
    '-segment_format',
    'mpegts',
    '-reset_timestamps',
    '1',
    '-segment_list',
    join(dir, 'chunks.csv'),
    '-segment_list_type',
    'csv',
    join(dir, 'chunk%06d.ts'),
  ];
}

export async function livePush(argv: string[], config: ApiConfig, print: (t: string) => void, stdin: NodeJS.ReadableStream = process.stdin): Promise<PushSummary> {
  const args = parseArgs(argv, new Set(['chunk-seconds', 'frame-rate', 'target-kbps', 'audio-kbps']), new Set(['json', 'no-sound']));
  const [action, input, extra] = args.positionals;
  if (action !== 'push' || input === undefined || extra !== undefined) throw new UsageError('live takes: push FILE|-');
  if (input !== '-' && !existsSync(input)) throw Object.assign(new Error(`no such file: ${input}`), { code: 'ENOENT', path: input });
  const seconds = Number(args.options.get('chunk-seconds') ?? 2);
  if (!(seconds >= 0.5 && seconds <= 10)) throw new UsageError('--chunk-seconds must be between 0.5 and 10');
  const frameRate = Number(args.options.get('frame-rate') ?? 25);
  const sound = !args.options.has('no-sound');
  const query = new URLSearchParams({ live: 'true', frameRate: String(frameRate) });
  if (!sound) query.set('audioKbps', '0');
  for (const [option, name] of [
    ['target-kbps', 'targetKbps'],
    ['audio-kbps', 'audioKbps'],
  ] as const) {
    const value = args.options.get(option);
    if (typeof value === 'string') query.set(name, value);
  }
  const started = (await (await api(config, `/v1/videos?${query}`, { method: 'POST' })).json()) as z.infer<typeof LiveStarted>;
  const videoId = started.video.id;
  const minted = (await (
    await api(config, `/v1/videos/${videoId}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['it2v'], formats: ['bitstream'], expiresIn: 86400 }) })
  ).json()) as z.infer<typeof SignedUrls>;
  const watchUrl = `${config.base}/live.html#url=${encodeURIComponent(minted.urls[0]?.url ?? '')}`;
  if (!args.options.has('json')) print(`live: ${videoId}\nwatch: ${watchUrl}`);

  const ingest = { base: config.base, key: started.ingest.token };
  const dir = mkdtempSync(join(tmpdir(), 'cmvc-live-'));
  const summary: PushSummary = { videoId, chunksSent: 0, chunksRefused: [], watchUrl, bytes: 0 };
  const ffmpeg = spawn('ffmpeg', ffmpegArgs(input, dir, seconds, frameRate, sound), { stdio: [input === '-' ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  if (input === '-') stdin.pipe(ffmpeg.stdin as NodeJS.WritableStream);
  let stderr = '';
  ffmpeg.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve, reject) => {
    ffmpeg.once('error', (err) => reject(err));
    ffmpeg.once('exit', (code) => resolve(code));
  });
  const stop = () => ffmpeg.kill('SIGINT');
  process.once('SIGINT', stop);

  let sent = 0;
  const sendReady = async () => {
    const list = existsSync(join(dir, 'chunks.csv')) ? readFileSync(join(dir, 'chunks.csv'), 'utf8').split('\n').filter(Boolean) : [];
    while (sent < list.length) {
      const file = (list[sent] as string).split(',')[0] as string;
      const bytes = readFileSync(join(dir, file));
      const n = sent++;
      try {
        await api(ingest, `${started.ingest.url}/${n}`, { method: 'PUT', headers: { 'Content-Type': CHUNK_TYPE }, body: bytes });
        summary.chunksSent += 1;
        summary.bytes += bytes.byteLength;
        if (!args.options.has('json')) print(`chunk ${n}: ${bytes.byteLength} bytes sent`);
      } catch (err) {
        if (!(err instanceof ApiFailure)) throw err;
        summary.chunksRefused.push({ n, code: err.code });
        print(`chunk ${n}: refused (${err.code}): ${err.message}`);
        // the stream is over or the key cannot pay: stop reading the input
        if (err.code === 'live_ended' || err.status === 429 || err.status === 401) stop();
      }
      rmSync(join(dir, file), { force: true });
    }
  };
  try {
    let done = false;
    const exit = exited.finally(() => (done = true));
    while (!done) {
      await Promise.race([exit, new Promise((r) => setTimeout(r, LIST_POLL_MS))]);
      await sendReady();
    }
    const code = await exit;
    await sendReady();
    if (code !== 0 && code !== 255 && summary.chunksSent === 0) throw new UsageError(`ffmpeg could not read ${input}: ${stderr.trim().split('\n').at(-1) ?? `exit ${code}`}`);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT' && (err as { path?: string }).path === 'ffmpeg') throw new UsageError('live push needs ffmpeg on PATH');
    throw err;
  } finally {
    process.removeListener('SIGINT', stop);
    rmSync(dir, { recursive: true, force: true });
    await api(ingest, `${started.ingest.url}/end`, { method: 'POST' }).catch(() => {});
  }
  if (args.options.has('json')) print(JSON.stringify(summary));
  else print(`ended: ${summary.chunksSent} chunks (${summary.bytes} bytes) sent${summary.chunksRefused.length > 0 ? `, ${summary.chunksRefused.length} refused` : ''}`);
  return summary;
}
