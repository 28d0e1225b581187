import { ApiError } from '../http/errors';
import { meterFor, utcDay } from './access-meter';
import { gpuQuota } from './charge';
import { QUOTA_EXCEEDED, type Payer } from './gpu-spend';
import { getKey } from './keys';
import { ADMIN_PRINCIPAL, type Principal } from './principal';

/** Who pays for what a principal's request starts: the key (or the minting key of a signed URL) and its quota. */
export function payerOf(env: Env, principal: Principal): Payer {
  return { keyId: principal.keyId, quotaSeconds: gpuQuota(env, principal) };
}

/** The payer for work started later on behalf of key `keyId` (an encode job): its current quota; a revoked key has none. */
export async function payerByKeyId(env: Env, keyId: string): Promise<Payer> {
  if (keyId === ADMIN_PRINCIPAL.keyId) return { keyId, quotaSeconds: null };
  const row = await getKey(env.DB, keyId);
  if (row === null) return { keyId, quotaSeconds: Number(env.DEFAULT_GPU_SECONDS_PER_DAY) };
  if (row.revoked_at !== null) return { keyId, quotaSeconds: 0 };
  return { keyId, quotaSeconds: row.gpu_seconds_per_day ?? Number(env.DEFAULT_GPU_SECONDS_PER_DAY) };
}

/**
 * Refuses work planned at `plannedSeconds` that does not fit in what is left of the payer's quota
 * today: 429 `gpu_quota_exceeded` with `{ plannedSeconds, remainingSeconds, quotaSeconds }`. Each GPU
 * call still reserves its own estimate when it starts, so concurrent requests cannot pass the quota either.
 */
export async function checkBudget(env: Env, payer: Payer, plannedSeconds: number, now = Date.now()): Promise<void> {
  if (payer.quotaSeconds === null) return;
  const remaining = await remainingSeconds(env, payer, now);
  if (plannedSeconds > remaining) throw quotaExceeded(payer.quotaSeconds, plannedSeconds, remaining, now);
}

/** What is left of the payer's quota today, settled and reserved seconds taken off (Infinity without a quota). */
export async function remainingSeconds(env: Env, payer: Payer, now = Date.now()): Promise<number> {
  if (payer.quotaSeconds === null) return Infinity;
  const budget = await meterFor(env, payer.keyId).gpuBudget(utcDay(now));
  return Math.max(0, payer.quotaSeconds - budget.usedSeconds - budget.reservedSeconds);
}

/**
 * checkBudget with the work planned only when something is left: a payer with nothing left today gets its 429
 * before `plan` runs (`plannedSeconds: null` in its details: nothing was planned), so a refusal costs one look at
 * the meter and not, say, one R2 lookup per artifact of a 1,000-segment video.
 */
export async function checkPlannedBudget(env: Env, payer: Payer, plan: () => Promise<number>, now = Date.now()): Promise<void> {
  if (payer.quotaSeconds === null) return;
  const remaining = await remainingSeconds(env, payer, now);
  if (remaining <= 0) throw quotaExceeded(payer.quotaSeconds, null, remaining, now);
  const planned = await plan();
  if (planned > remaining) throw quotaExceeded(payer.quotaSeconds, planned, remaining, now);
}

function quotaExceeded(quotaSeconds: number, plannedSeconds: number | null, remaining: number, now: number): ApiError {
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const needs = plannedSeconds === null ? 'this request needs GPU time' : `this request needs about ${round(plannedSeconds)} GPU s`;
  return new ApiError(429, QUOTA_EXCEEDED, `${needs} and ${round(remaining)} s of today's quota of ${quotaSeconds} s are left; cached videos are still served`, {
    headers: { 'Retry-After': String(secondsToUtcMidnight(now)) },
    details: { plannedSeconds: plannedSeconds === null ? null : round(plannedSeconds), remainingSeconds: round(remaining), quotaSeconds },
  });
}

export function secondsToUtcMidnight(now = Date.now()): number {
  return Math.max(1, Math.ceil((86_400_000 - (now % 86_400_000)) / 1000));
}
