// Writes .dev.vars (git-ignored) with random local secrets when it is missing.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_VARS = join(import.meta.dirname, '..', '.dev.vars');

export function ensureDevVars() {
  const existing = existsSync(DEV_VARS) ? readFileSync(DEV_VARS, 'utf8') : '';
  const vars = Object.fromEntries(existing.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]));
  let changed = false;
  if (!vars.ADMIN_API_KEY) {
    vars.ADMIN_API_KEY = `cmvc_admin_${randomBytes(24).toString('base64url')}`;
    changed = true;
  }
  if (!vars.URL_SIGNING_SECRET) {
    vars.URL_SIGNING_SECRET = randomBytes(32).toString('base64url');
    changed = true;
  }
  if (changed) writeFileSync(DEV_VARS, `${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n')}\n`, { mode: 0o600 });
  return vars;
}
