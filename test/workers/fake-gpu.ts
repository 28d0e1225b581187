/**
 * A FAKE GPU backend for Workers-runtime tests, installed at the fetch boundary. It speaks the
 * contract (submit/poll, schema-valid bodies) but its "videos" are marker bytes, not real MP4s;
 * real video is covered by the Python tests and the end-to-end test against the reference server.
 */
import { vi } from 'vitest';

export const FAKE_GPU_URL = 'http://gpu.test';

type Fn = 'encode' | 'generate' | 'interpolate' | 'assemble';
type Behaviour = 'ok' | 'fail-500' | 'fail-input' | 'garbage' | 'stall' | 'down';

const ENGINE = { id: 'fake', version: '1', models: {} };

export class FakeGpu {
  calls: Record<Fn, number> = { encode: 0, generate: 0, interpolate: 0, assemble: 0 };
  /** Behaviours consumed one per submit, then `defaultBehaviour`. */
  queue: Behaviour[] = [];
  defaultBehaviour: Behaviour = 'ok';
  /** Polls a call stays pending before it succeeds. */
  pendingPolls = 0;
  segments = 1;
  private results = new Map<string, { polls: number; body: unknown; fail?: boolean }>();
  private nextId = 1;

  handle = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== FAKE_GPU_URL) throw new Error(`unexpected outbound fetch to ${url.origin} in a test`);
    const behaviour = url.pathname.endsWith('/submit') ? (this.queue.shift() ?? this.defaultBehaviour) : this.defaultBehaviour === 'down' ? 'down' : 'ok';
    if (behaviour === 'down') throw new TypeError('fetch failed: connection refused');
    if (url.pathname === '/healthz') return json({ ok: true, engine: ENGINE, uptimeSeconds: 1 });
    const submit = /^\/v1\/(encode|generate|interpolate|assemble)\/submit$/.exec(url.pathname);
    if (submit) {
      const fn = submit[1] as Fn;
      this.calls[fn] += 1;
      if (behaviour === 'fail-input') return json({ error: { code: 'undecodable_video', message: 'cannot decode' } }, 422);
      if (behaviour === 'fail-500') return json({ error: { code: 'engine_failure', message: 'engine crashed' } }, 500);
      if (behaviour === 'stall') return new Promise<Response>(() => {});
      const body = behaviour === 'garbage' ? { nonsense: true } : this.result(fn, await request.json());
      const callId = `call-${this.nextId++}`;
      this.results.set(callId, { polls: 0, body });
      return json({ callId }, 202);
    }
    const poll = /^\/v1\/calls\/(.+)$/.exec(url.pathname);
    if (poll) {
      const call = this.results.get(decodeURIComponent(poll[1] as string));
      if (!call) return json({ error: { code: 'not_found', message: 'no such call' } }, 404);
      call.polls += 1;
      if (call.polls <= this.pendingPolls) return json({ status: 'pending', progress: call.polls / (this.pendingPolls + 1) });
      return json({ status: 'succeeded', result: call.body });
    }
    return json({ error: { code: 'not_found', message: url.pathname } }, 404);
  };

  private result(fn: Fn, request: any): unknown {
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
          keyframes: [{ codec: 'webp', width: 160, height: 120, data: btoa(`RIFF-fake-webp-${i}`), frameIndex: 0, priority: 255 }],
        })),
        seconds,
      };
    }
    const frames = fn === 'generate' ? request.frameCount : 48;
    const marker = `${fn}:${JSON.stringify(request).length}:${frames}`;
    return {
      engine: ENGINE,
      video: { container: 'mp4', mimeType: 'video/mp4', width: request.width ?? 320, height: request.height ?? 240, fps: request.fps ?? 24, frameCount: frames, data: btoa(marker.padEnd(2048, '.')) },
      seconds,
    };
  }
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

export function installFakeGpu(): FakeGpu {
  const gpu = new FakeGpu();
  vi.stubGlobal('fetch', gpu.handle);
  return gpu;
}
