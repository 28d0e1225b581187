#!/usr/bin/env node
// `npm test`: every suite in order (typecheck, Workers runtime, Node, Python, end to end), then one
// closing line "N passed, N failed" summed over all of them, so a run that executed nothing shows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVenv } from './setup-python.mjs';
import { ensureChromium, ensureFfmpeg } from './system-packages.mjs';

const root = join(import.meta.dirname, '..');
const reports = mkdtempSync(join(tmpdir(), 'cmvc-test-'));
const only = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
let passed = 0;
let failed = 0;
const lines = [];

function step(name, command, args, count) {
  if (only.length && !only.includes(name)) return;
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const counted = count();
  const ok = result.status === 0;
  const p = counted?.passed ?? (ok ? 1 : 0);
  const f = counted?.failed ?? (ok ? 0 : 1);
  // A suite whose runner failed without a failing test (crash, type error) still counts as a failure.
  const extra = !ok && f === 0 ? 1 : 0;
  passed += p;
  failed += f + extra;
  lines.push(`${name.padEnd(10)} ${ok ? 'ok  ' : 'FAIL'} ${p} passed, ${f + extra} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function vitestCounts(file) {
  if (!existsSync(file)) return null;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return { passed: report.numPassedTests, failed: report.numFailedTests };
}

function junitCounts(file) {
  if (!existsSync(file)) return null;
  const xml = readFileSync(file, 'utf8');
  const attr = (name) => Number(new RegExp(`<testsuite[^>]*\\s${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const total = attr('tests');
  const bad = attr('failures') + attr('errors');
  return { passed: total - bad - attr('skipped'), failed: bad };
}

// What the suites need on the machine, installed as `npm start` installs FFmpeg: a plain clone
// passes `npm install && npm test` with nothing else done by hand.
ensureFfmpeg();
if (!only.length || only.includes('e2e')) ensureChromium();
ensureVenv();

step('typecheck', 'npm', ['run', '-s', 'typecheck'], () => null);
for (const project of ['workers', 'node', 'e2e']) {
  const out = join(reports, `${project}.json`);
  step(project, 'npx', ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], () => vitestCounts(out));
  if (project === 'node') {
    const xml = join(reports, 'python.xml');
    step('python', join(root, 'gpu-functions', '.venv', 'bin', 'python'), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${xml}`, 'gpu-functions/tests'], () => junitCounts(xml));
  }
}

console.log(`\n${lines.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
