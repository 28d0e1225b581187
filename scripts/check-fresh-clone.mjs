#!/usr/bin/env node
// `npm run check:fresh-clone`: what a new user meets. Clones the current commit into an empty
// temporary folder (nothing beside it: no ../shared, no node_modules, no venv) and runs the
// README's two commands there: `npm install && npm test` must pass, and `npm install && npm start`
// (on free ports) must answer /healthz with ok, after which it is stopped. Prints the time each
// took and the test counts. Only committed work is checked: commit first.
//   --keep      leave the temporary folder for inspection
//   --skip-test only the start check (faster)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const skipTest = process.argv.includes('--skip-test');
const START_DEADLINE_MS = 10 * 60_000;

const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
const commit = git('rev-parse', 'HEAD');
if (git('status', '--porcelain', '--untracked-files=no')) {
  console.warn('[fresh-clone] the work tree has uncommitted changes: they are not part of this check');
}

const outer = mkdtempSync(join(tmpdir(), 'cmvc-fresh-'));
const clone = join(outer, 'cmvc-edge');
execFileSync('git', ['clone', '-q', '--no-local', root, clone]);
execFileSync('git', ['checkout', '-q', commit], { cwd: clone });
console.log(`[fresh-clone] ${commit.slice(0, 12)} cloned into ${clone}`);

// A clean environment: nothing of this checkout's own setup leaks in.
const env = { ...process.env };
for (const name of ['CMVC_SAMPLE', 'GPU_BACKEND_URL', 'PORT', 'GPU_PORT', 'CMVC_STATE_DIR', 'npm_config_prefix']) delete env[name];

const results = [];
async function timed(label, fn) {
  const started = Date.now();
  const outcome = await fn();
  const seconds = (Date.now() - started) / 1000;
  results.push({ label, seconds, ...outcome });
  console.log(`[fresh-clone] ${label}: ${outcome.ok ? 'ok' : 'FAILED'} in ${seconds.toFixed(0)} s${outcome.detail ? ` (${outcome.detail})` : ''}`);
  return outcome.ok;
}

/** Runs a command in the clone, streaming its output here and keeping it for the summary. */
function run(cmd, args) {
  console.log(`\n[fresh-clone] $ ${cmd} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (d) => {
        output += d;
        process.stdout.write(d);
      });
    }
    child.on('close', (code) => resolve({ ok: code === 0, output }));
  });
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

let ok = await timed('npm install', () => run('npm', ['install', '--no-audit', '--no-fund']));

if (ok && !skipTest) {
  ok = await timed('npm test', async () => {
    const r = await run('npm', ['test']);
    const totals = [...r.output.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/gm)].at(-1);
    const layers = r.output.split('\n').filter((l) => /^\S+\s+(ok|FAIL)\s+\d+ passed/.test(l));
    return { ok: r.ok, detail: totals ? totals[0] : 'no summary line', layers };
  });
}

if (ok) {
  const [port, gpuPort] = [await freePort(), await freePort()];
  const started = Date.now();
  const child = spawn('npm', ['start'], { cwd: clone, env: { ...env, PORT: String(port), GPU_PORT: String(gpuPort) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let health = null;
  while (Date.now() - started < START_DEADLINE_MS && child.exitCode === null) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      const body = await res.json();
      if (res.status === 200 && body.ok === true) {
        health = body;
        break;
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  const seconds = (Date.now() - started) / 1000;
  try {
    process.kill(-child.pid, 'SIGINT');
  } catch {}
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  ok = health !== null;
  results.push({ label: 'npm start → /healthz ok', seconds, ok });
  console.log(`[fresh-clone] npm start: ${ok ? `/healthz ok after ${seconds.toFixed(0)} s, then stopped` : `no healthy answer in ${seconds.toFixed(0)} s\n${output}`}`);
}

console.log('\n[fresh-clone] summary');
for (const r of results) {
  console.log(`  ${r.label.padEnd(24)} ${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(0).padStart(5)} s${r.detail ? `  ${r.detail}` : ''}`);
  for (const layer of r.layers ?? []) console.log(`      ${layer}`);
}
if (keep) console.log(`[fresh-clone] kept ${outer}`);
else rmSync(outer, { recursive: true, force: true });
process.exit(ok ? 0 : 1);
