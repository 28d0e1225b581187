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

/** A reservation nobody settled is charged at its estimate after this long (the longest call plus a margin). */
export const RESERVATION_TTL_MS = 20 * 60_000;

export const QUOTA_EXCEEDED = 'gpu_quota_exceeded';

/**
 * Seconds a call spent, from what it reports: `gpu` (accelerator seconds) and `cpu` (wall seconds)
 * measure the same computation and overlap (the model engine on a GPU reports its wall time as both),
 * so the larger one, not their sum; plus `upload`, the wall seconds the function then spent writing
 * its output file, during which its (GPU) container is still held.
 */
export const spentSeconds = (seconds: { gpu: number; cpu: number; upload?: number }) => Math.max(seconds.gpu, seconds.cpu) + (seconds.upload ?? 0);

/**
 * Runs one GPU call under a reservation in the payer's meter: `estimateSeconds` is reserved
 * atomically before it starts (refused with `gpu_quota_exceeded` when the day's settled and reserved
 * seconds plus it would pass the quota), and settled when it ends — to the seconds it reports on
 * success, to the seconds the GPU function reports for a failure, or else to the wall time since the
 * reservation — and at least the estimate when the function had accepted the call (`accepted`): a call
 * given up on without a report (a timeout, a broken status, a lost id) may still be running, and is never
 * charged less than it was expected to cost. `held` resumes a reservation made before a restart.
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
    /** Whether the GPU function has accepted the call (it holds a call id), asked when the call fails. */
    accepted?: () => boolean;
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
  const held = call.held ?? { id: crypto.randomUUID(), reservedAt: Date.now() };
  const reserved = await meter.reserveGpu(payer.keyId, held.id, utcDay(held.reservedAt), call.estimateSeconds, payer.quotaSeconds, RESERVATION_TTL_MS);
  if (!reserved.ok) {
    const remaining = Math.max(0, (payer.quotaSeconds ?? 0) - reserved.usedSeconds - reserved.reservedSeconds);
    throw new GpuError(QUOTA_EXCEEDED, `this call needs about ${call.estimateSeconds.toFixed(2)} GPU s and only ${remaining.toFixed(2)} s of today's quota are left`, 429, false);
  }
  if (call.held === null) await call.onReserved(held);
  let spent: number;
  try {
    const result = await run();
    spent = spentSeconds(result.seconds);
    const settling = settle(env, payer.keyId, held.id, spent, call.generation ?? true);
    if (call.settleLater === undefined) await settling;
    else call.settleLater(settling.catch((err: unknown) => console.error(`GPU call ${held.id} not settled yet:`, err)));
    return result;
  } catch (err) {
    spent = err instanceof GpuError && err.spentSeconds !== null ? err.spentSeconds : unreportedSeconds(held, call.estimateSeconds, call.accepted?.() ?? false);
    await settle(env, payer.keyId, held.id, spent, call.generation ?? true);
    throw err;
  }
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
