// Per-minute limits with tokens leased per isolate from the principal's AccessMeter: several isolates
// (IsolateLeases instances) share one real meter Durable Object, on a simulated clock the meter is told.
import { beforeEach, describe, expect, it } from 'vitest';
import { meterFor, type LeaseResult } from '../../src/auth/access-meter';
import { IsolateLeases, LEASE_SECONDS, LEASE_TTL_MS, type MeterLeases } from '../../src/auth/rate-limit';
import { installFakeGpu } from './fake-gpu';
import { call, callSettled, env } from './helpers';
import { encodedVideo, mintUrls, newKey, pathOf, SPEND_SCOPES } from './spend-helpers';

/** A clock the isolates read and the meter is handed, so minutes pass in milliseconds. */
function simulatedClock(start = Date.parse('2030-01-01T00:00:00Z')) {
  return { now: start };
}

/** `n` isolates over the one real meter of `meterKey`; every refill they start in the background is collected in `background`. */
function isolates(n: number, clock: { now: number }, counter?: { leases: number }) {
  const meters: MeterLeases = (key) => ({
    lease: (need: number, want: number, perMinute: number) => {
      if (counter) counter.leases++;
      return meterFor(env, key).lease(need, want, perMinute, clock.now);
    },
  });
  const background: Promise<unknown>[] = [];
  const list = Array.from({ length: n }, () => new IsolateLeases(meters, () => clock.now));
  return { list, background, settle: async () => void (await Promise.all(background.splice(0))) };
}

