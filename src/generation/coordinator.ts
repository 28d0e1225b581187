import { DurableObject } from 'cloudflare:workers';
import { gpuClientFromEnv } from '../gpu/client';
import { GpuError } from '../gpu/errors';
import { artifactTransferFromEnv, type ArtifactTransfer } from '../storage/artifact-transfer';
import { GENERATION_CALL_LIFETIME_MS, type AssembleAudio, type GenerateKeyframe } from '../gpu/contract';
import type { PlannedAudio } from './audio-plan';
import type { PlannedKeyframe } from './keyframe-grid';
import { bytesToBase64 } from '../http/base64';
import type { ArtifactRef, GenerationSpec } from './plan';
import { coordinatorFor } from './stub';
import { secondsToUtcMidnight } from '../auth/gpu-budget';
import { meteredGpuCall, QUOTA_EXCEEDED, type HeldReservation, type Payer } from '../auth/gpu-spend';
import { estimateSpecSeconds } from './gpu-estimate';
import { mapLimited } from './map-limited';
import { StageClock, type Stage } from '../http/server-timing';

/** What `ensure` answers: the artifact, or a failure the caller turns into a status code. */
export type EnsureResult =
  | { ok: true; artifact: ArtifactRef; /** How long the generation that made it spent where (for the bench's Server-Timing). */ timing?: CoordinatorTiming }
  | { ok: false; error: { code: string; message: string; retryable: boolean; retryAfterSeconds: number } };

/** The coordinator's own stages, and when (Unix ms) it took and answered the call, so the caller can see the hops. */
export interface CoordinatorTiming {
  enteredAt: number;
  answeredAt: number;
  stages: Stage[];
}

type State =
  | {
      status: 'running';
      spec: GenerationSpec;
      chargeTo: Payer | null;
      callId: string | null;
      /** When `callId` was submitted (Unix ms): its deadline runs from then, across restarts. */
      submittedAt?: number;
      /** The GPU seconds reserved for this generation's call, settled when it ends (also after a restart). */
      reservation?: HeldReservation | null;
      progress: number | null;
      startedAt: number;
      attempts: number;
    }
  | { status: 'succeeded'; artifact: ArtifactRef }
  | {
      status: 'failed';
      error: { code: string; message: string; retryable: boolean };
      retryAt: number;
      attempts: number;
      /** A call given up on while it may still run (a timeout, an unreachable backend): the next attempt polls it again instead of submitting. */
      resume?: Resumable;
    };

/** What resuming a call needs: its id, when it was submitted (its deadline runs from then) and the generation's start (its idempotency key). */
interface Resumable {
  callId: string;
  submittedAt: number;
  startedAt: number;
}

const STATE = 'state';
/** While a generation runs, an alarm this often resumes it if the object was evicted or restarted. */
const WATCHDOG_MS = 15_000;
/** How long one attempt polls a submitted call, from its submit: as long as the call may run (`GENERATION_TIMING`). */
export const GENERATION_DEADLINE_MS = GENERATION_CALL_LIFETIME_MS;
/** A call is resumed by id until this long after its submit; past it, one still pending is abandoned and submitted again. */
export const RESUME_WINDOW_MS = 2 * GENERATION_DEADLINE_MS;
/** Failures after which the call may still be running, so that it is resumed rather than submitted again. */
const RESUMABLE_CODES = new Set(['gpu_timeout', 'gpu_unreachable', 'gpu_circuit_open']);
/** A retryable failure is remembered this long (seconds, doubling per attempt up to the cap) before a request may try again. */
const FAILURE_BACKOFF_SECONDS = 5;
const FAILURE_BACKOFF_MAX_SECONDS = 300;

/**
 * One instance per artifact key: the single flight of that artifact's generation. The first `ensure`
 * starts it; every concurrent `ensure` waits on the same promise; its state lives in storage, and an
 * alarm resumes a generation whose object was restarted mid-way (polling the same GPU call id), so the
 * same generation never starts twice.
 */
export class GenerationCoordinator extends DurableObject<Env> {
  private inflight: Promise<EnsureResult> | null = null;

