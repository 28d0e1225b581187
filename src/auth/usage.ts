import type { MiddlewareHandler } from 'hono';
import { meterFor, utcDay } from './access-meter';

export interface UsageDelta {
  requests?: number;
  bytesServed?: number;
  gpuSeconds?: number;
  generations?: number;
}

/** Adds to a principal's usage for today (UTC). */
export async function recordUsage(db: D1Database, keyId: string, delta: UsageDelta, now = Date.now()): Promise<void> {
  await addToUsage(db, keyId, utcDay(now), delta).run();
}

/** GPU seconds a key has reserved and not settled yet, and today's follow-ups of calls given up on. */
export async function gpuInFlight(env: Env, keyId: string) {
  return { keyId, ...(await meterFor(env, keyId).gpuInFlight(utcDay())) };
}

/** The upsert that adds `delta` to a key's usage on `day`. */
function addToUsage(db: D1Database, keyId: string, day: string, delta: UsageDelta): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO usage_daily (key_id, day, requests, bytes_served, gpu_seconds, generations) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key_id, day) DO UPDATE SET
         requests = requests + excluded.requests,
         bytes_served = bytes_served + excluded.bytes_served,
         gpu_seconds = gpu_seconds + excluded.gpu_seconds,
         generations = generations + excluded.generations`,
    )
    .bind(keyId, day, delta.requests ?? 0, delta.bytesServed ?? 0, delta.gpuSeconds ?? 0, delta.generations ?? 0);
}

/** Request counts and bytes per key and day, gathered in this isolate and written in batches. */
const pending = new Map<string, { keyId: string; day: string; requests: number; bytesServed: number }>();
/** The flush already scheduled in this isolate, if any. */
let scheduled: Promise<void> | null = null;
/** Longest time request counts wait in an isolate before they are written, in milliseconds. */
const FLUSH_DELAY_MS = 1000;
const FLUSH_AT_ENTRIES = 200;

/** Writes this isolate's gathered request counts (one upsert per key and day). */
export async function flushUsage(db: D1Database): Promise<void> {
  if (pending.size === 0) return;
  const rows = [...pending.values()];
  pending.clear();
  try {
    await db.batch(rows.map((row) => addToUsage(db, row.keyId, row.day, { requests: row.requests, bytesServed: row.bytesServed })));
  } catch (err) {
    // Put the counts back so the next flush writes them; a failed write loses nothing.
    for (const row of rows) add(row.keyId, row.day, row.requests, row.bytesServed);
    throw err;
  }
}

function add(keyId: string, day: string, requests: number, bytesServed: number): void {
  const key = `${keyId}|${day}`;
  const row = pending.get(key) ?? { keyId, day, requests: 0, bytesServed: 0 };
  row.requests += requests;
  row.bytesServed += bytesServed;
  pending.set(key, row);
}

/**
 * Records every authenticated request and the bytes of every body served, after the response is
 * made. Counts are gathered per isolate and written by one flush a second at most, which the request
 * that schedules it keeps alive with waitUntil (a D1 write per request would cost the hot path more
 * than everything else it does).
 */
export const meterUsage = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function meterUsage(c, next) {
    await next();
    const principal = c.get('principal');
    const served = c.req.method === 'HEAD' || (c.res.status !== 200 && c.res.status !== 206) ? 0 : Number(c.res.headers.get('Content-Length') ?? 0);
    add(principal.keyId, utcDay(), 1, served);
    if (pending.size >= FLUSH_AT_ENTRIES) {
      c.executionCtx.waitUntil(flushUsage(c.env.DB).catch((err) => console.error('usage not recorded yet:', err)));
    } else if (scheduled === null) {
      const db = c.env.DB;
      scheduled = new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS))
        .then(() => {
          scheduled = null;
          return flushUsage(db);
        })
        .catch((err) => console.error('usage not recorded yet:', err));
      c.executionCtx.waitUntil(scheduled);
    }
  };
