import { checkBudget } from '../auth/gpu-budget';
import type { Payer } from '../auth/gpu-spend';
import { plannedWork } from './gpu-estimate';
import type { GenerationSpec } from './plan';

export { payerOf } from '../auth/gpu-budget';

/**
 * Refuses, before anything starts, a request whose planned GPU work (every artifact of its graph not
 * stored yet, estimated by the cost model) exceeds what is left of the payer's quota today.
 */
export async function checkPlannedWork(env: Env, payer: Payer, spec: GenerationSpec): Promise<void> {
  if (payer.quotaSeconds === null) return;
  await checkBudget(env, payer, (await plannedWork(env.BUCKET, spec, env.GPU_ENGINE)).seconds);
}
