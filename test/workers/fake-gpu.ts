/**
 * A FAKE GPU backend for Workers-runtime tests, installed at the fetch boundary. It speaks the
 * contract (submit/poll, schema-valid bodies) but its "videos" are marker bytes, not real MP4s;
 * real video is covered by the Python tests and the end-to-end test against the reference server.
 *
 * It can be told how each submitted call behaves, per function (`gpu.on('generate', …)`) or for
 * any function (`queue`, `defaultBehaviour`): refused at submit, or accepted and then failing,
 * stalling, answering a malformed status or forgetting its call id — the ways real GPUs fail.
 *
 * Like a real GPU function it reads its input videos by URL and PUTs its output to the request's
 * upload target (the Worker's own signed route), so those routes are exercised too.
 */
import { exports } from 'cloudflare:workers';
import { vi } from 'vitest';
import { env } from 'cloudflare:test';
import { SUBMIT_IDEMPOTENCY_HEADER } from '../../src/gpu/contract';
import { bytesToBase64 } from '../../src/http/base64';

export const FAKE_GPU_URL = 'http://gpu.test';

export type Fn = 'encode' | 'generate' | 'interpolate' | 'assemble';
export type Behaviour =
  /** Accepted; succeeds after `pendingPolls` pending polls. */
  | 'ok'
  /** Refused at submit: 500 engine_failure (retryable). */
  | 'fail-500'
  /** Refused at submit: 422 undecodable_video (the input's fault). */
  | 'fail-input'
  /** Accepted; succeeds with a result that breaks the contract. */
  | 'garbage'
  /** The submit request never answers. */
  | 'stall'
  /** Connection refused, for submits and polls alike. */
  | 'down'
  /** Accepted; then the call fails as a crashed or out-of-memory GPU reports it (engine_failure, retryable). */
  | 'accept-then-fail'
  /** Accepted; then the call fails because of its input (undecodable_video, not retryable). */
  | 'accept-then-reject'
  /** Accepted; then pending for ever. */
  | 'accept-then-stall'
  /** Accepted; then every poll answers a status outside the contract. */
  | 'malformed-status'
  /** Accepted; then the backend no longer knows the call id (404 not_found, as after a restart or expiry). */
  | 'lose-call'
  /** Accepted; succeeds reporting an output it never uploaded. */
  | 'skip-upload'
  /** Accepted (the call runs and succeeds), but the answer to the submit is lost: a network error, as when a connection drops after the backend started the call. */
  | 'lose-answer';

const ENGINE = { id: 'fake', version: '1', models: {} };
/** Seconds the fake reports spending on each keyframe it reads by URL (`seconds.fetch`). */
export const FETCH_SECONDS = 0.02;
const FAILURES = {
  'accept-then-fail': { code: 'engine_failure', message: 'CUDA out of memory' },
  'accept-then-reject': { code: 'undecodable_video', message: 'cannot decode the source' },
} as const;

interface Call {
  fn: Fn;
  behaviour: Behaviour;
  polls: number;
  request: unknown;
  body?: unknown;
  failure?: { code: string; message: string };
}

export class FakeGpu {
  calls: Record<Fn, number> = { encode: 0, generate: 0, interpolate: 0, assemble: 0 };
  /** Request bodies of every submit, in order (e.g. to see whether a source travelled inline or by URL). */
  // biome-ignore lint/suspicious/noExplicitAny: the fake reads whichever function's request it was sent (the Worker's client checks each against the contract).
  submitted: { fn: Fn; body: any }[] = [];
  /** Sizes in bytes of the sources it fetched by URL. */
  fetchedSources: number[] = [];
  /** Keyframe images it read by URL (generate requests' `source`), as it got them. */
  fetchedKeyframes: Uint8Array[] = [];
  /** Size in bytes of each keyframe image its encode returns; 0: a short marker. */
  keyframeBytes = 0;
  /** Behaviours consumed one per submit of any function (after the function's own), then `defaultBehaviour`. */
  queue: Behaviour[] = [];
  defaultBehaviour: Behaviour = 'ok';
  /** Polls a call stays pending before it ends. */
  pendingPolls = 0;
  segments = 1;
  /** Whether its encode codes the source's sound (silent Opus packets, one second per segment). */
  audio = false;
  /** Warnings its encode returns. */
  warnings: { code: 'audio_undecodable' | 'audio_damaged' | 'audio_short' | 'audio_stream_missing'; message: string }[] = [];
  /** Keyframes its encode gives each segment (160x120, at frames 0, 1, 2, …). */
  keyframesPerSegment = 1;
  private readonly byFunction: Record<Fn, Behaviour[]> = { encode: [], generate: [], interpolate: [], assemble: [] };
  private readonly results = new Map<string, Call>();
  /** The call id each submit's idempotency key got (per function), as the real servers remember it. */
  private readonly byIdempotencyKey = new Map<string, string>();
  /** Submits that named a known idempotency key, answered with the call it started. */
  repeatedSubmits = 0;
  private nextId = 1;

