import type { z } from 'zod';
import { CallStatus, GPU_FUNCTION_CONTRACT, HealthResponse, InfoResponse, SUBMIT_IDEMPOTENCY_HEADER, SubmitResponse, type GpuFunctionName } from './contract';
import { breakerFor, type CircuitBreaker } from './circuit-breaker';
import { GpuError, gpuErrorFromBody, gpuErrorFromFailure } from './errors';

export type GpuFunction = GpuFunctionName;
type Contract = typeof GPU_FUNCTION_CONTRACT;
/** What a caller sends to function `F` (fields with defaults may be left out). */
export type GpuRequest<F extends GpuFunction> = z.input<Contract[F]['request']>;
/** What function `F` answers, validated. */
export type GpuResponse<F extends GpuFunction> = z.output<Contract[F]['response']>;

const responseSchema = <F extends GpuFunction>(fn: F) => GPU_FUNCTION_CONTRACT[fn].response as unknown as z.ZodType<GpuResponse<F>>;

export interface GpuClientConfig {
  /** Base URL of the GPU function HTTP API, without a trailing slash. */
  baseUrl: string;
  /** Extra headers on every call, e.g. Modal's proxy-auth `Modal-Key` / `Modal-Secret`. */
  headers?: Record<string, string>;
  /** Timeout of one HTTP request, in milliseconds. */
  requestTimeoutMs?: number;
  /** Attempts for a request that failed in a retryable way (network, 5xx, 429). */
  attempts?: number;
  /** First backoff delay in milliseconds; doubles per attempt, with full jitter. */
  backoffMs?: number;
  fetch?: typeof fetch;
  /** Shared per backend by default (breakerFor); a test may pass its own. */
  breaker?: CircuitBreaker;
}

export interface RunOptions {
  /** Give up polling after this many milliseconds. */
  deadlineMs: number;
  pollIntervalMs?: number;
  onProgress?: (progress: number | null) => void | Promise<void>;
  /** Resume polling an already submitted call instead of submitting again. */
  callId?: string;
  /**
   * The submit's idempotency key; a fresh one by default. A caller that may submit the same call again
   * after a restart (having lost its id) passes a key it stored, so the backend answers the first call.
   */
  idempotencyKey?: string;
  onSubmitted?: (callId: string) => void | Promise<void>;
}

/** Longest long poll asked of the backend, in seconds; progress is reported at least this often. */
const LONG_POLL_SECONDS = 5;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One client for the GPU function contract: the local reference server or Modal web endpoints. */
export class GpuClient {
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly requestTimeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly breaker: CircuitBreaker;

