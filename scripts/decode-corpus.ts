/**
 * The hostile decode corpus: every shape of scripts/hostile-streams.ts, and the largest streams the limits let
 * through, decoded by the real CLI (`node bin/cmvc.mjs decode`, one process each) with its peak resident memory
 * measured (scripts/rss-probe.mjs). A hostile file must end in exit 1 with one line naming a typed decode error,
 * never a stack trace; a stream within the limits must decode; every run must stay under MAX_RSS_BYTES.
 * `npm run fuzz` runs it after the mutation fuzzer; test/node/cli-decode.test.ts runs the hostile shapes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { maxKeyframesFor, writeBitstream } from '../src/bitstream';
import { fullKeyframeStream, hostileStreams, type HostileImages } from './hostile-streams';

const ROOT = join(import.meta.dirname, '..');
/** Peak resident memory any decode of the corpus may reach. */
export const MAX_RSS_BYTES = 512 * 1024 * 1024;

/** A one-colour lossless WebP: a few KB however large. */
export function solidWebp(width: number, height: number, shade = 90): Promise<Uint8Array> {
  return sharp({ create: { width, height, channels: 3, background: { r: shade, g: 200 - shade / 2, b: 60 } } })
    .webp({ lossless: true })
    .toBuffer()
    .then((b) => new Uint8Array(b));
}

export async function makeHostileImages(): Promise<HostileImages> {
  return { webp8192: await solidWebp(8192, 8192), webp16383: await solidWebp(16383, 16383) };
}

export interface CorpusFile {
  name: string;
  bytes: Uint8Array;
  /** What must happen: the decode error code and limit named, or a decode. */
  expect: { code: string; mentions: string } | 'decodes';
}

/** Every file of the corpus: the hostile shapes, then the largest streams the limits allow at three sizes. */
export async function decodeCorpus(): Promise<CorpusFile[]> {
  const hostile = hostileStreams(await makeHostileImages()).map((h): CorpusFile => ({
    name: h.name,
    bytes: h.bytes,
    expect: { code: h.stoppedBy === 'declared size' ? 'bad_keyframe' : h.stoppedBy === 'maxUnknownChunks' ? 'bad_bitstream' : 'limit_exceeded', mentions: h.stoppedBy === 'declared size' ? 'declares 32x24' : h.stoppedBy },
  }));
  const allowed: CorpusFile[] = [];
  for (const [width, height] of [
    [320, 240],
    [1920, 1080],
    [4096, 4096],
  ] as const) {
    const count = maxKeyframesFor(width, height);
    allowed.push({ name: `most-keyframes-${width}x${height}`, bytes: writeBitstream(fullKeyframeStream(await solidWebp(width, height), width, height, count)), expect: 'decodes' });
  }
  // in-betweens too: the most keyframes at 1080p over 96 frames (every frame a blend of two warped keyframes)
  const count = maxKeyframesFor(1920, 1080);
  allowed.push({ name: 'most-keyframes-1920x1080-96-frames', bytes: writeBitstream(fullKeyframeStream(await solidWebp(1920, 1080), 1920, 1080, count, 96)), expect: 'decodes' });
  return [...hostile, ...allowed];
}

export interface CorpusResult {
  name: string;
  exitCode: number | null;
  maxRssBytes: number;
  message: string;
  seconds: number;
  problem: string | null;
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', join(ROOT, 'scripts', 'rss-probe.mjs'), join(ROOT, 'bin', 'cmvc.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

/** Decodes each file with the CLI and judges it (see the module comment). */
export async function runDecodeCorpus(files: CorpusFile[], log: (line: string) => void = () => {}): Promise<CorpusResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cmvc-decode-corpus-'));
  const results: CorpusResult[] = [];
  try {
    for (const file of files) {
      const input = join(dir, `${file.name}.cmvc`);
      const output = join(dir, `${file.name}.y4m`);
      writeFileSync(input, file.bytes);
      const started = performance.now();
      const { code, stderr } = await runCli(['decode', input, '--out', output]);
      rmSync(output, { force: true });
      const rss = Number(/cmvc-max-rss-kib=(\d+)/.exec(stderr)?.[1] ?? NaN) * 1024;
      const message = stderr.replace(/\n?cmvc-max-rss-kib=\d+\n?/, '').trim();
      let problem: string | null = null;
      if (!(rss <= MAX_RSS_BYTES)) problem = `peak RSS ${Number.isNaN(rss) ? 'unknown' : `${(rss / 2 ** 20).toFixed(0)} MiB`} over ${MAX_RSS_BYTES / 2 ** 20} MiB`;
      else if (/\n\s+at /.test(message)) problem = 'printed a stack trace';
      else if (file.expect === 'decodes' && code !== 0) problem = `exit ${code}: ${message}`;
      else if (file.expect !== 'decodes') {
        const wanted = `cmvc: cannot decode (${file.expect.code})`;
        if (code !== 1 || !message.startsWith(wanted) || !message.includes(file.expect.mentions) || message.includes('\n')) {
          problem = `expected exit 1 and one line "${wanted} … ${file.expect.mentions} …", got exit ${code}: ${message}`;
        }
      }
      const result = { name: file.name, exitCode: code, maxRssBytes: rss, message, seconds: (performance.now() - started) / 1000, problem };
      results.push(result);
      log(`${file.name.padEnd(30)} exit ${code}  peak ${(rss / 2 ** 20).toFixed(0).padStart(4)} MiB  ${result.seconds.toFixed(1).padStart(5)} s  ${problem ?? message.slice(0, 90)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
