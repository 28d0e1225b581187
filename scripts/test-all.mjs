#!/usr/bin/env node
// `npm test`: every suite in order (typecheck, lint, Workers runtime, Node, Python, end to end), then
// passed, failed and skipped per layer with each skip's reason, and one closing line
// "N passed, N failed" summed over all of them, so a run that executed nothing shows.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVenv } from './setup-python.mjs';
import { ensureChromium, ensureFfmpeg } from './system-packages.mjs';
import { junitLayers, summarize, vitestLayer } from './test-report.mjs';

const root = join(import.meta.dirname, '..');
const reports = mkdtempSync(join(tmpdir(), 'cmvc-test-'));
const only = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const layers = [];
/** CI equips the model layer (`.ci/run` installs the model extra): there, a model test that skips fails the run. */
const strictLayers = process.env.CI === 'true' && existsSync(join(root, 'gpu-functions', '.venv', '.requirements-model.sha256')) ? ['model'] : [];

/** Runs one suite; `count` reads its report into layers (scripts/test-report.mjs), null when it wrote none. */
function step(name, command, args, count) {
  if (only.length && !only.includes(name)) return;
  console.log(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const ok = result.status === 0;
  const counted = count() ?? [{ name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skips: [] }];
  // A suite whose runner failed without a failing test (crash, type error) still counts as a failure.
  if (!ok && counted.every((layer) => layer.failed === 0)) counted[0].failed += 1;
  counted[0].seconds = (Date.now() - started) / 1000;
  layers.push(...counted);
}

const readIf = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : null);

// What the suites need on the machine, installed as `npm start` installs FFmpeg: a plain clone
// passes `npm install && npm test` with nothing else done by hand.
ensureFfmpeg();
if (!only.length || only.includes('e2e')) ensureChromium();
ensureVenv();

step('typecheck', 'npm', ['run', '-s', 'typecheck'], () => null);
step('lint', 'npm', ['run', '-s', 'lint'], () => null);
// End-to-end files that run the model engine need its optional extra: without it they are left out, and the
// summary says why (vitest records no reason for a skip of its own, and a skip without one fails the run).
const MODEL_EXTRA_FILES = { e2e: ['test/e2e/model-engine.test.ts'] };
const python = join(root, 'gpu-functions', '.venv', 'bin', 'python');
const hasModelExtra = spawnSync(python, ['-c', 'import torch, diffusers, transformers, peft'], { stdio: 'ignore' }).status === 0;
const WITHOUT_MODEL_EXTRA = 'the model extra (torch, diffusers, transformers, peft) is not installed: node scripts/setup-python.mjs --with-model';

for (const project of ['workers', 'node', 'e2e']) {
  const out = join(reports, `${project}.json`);
  const leftOut = hasModelExtra ? [] : (MODEL_EXTRA_FILES[project] ?? []);
  step(project, 'npx', ['vitest', 'run', '--project', project, ...leftOut.flatMap((f) => ['--exclude', f]), '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], () => {
    const report = readIf(out);
    if (report === null) return null;
    const layer = vitestLayer(project, JSON.parse(report), root);
    layer.skips.push(...leftOut.map((test) => ({ test, reason: WITHOUT_MODEL_EXTRA })));
    return [layer];
  });
  if (project === 'node') {
    const xml = join(reports, 'python.xml');
    step('python', python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${xml}`, 'gpu-functions/tests'], () => {
      const report = readIf(xml);
      return report === null ? null : junitLayers(report);
    });
  }
}

const { lines, failed } = summarize(layers, strictLayers);
console.log(`\n${lines.join('\n')}`);
process.exit(failed === 0 ? 0 : 1);
