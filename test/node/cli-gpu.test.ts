import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_APP_NAME,
  GPU_EXIT,
  gpuStatus,
  gpuWarm,
  runGpuCommand,
  type EnvVars,
  type GpuDeps,
  type ModalFunctionHandle,
  type ModalLikeClient,
} from '../../src/cli/gpu';

class NotFoundError extends Error {}

interface FakeFunction extends ModalFunctionHandle {
  minContainers: number | null;
}

/** A scripted stand-in for Modal's ModalClient: a deployed app with some functions and classes. */
function fakeModal(options: {
  credentials?: boolean;
  deployed?: string[];
  runners?: Record<string, number>;
  appName?: string;
  failStats?: string;
}) {
  const deployed = new Set(options.deployed ?? ['Encoder', 'Generator', 'Bridge', 'assemble', 'web']);
  const calls: string[] = [];
  const handles = new Map<string, FakeFunction>();
  const handle = (name: string): FakeFunction => {
    let h = handles.get(name);
    if (h === undefined) {
      const made: FakeFunction = {
        minContainers: null,
        async getCurrentStats() {
          calls.push(`stats ${name}`);
          if (options.failStats === name) throw new Error('stats unavailable\nwith a second line');
          return { backlog: name === 'Generator' ? 2 : 0, numTotalRunners: options.runners?.[name] ?? 0 };
        },
        async updateAutoscaler(params: { minContainers?: number }) {
          calls.push(`autoscale ${name} ${params.minContainers}`);
          made.minContainers = params.minContainers ?? null;
          return params;
        },
        async getWebUrl() {
          return name === 'web' ? 'https://acme--cmvc-gpu-web.modal.run' : undefined;
        },
      };
      h = made;
      handles.set(name, h);
    }
    return h;
  };
  const appName = options.appName ?? DEFAULT_APP_NAME;
  const checkApp = (app: string) => {
    if (app !== appName) throw new NotFoundError(`App '${app}' not found in environment 'main'`);
  };
  let closed = 0;
  const client: ModalLikeClient = {
    profile: options.credentials === false ? {} : { tokenId: 'ak-test', tokenSecret: 'as-test' },
    apps: {
      async fromName(name) {
        calls.push(`app ${name}`);
        checkApp(name);
        return {
          appId: 'ap-123',
          async info() {
            return { lifecycle: { state: 'deployed', version: 7, deployedAt: new Date('2026-11-20T10:00:00Z') }, functions: {} };
          },
        };
      },
    },
    functions: {
      async fromName(app, name) {
        checkApp(app);
        if (!deployed.has(name)) throw new NotFoundError(`Function '${app}/${name}' not found`);
        return handle(name);
      },
    },
    cls: {
      async fromName(app, name) {
        checkApp(app);
        if (!deployed.has(name)) throw new NotFoundError(`Class '${app}/${name}' not found`);
        return {
          async instance() {
            return {
              method(method: string) {
                calls.push(`method ${name}.${method}`);
                return handle(name);
              },
            };
          },
        };
      },
    },
    close() {
      closed += 1;
    },
  };
  const deps: GpuDeps = { createClient: async () => client };
  return { client, deps, calls, handles, closed: () => closed };
}

function captureIo(env: EnvVars = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, env },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('gpuStatus', () => {
  it('reports the app and each function/class with its containers', async () => {
    const modal = fakeModal({ runners: { Generator: 2 }, deployed: ['Encoder', 'Generator', 'assemble', 'web'] });
    const report = await gpuStatus({ appName: DEFAULT_APP_NAME }, modal.deps, {});
    expect(report).toMatchObject({ app: 'cmvc-gpu', appId: 'ap-123', state: 'deployed', version: 7, deployedAt: '2026-11-20T10:00:00.000Z' });
    const byName = Object.fromEntries(report.targets.map((t) => [t.name, t]));
    expect(byName.Generator).toMatchObject({ state: 'running', containers: 2, backlog: 2 });
    expect(byName.Encoder).toMatchObject({ state: 'idle', containers: 0 });
    expect(byName.Bridge).toMatchObject({ state: 'missing', containers: null });
    expect(byName.web).toMatchObject({ state: 'idle', webUrl: 'https://acme--cmvc-gpu-web.modal.run' });
    expect(modal.calls).toContain('method Encoder.analyse');
    expect(modal.calls).toContain('method Generator.run_call');
    expect(modal.closed()).toBe(1);
  });

  it('names a missing app with the not-found exit code', async () => {
    const modal = fakeModal({ appName: 'other' });
    const cap = captureIo();
    expect(await runGpuCommand(['status'], cap.io, modal.deps)).toBe(GPU_EXIT.notFound);
    expect(cap.err()).toMatch(/^cmvc gpu: Modal app "cmvc-gpu" not found/);
    expect(cap.err().trim().split('\n')).toHaveLength(1);
  });

  it('uses CMVC_MODAL_APP for the app name', async () => {
    const modal = fakeModal({ appName: 'cmvc-gpu-staging' });
    const cap = captureIo({ CMVC_MODAL_APP: 'cmvc-gpu-staging' });
    expect(await runGpuCommand(['status', '--json'], cap.io, modal.deps)).toBe(GPU_EXIT.ok);
    expect(JSON.parse(cap.out())).toMatchObject({ app: 'cmvc-gpu-staging', state: 'deployed' });
  });

  it('prints a table, and an error in one target fails the command', async () => {
    const modal = fakeModal({ failStats: 'Bridge' });
    const cap = captureIo();
    expect(await runGpuCommand(['status'], cap.io, modal.deps)).toBe(GPU_EXIT.failure);
    expect(cap.out()).toContain('cmvc-gpu (ap-123): deployed v7');
    expect(cap.out()).toMatch(/Bridge\s+error\s+error: stats unavailable\n/);
    expect(cap.out()).toMatch(/Generator\s+idle\s+0 containers, backlog 2/);
  });
});

