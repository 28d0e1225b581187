import { z } from 'zod';
import type { GpuClient } from '../gpu/client';
import { OutputSeconds, Seconds, spentSeconds } from '../gpu/contract';
import { GpuError, gpuErrorFromFailure } from '../gpu/errors';

/** What a follow-up learns of a call the Worker gave up on. */
export type CallOutcome =
  /** It ended and reported what it spent (succeeded, or failed with `details.seconds`), in seconds. */
  | { kind: 'spent'; seconds: number }
  /** It ended without a report, or the backend no longer knows its id: what it spent cannot be learnt. */
  | { kind: 'unreported' }
  /** Still running, or the answer could not be read: ask again later. */
  | { kind: 'pending' };

/** The part of a succeeded call's result that says what it spent (every function's result has it). */
const ReportedSeconds = z.object({ seconds: z.union([OutputSeconds, Seconds]) });

/** Asks the GPU backend once (no long poll) how call `callId` ended. */
export async function callOutcome(gpu: GpuClient, callId: string): Promise<CallOutcome> {
  let status: Awaited<ReturnType<GpuClient['poll']>>;
  try {
    status = await gpu.poll(callId);
  } catch (err) {
    // 404: the backend restarted or let the result expire. Anything else (down, 5xx, garbled) may pass.
    return err instanceof GpuError && err.status === 404 ? { kind: 'unreported' } : { kind: 'pending' };
  }
  if (status.status === 'pending') return { kind: 'pending' };
  if (status.status === 'failed') {
    const spent = gpuErrorFromFailure(status.error).spentSeconds;
    return spent === null ? { kind: 'unreported' } : { kind: 'spent', seconds: spent };
  }
  const reported = ReportedSeconds.safeParse(status.result);
  return reported.success ? { kind: 'spent', seconds: spentSeconds(reported.data.seconds) } : { kind: 'pending' };
}
