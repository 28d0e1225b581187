/** Starts the real stack (`npm start`: wrangler dev + the reference GPU server) for end-to-end tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobView, UploadAccepted, VideoView } from '../../src/openapi/shapes';
import { json } from '../json';

export const ROOT = join(import.meta.dirname, '..', '..');

/** A TCP port free on loopback now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface Stack {
  base: string;
  gpu: string;
  adminKey: string;
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * `port`: the Worker's (a free one by default), for a caller that must name its origin beforehand; `env`:
 * added to `npm start`'s environment (e.g. `CMVC_ENGINE=model`).
 */
export async function startStack(options: { port?: number; env?: Record<string, string> } = {}): Promise<Stack> {
  const [port, gpuPort] = [options.port ?? (await freePort()), await freePort()];
  const stateDir = mkdtempSync(join(tmpdir(), 'cmvc-e2e-'));
  const child: ChildProcess = spawn('node', ['scripts/start.mjs'], {
    cwd: ROOT,
    env: { ...process.env, ...options.env, PORT: String(port), GPU_PORT: String(gpuPort), CMVC_STATE_DIR: stateDir },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const stop = async () => {
    try {
      process.kill(-(child.pid as number), 'SIGINT');
    } catch {}
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(stateDir, { recursive: true, force: true });
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the stack exited early:\n${output}`);
    try {
      const health = await fetch(`${base}/healthz`);
      if (health.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the stack did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const adminKey = /ADMIN_API_KEY=(.+)/.exec(readFileSync(join(ROOT, '.dev.vars'), 'utf8'))?.[1]?.trim() as string;
  return { base, gpu: `http://127.0.0.1:${gpuPort}`, adminKey, log: () => output, stop };
}

/** The committed sample clip (4 s, 320x240, H.264; source and licence in `test/fixtures/README.md`). */
export const SAMPLE_CLIP = join(ROOT, 'test', 'fixtures', 'cup-4s.mp4');

/** How long an encode of a committed clip may take here before a test gives up on it. */
const ENCODE_BOUND_MS = 120_000;

/**
 * Uploads `file` (with `query`, e.g. `?targetKbps=10`) as the admin and waits for its encode: the video view and the
 * job. Fails when the encode fails or is still running after ENCODE_BOUND_MS. Each test that needs a video makes its
 * own with this, so none depends on another having run.
 */
export async function encodedVideo(stack: Stack, file: string, query = '') {
  const auth = { Authorization: `Bearer ${stack.adminKey}` };
  const uploaded = await fetch(`${stack.base}/v1/videos${query}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'video/mp4' }, body: readFileSync(file) });
  if (uploaded.status !== 202) throw new Error(`upload of ${file}${query}: ${uploaded.status} ${await uploaded.text()}`);
  const { video, job } = await json(uploaded, UploadAccepted);
  const deadline = Date.now() + ENCODE_BOUND_MS;
  for (;;) {
    const state = await json(await fetch(`${stack.base}/v1/jobs/${job.id}`, { headers: auth }), JobView);
    if (state.status === 'succeeded') return { video: await json(await fetch(`${stack.base}/v1/videos/${video.id}`, { headers: auth }), VideoView), job: state };
    if (state.status === 'failed' || Date.now() > deadline) throw new Error(`encode ${state.status}: ${JSON.stringify(state.error)}\n${stack.log()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