describe('gpuWarm', () => {
  it('sets min containers on the GPU classes by default', async () => {
    const modal = fakeModal({});
    const results = await gpuWarm(2, { appName: DEFAULT_APP_NAME }, modal.deps, {});
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['Encoder', true],
      ['Generator', true],
      ['Bridge', true],
    ]);
    expect(modal.calls.filter((c) => c.startsWith('autoscale'))).toEqual(['autoscale Encoder 2', 'autoscale Generator 2', 'autoscale Bridge 2']);
  });

  it('warms only the named targets and reports a missing one without stopping', async () => {
    const modal = fakeModal({ deployed: ['Generator', 'web'] });
    const cap = captureIo();
    expect(await runGpuCommand(['warm', '--min', '0', '--only', 'Generator,Bridge', '--json'], cap.io, modal.deps)).toBe(GPU_EXIT.failure);
    const body = JSON.parse(cap.out());
    expect(body.results).toEqual([
      { name: 'Generator', minContainers: 0, ok: true, error: null },
      { name: 'Bridge', minContainers: 0, ok: false, error: expect.stringContaining('not found') },
    ]);
    expect(modal.handles.get('Generator')?.minContainers).toBe(0);
  });

  it('rejects bad arguments as usage errors before connecting', async () => {
    const modal = fakeModal({});
    for (const argv of [['warm'], ['warm', '--min', 'two'], ['warm', '--min', '-1'], ['warm', '--min', '1', '--only', 'Nope'], ['frobnicate'], ['status', 'extra']]) {
      const cap = captureIo();
      expect(await runGpuCommand(argv, cap.io, modal.deps), argv.join(' ')).toBe(GPU_EXIT.usage);
      expect(cap.err()).toMatch(/^cmvc gpu: /);
    }
    await expect(gpuWarm(101, { appName: DEFAULT_APP_NAME }, modal.deps, {})).rejects.toThrow(/--min must be an integer from 0 to 100/);
    expect(modal.calls).toEqual([]);
  });

  it('prints one line per target', async () => {
    const modal = fakeModal({});
    const cap = captureIo();
    expect(await runGpuCommand(['warm', '--min=1'], cap.io, modal.deps)).toBe(GPU_EXIT.ok);
    expect(cap.out()).toBe('Encoder: min_containers = 1\nGenerator: min_containers = 1\nBridge: min_containers = 1\n');
  });
});

describe('runGpuCommand', () => {
  it('prints help', async () => {
    const cap = captureIo();
    expect(await runGpuCommand(['--help'], cap.io, fakeModal({}).deps)).toBe(GPU_EXIT.ok);
    expect(cap.out()).toContain('cmvc gpu warm --min N');
    const bare = captureIo();
    expect(await runGpuCommand([], bare.io, fakeModal({}).deps)).toBe(GPU_EXIT.usage);
  });

  it('without credentials: one clear line and the auth exit code (fake client)', async () => {
    const modal = fakeModal({ credentials: false });
    for (const argv of [['status'], ['warm', '--min', '1']]) {
      const cap = captureIo();
      expect(await runGpuCommand(argv, cap.io, modal.deps)).toBe(GPU_EXIT.auth);
      expect(cap.err()).toMatch(/^cmvc gpu: no Modal credentials: set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET .*\n$/);
      expect(cap.err().split('\n')).toHaveLength(2);
      expect(cap.err()).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
    }
    expect(modal.calls).toEqual([]);
  });

  it('without credentials: one clear line through the real Modal SDK', async () => {
    const saved = { ...process.env };
    const home = mkdtempSync(join(tmpdir(), 'cmvc-gpu-'));
    try {
      for (const key of Object.keys(process.env)) if (key.startsWith('MODAL_')) delete process.env[key];
      process.env.HOME = home;
      process.env.MODAL_CONFIG_PATH = join(home, 'no-such.modal.toml');
      const cap = captureIo({});
      expect(await runGpuCommand(['status'], cap.io)).toBe(GPU_EXIT.auth);
      expect(cap.err()).toMatch(/^cmvc gpu: no Modal credentials/);
      expect(cap.err().split('\n')).toHaveLength(2);
    } finally {
      process.env = saved;
    }
  });

  it('maps an unreachable Modal to the unreachable exit code', async () => {
    const modal = fakeModal({});
    modal.client.apps.fromName = async () => {
      throw new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:443');
    };
    const cap = captureIo();
    expect(await runGpuCommand(['status'], cap.io, modal.deps)).toBe(GPU_EXIT.unreachable);
    expect(cap.err()).toMatch(/^cmvc gpu: cannot reach Modal: 14 UNAVAILABLE/);
  });
});