  /**
   * The artifact, made if needed. `chargeTo` pays the GPU seconds of a generation this call starts
   * (reserved before, settled after); a call that joins a running generation or finds it done pays nothing.
   */
  async ensure(spec: GenerationSpec, chargeTo: Payer | null = null): Promise<EnsureResult> {
    const state = await this.ctx.storage.get<State>(STATE);
    // Only a miss at the edge calls this, so re-check R2: the artifact may have been deleted with its video.
    if (state?.status === 'succeeded' && (await this.env.BUCKET.head(state.artifact.r2Key)) !== null) return { ok: true, artifact: state.artifact };
    if (state?.status === 'failed' && Date.now() < state.retryAt) {
      return { ok: false, error: { ...state.error, retryAfterSeconds: Math.ceil((state.retryAt - Date.now()) / 1000) } };
    }
    return this.start(spec, state, chargeTo);
  }

  /** The current state, for progress reports; null when nothing was asked yet. */
  async progress(): Promise<{ status: string; progress: number | null } | null> {
    const state = await this.ctx.storage.get<State>(STATE);
    if (!state) return null;
    return { status: state.status, progress: state.status === 'running' ? state.progress : state.status === 'succeeded' ? 1 : null };
  }

  override async alarm(): Promise<void> {
    const state = await this.ctx.storage.get<State>(STATE);
    if (state?.status === 'running' && this.inflight === null) await this.start(state.spec, state, state.chargeTo);
  }

  private start(spec: GenerationSpec, previous: State | undefined, chargeTo: Payer | null): Promise<EnsureResult> {
    this.inflight ??= this.generate(spec, previous, chargeTo).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async generate(spec: GenerationSpec, previous: State | undefined, chargeTo: Payer | null): Promise<EnsureResult> {
    const clock = new StageClock();
    const enteredAt = Date.now();
    const attempts = (previous?.status === 'failed' ? previous.attempts : 0) + 1;
    // A call given up on at its deadline may still finish: poll it again by id (its reservation went to
    // the meter's follow-up, which settles it), rather than pay for the same generation twice.
    const resume = previous?.status === 'failed' && previous.resume && Date.now() < previous.resume.submittedAt + RESUME_WINDOW_MS ? previous.resume : null;
    let state: State =
      previous?.status === 'running'
        ? { ...previous, chargeTo: payerOfStored(previous.chargeTo) }
        : resume
          ? { status: 'running', spec, chargeTo, callId: resume.callId, submittedAt: resume.submittedAt, reservation: null, progress: null, startedAt: resume.startedAt, attempts }
          : { status: 'running', spec, chargeTo, callId: null, reservation: null, progress: 0, startedAt: Date.now(), attempts };
    // When a reservation is to be made, the reserving need not wait for these to be durable (a crash then
    // loses nothing but that reservation, as it would before its id is stored): the write naming the
    // reservation is confirmed, storage commits in order, so all are durable before the GPU call is
    // submitted. Without one, nothing else would be, so these are confirmed.
    const reservationFollows = state.chargeTo !== null && !state.reservation;
    await this.ctx.storage.put(STATE, state, { allowUnconfirmed: reservationFollows });
    await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS, { allowUnconfirmed: reservationFollows });
    clock.lap('state-running');
    try {
      // Only a call of this object uploads to this key, and its state says so before the upload target
      // exists: with no state at all (never asked, or the state dropped after a budget refusal, which
      // comes before any call), R2 does not hold the artifact, and the edge has just looked anyway. Any
      // other state (a resumed or failed call, perhaps uploaded late; a deleted artifact) looks first.
      const existing = previous === undefined ? null : await this.env.BUCKET.head(spec.r2Key);
      clock.lap('head-before');
      const artifact = existing ? refOf(spec, existing) : await this.make(spec, state, (next) => (state = next), clock);
      // The artifact is durable in R2 already; this state only spares the next ensure a look at the
      // call. So the answer does not wait for it to be written: were it lost, the state stays running and
      // the watchdog alarm finds the call ended and the artifact stored.
      await this.ctx.storage.put(STATE, { status: 'succeeded', artifact } satisfies State, { allowUnconfirmed: true });
      await this.ctx.storage.deleteAlarm({ allowUnconfirmed: true });
      clock.lap('state-succeeded');
      return { ok: true, artifact, timing: { enteredAt, answeredAt: Date.now(), stages: clock.stages } };
    } catch (err) {
      const error = describeFailure(err);
      if (error.code === QUOTA_EXCEEDED) {
        // The payer's budget, not the artifact, is the problem: the next asker (perhaps another key) starts afresh.
        await this.ctx.storage.delete(STATE);
        await this.ctx.storage.deleteAlarm();
        return { ok: false, error: { ...error, retryAfterSeconds: secondsToUtcMidnight() } };
      }
      const backoff = Math.min(FAILURE_BACKOFF_MAX_SECONDS, FAILURE_BACKOFF_SECONDS * 2 ** (attempts - 1));
      const retryAfterSeconds = error.retryable ? backoff : FAILURE_BACKOFF_MAX_SECONDS;
      const resumable: Resumable | undefined =
        RESUMABLE_CODES.has(error.code) && state.status === 'running' && state.callId !== null && state.submittedAt !== undefined
          ? { callId: state.callId, submittedAt: state.submittedAt, startedAt: state.startedAt }
          : undefined;
      await this.ctx.storage.put(STATE, { status: 'failed', error, retryAt: Date.now() + retryAfterSeconds * 1000, attempts, ...(resumable ? { resume: resumable } : {}) } satisfies State);
      await this.ctx.storage.deleteAlarm();
      return { ok: false, error: { ...error, retryAfterSeconds } };
    }
  }

