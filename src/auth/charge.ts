/** Default daily GPU-seconds quota of a principal; null means unlimited (the bootstrap admin key). */
export function gpuQuota(env: Env, principal: { keyId: string; limits: { gpuSecondsPerDay: number | null } }): number | null {
  if (principal.keyId === 'admin') return null;
  return principal.limits.gpuSecondsPerDay ?? Number(env.DEFAULT_GPU_SECONDS_PER_DAY);
}
