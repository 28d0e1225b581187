import { meterFor, utcDay } from './access-meter';
import { recordUsage } from './usage';

/** Bills a finished generation's seconds to a principal: its usage rows and its daily GPU quota. */
export async function chargeGeneration(env: Env, keyId: string, seconds: number, now = Date.now()): Promise<void> {
  await Promise.all([
    recordUsage(env.DB, keyId, { gpuSeconds: seconds, generations: 1 }, now),
    meterFor(env, keyId).chargeGpu(utcDay(now), seconds),
  ]);
}

/** Default daily GPU-seconds quota of a principal; null means unlimited (the bootstrap admin key). */
export function gpuQuota(env: Env, principal: { keyId: string; limits: { gpuSecondsPerDay: number | null } }): number | null {
  if (principal.keyId === 'admin') return null;
  return principal.limits.gpuSecondsPerDay ?? Number(env.DEFAULT_GPU_SECONDS_PER_DAY);
}
