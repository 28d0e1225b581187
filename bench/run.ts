/** `npm run bench`: every benchmark, each beside a baseline run in the same process; JSON under bench/results/. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { runBitstreamBench } from './bitstream';
import { runEdgeBench } from './edge';

const root = join(import.meta.dirname, '..');
const python = join(root, 'gpu-functions', '.venv', 'bin', 'python');
const only = new Set(process.argv.slice(2));
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
  console.log('\nCoding efficiency (reference engine vs x264/x265 at matched bytes):');
  execFileSync(python, [join(root, 'gpu-functions', 'scripts', 'quality_table.py')], { cwd: join(root, 'gpu-functions'), stdio: 'inherit' });
  results.quality = pythonJson('quality_table.py', ['--json']);
}
if (wanted('edge')) results.edge = await runEdgeBench();

const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${file}`);
