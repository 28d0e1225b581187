import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../http/errors';
import { SCOPES, type Scope } from './principal';

export const requireScope = (scope: Scope): MiddlewareHandler => {
  if (!SCOPES.includes(scope)) throw new Error(`unknown scope ${scope}`);
  return async function requireScope(c, next) {
    const principal = c.get('principal');
    if (!principal.scopes.has(scope) && !principal.scopes.has('admin')) {
      throw new ApiError(403, 'insufficient_scope', `this key lacks the "${scope}" scope`);
    }
    await next();
  };
};
