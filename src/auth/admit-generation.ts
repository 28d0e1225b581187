import type { Context } from 'hono';
import { checkPlannedBudget, payerOf } from './gpu-budget';
import type { Payer } from './gpu-spend';
import { GENERATION_COST, takeOrThrow } from './rate-limit';

/**
 * The one GPU-spend check before a request starts a generation: the planned GPU seconds must fit in what
 * is left of the payer's quota today (429 `gpu_quota_exceeded`), then the generation takes its rate-limit
 * units (429 `rate_limited`). `plannedSeconds` is only computed for a payer with a quota and something left
 * of it (a payer with nothing left is refused before any planning). A rejected
 * `precondition` (checked at the same time, e.g. "the video still exists") wins over both refusals.
 */
export async function admitGeneration(c: Context<{ Bindings: Env }>, plannedSeconds: () => Promise<number>, precondition?: Promise<unknown>): Promise<Payer> {
  const payer = payerOf(c.env, c.get('principal'));
  const budget = checkPlannedBudget(c.env, payer, plannedSeconds);
  const [, refused] = await Promise.all([precondition, budget.then(() => null, (err: unknown) => err)]);
  if (refused !== null) throw refused;
  await takeOrThrow(c, GENERATION_COST);
  return payer;
}