  constructor(config: GpuClientConfig) {
    if (!/^https?:\/\//.test(config.baseUrl)) throw new Error(`GPU backend URL must be http(s): ${config.baseUrl}`);
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.headers = config.headers ?? {};
    this.requestTimeoutMs = config.requestTimeoutMs ?? 120_000;
    this.attempts = config.attempts ?? 3;
    this.backoffMs = config.backoffMs ?? 250;
    this.fetchImpl = config.fetch ?? ((input, init) => fetch(input, init));
    this.breaker = config.breaker ?? breakerFor(this.baseUrl);
  }

  health(timeoutMs = 3000) {
    return this.request('GET', '/healthz', undefined, HealthResponse, { timeoutMs, attempts: 1 });
  }

  info() {
    return this.request('GET', '/v1/info', undefined, InfoResponse);
  }

  /** Calls a function synchronously; for short calls only. */
  call<F extends GpuFunction>(fn: F, body: GpuRequest<F>): Promise<GpuResponse<F>> {
    return this.request('POST', `/v1/${fn}`, body, responseSchema(fn));
  }

  /**
   * Starts a call and answers its id. Retried like any request (a lost answer included), so it always
   * carries an idempotency key (a fresh one by default): a retry cannot start the work a second time.
   */
  async submit<F extends GpuFunction>(fn: F, body: GpuRequest<F>, idempotencyKey: string = crypto.randomUUID()): Promise<string> {
    const { callId } = await this.request('POST', `/v1/${fn}/submit`, body, SubmitResponse, { headers: { [SUBMIT_IDEMPOTENCY_HEADER]: idempotencyKey } });
    return callId;
  }

  /** A call's status; `waitSeconds` long-polls (the backend answers when the call ends or after that long). */
  poll(callId: string, waitSeconds = 0): Promise<CallStatus> {
    const wait = waitSeconds > 0 ? `?waitSeconds=${waitSeconds}` : '';
    return this.request('GET', `/v1/calls/${encodeURIComponent(callId)}${wait}`, undefined, CallStatus, { timeoutMs: (waitSeconds + 30) * 1000 });
  }

  /** Submits (or resumes) a call and polls it to its end; the result is validated against the contract. */
  async run<F extends GpuFunction>(fn: F, body: GpuRequest<F>, options: RunOptions): Promise<GpuResponse<F>> {
    const deadline = Date.now() + options.deadlineMs;
    let callId = options.callId;
    if (callId === undefined) {
      callId = await this.submit(fn, body, options.idempotencyKey);
      await options.onSubmitted?.(callId);
    }
    let interval = options.pollIntervalMs ?? 250;
    for (;;) {
      // Long-poll so the end of the call is seen at once; a backend that answers pending straight
      // away (no long-poll support) is polled again after a growing interval.
      const waitSeconds = Math.max(0, Math.min(LONG_POLL_SECONDS, Math.floor((deadline - Date.now()) / 1000)));
      const asked = Date.now();
      const status = await this.poll(callId, waitSeconds).catch((err: unknown) => {
        // The backend no longer knows the call (restarted, or its result expired): the work is lost, not refused.
        if (err instanceof GpuError && err.status === 404) throw new GpuError('gpu_call_lost', `the GPU backend lost ${fn} call ${callId}`, 404, true);
        throw err;
      });
      if (status.status === 'succeeded') return this.validate(responseSchema(fn), status.result, `${fn} result`);
      if (status.status === 'failed') throw gpuErrorFromFailure(status.error);
      await options.onProgress?.(status.progress);
      if (Date.now() + interval > deadline) {
        throw new GpuError('gpu_timeout', `${fn} did not finish within ${options.deadlineMs} ms`, null, true);
      }
      if (waitSeconds === 0 || Date.now() - asked < (waitSeconds * 1000) / 2) {
        await sleep(interval);
        interval = Math.min(interval * 1.5, 2000);
      }
    }
  }

  private validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new GpuError('gpu_bad_response', `GPU backend sent an invalid ${what} (${issue?.path.join('.') || '(root)'}: ${issue?.message})`, null, true);
    }
    return parsed.data;
  }

  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: z.ZodType<T>,
    overrides: { timeoutMs?: number; attempts?: number; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const attempts = overrides.attempts ?? this.attempts;
    let lastError: GpuError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.once(method, path, body, schema, overrides.timeoutMs ?? this.requestTimeoutMs, overrides.headers);
      } catch (err) {
        if (!(err instanceof GpuError) || !err.retryable) throw err;
        lastError = err;
        if (attempt < attempts) await sleep(Math.random() * this.backoffMs * 2 ** (attempt - 1));
      }
    }
    throw lastError as GpuError;
  }

  private async once<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number, headers?: Record<string, string>): Promise<T> {
    const waitMs = this.breaker.retryInMs();
    if (waitMs > 0) {
      throw new GpuError('gpu_circuit_open', `GPU backend failed repeatedly; not calling it for ${Math.ceil(waitMs / 1000)} s`, null, true);
    }
    try {
      const result = await this.attempt(method, path, body, schema, timeoutMs, headers);
      this.breaker.succeeded();
      return result;
    } catch (err) {
      // Only the backend being down counts: a refused input or a contract violation says it is up.
      if (err instanceof GpuError && (err.status === null ? err.code !== 'gpu_bad_response' : err.status >= 500)) this.breaker.failed();
      else this.breaker.succeeded();
      throw err;
    }
  }

  private async attempt<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>, timeoutMs: number, headers: Record<string, string> = {}): Promise<T> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...this.headers, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new GpuError(timedOut ? 'gpu_timeout' : 'gpu_unreachable', timedOut ? `GPU backend did not answer ${path} within ${timeoutMs} ms` : `GPU backend unreachable for ${path}`, null, true);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new GpuError('gpu_bad_response', `GPU backend answered ${path} with a non-JSON body (status ${response.status})`, response.status, true);
    }
    if (!response.ok) throw gpuErrorFromBody(response.status, json);
    return this.validate(schema, json, `response to ${path}`);
  }
}

/** The GPU settings of the Worker's environment: the backend URL and, for Modal, its proxy-auth token. */
export interface GpuSettings {
  GPU_BACKEND_URL: string;
  MODAL_PROXY_TOKEN_ID?: string;
  MODAL_PROXY_TOKEN_SECRET?: string;
}

export function gpuClientFromEnv(env: GpuSettings): GpuClient {
  const headers: Record<string, string> = {};
  if (env.MODAL_PROXY_TOKEN_ID && env.MODAL_PROXY_TOKEN_SECRET) {
    headers['Modal-Key'] = env.MODAL_PROXY_TOKEN_ID;
    headers['Modal-Secret'] = env.MODAL_PROXY_TOKEN_SECRET;
  }
  return new GpuClient({ baseUrl: env.GPU_BACKEND_URL, headers });
}
