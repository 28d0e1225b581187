import { describe, expect, it } from 'vitest';
import { meterFor, utcDay } from '../../src/auth/access-meter';
import { env } from './helpers';

const day = utcDay();

describe('GPU-seconds reservations in the AccessMeter', () => {
  it('refuses a reservation that would pass the quota, counts reserved seconds, and settles each one once', async () => {
    const meter = meterFor(env, 'key_meter_a');
    expect((await meter.reserveGpu('key_meter_a', 'r1', day, 2, 3, 60_000)).ok).toBe(true);
    expect(await meter.reserveGpu('key_meter_a', 'r2', day, 2, 3, 60_000)).toMatchObject({ ok: false, usedSeconds: 0, reservedSeconds: 2 });
    expect((await meter.reserveGpu('key_meter_a', 'r1', day, 2, 3, 60_000)).ok).toBe(true); // the same call resumed
    expect(await meter.settleGpu('r1', 0.5)).toBe(0.5);
    expect(await meter.settleGpu('r1', 0.5)).toBeNull();
    expect(await meter.gpuBudget(day)).toEqual({ usedSeconds: 0.5, reservedSeconds: 0 });
    expect((await meter.reserveGpu('key_meter_a', 'r2', day, 2, 3, 60_000)).ok).toBe(true);
  });

  it('charges a reservation nobody settled at its estimate once it expires, in the meter and in usage', async () => {
    const meter = meterFor(env, 'key_meter_b');
    const past = Date.now() - 10_000;
    expect((await meter.reserveGpu('key_meter_b', 'lost', day, 1.5, null, 1000, past)).ok).toBe(true);
    expect(await meter.gpuBudget(day)).toEqual({ usedSeconds: 1.5, reservedSeconds: 0 });
    expect(await meter.settleGpu('lost', 0.2)).toBeNull(); // a late settle does not charge again
    const row = await env.DB.prepare('SELECT gpu_seconds FROM usage_daily WHERE key_id = ?').bind('key_meter_b').first<{ gpu_seconds: number }>();
    expect(row?.gpu_seconds).toBe(1.5);
  });
});
