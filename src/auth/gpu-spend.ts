import { GENERATION_CALL_LIFETIME_MS, spentSeconds } from '../gpu/contract';
import { GpuError } from '../gpu/errors';
import { meterFor, utcDay } from './access-meter';
import { recordUsage } from './usage';

/** Who pays a GPU call: a key (or `ip:…`), and its daily GPU-seconds quota (null: none). */
export interface Payer {
  keyId: string;
  quotaSeconds: number | null;
}

/** A reservation made for one GPU call, kept by the caller so that a resumed call settles the same one. */
export interface HeldReservation {
  id: string;
  /** When it was made (ms since the epoch): a call that ends without a report is charged the time since. */
  reservedAt: number;
}

/** A reservation nobody settled is charged at its estimate after this long: as long as its call may run (`GENERATION_TIMING`). */
export const RESERVATION_TTL_MS = GENERATION_CALL_LIFETIME_MS;

export const QUOTA_EXCEEDED = 'gpu_quota_exceeded';

/**
 * Runs one GPU call under a reservation in the payer's meter: `estimateSeconds` is reserved
 * atomically before it starts (refused with `gpu_quota_exceeded` when the day's settled and reserved
 * seconds plus it would pass the quota), and settled when it ends — to the seconds it reports on
 * success, to the seconds the GPU function reports for a failure, or else to the wall time since the
 * reservation. A call the GPU function had accepted (`callId` names it) and that was given up on
 * without a report (a timeout, a broken status, a dropped poll) may still be running: its reservation
 * is handed to the meter's follow-up, which settles it to the seconds the backend reports when the
 * call ends (or, when that cannot be learnt, to the wall time and no less than the estimate). `held`
 * resumes a reservation made before a restart; resuming a call id handed to a follow-up settles the
 * follow-up's reservation, or nothing when the follow-up already has.
 */
export async function meteredGpuCall<T extends { seconds: { gpu: number; cpu: number } }>(
  env: Env,
  payer: Payer | null,
  call: {
    estimateSeconds: number;
    held: HeldReservation | null;
    onReserved: (held: HeldReservation) => Promise<void>;
    /** Counted in the payer's `generations` (false for an encode). */
    generation?: boolean;
    /** The id of the call once the GPU function accepted it (null before), asked at the start and when the call fails. */
    callId?: () => string | null;
    /**
     * Given, the settlement of a call that succeeded is handed to it (e.g. `waitUntil`) instead of awaited,
     * so the result reaches its waiters first; a settlement that fails is logged, and its reservation is
     * charged at its estimate once it expires.
     */
    settleLater?: (settling: Promise<void>) => void;
  },
  run: () => Promise<T>,
): Promise<T> {
  if (payer === null) return run();
  const meter = meterFor(env, payer.keyId);
  const generation = call.generation ?? true;
  const fresh = call.held ?? { id: crypto.randomUUID(), reservedAt: Date.now() };
  const resumesCall = call.held === null ? (call.callId?.() ?? undefined) : undefined;
  const reserved = await meter.reserveGpu(payer.keyId, fresh.id, utcDay(fresh.reservedAt), call.estimateSeconds, payer.quotaSeconds, RESERVATION_TTL_MS, Date.now(), { generation, resumesCall });
  if (!reserved.ok) {
    const remaining = Math.max(0, (payer.quotaSeconds ?? 0) - reserved.usedSeconds - reserved.reservedSeconds);
    throw new GpuError(QUOTA_EXCEEDED, `this call needs about ${call.estimateSeconds.toFixed(2)} GPU s and only ${remaining.toFixed(2)} s of today's quota are left`, 429, false);
  }
  // A resumed call its follow-up already charged: polling it to its end must not charge it again.
  if (reserved.held === null) return run();
  const held = reserved.held;
  if (call.held === null) await call.onReserved(held);
  try {
    const result = await run();
    const settling = settle(env, payer.keyId, held.id, spentSeconds(result.seconds), generation);
    if (call.settleLater === undefined) await settling;
    else call.settleLater(settling.catch((err: unknown) => console.error(`GPU call ${held.id} not settled yet:`, err)));
    return result;
  } catch (err) {
    if (err instanceof GpuError && err.spentSeconds !== null) {
      await settle(env, payer.keyId, held.id, err.spentSeconds, generation);
      throw err;
    }
    const callId = call.callId?.() ?? null;
    const fallback = callId === null && neverRan(err) ? 0 : unreportedSeconds(held, call.estimateSeconds, callId !== null);
    // A lost id (404) is final: nobody can learn the call's seconds any more.
    const followUp = callId !== null && !(err instanceof GpuError && err.code === 'gpu_call_lost');
    if (!followUp || !(await meter.followUpGpu(held.id, callId, fallback))) {
      // Logged for the audit of bills against the GPU server's own count (the soak keeps this log when they differ).
      if (fallback > 0) console.warn(`GPU call ${callId ?? '(not accepted)'} of ${payer.keyId} charged ${fallback.toFixed(3)} s without a report (${err instanceof GpuError ? err.code : 'error'})`);
      await settle(env, payer.keyId, held.id, fallback, generation);
    }
    throw err;
  }
}

/**
 * Whether a call that got no call id certainly never ran: the backend answered its submit with an
 * error status (it refused it), or the circuit breaker kept it from being sent. A submit whose answer
 * was lost or garbled may have been accepted, and is charged its wall time.
 */
function neverRan(err: unknown): boolean {
  return err instanceof GpuError && ((err.status !== null && err.status >= 400) || err.code === 'gpu_circuit_open');
}

/** What a call that ended without reporting its seconds is charged: the wall time since its reservation, and no less than its estimate once accepted. */
function unreportedSeconds(held: HeldReservation, estimateSeconds: number, accepted: boolean): number {
  const elapsed = (Date.now() - held.reservedAt) / 1000;
  return accepted ? Math.max(elapsed, estimateSeconds) : elapsed;
}

async function settle(env: Env, keyId: string, id: string, seconds: number, generation: boolean): Promise<void> {
  const charged = await meterFor(env, keyId).settleGpu(id, seconds);
  if (charged !== null) await recordUsage(env.DB, keyId, { gpuSeconds: charged, generations: generation ? 1 : 0 });
}
