/**
 * `cmvc gpu status` and `cmvc gpu warm --min N`: Node-side tooling for the deployed Modal app
 * (`gpu-functions/modal_app.py`) through Modal's JavaScript SDK (`modal` 0.x).
 *
 * The SDK speaks gRPC over HTTP/2, so this runs in Node only, never in the Worker.
 * Credentials come from MODAL_TOKEN_ID / MODAL_TOKEN_SECRET or `~/.modal.toml` (as the SDK reads
 * them); without any, the commands print one line saying so and exit with EXIT_AUTH.
 */
import { parseArgs, UsageError } from './args';

/** Environment variables as read here (process.env or a test's own). */
export type EnvVars = Readonly<Record<string, string | undefined>>;

/** The app name used when CMVC_MODAL_APP is unset; `modal_app.py` deploys under the same name. */
export const DEFAULT_APP_NAME = 'cmvc-gpu';
const APP_ENV = 'CMVC_MODAL_APP';
const ENVIRONMENT_ENV = 'MODAL_ENVIRONMENT';
const TOKEN_ID_ENV = 'MODAL_TOKEN_ID';
const TOKEN_SECRET_ENV = 'MODAL_TOKEN_SECRET';

/** Exit codes, the same meanings as the rest of `cmvc`. */
export const GPU_EXIT = { ok: 0, failure: 1, usage: 2, unreachable: 3, notFound: 4, auth: 5 } as const;

/** What `modal_app.py` deploys, by the name Modal knows it under. */
export interface GpuTarget {
  /** `cls`: a `@app.cls` (looked up with `cls.fromName`, then one of its methods); `function`: an `@app.function`. */
  kind: 'cls' | 'function';
  name: string;
  /** For classes: the `@modal.method` whose container pool is reported and scaled. */
  method?: string;
  /** Included in `gpu warm` unless `--only` says otherwise. */
  warm: boolean;
}

export const GPU_TARGETS: readonly GpuTarget[] = [
  { kind: 'cls', name: 'Encoder', method: 'analyse', warm: true },
  { kind: 'cls', name: 'Generator', method: 'run_call', warm: true },
  { kind: 'cls', name: 'Bridge', method: 'run_call', warm: true },
  { kind: 'function', name: 'assemble', warm: false },
  { kind: 'function', name: 'web', warm: false },
];

/** The part of a Modal `Function_` this module uses. */
export interface ModalFunctionHandle {
  getCurrentStats(): Promise<{ backlog: number; numTotalRunners: number }>;
  updateAutoscaler(params: { minContainers?: number }): Promise<unknown>;
  getWebUrl(): Promise<string | undefined>;
}

/** The part of Modal's `ModalClient` this module uses; the real client satisfies it structurally. */
export interface ModalLikeClient {
  readonly profile: {
    tokenId?: string;
    tokenSecret?: string;
    oauthRefreshToken?: string;
    oauthClientId?: string;
  };
  apps: {
    fromName(name: string, params?: { environment?: string }): Promise<{
      appId: string;
      info(): Promise<{ lifecycle: { state: string; version?: number; deployedAt?: Date }; functions: Record<string, string> }>;
    }>;
  };
  functions: { fromName(appName: string, name: string, params?: { environment?: string }): Promise<ModalFunctionHandle> };
  cls: {
    fromName(appName: string, name: string, params?: { environment?: string }): Promise<{
      instance(): Promise<{ method(name: string): ModalFunctionHandle }>;
    }>;
  };
  close?(): void;
}

export interface GpuOptions {
  appName: string;
  environment?: string;
}

export interface GpuDeps {
  /** Builds the client; tests inject a fake. The default builds Modal's `ModalClient`. */
  createClient(env: EnvVars): Promise<ModalLikeClient>;
}

