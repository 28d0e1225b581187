import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ApiConfig {
  base: string;
  key: string | null;
}

/** Where the API is and which key to use: CMVC_API / CMVC_API_KEY, else the local stack's .dev.vars. */
export function apiConfig(env: NodeJS.ProcessEnv, cwd = process.cwd()): ApiConfig {
  let key = env.CMVC_API_KEY ?? null;
  const devVars = join(cwd, '.dev.vars');
  if (key === null && existsSync(devVars)) key = /^ADMIN_API_KEY=(.+)$/m.exec(readFileSync(devVars, 'utf8'))?.[1]?.trim() ?? null;
  return { base: (env.CMVC_API ?? 'http://127.0.0.1:8787').replace(/\/+$/, ''), key };
}

/** Calls the API; any non-2xx becomes an ApiFailure with the server's code and message. */
export async function api(config: ApiConfig, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (config.key) headers.set('Authorization', `Bearer ${config.key}`);
  let response: Response;
  try {
    response = await fetch(`${config.base}${path}`, { ...init, headers });
  } catch {
    throw new ApiFailure(0, 'unreachable', `cannot reach the CMVC API at ${config.base} (is \`npm start\` running? set CMVC_API to point elsewhere)`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiFailure(response.status, body?.error?.code ?? `http_${response.status}`, body?.error?.message ?? `the API answered ${response.status}`);
  }
  return response;
}
