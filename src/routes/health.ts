import { Hono } from 'hono';
import { gpuClientFromEnv } from '../gpu/client';
import { GpuError } from '../gpu/errors';

export const health = new Hono<{ Bindings: Env }>();

/** GET /healthz — the Worker and the GPU backend; 200 when both are up, 503 when the backend is not. */
health.get('/', async (c) => {
  const started = Date.now();
  let gpu: Record<string, unknown>;
  try {
    const answer = await gpuClientFromEnv(c.env).health();
    gpu = { ok: answer.ok, engine: `${answer.engine.id}@${answer.engine.version}`, latencyMs: Date.now() - started };
  } catch (err) {
    gpu = { ok: false, error: err instanceof GpuError ? err.code : 'gpu_unreachable', latencyMs: Date.now() - started };
  }
  const ok = gpu.ok === true;
  c.header('Cache-Control', 'no-store');
  return c.json({ ok, worker: { ok: true, engine: c.env.GPU_ENGINE }, gpu }, ok ? 200 : 503);
});
