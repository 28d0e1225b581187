/**
 * The GPU cost model (`schemas/gpu-cost.json`): per engine and function, seconds =
 * baseSeconds + secondsPerMegapixelFrame × megapixel-frames, where megapixel-frames =
 * frames × width × height / 1e6 of the call's output (for `encode`: of its source). The Worker
 * reserves this estimate before a call; `gpu:plan` reads the same file.
 */
import { z } from 'zod';
import costFile from '../../schemas/gpu-cost.json';
import { GPU_FUNCTIONS, type GpuFunctionName } from './contract';


const FunctionCost = z
  .object({
    baseSeconds: z.number().nonnegative().describe('seconds of a call with no output'),
    secondsPerMegapixelFrame: z.number().nonnegative().describe('seconds per frames × width × height / 1e6 of the output'),
  })
  .strict();

export const GpuCostModel = z
  .object({
    version: z.literal(1),
    engines: z.record(
      z.string().min(1).max(64).describe('EngineInfo.id'),
      z
        .object({
          ...(Object.fromEntries(GPU_FUNCTIONS.map((fn) => [fn, FunctionCost.optional()])) as { [F in GpuFunctionName]: z.ZodOptional<typeof FunctionCost> }),
          callLimitSeconds: z.number().positive().optional().describe('longest one GPU call may run on this engine'),
          generation: z
            .object({
              maxPixels: z.number().int().positive().describe('the largest frame the models generate, in pixels'),
              sizeMultiple: z.number().int().positive().describe('generated widths and heights are multiples of this'),
            })
            .strict()
            .optional()
            .describe('the size this engine generates at; a larger request is that, scaled up (absent: the size asked)'),
        })
        .strict(),
    ),
  })
  .strict();
export type GpuCostModel = z.infer<typeof GpuCostModel>;
type FunctionCost = z.infer<typeof FunctionCost>;

/** The cost model shipped in `schemas/gpu-cost.json`, checked once when the module loads. */
export const GPU_COST_MODEL: GpuCostModel = GpuCostModel.parse(costFile);

/** The smallest estimate of any call: a reservation is never zero. */
export const MIN_ESTIMATE_SECONDS = 0.001;

/** What a call produces (for `encode`: what it reads). */
export interface CallShape {
  frames: number;
  width: number;
  height: number;
}

export const megapixelFrames = (shape: CallShape) => (shape.frames * shape.width * shape.height) / 1e6;

/**
 * The coefficients for `fn` on `engineId`. An engine without an entry gets the most expensive known
 * one (the largest base and the largest slope over every engine), never zero.
 */
export function functionCost(model: GpuCostModel, engineId: string, fn: GpuFunctionName): FunctionCost {
  const own = model.engines[engineId]?.[fn];
  if (own) return own;
  const known = Object.values(model.engines).flatMap((engine) => (engine[fn] ? [engine[fn]] : []));
  return {
    baseSeconds: Math.max(MIN_ESTIMATE_SECONDS, ...known.map((c) => c.baseSeconds)),
    secondsPerMegapixelFrame: Math.max(0, ...known.map((c) => c.secondsPerMegapixelFrame)),
  };
}

/** Estimated seconds of one call of `fn` with this output shape on `engineId` (`id` or `id@version`). */
export function estimateCallSeconds(model: GpuCostModel, engine: string, fn: GpuFunctionName, shape: CallShape): number {
  const cost = functionCost(model, engine.split('@')[0] as string, fn);
  return Math.max(MIN_ESTIMATE_SECONDS, cost.baseSeconds + cost.secondsPerMegapixelFrame * megapixelFrames(shape));
}

/**
 * The size `engine` (`id` or `id@version`) generates a `width` x `height` reconstruction at, when that is
 * smaller than asked (then scaled up to it, aspect kept), else null. The model engine's rule
 * (`sampling.model_geometry` in gpu-functions): the same aspect scaled down to at most `maxPixels`, each
 * side rounded to a multiple of `sizeMultiple`, then shrunk a multiple at a time while too large.
 */
export function generatedSize(model: GpuCostModel, engine: string, width: number, height: number): { width: number; height: number } | null {
  const limit = model.engines[engine.split('@')[0] as string]?.generation;
  if (limit === undefined) return null;
  const { maxPixels, sizeMultiple: m } = limit;
  const scale = Math.min(1, Math.sqrt(maxPixels / (width * height)));
  let w = Math.max(m, Math.floor((width * scale) / m + 0.5) * m);
  let h = Math.max(m, Math.floor((height * scale) / m + 0.5) * m);
  while (w * h > maxPixels && Math.max(w, h) > m) {
    if (w >= h) w -= m;
    else h -= m;
  }
  return w < width || h < height ? { width: w, height: h } : null;
}
