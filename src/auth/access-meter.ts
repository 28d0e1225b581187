import { DurableObject } from 'cloudflare:workers';
import { recordUsage } from './usage';

export interface TakeResult {
  ok: boolean;
  /** Bucket size: requests a minute. */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until `cost` could be taken; 0 when ok. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

interface GpuDay {
  day: string;
  seconds: number;
}

/** GPU seconds held for a call that has not ended yet. */
interface Reservation {
  /** The key the meter belongs to, for its usage row when the reservation expires. */
  keyId: string;
  day: string;
  seconds: number;
  /** After this (ms since the epoch) a reservation nobody settled is charged at its estimate. */
  expiresAt: number;
}

export interface GpuBudget {
  /** Seconds settled today. */
  usedSeconds: number;
  /** Seconds held by today's unsettled reservations. */
  reservedSeconds: number;
}

export type ReserveResult = ({ ok: true } | { ok: false }) & GpuBudget;

const RESERVATION = 'res:';

/**
 * One per principal (key id, or `ip:<address>` for signed-URL viewers): a token bucket of request
 * cost refilled at `perMinute` a minute, and the day's GPU seconds against a hard daily quota. GPU
 * seconds are reserved before a call (refused when they would take the day past the quota) and
 * settled to what the call spent when it ends. Being a Durable Object it counts exactly, wherever the
 * requests come from, and one reservation at a time (storage calls hold the input gate, so a
 * reserve's read and write are not interleaved with another's); everything lives in its storage and
 * survives restarts.
 */
export class AccessMeter extends DurableObject<Env> {
  async take(cost: number, perMinute: number, now = Date.now()): Promise<TakeResult> {
    const bucket = (await this.ctx.storage.get<Bucket>('bucket')) ?? { tokens: perMinute, updatedAt: now };
    const ratePerMs = perMinute / 60_000;
    const tokens = Math.min(perMinute, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
    const ok = tokens >= cost;
    const left = ok ? tokens - cost : tokens;
    await this.ctx.storage.put('bucket', { tokens: left, updatedAt: now } satisfies Bucket);
    return {
      ok,
      limit: perMinute,
      remaining: Math.floor(left),
      resetSeconds: Math.ceil((perMinute - left) / ratePerMs / 1000),
      retryAfterSeconds: ok ? 0 : Math.max(1, Math.ceil((cost - left) / ratePerMs / 1000)),
    };
  }

  /** GPU seconds settled on `day` (UTC `YYYY-MM-DD`). */
  async gpuUsed(day: string): Promise<number> {
    const used = await this.ctx.storage.get<GpuDay>('gpu');
    return used?.day === day ? used.seconds : 0;
  }

  /** Settled and reserved GPU seconds on `day`; reservations past their expiry are charged first. */
  async gpuBudget(day: string, now = Date.now()): Promise<GpuBudget> {
    await this.expireReservations(now);
    const reservations = await this.ctx.storage.list<Reservation>({ prefix: RESERVATION });
    let reservedSeconds = 0;
    for (const r of reservations.values()) if (r.day === day) reservedSeconds += r.seconds;
    return { usedSeconds: await this.gpuUsed(day), reservedSeconds };
  }

  /**
   * Holds `seconds` for call `id` unless settled + reserved + `seconds` would pass `quota` (null:
   * no quota). Reserving an id again is a no-op that answers ok (a resumed caller).
   */
  async reserveGpu(keyId: string, id: string, day: string, seconds: number, quota: number | null, ttlMs: number, now = Date.now()): Promise<ReserveResult> {
    const budget = await this.gpuBudget(day, now);
    if ((await this.ctx.storage.get<Reservation>(RESERVATION + id)) !== undefined) return { ok: true, ...budget };
    if (quota !== null && budget.usedSeconds + budget.reservedSeconds + seconds > quota + 1e-9) return { ok: false, ...budget };
    await this.ctx.storage.put(RESERVATION + id, { keyId, day, seconds, expiresAt: now + ttlMs } satisfies Reservation);
    return { ok: true, usedSeconds: budget.usedSeconds, reservedSeconds: budget.reservedSeconds + seconds };
  }

  /**
   * Ends reservation `id`: its day is charged `spentSeconds` instead of the estimate. Returns the
   * seconds charged, or null when there was no such reservation (already settled or expired), so a
   * call settled twice is charged once.
   */
  async settleGpu(id: string, spentSeconds: number): Promise<number | null> {
    const reservation = await this.ctx.storage.get<Reservation>(RESERVATION + id);
    if (reservation === undefined) return null;
    await this.ctx.storage.delete(RESERVATION + id);
    await this.chargeGpu(reservation.day, spentSeconds);
    return spentSeconds;
  }

  async chargeGpu(day: string, seconds: number): Promise<number> {
    const stored = await this.ctx.storage.get<GpuDay>('gpu');
    // A charge for an earlier day (a call settled after midnight) does not reset today's count.
    if (stored !== undefined && stored.day > day) return stored.seconds;
    const next = { day, seconds: (stored?.day === day ? stored.seconds : 0) + seconds } satisfies GpuDay;
    await this.ctx.storage.put('gpu', next);
    return next.seconds;
  }

  /** A reservation whose caller vanished (its Worker and coordinator both lost) is charged at its estimate. */
  private async expireReservations(now: number): Promise<void> {
    const reservations = await this.ctx.storage.list<Reservation>({ prefix: RESERVATION });
    for (const [key, r] of reservations) {
      if (r.expiresAt > now) continue;
      await this.ctx.storage.delete(key);
      await this.chargeGpu(r.day, r.seconds);
      await recordUsage(this.env.DB, r.keyId, { gpuSeconds: r.seconds, generations: 1 }, now);
    }
  }
}

export function meterFor(env: Env, principalKey: string): DurableObjectStub<AccessMeter> {
  const namespace = env.ACCESS_METER as unknown as DurableObjectNamespace<AccessMeter>;
  return namespace.get(namespace.idFromName(principalKey));
}

export const utcDay = (now = Date.now()) => new Date(now).toISOString().slice(0, 10);
