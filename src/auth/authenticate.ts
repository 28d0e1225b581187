import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { checkSecret } from './keys';
import { ADMIN_PRINCIPAL, type Principal } from './principal';
import { timingSafeEqualStrings } from '../http/timing-safe';

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}

export const AUTHORIZATION = 'Authorization';
const BEARER = /^Bearer ([\x21-\x7e]{8,512})$/;

const MESSAGES = {
  invalid_api_key: 'the API key is not valid',
  revoked_api_key: 'the API key has been revoked',
  expired_api_key: 'the API key has expired',
} as const;

const unauthorized = (code: string, message: string) =>
  new ApiError(401, code, message, { headers: { 'WWW-Authenticate': 'Bearer realm="cmvc"' } });

/** Resolves `Authorization: Bearer <key>` to a principal: the bootstrap admin key, or a stored key. */
export async function principalFromRequest(authorization: string | undefined, env: Env): Promise<Principal> {
  if (authorization === undefined || authorization === '') {
    throw unauthorized('missing_api_key', 'send an API key as "Authorization: Bearer <key>"');
  }
  const match = BEARER.exec(authorization);
  if (!match) throw unauthorized('malformed_authorization', 'the Authorization header must be "Bearer <key>"');
  const secret = match[1] as string;
  if (env.ADMIN_API_KEY && (await timingSafeEqualStrings(secret, env.ADMIN_API_KEY))) return ADMIN_PRINCIPAL;
  const check = await checkSecret(env.DB, secret);
  if (!check.ok) throw unauthorized(check.code, MESSAGES[check.code]);
  return check.principal;
}

export const authenticate = (): MiddlewareHandler<{ Bindings: Env }> =>
  async function authenticate(c, next) {
    c.set('principal', await principalFromRequest(c.req.header(AUTHORIZATION), c.env));
    await next();
  };