  /** Queues behaviours for the next submits of one function, one per submit. */
  on(fn: Fn, ...behaviours: Behaviour[]): this {
    this.byFunction[fn].push(...behaviours);
    return this;
  }

  /** Ends every call that was stalling: its next poll succeeds (the GPU came back). */
  finishStalled(): void {
    this.turn('accept-then-stall', 'ok');
  }

  /** Calls already submitted that behave as `from` behave as `to` from their next poll (e.g. a garbled status heals, or the backend forgets the call). */
  turn(from: Behaviour, to: Behaviour): void {
    for (const call of this.results.values()) {
      if (call.behaviour === from) call.behaviour = to;
    }
  }

  /** Polls each call id received, in order. */
  polled: string[] = [];

  handle = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    // The GPU function fetching a large source by its signed URL reaches the Worker itself.
    if (url.origin === new URL(env.PUBLIC_ORIGIN).origin) return exports.default.fetch(request);
    if (url.origin !== FAKE_GPU_URL) throw new Error(`unexpected outbound fetch to ${url.origin} in a test`);
    if (this.defaultBehaviour === 'down') throw new TypeError('fetch failed: connection refused');
    if (url.pathname === '/healthz') return json({ ok: true, engine: ENGINE, uptimeSeconds: 1 });
    const submit = /^\/v1\/(encode|generate|interpolate|assemble)\/submit$/.exec(url.pathname);
    if (submit) return this.submit(submit[1] as Fn, request);
    const poll = /^\/v1\/calls\/(.+)$/.exec(url.pathname);
    if (poll) return this.poll(decodeURIComponent(poll[1] as string));
    return json({ error: { code: 'not_found', message: url.pathname } }, 404);
  };

  private async submit(fn: Fn, request: Request): Promise<Response> {
    const headerKey = request.headers.get(SUBMIT_IDEMPOTENCY_HEADER);
    const idempotencyKey = headerKey === null ? null : `${fn}:${headerKey}`;
    const known = idempotencyKey === null ? undefined : this.byIdempotencyKey.get(idempotencyKey);
    if (known !== undefined) {
      this.repeatedSubmits += 1;
      return json({ callId: known }, 202);
    }
    const behaviour = this.byFunction[fn].shift() ?? this.queue.shift() ?? this.defaultBehaviour;
    if (behaviour === 'down') throw new TypeError('fetch failed: connection refused');
    this.calls[fn] += 1;
    // biome-ignore lint/suspicious/noExplicitAny: the fake reads whichever function's request it was sent (the Worker's client checks each against the contract).
    const body = (await request.json()) as any;
    this.submitted.push({ fn, body });
    if (behaviour === 'fail-input') return json({ error: { code: 'undecodable_video', message: 'cannot decode' } }, 422);
    if (behaviour === 'fail-500') return json({ error: { code: 'engine_failure', message: 'engine crashed' } }, 500);
    if (behaviour === 'stall') return new Promise<Response>(() => {});
    const call: Call = { fn, behaviour, polls: 0, request: body };
    if (behaviour === 'garbage') call.body = { nonsense: true };
    else if (behaviour === 'accept-then-fail' || behaviour === 'accept-then-reject') call.failure = FAILURES[behaviour];
    else if (fn === 'encode' && 'url' in body.video) {
      // Like the real server: fetch the source now; a URL that does not give the bytes fails the call.
      const source = await this.handle(body.video.url);
      if (source.ok) {
        this.fetchedSources.push((await source.arrayBuffer()).byteLength);
        call.body = await this.result(fn, body, behaviour !== 'skip-upload');
      }
      else call.failure = { code: 'fetch_failed', message: `fetching the source answered ${source.status}` };
    }
    // Any other call computes, and uploads its output, when it finishes (at the poll that reports it),
    // as a real function does: a call that fails, stalls or is lost leaves nothing in storage.
    const callId = `call-${this.nextId++}`;
    this.results.set(callId, call);
    if (idempotencyKey !== null) this.byIdempotencyKey.set(idempotencyKey, callId);
    if (behaviour === 'lose-answer') {
      call.behaviour = 'ok';
      throw new TypeError('fetch failed: the connection was reset before the answer arrived');
    }
    return json({ callId }, 202);
  }

  private async poll(callId: string): Promise<Response> {
    this.polled.push(callId);
    const call = this.results.get(callId);
    if (!call || call.behaviour === 'lose-call') return json({ error: { code: 'not_found', message: 'no such call (unknown, or its result has expired)' } }, 404);
    call.polls += 1;
    if (call.behaviour === 'malformed-status') return json({ status: 'done', percent: 50 });
    if (call.behaviour === 'accept-then-stall' || call.polls <= this.pendingPolls) {
      return json({ status: 'pending', progress: call.behaviour === 'accept-then-stall' ? null : call.polls / (this.pendingPolls + 1) });
    }
    if (call.failure) return json({ status: 'failed', error: call.failure });
    call.body ??= await this.result(call.fn, call.request, call.behaviour !== 'skip-upload');
    return json({ status: 'succeeded', result: call.body });
  }

  /** Status and body of every upload the fake made, in order. */
  uploads: { status: number; body: unknown }[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: the fake reads whichever function's request it was sent (the Worker's client checks each against the contract).
  private async result(fn: Fn, request: any, upload: boolean): Promise<unknown> {
    const seconds = { gpu: 0, cpu: 0.5 };
    if (fn === 'encode') {
      return {
        engine: ENGINE,
        video: { width: 320, height: 240, fps: 24, frameCount: 24 * this.segments, durationSeconds: this.segments, codec: 'h264', rotation: 0 },
        segments: Array.from({ length: this.segments }, (_, i) => ({
          index: i,
          startFrame: i * 24,
          frameCount: 24,
          contentText: `a scene 320x240; centre: white cup number ${i}`,
          motionText: 'the camera pans right about 2% of the width per second; little object motion',
          keyframes: Array.from({ length: this.keyframesPerSegment }, (_, k) => ({
            codec: 'webp',
            width: 160,
            height: 120,
            data: this.keyframeBytes > 0 ? bytesToBase64(fakeImage(this.keyframeBytes, i)) : btoa(`RIFF-fake-webp-${i}`),
            frameIndex: k,
            priority: 255 - k,
          })),
        })),
        // 51 empty 20-ms CELT packets (TOC 0xf8 only: a decoder plays silence) cover 312 + 48000 samples
        audio: this.audio
          ? { codec: 'opus', channels: 1, sampleRate: 48_000, sourceChannels: 2, sourceSampleRate: 44_100, segments: Array.from({ length: this.segments }, () => ({ preSkip: 312, sampleCount: 48_000, packets: Array.from({ length: 51 }, () => '+A==') })) }
          : null,
        warnings: this.warnings,
        seconds,
      };
    }
    const frames = fn === 'generate' ? request.frameCount : 48;
    // Like the real engines: a keyframe named by URL is read with a Range request, and the seconds
    // that took are reported apart (FETCH_SECONDS for each).
    let fetchSeconds = 0;
    for (const keyframe of fn === 'generate' ? request.segment.keyframes : []) {
      if (!('source' in keyframe)) continue;
      fetchSeconds += FETCH_SECONDS;
      const { url, offset, length } = keyframe.source;
      const got = await workerFetch(new Request(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` } }));
      this.fetchedKeyframes.push(new Uint8Array(await got.arrayBuffer()));
    }
    const inputs: { url: string }[] = fn === 'interpolate' ? [request.video] : fn === 'assemble' ? request.parts : [];
    const inputBytes = await Promise.all(inputs.map(async ({ url }) => (await workerFetch(new Request(url))).arrayBuffer().then((b) => b.byteLength)));
    const marker = new TextEncoder().encode(`${fn}:${JSON.stringify({ ...request, output: null }).length}:${frames}:${inputBytes.join('+')}`.padEnd(2048, '.'));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', marker));
    if (upload) {
      const put = await workerFetch(
        new Request(request.output.url, {
          method: 'PUT',
          body: marker,
          headers: { ...request.output.headers, 'Content-Type': 'video/mp4', 'Content-Length': String(marker.byteLength), 'x-amz-checksum-sha256': btoa(String.fromCharCode(...digest)) },
        }),
      );
      this.uploads.push({ status: put.status, body: await put.json() });
      if (!put.ok) return { nonsense: 'upload failed' };
    }
    return {
      engine: ENGINE,
      video: {
        container: 'mp4',
        mimeType: 'video/mp4',
        width: request.width ?? 320,
        height: request.height ?? 240,
        fps: request.fps ?? 24,
        frameCount: frames,
        bytes: marker.byteLength,
        sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join(''),
      },
      seconds: { ...seconds, upload: 0.01, ...(fetchSeconds > 0 ? { fetch: fetchSeconds } : {}) },
    };
  }
}

/** The `n`th fake keyframe image of `bytes` bytes: a pattern a test can recognise. */
export const fakeImage = (bytes: number, n = 0) => Uint8Array.from({ length: bytes }, (_, i) => (i * 7 + n) % 251);

/** Artifact transfers go to the Worker under test (its signed /internal/artifacts and /internal/bitstreams routes), never out. */
function workerFetch(request: Request): Promise<Response> {
  if (!/^\/internal\/(artifacts|bitstreams)\//.test(new URL(request.url).pathname)) throw new Error(`unexpected transfer URL ${request.url} in a test`);
  return exports.default.fetch(request);
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function installFakeGpu(): FakeGpu {
  const gpu = new FakeGpu();
  vi.stubGlobal('fetch', gpu.handle);
  return gpu;
}