export interface TargetStatus {
  name: string;
  kind: GpuTarget['kind'];
  /** `running`: at least one container up; `idle`: deployed, scaled to zero; `missing`: not in the deployment. */
  state: 'running' | 'idle' | 'missing' | 'error';
  containers: number | null;
  backlog: number | null;
  webUrl: string | null;
  error: string | null;
}

export interface GpuStatusReport {
  app: string;
  appId: string;
  state: string;
  version: number | null;
  deployedAt: string | null;
  targets: TargetStatus[];
}

export interface WarmResult {
  name: string;
  minContainers: number;
  ok: boolean;
  error: string | null;
}

/** A failure with a one-line message and the exit code to use; never printed with a stack. */
export class GpuCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const defaultGpuDeps: GpuDeps = {
  async createClient(env) {
    const { ModalClient } = await import('modal');
    const tokenId = env[TOKEN_ID_ENV];
    const tokenSecret = env[TOKEN_SECRET_ENV];
    const environment = env[ENVIRONMENT_ENV];
    return new ModalClient({
      ...(tokenId ? { tokenId } : {}),
      ...(tokenSecret ? { tokenSecret } : {}),
      ...(environment ? { environment } : {}),
    });
  },
};

export function gpuOptionsFromEnv(env: EnvVars): GpuOptions {
  const appName = env[APP_ENV];
  const environment = env[ENVIRONMENT_ENV];
  return { appName: appName ? appName : DEFAULT_APP_NAME, ...(environment ? { environment } : {}) };
}

const NO_CREDENTIALS =
  `no Modal credentials: set ${TOKEN_ID_ENV} and ${TOKEN_SECRET_ENV} (from https://modal.com/settings/tokens) or run \`modal token new\` to write ~/.modal.toml`;

function hasCredentials(profile: ModalLikeClient['profile']): boolean {
  return Boolean((profile.tokenId && profile.tokenSecret) || (profile.oauthRefreshToken && profile.oauthClientId));
}

async function connect(deps: GpuDeps, env: EnvVars): Promise<ModalLikeClient> {
  let client: ModalLikeClient;
  try {
    client = await deps.createClient(env);
  } catch (err) {
    throw new GpuCommandError(`cannot create the Modal client: ${oneLine(err)}`, GPU_EXIT.auth);
  }
  if (!hasCredentials(client.profile)) {
    client.close?.();
    throw new GpuCommandError(NO_CREDENTIALS, GPU_EXIT.auth);
  }
  return client;
}

/** Maps an SDK or transport error to a one-line GpuCommandError. */
function classify(err: unknown, what: string): GpuCommandError {
  if (err instanceof GpuCommandError) return err;
  const name = err instanceof Error ? err.constructor.name : '';
  const message = oneLine(err);
  if (name === 'NotFoundError' || /not found/i.test(message)) {
    return new GpuCommandError(`${what} not found: ${message}`, GPU_EXIT.notFound);
  }
  if (/missing credentials|unauthenticated|permission denied|invalid token|token.*(invalid|expired)/i.test(message)) {
    return new GpuCommandError(`Modal refused the credentials: ${message}`, GPU_EXIT.auth);
  }
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|UNAVAILABLE|DEADLINE_EXCEEDED|network|connect/i.test(message)) {
    return new GpuCommandError(`cannot reach Modal: ${message}`, GPU_EXIT.unreachable);
  }
  return new GpuCommandError(`${what}: ${message}`, GPU_EXIT.failure);
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').trim() || 'unknown error';
}

async function handleFor(client: ModalLikeClient, opts: GpuOptions, target: GpuTarget): Promise<ModalFunctionHandle> {
  const params = opts.environment === undefined ? undefined : { environment: opts.environment };
  if (target.kind === 'function') return client.functions.fromName(opts.appName, target.name, params);
  const cls = await client.cls.fromName(opts.appName, target.name, params);
  const instance = await cls.instance();
  return instance.method(target.method ?? target.name);
}