  private async make(spec: GenerationSpec, state: Extract<State, { status: 'running' }>, save: (s: State) => void, clock: StageClock): Promise<ArtifactRef> {
    const gpu = gpuClientFromEnv(this.env);
    const run = async <F extends GenerationSpec['kind']>(fn: F, body: Parameters<typeof gpu.run<F>>[1]) => {
      clock.lap('prepare-call');
      const result = await meteredGpuCall(
        this.env,
        state.chargeTo,
        {
          estimateSeconds: estimateSpecSeconds(spec, this.env.GPU_ENGINE),
          held: state.reservation ?? null,
          callId: () => state.callId,
          // The artifact need not wait for its bill.
          settleLater: (settling) => this.ctx.waitUntil(settling),
          onReserved: async (reservation) => {
            state = { ...state, reservation };
            save(state);
            await this.ctx.storage.put(STATE, state);
          },
        },
        async () => {
          clock.lap('reserve');
          const result = await gpu.run(fn, body, {
            deadlineMs: (state.submittedAt ?? Date.now()) + GENERATION_DEADLINE_MS - Date.now(),
            callId: state.callId ?? undefined,
            // The same for this generation's every submit, across restarts: one whose id was lost in a
            // crash is answered the call it started.
            idempotencyKey: `gen.${spec.key}.${state.startedAt}`,
            onSubmitted: async (callId) => {
              clock.lap('submit');
              state = { ...state, callId, submittedAt: Date.now() };
              save(state);
              await this.ctx.storage.put(STATE, state);
            },
            onProgress: async (progress) => {
              state = { ...state, progress };
              save(state);
              await this.ctx.storage.put(STATE, state);
            },
          });
          clock.lap('call');
          return result;
        },
      );
      clock.lap('settle');
      return result;
    };

    // The GPU function PUTs its output straight into R2 (write-once, checksummed by the store) and
    // reads its inputs by URL: no artifact byte passes through this object.
    const transfer = artifactTransferFromEnv(this.env);
    const output = await transfer.uploadTarget(spec.r2Key);
    let result: Awaited<ReturnType<typeof run>>;
    if (spec.kind === 'generate') {
      const segment = { ...spec.request.segment, keyframes: await keyframesForCall(spec.request.segment.keyframes, transfer) };
      result = await run('generate', { ...spec.request, segment, output });
    } else if (spec.kind === 'interpolate') {
      const [input] = await this.ensureInputs([spec.input], state.chargeTo);
      const video = { url: await transfer.downloadUrl((input as ArtifactRef).r2Key) };
      result = await run('interpolate', { video, factor: spec.factor, container: 'mp4', output });
    } else {
      const inputs = await this.ensureInputs(spec.inputs, state.chargeTo);
      const parts = await Promise.all(inputs.map(async (ref) => ({ url: await transfer.downloadUrl(ref.r2Key) })));
      const audio = spec.audio ? await audioForCall(spec.audio, transfer) : null;
      result = await run('assemble', { parts, container: spec.container, timeOffsetSeconds: spec.timeOffsetSeconds, audio, output });
    }
    const object = await this.env.BUCKET.head(spec.r2Key);
    clock.lap('head-after');
    if (object === null) throw new GpuError('upload_missing', `the GPU function reported ${spec.label} uploaded, but storage does not have it`, null, true);
    if (object.size !== result.video.bytes) {
      // Write-once: an earlier attempt's upload (checked by the store as it landed) stays the artifact.
      console.warn(`artifact ${spec.key}: kept the stored ${object.size} bytes, the call reported ${result.video.bytes}`);
    }
    return refOf(spec, object);
  }

