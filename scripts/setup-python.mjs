#!/usr/bin/env node
// Makes sure the Python side can run: FFmpeg on the machine and a virtual environment under
// gpu-functions/.venv from the pinned requirements. Idempotent; re-installs when requirements change.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFfmpeg } from './system-packages.mjs';

const root = join(import.meta.dirname, '..');
const gpuDir = join(root, 'gpu-functions');
const venv = join(gpuDir, '.venv');
const python = join(venv, 'bin', 'python');
const quiet = process.argv.includes('--quiet');
const log = (msg) => quiet || console.log(`[setup] ${msg}`);

function pickPython() {
  for (const candidate of [process.env.PYTHON, 'python3.11', 'python3']) {
    if (!candidate) continue;
    const r = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (r.status === 0 && /^3\.(1[1-9])/.test(r.stdout.trim())) return candidate;
  }
  console.error('[setup] Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11).');
  process.exit(1);
}

/**
 * The venv from the pinned requirements. `withModel` adds the model engine's heavy test extra
 * (torch, diffusers, transformers, peft: several GB); without it the model tests skip themselves.
 */
export function ensureVenv({ withModel = false } = {}) {
  const files = ['requirements.txt', 'requirements-test.txt', ...(withModel ? ['requirements-model.txt', 'requirements-modal.txt'] : [])];
  const digest = createHash('sha256').update(files.map((f) => readFileSync(join(gpuDir, f), 'utf8')).join('\n')).digest('hex');
  const stamp = join(venv, withModel ? '.requirements-model.sha256' : '.requirements.sha256');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  if (!existsSync(python)) {
    log('creating the Python virtual environment in gpu-functions/.venv…');
    execFileSync(pickPython(), ['-m', 'venv', venv], { stdio: quiet ? 'ignore' : 'inherit' });
  }
  log(`installing pinned Python requirements (${files.join(', ')})…`);
  const args = files.filter((f) => f !== 'requirements.txt').flatMap((f) => ['-r', join(gpuDir, f)]);
  execFileSync(python, ['-m', 'pip', 'install', '-q', ...args], { stdio: 'inherit' });
  writeFileSync(stamp, digest);
}

/**
 * A virtual environment of its own, `gpu-functions/{dir}`, from the pinned `gpu-functions/{requirements}`,
 * for a tool whose pins must never meet the GPU server's (Schemathesis, the local S3 server).
 * Idempotent; re-installs when the requirements change. Returns the environment's `bin` folder.
 */
export function ensureToolVenv(dir, requirements) {
  const toolVenv = join(gpuDir, dir);
  const file = join(gpuDir, requirements);
  const stamp = join(toolVenv, '.requirements.sha256');
  const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
  const bin = join(toolVenv, 'bin');
  if (existsSync(join(bin, 'python')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return bin;
  log(`installing ${requirements} into gpu-functions/${dir}…`);
  if (!existsSync(join(bin, 'python'))) execFileSync(pickPython(), ['-m', 'venv', toolVenv], { stdio: quiet ? 'ignore' : 'inherit' });
  execFileSync(join(bin, 'python'), ['-m', 'pip', 'install', '-q', '-r', file], { stdio: 'inherit' });
  writeFileSync(stamp, digest);
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureFfmpeg({ quiet });
  ensureVenv({ withModel: process.argv.includes('--with-model') });
  log('python side ready');
}