/** Looks up the deployed app and each of its functions/classes and reports their state. */
export async function gpuStatus(opts: GpuOptions, deps: GpuDeps = defaultGpuDeps, env: EnvVars = process.env): Promise<GpuStatusReport> {
  const client = await connect(deps, env);
  try {
    let app;
    let info;
    try {
      app = await client.apps.fromName(opts.appName, opts.environment === undefined ? undefined : { environment: opts.environment });
      info = await app.info();
    } catch (err) {
      throw classify(err, `Modal app "${opts.appName}"`);
    }
    const targets: TargetStatus[] = [];
    for (const target of GPU_TARGETS) {
      const base = { name: target.name, kind: target.kind };
      let handle: ModalFunctionHandle;
      try {
        handle = await handleFor(client, opts, target);
      } catch (err) {
        const failure = classify(err, target.name);
        if (failure.exitCode === GPU_EXIT.notFound) {
          targets.push({ ...base, state: 'missing', containers: null, backlog: null, webUrl: null, error: null });
          continue;
        }
        throw failure;
      }
      try {
        const stats = await handle.getCurrentStats();
        const webUrl = target.kind === 'function' ? ((await handle.getWebUrl()) ?? null) : null;
        targets.push({
          ...base,
          state: stats.numTotalRunners > 0 ? 'running' : 'idle',
          containers: stats.numTotalRunners,
          backlog: stats.backlog,
          webUrl,
          error: null,
        });
      } catch (err) {
        targets.push({ ...base, state: 'error', containers: null, backlog: null, webUrl: null, error: oneLine(err) });
      }
    }
    return {
      app: opts.appName,
      appId: app.appId,
      state: info.lifecycle.state,
      version: info.lifecycle.version ?? null,
      deployedAt: info.lifecycle.deployedAt ? info.lifecycle.deployedAt.toISOString() : null,
      targets,
    };
  } finally {
    client.close?.();
  }
}

/**
 * Sets the autoscaler's minimum containers of the GPU classes (or of the named targets) to `min`,
 * e.g. before expected traffic; `min` 0 lets them scale to zero again.
 */
export async function gpuWarm(
  min: number,
  opts: GpuOptions & { only?: readonly string[] },
  deps: GpuDeps = defaultGpuDeps,
  env: EnvVars = process.env,
): Promise<WarmResult[]> {
  if (!Number.isInteger(min) || min < 0 || min > 100) throw new GpuCommandError(`--min must be an integer from 0 to 100, got ${min}`, GPU_EXIT.usage);
  let targets = GPU_TARGETS.filter((t) => t.warm);
  if (opts.only !== undefined) {
    const unknown = opts.only.filter((name) => !GPU_TARGETS.some((t) => t.name === name));
    if (unknown.length > 0) {
      throw new GpuCommandError(`unknown target ${unknown.join(', ')} (known: ${GPU_TARGETS.map((t) => t.name).join(', ')})`, GPU_EXIT.usage);
    }
    targets = GPU_TARGETS.filter((t) => opts.only?.includes(t.name));
  }
  const client = await connect(deps, env);
  try {
    const results: WarmResult[] = [];
    for (const target of targets) {
      try {
        const handle = await handleFor(client, opts, target);
        await handle.updateAutoscaler({ minContainers: min });
        results.push({ name: target.name, minContainers: min, ok: true, error: null });
      } catch (err) {
        const failure = classify(err, target.name);
        if (failure.exitCode === GPU_EXIT.auth || failure.exitCode === GPU_EXIT.unreachable) throw failure;
        results.push({ name: target.name, minContainers: min, ok: false, error: failure.message });
      }
    }
    return results;
  } finally {
    client.close?.();
  }
}

