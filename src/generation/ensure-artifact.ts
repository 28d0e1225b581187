import { ApiError } from '../http/errors';
import { QUOTA_EXCEEDED, type Payer } from '../auth/gpu-spend';
import type { CoordinatorTiming, EnsureResult } from './coordinator';
import type { ArtifactRef, GenerationSpec } from './plan';
import { coordinatorFor } from './stub';

export type Ensured = { ready: true; artifact: ArtifactRef; /** Where the coordinator's time went, when it made the artifact. */ timing: CoordinatorTiming | null } | { ready: false; progress: number | null };

/**
 * Asks the artifact's coordinator for it and waits at most `waitSeconds`. The generation goes on
 * after we stop waiting; asking again later finds it running or done.
 */
export async function ensureArtifact(
  env: Env,
  spec: GenerationSpec,
  chargeTo: Payer | null,
  waitSeconds: number,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<Ensured> {
  const stub = coordinatorFor(env, spec.key);
  const pending: Promise<EnsureResult> = stub.ensure(spec, chargeTo);
  waitUntil(pending.catch(() => {}));
  let timer = 0;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), waitSeconds * 1000) as unknown as number;
  });
  const result = await Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
  if (result === 'timeout') {
    const state = await stub.progress().catch(() => null);
    return { ready: false, progress: state?.progress ?? null };
  }
  if (result.ok) return { ready: true, artifact: result.artifact, timing: result.timing ?? null };
  const { code, message, retryable, retryAfterSeconds } = result.error;
  const headers = { 'Retry-After': String(retryAfterSeconds) };
  if (code === QUOTA_EXCEEDED) throw new ApiError(429, QUOTA_EXCEEDED, `${message}; cached videos are still served`, { headers });
  if (retryable) throw new ApiError(503, 'gpu_unavailable', `the video could not be generated right now (${code}); try again later`, { headers, details: { cause: code } });
  throw new ApiError(422, 'generation_rejected', `the GPU backend refused this reconstruction: ${message}`, { headers, details: { cause: code } });
}