/** A deterministic pseudo-random sequence in [0, 1) (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The most served in any window of `seconds` (starting at a served request). */
function mostInWindow(served: number[], seconds: number): number {
  let most = 0;
  let end = 0;
  for (let start = 0; start < served.length; start++) {
    while (end < served.length && (served[end] as number) < (served[start] as number) + seconds * 1000) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('leased rate limits: several isolates sharing one meter', () => {
  it('serves a burst spread over 8 isolates at one instant exactly the bucket, no more', async () => {
    const clock = simulatedClock();
    const { list, background, settle } = isolates(8, clock);
    const limit = 600;
    const results = await Promise.all(
      Array.from({ length: 2000 }, (_, i) => list[i % list.length]!.take('key_burst', limit, 1, (work) => background.push(work))),
    );
    await settle();
    expect(results.filter((r) => r.ok).length).toBe(limit);
    const refused = results.find((r) => !r.ok)!;
    expect(refused).toMatchObject({ ok: false, limit, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it(`never passes limit + rate × (W + ${LEASE_TTL_MS / 1000} s) in any window W, through bursts, pauses and stranded leases`, { timeout: 60_000 }, async () => {
    const clock = simulatedClock();
    const { list, background, settle } = isolates(6, clock);
    const limit = 600;
    const rate = limit / 60; // tokens a second
    const next = random(27);
    const served: number[] = [];
    const offered: number[] = [];
    const started = clock.now;
    const end = started + 4 * 60_000;
    const wall = Date.now();
    while (clock.now < end) {
      // Phases: silence (up to 70 s: the bucket fills while the isolates hold what they leased), short
      // bursts over every isolate (their leases grow to the most a lease may be, and may be left
      // unspent when the burst stops), or a stream at random isolates, below or above the limit.
      const phase = next();
      if (phase < 0.2) {
        clock.now += Math.floor(next() * 70_000);
        continue;
      }
      const burst = phase < 0.5;
      const steps = burst ? 1 + Math.floor(next() * 40) : 20 + Math.floor(next() * 200);
      const gap = burst ? 20 : next() * 400;
      for (let step = 0; step < steps && clock.now < end; step++) {
        const isolate = list[burst ? step % list.length : Math.floor(next() * list.length)]!;
        const many = burst ? 1 + Math.floor(next() * 30) : 1;
        const answers = await Promise.all(Array.from({ length: many }, () => isolate.take('key_windows', limit, 1, (work) => background.push(work))));
        for (const answer of answers) {
          offered.push(clock.now);
          if (answer.ok) served.push(clock.now);
        }
        if (next() < 0.5) await settle(); // refills land sooner or later
        clock.now += Math.floor(next() * gap);
      }
    }
    await settle();
    // What one exact bucket (the meter asked per request, as before leases) would have served of the same requests.
    let tokens = limit;
    let at = started;
    let exact = 0;
    for (const t of offered) {
      tokens = Math.min(limit, tokens + ((t - at) * rate) / 1000);
      at = t;
      if (tokens >= 1) {
        tokens -= 1;
        exact++;
      }
    }
    console.log(`simulated ${(clock.now - started) / 1000} s in ${Date.now() - wall} ms: ${offered.length} offered, ${served.length} served, ${exact} by an exact bucket; most in a window: ${[0.001, 1, LEASE_SECONDS, 10, 60].map((w) => `${w} s ${mostInWindow(served, w)}`).join(', ')}`);
    for (const window of [0.001, 1, LEASE_SECONDS, 10, 60]) {
      expect(mostInWindow(served, window), `window ${window} s`).toBeLessThanOrEqual(Math.floor(limit + rate * (window + LEASE_TTL_MS / 1000)));
    }
    // Leasing strands little: most of what an exact bucket serves is served.
    expect(served.length).toBeGreaterThan(0.9 * exact);
  });

  it('serves a burst after a silence at most the bucket plus rate × LEASE_TTL_MS, however many isolates were left holding leases', async () => {
    const clock = simulatedClock();
    const { list, background, settle } = isolates(8, clock);
    const limit = 600;
    // Each isolate sees a stream of its own (400 requests in all, fewer than the bucket holds), so its
    // leases grow to the most one may be; the stream stops with those leases partly unspent.
    for (let i = 0; i < 400; i++) {
      expect((await list[i % list.length]!.take('key_stranded', limit, 1, (work) => background.push(work))).ok).toBe(true);
      await settle();
      clock.now += 5;
    }
    // A minute of silence fills the bucket; then a burst over every isolate at one instant.
    clock.now += 60_000;
    const burst = await Promise.all(Array.from({ length: 1200 }, (_, i) => list[i % list.length]!.take('key_stranded', limit, 1, (work) => background.push(work))));
    await settle();
    expect(burst.filter((r) => r.ok).length).toBeLessThanOrEqual(limit + Math.floor((limit / 60_000) * LEASE_TTL_MS));
  });

  it('asks the meter once per lease, not per request, and serves from the lease while the meter is slow to answer', async () => {
    const clock = simulatedClock();
    let leases = 0;
    let answering = true;
    const held: (() => void)[] = [];
    const meter: MeterLeases = () => ({
      lease: async (need: number, want: number, perMinute: number): Promise<LeaseResult> => {
        leases++;
        if (!answering) await new Promise<void>((resolve) => held.push(resolve));
        return { granted: Math.max(need, want), bucket: perMinute, limit: perMinute, remaining: perMinute, resetSeconds: 0, retryAfterSeconds: 0 };
      },
    });
    const isolate = new IsolateLeases(meter, () => clock.now);
    const limit = 100_000;
    for (let i = 0; i < 1000; i++) {
      expect((await isolate.take('key_hot', limit, 1)).ok).toBe(true);
      clock.now += 10; // 100 requests a second
    }
    expect(leases).toBeLessThan(30);
    // The meter stops answering: takes go on from what the isolate holds, none waits for it.
    answering = false;
    let servedWhileSlow = 0;
    for (let i = 0; i < 100; i++) {
      const answer = await Promise.race([isolate.take('key_hot', limit, 1), new Promise<null>((resolve) => setTimeout(() => resolve(null), 50))]);
      if (answer === null) break;
      servedWhileSlow++;
      clock.now += 10;
    }
    expect(servedWhileSlow).toBeGreaterThan(50);
    for (const resolve of held) resolve();
  });
});

describe('leased rate limits through the API', () => {
  beforeEach(() => {
    installFakeGpu();
  });

  it('keeps each key to its own per-minute value, and RateLimit-Remaining counts down by one per request', async () => {
    const key = await newKey(SPEND_SCOPES, { limits: { requestsPerMinute: 120 } });
    const remaining: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) {
      const response = await call('/v1/videos', { key: key.secret });
      statuses.push(response.status);
      if (response.status === 200) {
        expect(response.headers.get('RateLimit-Limit')).toBe('120');
        remaining.push(Number(response.headers.get('RateLimit-Remaining')));
      } else {
        expect(response.headers.get('RateLimit-Remaining')).toBe('0');
        expect(Number(response.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1);
      }
    }
    // newKey's request was the admin's; 120 of this key's pass (the bucket refills about 2 a second while they run).
    const passed = statuses.filter((s) => s === 200).length;
    expect(passed).toBeGreaterThanOrEqual(120);
    expect(passed).toBeLessThanOrEqual(123);
    expect(statuses.slice(passed).every((s) => s === 429)).toBe(true);
    for (const [i, r] of remaining.entries()) if (i > 0) expect(r).toBeLessThanOrEqual((remaining[i - 1] as number) + 1);
    expect(remaining[0]).toBe(119);
  });

  it("limits an unbound signed URL's viewers per address at SIGNED_URL_REQUESTS_PER_MINUTE", async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const [unbound] = await mintUrls(id, key.secret, { modes: ['tt2v'], formats: ['bitstream'], expiresIn: 600, bindToKey: false });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await callSettled(pathOf(unbound!.url), { key: null, headers: { 'CF-Connecting-IP': '198.51.100.7' } }, { SIGNED_URL_REQUESTS_PER_MINUTE: '3' })).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // Another viewer has a bucket of their own.
    expect((await callSettled(pathOf(unbound!.url), { key: null, headers: { 'CF-Connecting-IP': '198.51.100.8' } }, { SIGNED_URL_REQUESTS_PER_MINUTE: '3' })).status).toBe(200);
  });
});