  /**
   * Inputs come from their own coordinators, so each is made once however many artifacts need it;
   * at most MAX_GENERATIONS_PER_REQUEST of them are asked for at once.
   */
  private async ensureInputs(specs: GenerationSpec[], chargeTo: Payer | null): Promise<ArtifactRef[]> {
    const limit = maxGenerationsPerRequest(this.env);
    const results = await mapLimited(specs, limit, async (s): Promise<EnsureResult> => coordinatorFor(this.env, s.key).ensure(s, chargeTo));
    return results.map((r) => {
      if (!r.ok) throw new GpuError(r.error.code, r.error.message, null, r.error.retryable);
      return r.artifact;
    });
  }
}

/** A spec's keyframes as a generate call takes them: a small image in base64, a stored one by a URL to its object and its byte range. */
async function keyframesForCall(planned: readonly PlannedKeyframe[], transfer: ArtifactTransfer): Promise<GenerateKeyframe[]> {
  const urls = new Map<string, Promise<string>>();
  const urlOf = (r2Key: string) => urls.get(r2Key) ?? urls.set(r2Key, transfer.downloadUrl(r2Key)).get(r2Key)!;
  return Promise.all(
    planned.map(async (k) => {
      if ('image' in k) {
        const { image, ...fields } = k;
        return { ...fields, data: bytesToBase64(image) };
      }
      const { stored, ...fields } = k;
      return { ...fields, source: { url: await urlOf(stored.r2Key), offset: stored.offset, length: stored.length } };
    }),
  );
}

/** A spec's sound as an assemble call takes it: a small chunk in base64, a stored one by a URL to its object and its byte range. */
async function audioForCall(planned: PlannedAudio, transfer: ArtifactTransfer): Promise<AssembleAudio> {
  const parts = await Promise.all(
    planned.parts.map(async (p) => {
      if ('data' in p) return { data: bytesToBase64(p.data) };
      if ('stored' in p) return { source: { url: await transfer.downloadUrl(p.stored.r2Key), offset: p.stored.offset, length: p.stored.length } };
      return p;
    }),
  );
  return { parts, startSample: planned.startSample, window: planned.window, grid: planned.grid };
}

/** A running state stored before payers carried their quota named the key alone: resume it without a quota. */
function payerOfStored(chargeTo: Payer | string | null): Payer | null {
  return typeof chargeTo === 'string' ? { keyId: chargeTo, quotaSeconds: null } : chargeTo;
}

function refOf(spec: GenerationSpec, object: R2Object): ArtifactRef {
  return { key: spec.key, r2Key: spec.r2Key, bytes: object.size, etag: object.httpEtag };
}

function describeFailure(err: unknown): { code: string; message: string; retryable: boolean } {
  if (err instanceof GpuError) return { code: err.code, message: err.message, retryable: err.retryable };
  console.error('generation failed unexpectedly:', err);
  return { code: 'generation_failed', message: 'generation failed unexpectedly; it has been logged', retryable: true };
}

/** Generations one request keeps running at once (`MAX_GENERATIONS_PER_REQUEST`, default 8). */
export function maxGenerationsPerRequest(env: Env): number {
  const n = Number(env.MAX_GENERATIONS_PER_REQUEST);
  return Number.isInteger(n) && n >= 1 ? n : 8;
}