const HELP = `cmvc gpu — the deployed Modal GPU functions

usage:
  cmvc gpu status [--json]                          the app's state and each function's containers and backlog
  cmvc gpu warm --min N [--only A,B] [--json]       set the autoscaler's minimum containers (0 scales back to zero)

targets: ${GPU_TARGETS.map((t) => t.name).join(', ')} (warm defaults to ${GPU_TARGETS.filter((t) => t.warm)
  .map((t) => t.name)
  .join(', ')})
environment: ${APP_ENV} (default ${DEFAULT_APP_NAME}), ${ENVIRONMENT_ENV},
  ${TOKEN_ID_ENV} / ${TOKEN_SECRET_ENV} (else ~/.modal.toml, as written by \`modal token new\`)
`;

function formatStatus(report: GpuStatusReport): string {
  const lines = [
    `${report.app} (${report.appId}): ${report.state}${report.version === null ? '' : ` v${report.version}`}${report.deployedAt ? `, deployed ${report.deployedAt}` : ''}`,
  ];
  const width = Math.max(...report.targets.map((t) => t.name.length));
  for (const t of report.targets) {
    const detail =
      t.state === 'missing'
        ? 'not deployed'
        : t.state === 'error'
          ? `error: ${t.error}`
          : `${t.containers} container${t.containers === 1 ? '' : 's'}, backlog ${t.backlog}`;
    lines.push(`  ${t.name.padEnd(width)}  ${t.state.padEnd(7)}  ${detail}${t.webUrl ? `  ${t.webUrl}` : ''}`);
  }
  return lines.join('\n');
}

/** `cmvc gpu …`: returns the exit code; every failure is one line on stderr. */
export async function runGpuCommand(
  argv: string[],
  io: { stdout: { write(text: string): unknown }; stderr: { write(text: string): unknown }; env?: EnvVars },
  deps: GpuDeps = defaultGpuDeps,
): Promise<number> {
  const env = io.env ?? process.env;
  const print = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    const args = parseArgs(argv, new Set(['min', 'only']), new Set(['json', 'help']));
    const [action, extra] = args.positionals;
    if (args.options.has('help') || action === 'help') {
      print(HELP);
      return GPU_EXIT.ok;
    }
    if (action === undefined) {
      io.stderr.write(HELP);
      return GPU_EXIT.usage;
    }
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const json = args.options.has('json');
    const opts = gpuOptionsFromEnv(env);
    if (action === 'status') {
      if (args.options.has('min') || args.options.has('only')) throw new UsageError('gpu status takes only --json');
      const report = await gpuStatus(opts, deps, env);
      print(json ? JSON.stringify(report) : formatStatus(report));
      return report.targets.some((t) => t.state === 'error') ? GPU_EXIT.failure : GPU_EXIT.ok;
    }
    if (action === 'warm') {
      const minText = args.options.get('min');
      if (typeof minText !== 'string') throw new UsageError('gpu warm needs --min N');
      if (!/^\d+$/.test(minText)) throw new UsageError(`--min wants a whole number, got "${minText}"`);
      const onlyText = args.options.get('only');
      const only = typeof onlyText === 'string' ? onlyText.split(',').map((s) => s.trim()).filter((s) => s !== '') : undefined;
      const results = await gpuWarm(Number(minText), { ...opts, ...(only === undefined ? {} : { only }) }, deps, env);
      if (json) print(JSON.stringify({ app: opts.appName, results }));
      else for (const r of results) print(r.ok ? `${r.name}: min_containers = ${r.minContainers}` : `${r.name}: failed: ${r.error}`);
      return results.every((r) => r.ok) ? GPU_EXIT.ok : GPU_EXIT.failure;
    }
    throw new UsageError(`unknown gpu command "${action}" (status, warm)`);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`cmvc gpu: ${err.message}\nrun "cmvc gpu --help" for usage\n`);
      return GPU_EXIT.usage;
    }
    const failure = classify(err, 'cmvc gpu');
    io.stderr.write(`cmvc gpu: ${failure.message}\n`);
    return failure.exitCode;
  }
}
