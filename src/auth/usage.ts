import type { MiddlewareHandler } from 'hono';
import { utcDay } from './access-meter';

export interface UsageDelta {
  requests?: number;
  bytesServed?: number;
  gpuSeconds?: number;
  generations?: number;
}

/** Adds to a principal's usage for today (UTC). */
export async function recordUsage(db: D1Database, keyId: string, delta: UsageDelta, now = Date.now()): Promise<void> {
  await db
    .prepare(
      `INSERT INTO usage_daily (key_id, day, requests, bytes_served, gpu_seconds, generations) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id, day) DO UPDATE SET
         requests = requests + excluded.requests,
         bytes_served = bytes_served + excluded.bytes_served,
         gpu_seconds = gpu_seconds + excluded.gpu_seconds,
         generations = generations + excluded.generations`,
    )
    .bind(keyId, utcDay(now), delta.requests ?? 0, delta.bytesServed ?? 0, delta.gpuSeconds ?? 0, delta.generations ?? 0)
    .run();
}

/** Records every authenticated request and the bytes of every body served, after the response is made. */
export const meterUsage = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function meterUsage(c, next) {
    await next();
    const principal = c.get('principal');
    const served = c.req.method === 'HEAD' || (c.res.status !== 200 && c.res.status !== 206) ? 0 : Number(c.res.headers.get('Content-Length') ?? 0);
    c.executionCtx.waitUntil(recordUsage(c.env.DB, principal.keyId, { requests: 1, bytesServed: served }).catch((err) => console.error('usage not recorded:', err)));
  };
