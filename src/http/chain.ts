import type { MiddlewareHandler } from 'hono';

/** Several middlewares as one, run in order, each wrapping the rest (so each may act after `next`). */
export function chain<E extends object>(...middlewares: MiddlewareHandler<E & { Bindings: Env }>[]): MiddlewareHandler<E & { Bindings: Env }> {
  return async function chained(c, next) {
    const run = async (i: number): Promise<void> => {
      const middleware = middlewares[i];
      if (middleware === undefined) {
        await next();
        return;
      }
      await middleware(c, () => run(i + 1));
    };
    await run(0);
  };
}
