import { spentSeconds } from './contract';

/**
 * A failed GPU function call. `retryable` is true for failures worth trying again later;
 * `spentSeconds` is what the GPU function reports the failed call spent, when it says.
 */
export class GpuError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly spentSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'GpuError';
  }
}

/** Codes the GPU function sends for input it refuses: retrying can never help. */
const INPUT_CODES = new Set(['invalid_request', 'undecodable_video', 'unsupported_codec', 'too_large', 'too_long', 'not_found']);

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function gpuErrorFromBody(status: number, body: unknown): GpuError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
  const message = typeof error?.message === 'string' ? error.message : `GPU backend answered ${status}`;
  return new GpuError(code, message, status, !INPUT_CODES.has(code) && isRetryableStatus(status));
}

/** A call the GPU function ran and reported as failed, with the seconds it spent when `details.seconds` says. */
export function gpuErrorFromFailure(error: { code: string; message: string; details?: unknown }): GpuError {
  return new GpuError(error.code, error.message, null, !INPUT_CODES.has(error.code), reportedSeconds(error.details));
}

function reportedSeconds(details: unknown): number | null {
  const seconds = (details as { seconds?: { gpu?: unknown; cpu?: unknown; fetch?: unknown } } | null | undefined)?.seconds;
  if (typeof seconds?.gpu !== 'number' || typeof seconds.cpu !== 'number' || !(seconds.gpu >= 0) || !(seconds.cpu >= 0)) return null;
  const fetch = typeof seconds.fetch === 'number' && seconds.fetch >= 0 ? seconds.fetch : 0;
  return spentSeconds({ gpu: seconds.gpu, cpu: seconds.cpu, fetch });
}
