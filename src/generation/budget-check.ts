import { meterFor, utcDay } from '../auth/access-meter';
import { gpuQuota } from '../auth/charge';
import { QUOTA_EXCEEDED, type Payer } from '../auth/gpu-spend';
import type { Principal } from '../auth/principal';
import { ApiError } from '../http/errors';
import { plannedWork } from './gpu-estimate';
import type { GenerationSpec } from './plan';

/** Who pays for what a principal's request starts: the key (or the minting key of a signed URL) and its quota. */
export function payerOf(env: Env, principal: Principal): Payer {
  return { keyId: principal.keyId, quotaSeconds: gpuQuota(env, principal) };
}

/**
 * Refuses, before anything starts, a request whose planned GPU work (every artifact of its graph not
 * stored yet, estimated by the cost model) exceeds what is left of the payer's quota today: 429
 * `gpu_quota_exceeded` with `{ plannedSeconds, remainingSeconds, quotaSeconds }`. Each call still
 * reserves its own estimate when it starts, so concurrent requests cannot pass the quota either.
 */
export async function checkPlannedWork(env: Env, payer: Payer, spec: GenerationSpec, now = Date.now()): Promise<void> {
  if (payer.quotaSeconds === null) return;
  const [planned, budget] = await Promise.all([plannedWork(env.BUCKET, spec, env.GPU_ENGINE), meterFor(env, payer.keyId).gpuBudget(utcDay(now))]);
  const remaining = Math.max(0, payer.quotaSeconds - budget.usedSeconds - budget.reservedSeconds);
  if (planned.seconds <= remaining) return;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  throw new ApiError(429, QUOTA_EXCEEDED, `this request needs about ${round(planned.seconds)} GPU s and ${round(remaining)} s of today's quota of ${payer.quotaSeconds} s are left; cached videos are still served`, {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil((86_400_000 - (now % 86_400_000)) / 1000))) },
    details: { plannedSeconds: round(planned.seconds), remainingSeconds: round(remaining), quotaSeconds: payer.quotaSeconds },
  });
}
