import { DurableObject } from 'cloudflare:workers';
import { gpuClientFromEnv } from '../gpu/client';
import { callOutcome, type CallOutcome } from './spent-seconds';
import { recordUsage } from './usage';

export interface LeaseResult {
  /** Tokens granted to the isolate that asked. */
  granted: number;
  /** What the bucket holds after the grant (fractional). */
  bucket: number;
  /** Bucket size: requests a minute. */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until `need` could be granted; 0 when granted. */
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
  /** After this (ms since the epoch) a reservation nobody settled is charged at its estimate (or `followUp.fallbackSeconds`). */
  expiresAt: number;
  /** When it was made (ms since the epoch; absent in reservations stored before). */
  reservedAt?: number;
  /** Counted in the key's `generations` when settled (false for an encode; absent in reservations stored before: true). */
  generation?: boolean;
  /** Set when the Worker gave up on the call while the GPU function may still be running it. */
  followUp?: FollowUp;
}

/**
 * A call the Worker gave up on without learning what it spent (a garbled status, a timeout, a lost
 * connection): the meter asks the GPU backend about `callId` until the call ends, and settles the
 * reservation to the seconds it reports.
 */
interface FollowUp {
  callId: string;
  /** Charged when the call's seconds cannot be learnt: the Worker's charge at the time it gave up. */
  fallbackSeconds: number;
  /** When to ask the backend next (ms since the epoch). */
  nextAt: number;
  /** Questions asked so far. */
  asked: number;
}

/** Today's follow-ups of one key: waiting, and settled to reported seconds or to the fallback charge. */
export interface FollowUps {
  pending: number;
  settled: number;
  unreported: number;
}

/** Follow-ups settled on one day (the day their reservation was made). */
interface FollowUpCounts {
  day: string;
  settled: number;
  unreported: number;
}

/** The call-id index of a follow-up, kept after it is settled so a resumed call is not charged again. */
interface CallIndex {
  reservationId: string;
  /** Forgotten after this (ms since the epoch). */
  until: number;
}

export interface GpuBudget {
  /** Seconds settled today. */
  usedSeconds: number;
  /** Seconds held by today's unsettled reservations. */
  reservedSeconds: number;
}

/** `held`: the reservation that now holds the call (null: a resumed call its follow-up already charged). */
export type ReserveResult = ({ ok: true; held: { id: string; reservedAt: number } | null } | { ok: false }) & GpuBudget;

const RESERVATION = 'res:';
const CALL = 'call:';
const FOLLOW_UP_COUNTS = 'followups';
/** First question to the backend this long after the Worker gave up; the interval doubles up to the cap. */
const FOLLOW_UP_FIRST_MS = 2_000;
const FOLLOW_UP_MAX_INTERVAL_MS = 60_000;
/** Questions asked of the backend about one call before its fallback charge stands. */
export const FOLLOW_UP_MAX_ASKS = 30;
/** How long a settled follow-up's call id is remembered (ms): longer than any retry that resumes the call. */
const CALL_INDEX_MS = 24 * 3_600_000;

/**
 * One per principal (key id, or `ip:<address>` for the viewers of unbound signed URLs): a token bucket
 * of request cost refilled at `perMinute` a minute, whose tokens isolates lease in batches
 * (rate-limit.ts), and the day's GPU seconds against a hard daily quota. GPU
 * seconds are reserved before a call (refused when they would take the day past the quota) and
 * settled to what the call spent when it ends. Being a Durable Object it counts exactly, wherever the
 * requests come from, and one reservation at a time (storage calls hold the input gate, so a
 * reserve's read and write are not interleaved with another's); everything lives in its storage and
 * survives restarts.
 */
