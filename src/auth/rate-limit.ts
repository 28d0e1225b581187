import type { Context, MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { meterFor, type LeaseResult } from './access-meter';
import type { Principal } from './principal';

/** What a request costs from a principal's bucket: a cache hit is cheap, a generation is not. */
export const REQUEST_COST = 1;
export const GENERATION_COST = 30;

/**
 * Per-minute limits are counted by each principal's AccessMeter (a Durable Object, one bucket wherever
 * the requests come from), but not asked per request: each isolate leases tokens from the meter in
 * batches, spends them itself, and asks for the next lease in the background when less than half a
 * lease is left, so a request waits for the meter only when its isolate holds too few tokens (its
 * first request for a principal, a principal it sees rarely, one past the limit).
 *
 * A lease asks for about LEASE_SECONDS of this isolate's own spending since its last lease, at most
 * LEASE_SECONDS of the key's refill. The meter grants only whole tokens its bucket holds, and every
 * request served spends a granted token: a burst at one instant across any number of isolates is
 * served at most what the bucket holds. Tokens an isolate has not spent LEASE_TTL_MS after it asked
 * for them are dropped (never handed back), so in any window of W seconds at most
 * `limit + rate × (W + LEASE_TTL_MS / 1000)` requests are served whatever the number of isolates: at
 * most `rate × LEASE_TTL_MS / 1000` (a twentieth of the per-minute limit) beyond an exact bucket. The
 * cost is the other way: tokens one isolate holds are not another's, and those left unspent when a
 * principal's traffic stops are lost, at most about 1.5 × LEASE_SECONDS of each isolate's own traffic
 * (bounded by its refill). docs/gpu-spend.md states both; test/workers/rate-limit.test.ts checks
 * them with several isolates sharing one meter.
 */
export const LEASE_SECONDS = 1;
export const LEASE_TTL_MS = 3_000;
/** Times a take looks at its isolate's tokens (and waits for a lease) before it gives up: only contention within the isolate gets there. */
const MAX_LOOKS = 4;
/** Principals whose leases an isolate keeps; past this the least recently used are forgotten (their tokens dropped). */
const MAX_PRINCIPALS = 10_000;

/** How an isolate reaches a principal's meter: `lease` as the AccessMeter answers it. */
export type MeterLeases = (meterKey: string) => { lease(need: number, want: number, perMinute: number, now?: number): Promise<LeaseResult> };

/** What a take answers: whether it was served, and the RateLimit-* facts as this isolate knows them. */
export interface TakeResult {
  ok: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
  retryAfterSeconds: number;
}

/** Tokens of one lease: spent oldest first, dropped at `expiresAt`. */
interface Lot {
  tokens: number;
  expiresAt: number;
}

interface Held {
  limit: number;
  lots: Lot[];
  /** The meter's own bucket after its last answer, and when that was (this isolate's clock). */
  meterRemaining: number;
  meterAt: number;
  /** Tokens spent here since the last lease was asked for, and when it was asked. */
  spentSinceLease: number;
  leaseAskedAt: number;
  /** The lease being asked for, if any: takes that find too few tokens wait for it. */
  pending: Promise<LeaseResult> | null;
  /** Tokens the takes waiting for `pending` need: the next lease asks for them too. */
  waiting: number;
}

const tokensOf = (held: Held) => held.lots.reduce((sum, lot) => sum + lot.tokens, 0);

/**
 * One isolate's leases, per meter key. `meters` reaches the principal's AccessMeter; `now` is this
 * isolate's clock (ms). Tests make several of these over one meter to play several isolates.
 */
export class IsolateLeases {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly meters: MeterLeases,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes `cost` tokens of `meterKey`'s bucket (`limit` a minute) from this isolate's leases, asking
   * the meter first when they hold too few. `background` keeps a refill that the answer does not wait
   * for alive (`waitUntil`).
   */
  async take(meterKey: string, limit: number, cost: number, background: (work: Promise<unknown>) => void = () => {}): Promise<TakeResult> {
    const held = this.heldFor(meterKey, limit);
    for (let look = 0; look < MAX_LOOKS; look++) {
      this.dropExpired(held);
      if (tokensOf(held) >= cost) {
        this.spend(held, cost);
        const size = this.leaseSize(held);
        if (size >= 2 && tokensOf(held) * 2 < size && held.pending === null) background(this.refill(meterKey, held, 0).catch(() => {}));
        return this.answer(held, true, 0);
      }
      if (held.pending !== null) {
        // Another take here is asking the meter: wait for its answer (the lease it asked for counts this take in), then look again.
        held.waiting += cost;
        await held.pending.catch(() => {});
        held.waiting -= cost;
        continue;
      }
      // Ask the meter for what this take lacks, all or none (and a lease beside it); granted, it is spent above.
      const answer = await this.refill(meterKey, held, cost - tokensOf(held));
      if (answer.granted === 0) return this.answer(held, false, answer.retryAfterSeconds);
    }
    // Other takes here kept spending what the meter granted before this one could.
    return this.answer(held, false, 1);
  }

  private heldFor(meterKey: string, limit: number): Held {
    let held = this.held.get(meterKey);
    if (held !== undefined) {
      this.held.delete(meterKey); // re-inserted last: the map's order is least recently used first
    } else {
      if (this.held.size >= MAX_PRINCIPALS) this.held.delete(this.held.keys().next().value as string);
      held = { limit, lots: [], meterRemaining: limit, meterAt: this.now(), spentSinceLease: 0, leaseAskedAt: this.now(), pending: null, waiting: 0 };
    }
    held.limit = limit; // a key whose limit was changed: its next answers say the new one
    this.held.set(meterKey, held);
    return held;
  }

  private dropExpired(held: Held): void {
    const now = this.now();
    held.lots = held.lots.filter((lot) => lot.expiresAt > now && lot.tokens > 0);
  }

  private spend(held: Held, cost: number): void {
    let left = cost;
    for (const lot of held.lots) {
      const taken = Math.min(lot.tokens, left);
      lot.tokens -= taken;
      left -= taken;
      if (left === 0) break;
    }
    held.spentSinceLease += cost;
  }

  /**
   * Tokens a lease asks for: about LEASE_SECONDS of this isolate's own spending since its last lease
   * (so an isolate that sees a principal rarely asks for one token at a time, as it did before leases,
   * and strands none), at most LEASE_SECONDS of the key's refill.
   */
  private leaseSize(held: Held): number {
    const most = Math.max(1, Math.floor((held.limit * LEASE_SECONDS) / 60));
    const seconds = Math.max(0.5, (this.now() - held.leaseAskedAt) / 1000);
    return Math.min(most, Math.max(1, Math.ceil((held.spentSinceLease / seconds) * LEASE_SECONDS)));
  }

  /**
   * Asks the meter for at least `need` tokens (all or none; 0 for a refill ahead of need) and up to a
   * lease's worth; what it grants is spendable until LEASE_TTL_MS after it was asked for.
   */
  private refill(meterKey: string, held: Held, need: number): Promise<LeaseResult> {
    const asked = this.now();
    const want = Math.max(need + held.waiting, this.leaseSize(held));
    held.spentSinceLease = 0;
    held.leaseAskedAt = asked;
    const pending = this.meters(meterKey)
      .lease(need, want, held.limit)
      .then((answer) => {
        if (answer.granted > 0) held.lots.push({ tokens: answer.granted, expiresAt: asked + LEASE_TTL_MS });
        held.meterRemaining = answer.bucket;
        held.meterAt = this.now();
        return answer;
      })
      .finally(() => {
        if (held.pending === pending) held.pending = null;
      });
    held.pending = pending;
    return pending;
  }

  /**
   * RateLimit-* as this isolate knows them: its own tokens plus what the meter's bucket held at its last
   * answer, refilled since (exact with one isolate; with several, what this one knew when it last asked).
   */
  private answer(held: Held, ok: boolean, retryAfterSeconds: number): TakeResult {
    const ratePerMs = held.limit / 60_000;
    const meterNow = Math.min(held.limit, held.meterRemaining + (this.now() - held.meterAt) * ratePerMs);
    const remaining = ok ? Math.floor(Math.min(held.limit, tokensOf(held) + meterNow)) : 0;
    return { ok, limit: held.limit, remaining, resetSeconds: Math.ceil((held.limit - remaining) / ratePerMs / 1000), retryAfterSeconds };
  }
}

/** This isolate's leases of every principal's meter. */
let isolateEnv: Env | null = null;
const isolateLeases = new IsolateLeases((meterKey) => meterFor(isolateEnv as Env, meterKey));
function leasesOf(env: Env): IsolateLeases {
  isolateEnv = env;
  return isolateLeases;
}

function perMinute(env: Env, principal: Principal): number | null {
  if (principal.keyId === 'admin') return null; // the bootstrap key is the operator's (and so are URLs it mints)
  if (principal.limits.requestsPerMinute !== null) return principal.limits.requestsPerMinute;
  return Number(env.DEFAULT_REQUESTS_PER_MINUTE);
}

function rateLimitHeaders(result: TakeResult): Record<string, string> {
  return {
    'RateLimit-Limit': String(result.limit),
    'RateLimit-Remaining': String(result.remaining),
    'RateLimit-Reset': String(result.resetSeconds),
    'RateLimit-Policy': `${result.limit};w=60`,
  };
}

/**
 * Takes `cost` from the principal's bucket, or throws 429 with Retry-After and RateLimit-* headers.
 * A viewer of an unbound signed URL also takes it from their own address's bucket: the second limit.
 */
export async function takeOrThrow(c: Context<{ Bindings: Env }>, cost: number): Promise<Record<string, string>> {
  const principal = c.get('principal');
  if (principal.viewerIp !== undefined) await takeFrom(c, principal.viewerIp, Number(c.env.SIGNED_URL_REQUESTS_PER_MINUTE), cost);
  const limit = perMinute(c.env, principal);
  if (limit === null) return {};
  return takeFrom(c, principal.keyId, limit, cost);
}

async function takeFrom(c: Context<{ Bindings: Env }>, meterKey: string, limit: number, cost: number): Promise<Record<string, string>> {
  const result = await leasesOf(c.env).take(meterKey, limit, cost, (work) => c.executionCtx.waitUntil(work));
  const headers = rateLimitHeaders(result);
  if (!result.ok) {
    throw new ApiError(429, 'rate_limited', `rate limit of ${limit} request units a minute reached; a generation costs ${GENERATION_COST}`, {
      headers: { ...headers, 'Retry-After': String(result.retryAfterSeconds) },
    });
  }
  return headers;
}

/** Counts every authenticated request against its principal's per-minute budget. */
export const rateLimit = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function rateLimit(c, next) {
    const headers = await takeOrThrow(c, REQUEST_COST);
    await next();
    if (Object.keys(headers).length === 0) return;
    try {
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    } catch {
      // A response whose headers are immutable (one passed on as fetched): a copy that may be changed.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
    }
  };
