import { DurableObject } from 'cloudflare:workers';

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

/**
 * One per principal (key id, or `ip:<address>` for signed URLs): a token bucket of request cost
 * refilled at `perMinute` a minute, and the day's GPU seconds against a hard daily quota. Being a
 * Durable Object it counts exactly, wherever the requests come from (the rate-limiting binding
 * counts per location and lets some through).
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

  /** GPU seconds used on `day` (UTC `YYYY-MM-DD`). */
  async gpuUsed(day: string): Promise<number> {
    const used = await this.ctx.storage.get<GpuDay>('gpu');
    return used?.day === day ? used.seconds : 0;
  }

  async chargeGpu(day: string, seconds: number): Promise<number> {
    const used = await this.gpuUsed(day);
    const next = { day, seconds: used + seconds } satisfies GpuDay;
    await this.ctx.storage.put('gpu', next);
    return next.seconds;
  }
}

export function meterFor(env: Env, principalKey: string): DurableObjectStub<AccessMeter> {
  const namespace = env.ACCESS_METER as unknown as DurableObjectNamespace<AccessMeter>;
  return namespace.get(namespace.idFromName(principalKey));
}

export const utcDay = (now = Date.now()) => new Date(now).toISOString().slice(0, 10);