export class AccessMeter extends DurableObject<Env> {
  /**
   * Grants tokens of the request bucket (refilled at `perMinute` a minute, holding at most that many)
   * to an isolate that spends them itself: at least `need` or none (0: a refill ahead of need, granted
   * whatever the bucket holds), and up to `want`. Only whole tokens the bucket holds are granted, so
   * what all isolates spend together never passes what the bucket gave (see rate-limit.ts).
   */
  async lease(need: number, want: number, perMinute: number, now = Date.now()): Promise<LeaseResult> {
    const bucket = (await this.ctx.storage.get<Bucket>('bucket')) ?? { tokens: perMinute, updatedAt: now };
    const ratePerMs = perMinute / 60_000;
    const tokens = Math.min(perMinute, bucket.tokens + Math.max(0, now - bucket.updatedAt) * ratePerMs);
    const granted = tokens >= need ? Math.min(Math.max(need, want), Math.floor(tokens)) : 0;
    const left = tokens - granted;
    await this.ctx.storage.put('bucket', { tokens: left, updatedAt: Math.max(now, bucket.updatedAt) } satisfies Bucket);
    return {
      granted,
      bucket: left,
      limit: perMinute,
      remaining: Math.floor(left),
      resetSeconds: Math.ceil((perMinute - left) / ratePerMs / 1000),
      retryAfterSeconds: granted > 0 || need === 0 ? 0 : Math.max(1, Math.ceil((need - left) / ratePerMs / 1000)),
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
   * no quota). Reserving an id again is a no-op that answers ok (a resumed caller). `resumesCall`
   * names a call id the caller is about to poll again: when that call was handed to a follow-up, its
   * reservation is the one held (or, already settled by the follow-up, none: `held` is null), so a
   * call is charged once whoever learns its end first.
   */
  async reserveGpu(
    keyId: string,
    id: string,
    day: string,
    seconds: number,
    quota: number | null,
    ttlMs: number,
    now = Date.now(),
    options: { generation?: boolean; resumesCall?: string } = {},
  ): Promise<ReserveResult> {
    const budget = await this.gpuBudget(day, now);
    // From here on only storage calls: no other event runs between this look-up and the write.
    const index = options.resumesCall === undefined ? undefined : await this.ctx.storage.get<CallIndex>(CALL + options.resumesCall);
    const heldId = index?.reservationId ?? id;
    const existing = await this.ctx.storage.get<Reservation>(RESERVATION + heldId);
    if (existing !== undefined) return { ok: true, held: { id: heldId, reservedAt: existing.reservedAt ?? now }, ...budget };
    if (index !== undefined) return { ok: true, held: null, ...budget };
    if (quota !== null && budget.usedSeconds + budget.reservedSeconds + seconds > quota + 1e-9) return { ok: false, ...budget };
    await this.ctx.storage.put(RESERVATION + id, { keyId, day, seconds, reservedAt: now, expiresAt: now + ttlMs, generation: options.generation ?? true } satisfies Reservation);
    return { ok: true, held: { id, reservedAt: now }, usedSeconds: budget.usedSeconds, reservedSeconds: budget.reservedSeconds + seconds };
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

  /**
   * Hands reservation `id` over to a follow-up of GPU call `callId`, which the caller gave up on
   * without learning what it spent: the meter asks the backend about it (from its alarm, so across
   * restarts) until it ends, and settles the reservation to the seconds it reports — or to
   * `fallbackSeconds` when the backend no longer knows the id, the call ends without a report,
   * FOLLOW_UP_MAX_ASKS questions went unanswered or the reservation expires. Returns false when the
   * reservation was already settled. Whoever settles first (this follow-up, or a caller that resumed
   * the call) charges it; the other finds it gone.
   */
  async followUpGpu(id: string, callId: string, fallbackSeconds: number, now = Date.now()): Promise<boolean> {
    const reservation = await this.ctx.storage.get<Reservation>(RESERVATION + id);
    if (reservation === undefined) return false;
    const followUp: FollowUp = { callId, fallbackSeconds, nextAt: now + FOLLOW_UP_FIRST_MS, asked: 0 };
    await this.ctx.storage.put(RESERVATION + id, { ...reservation, followUp } satisfies Reservation);
    await this.ctx.storage.put(CALL + callId, { reservationId: id, until: now + CALL_INDEX_MS } satisfies CallIndex);
    await this.scheduleFollowUps();
    return true;
  }

  /** Reserved seconds held now (any day) and today's follow-ups. */
  async gpuInFlight(day: string, now = Date.now()): Promise<{ reservedSeconds: number; reservations: number; followUps: FollowUps }> {
    await this.expireReservations(now);
    const reservations = [...(await this.ctx.storage.list<Reservation>({ prefix: RESERVATION })).values()];
    const counts = await this.ctx.storage.get<FollowUpCounts>(FOLLOW_UP_COUNTS);
    return {
      reservedSeconds: reservations.reduce((sum, r) => sum + r.seconds, 0),
      reservations: reservations.length,
      followUps: {
        pending: reservations.filter((r) => r.followUp !== undefined).length,
        settled: counts?.day === day ? counts.settled : 0,
        unreported: counts?.day === day ? counts.unreported : 0,
      },
    };
  }

  /** Asks the backend about every follow-up that is due, settles those that ended, and sets the next alarm. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    await this.expireReservations(now);
    const due = [...(await this.ctx.storage.list<Reservation>({ prefix: RESERVATION }))].filter(([, r]) => r.followUp !== undefined && r.followUp.nextAt <= now);
    if (due.length > 0) {
      const gpu = gpuClientFromEnv(this.env);
      const outcomes = await Promise.all(due.map(([, r]) => callOutcome(gpu, (r.followUp as FollowUp).callId)));
      // One at a time: each settle reads and writes the day's total, which concurrent ones would overwrite.
      for (const [i, [key, r]] of due.entries()) await this.applyOutcome(key.slice(RESERVATION.length), r.followUp as FollowUp, outcomes[i] as CallOutcome);
    }
    await this.forgetOldCalls(now);
    await this.scheduleFollowUps();
  }

  private async applyOutcome(id: string, followUp: FollowUp, outcome: CallOutcome): Promise<void> {
    if (outcome.kind === 'spent') return this.settleFollowUp(id, outcome.seconds, 'settled');
    const asked = followUp.asked + 1;
    if (outcome.kind === 'unreported' || asked >= FOLLOW_UP_MAX_ASKS) {
      console.warn(`GPU call ${followUp.callId} charged ${followUp.fallbackSeconds.toFixed(3)} s without a report (follow-up: ${outcome.kind === 'unreported' ? 'no report from the backend' : `still unanswered after ${asked} questions`})`);
      return this.settleFollowUp(id, followUp.fallbackSeconds, 'unreported');
    }
    // The poll let other events in: the reservation may have been settled meanwhile (by a resumed caller).
    const reservation = await this.ctx.storage.get<Reservation>(RESERVATION + id);
    if (reservation === undefined) return;
    const interval = Math.min(FOLLOW_UP_MAX_INTERVAL_MS, FOLLOW_UP_FIRST_MS * 2 ** asked);
    await this.ctx.storage.put(RESERVATION + id, { ...reservation, followUp: { ...followUp, asked, nextAt: Date.now() + interval } } satisfies Reservation);
  }

  /** Settles a followed-up reservation once (settleGpu finds it gone if a resumed caller settled it first), in the meter and in usage. */
  private async settleFollowUp(id: string, seconds: number, how: 'settled' | 'unreported'): Promise<void> {
    const reservation = await this.ctx.storage.get<Reservation>(RESERVATION + id);
    if (reservation === undefined || (await this.settleGpu(id, seconds)) === null) return;
    const stored = await this.ctx.storage.get<FollowUpCounts>(FOLLOW_UP_COUNTS);
    const counts = stored?.day === reservation.day ? stored : { day: reservation.day, settled: 0, unreported: 0 };
    await this.ctx.storage.put(FOLLOW_UP_COUNTS, { ...counts, [how]: counts[how] + 1 });
    await recordUsage(this.env.DB, reservation.keyId, { gpuSeconds: seconds, generations: reservation.generation === false ? 0 : 1 }, Date.parse(reservation.day));
  }

  /** The alarm goes off when the earliest follow-up is due (DO storage keeps it across restarts). */
  private async scheduleFollowUps(): Promise<void> {
    let next = Number.POSITIVE_INFINITY;
    for (const r of (await this.ctx.storage.list<Reservation>({ prefix: RESERVATION })).values()) {
      if (r.followUp !== undefined) next = Math.min(next, r.followUp.nextAt, r.expiresAt);
    }
    if (next === Number.POSITIVE_INFINITY) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(next);
  }

  private async forgetOldCalls(now: number): Promise<void> {
    for (const [key, index] of await this.ctx.storage.list<CallIndex>({ prefix: CALL })) if (index.until <= now) await this.ctx.storage.delete(key);
  }

  async chargeGpu(day: string, seconds: number): Promise<number> {
    const stored = await this.ctx.storage.get<GpuDay>('gpu');
    // A charge for an earlier day (a call settled after midnight) does not reset today's count.
    if (stored !== undefined && stored.day > day) return stored.seconds;
    const next = { day, seconds: (stored?.day === day ? stored.seconds : 0) + seconds } satisfies GpuDay;
    await this.ctx.storage.put('gpu', next);
    return next.seconds;
  }

  /**
   * A reservation whose caller vanished (its Worker and coordinator both lost) is charged at its
   * estimate; one whose follow-up did not learn the call's seconds in time, at the follow-up's fallback.
   */
  private async expireReservations(now: number): Promise<void> {
    const reservations = await this.ctx.storage.list<Reservation>({ prefix: RESERVATION });
    for (const [key, r] of reservations) {
      if (r.expiresAt > now) continue;
      if (r.followUp !== undefined) {
        await this.settleFollowUp(key.slice(RESERVATION.length), r.followUp.fallbackSeconds, 'unreported');
        continue;
      }
      await this.ctx.storage.delete(key);
      await this.chargeGpu(r.day, r.seconds);
      await recordUsage(this.env.DB, r.keyId, { gpuSeconds: r.seconds, generations: r.generation === false ? 0 : 1 }, now);
    }
  }
}

export function meterFor(env: Env, principalKey: string): DurableObjectStub<AccessMeter> {
  const namespace = env.ACCESS_METER as unknown as DurableObjectNamespace<AccessMeter>;
  return namespace.get(namespace.idFromName(principalKey));
}

export const utcDay = (now = Date.now()) => new Date(now).toISOString().slice(0, 10);
