/** `npm run bench`: every benchmark, each beside a baseline run in the same process; JSON under bench/results/. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runBitstreamBench } from './bitstream';
import { runClientDecodeBench } from './client-decode';
import { runEdgeBench } from './edge';
import { runMultipartBench } from './multipart';
import { runOpenApiBench } from './openapi';
import { runPlanBench } from './plan';
import { runRateLimitBench } from './rate-limit';
import { sampleClips } from './samples';

const root = join(import.meta.dirname, '..');
const python = join(root, 'gpu-functions', '.venv', 'bin', 'python');
const only = new Set(process.argv.slice(2).filter((a) => !a.startsWith('--')));
const wanted = (name: string) => only.size === 0 || only.has(name);

function pythonJson(script: string, args: string[] = []): unknown {
  const out = execFileSync(python, [join(root, 'gpu-functions', 'scripts', script), ...args], { cwd: join(root, 'gpu-functions'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.slice(out.indexOf('{')));
}

const results: Record<string, unknown> = {
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, date: new Date().toISOString() },
};
if (wanted('bitstream')) results.bitstream = await runBitstreamBench();
if (wanted('engine')) {
  const engine = pythonJson('bench_engine.py');
  console.log('\nReference engine (frames per second on this machine):');
  console.log(JSON.stringify(engine, null, 2));
  results.engine = engine;
}
if (wanted('quality')) {
  const { clips, note } = sampleClips(process.argv.includes('--all-clips'));
  if (note) console.log(`\n(${note})`);
  type Point = { bytes: number; kbps: number; psnr: number; ssim: number; crf?: number; targetKbps?: number };
  const png = join(root, 'bench', 'results', 'rd-curves.png');
  const quality = pythonJson('quality_table.py', ['--json', '--png', png, ...clips]) as { clips: { clip: string; points: Record<string, Point[]>; bdRate: { vsX265: number | null; vsAv1: number | null } }[] };
  console.log('\nRate–distortion (CMVC IT2V by targetKbps; x264/x265/AV1 by CRF; AV1 also downscaled):');
  console.log('clip            coding     setting     bytes     kbps     PSNR dB  SSIM');
  for (const clip of quality.clips) {
    for (const [coding, points] of Object.entries(clip.points)) {
      for (const p of points) {
        const setting = p.targetKbps !== undefined ? `target ${p.targetKbps}` : `CRF ${p.crf}`;
        console.log(`${clip.clip.padEnd(16)}${coding.padEnd(11)}${setting.padEnd(12)}${String(p.bytes).padEnd(10)}${p.kbps.toFixed(2).padEnd(9)}${p.psnr.toFixed(2).padEnd(9)}${p.ssim.toFixed(3)}`);
      }
    }
    console.log(`${clip.clip}: BD-rate of CMVC IT2V ${clip.bdRate.vsX265}% vs x265, ${clip.bdRate.vsAv1}% vs AV1`);
  }
  console.log(`curves: ${png}`);
  results.quality = quality;
}
if (wanted('client')) {
  const client = JSON.parse(execFileSync('node', [join(root, 'scripts', 'build-client.mjs'), '--json'], { encoding: 'utf8' }).trim());
  console.log(`\nBrowser client bundle (src/client, minified ESM): ${client.bytes} bytes, ${client.gzipBytes} gzipped`);
  results.client = { ...client, decode: await runClientDecodeBench() };
}
if (wanted('edge')) results.edge = await runEdgeBench();
if (wanted('multipart')) results.multipart = await runMultipartBench();
if (wanted('openapi')) results.openapi = await runOpenApiBench();
if (wanted('plan')) results.plan = await runPlanBench();
if (wanted('ratelimit')) results.rateLimit = await runRateLimitBench();

const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${file}`);
