#!/usr/bin/env node
// `npm start`: the whole stack locally. The Worker under `wrangler dev` (local R2, D1, Durable
// Objects, Queues, Cache API) on PORT (8787) and the reference GPU server on 127.0.0.1:GPU_PORT (8788).
// GPU_BACKEND_URL points the Worker at another GPU server instead (e.g. a deployed Modal app).
// CMVC_STATE_DIR keeps local state elsewhere (default .wrangler/state). Ctrl-C stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEV_VARS, ensureDevVars } from './dev-vars.mjs';
import { ensureVenv } from './setup-python.mjs';
import { ensureFfmpeg } from './system-packages.mjs';

const root = join(import.meta.dirname, '..');
const port = Number(process.env.PORT ?? 8787);
const gpuPort = Number(process.env.GPU_PORT ?? 8788);
const externalGpu = process.env.GPU_BACKEND_URL;
const gpuUrl = externalGpu ?? `http://127.0.0.1:${gpuPort}`;
const stateDir = process.env.CMVC_STATE_DIR ?? join(root, '.wrangler', 'state');
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' };

const children = [];
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  setTimeout(() => {
    for (const child of children) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
    process.exit(code);
  }, 1500).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

function run(name, command, args, options) {
  const child = spawn(command, args, { ...options, env: { ...env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (line) => `[${name}] ${line}`;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (data) => {
      buffered += data;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) if (line.trim()) console.log(prefix(line));
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(prefix(`exited (${signal ?? code}); stopping the stack`));
      stop(1);
    }
  });
  children.push(child);
  return child;
}

ensureFfmpeg();
ensureVenv();
const vars = ensureDevVars();

const migrate = spawnSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir], { cwd: root, env, encoding: 'utf8' });
if (migrate.status !== 0) {
  console.error(migrate.stdout, migrate.stderr);
  process.exit(1);
}

// The GPU server's engine (`CMVC_ENGINE`: reference, or model with tiny random models) as the Worker's
// GPU_ENGINE, so artifact keys and cost estimates name what really serves them.
const engineVars = [];
if (!externalGpu && process.env.CMVC_ENGINE) {
  const python = join(root, 'gpu-functions', '.venv', 'bin', 'python');
  const label = spawnSync(python, ['-c', 'import sys; from cmvc_gpu.app import engine_label; print(engine_label(sys.argv[1]))', process.env.CMVC_ENGINE], {
    cwd: join(root, 'gpu-functions'),
    env: { ...env, CMVC_NO_APP: '1' },
    encoding: 'utf8',
  });
  if (label.status !== 0) {
    console.error(label.stderr.trim().split('\n').pop());
    process.exit(1);
  }
  engineVars.push('--var', `GPU_ENGINE:${label.stdout.trim()}`);
}

if (!externalGpu) {
  run('gpu', join(root, 'gpu-functions', '.venv', 'bin', 'python'), ['-m', 'uvicorn', 'cmvc_gpu.app:app', '--host', '127.0.0.1', '--port', String(gpuPort), '--log-level', 'warning'], {
    cwd: join(root, 'gpu-functions'),
    // The GPU server fetches sources by URL only from the Worker (its PUBLIC_ORIGIN below).
    env: { CMVC_SOURCE_ORIGINS: `http://127.0.0.1:${port}` },
  });
}
run(
  'worker',
  'npx',
  ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', stateDir, '--var', `GPU_BACKEND_URL:${gpuUrl}`, '--var', `PUBLIC_ORIGIN:http://127.0.0.1:${port}`, '--var', 'VIEWER_IP_FROM:loopback', ...engineVars, '--show-interactive-dev-session=false', ...(process.env.CMVC_BENCH_ROUTES === '1' ? ['--var', 'BENCH_ROUTES:true'] : []), ...(process.env.SIGNED_URL_REQUESTS_PER_MINUTE ? ['--var', `SIGNED_URL_REQUESTS_PER_MINUTE:${process.env.SIGNED_URL_REQUESTS_PER_MINUTE}`] : [])],
  { cwd: root, env: {} },
);

console.log(`
CMVC Edge starting:
  Worker      http://127.0.0.1:${port}   (health: /healthz)
  GPU server  ${gpuUrl}${externalGpu ? ' (external)' : ` (${process.env.CMVC_ENGINE ?? 'reference'} engine)`}
  Admin key   in ${DEV_VARS} (ADMIN_API_KEY=${vars.ADMIN_API_KEY.slice(0, 14)}…)
  Try:        curl -H "Authorization: Bearer $(grep ADMIN_API_KEY .dev.vars | cut -d= -f2)" \\
                   -H "Content-Type: video/mp4" --data-binary @test/fixtures/cup-4s.mp4 http://127.0.0.1:${port}/v1/videos
Ctrl-C stops both.
`);
