/**
 * The GPU cost model (`schemas/gpu-cost.json`): per engine and function, seconds =
 * baseSeconds + secondsPerMegapixelFrame × megapixel-frames, where megapixel-frames =
 * frames × width × height / 1e6 of the call's output (for `encode`: of its source). A call carrying
 * keyframes (`generate` in it2v) adds what its engine's call plan spends on them: per keyframe beyond
 * the first (secondsPerKeyframe: on the model engine one more first/last-frame call each), per
 * megapixel of each keyframe's image (secondsPerKeyframeMegapixel: decoding it), per keyframe per megapixel
 * of the output frame (secondsPerKeyframeFrameMegapixel: resizing it and the motion between neighbours, or
 * the latent work of its model call), and per megapixel-frame in-betweened from the first to the last
 * keyframe (secondsPerMegapixelFrameBetweenKeyframes: in-betweens blend two warped images). An engine whose
 * models generate at a fixed rate and at most a given area (`generation.fps`, `generation.maxPixels`: the model engine's 16
 * and 832×480) makes a call's frames on that grid and that size and merges keyframes landing on one of its
 * frames, so all are counted there. The Worker reserves this estimate
 * before a call; `gpu:plan` reads the same file.
 */
import { z } from 'zod';
import costFile from '../../schemas/gpu-cost.json';
import { GPU_FUNCTIONS, type GpuFunctionName } from './contract';


const FunctionCost = z
  .object({
    baseSeconds: z.number().nonnegative().describe('seconds of a call with no output'),
    secondsPerMegapixelFrame: z.number().nonnegative().describe('seconds per frames × width × height / 1e6 of the output'),
    secondsPerKeyframe: z.number().nonnegative().optional().describe('seconds per keyframe beyond the first (on its keyframe grid)'),
    secondsPerKeyframeMegapixel: z.number().nonnegative().optional().describe("seconds per megapixel of each keyframe's image (decoding it)"),
    secondsPerKeyframeFrameMegapixel: z.number().nonnegative().optional().describe('seconds per keyframe per megapixel of the output frame (placing it: resizing, motion, or its own model call)'),
    secondsPerMegapixelFrameBetweenKeyframes: z.number().nonnegative().optional().describe('seconds per megapixel-frame of the output in-betweened: from the first keyframe to the last, keyframes\' own frames not counted'),
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
              fps: z
                .number()
                .positive()
                .optional()
                .describe("the frame rate the models generate at (the output is resampled to the asked rate): a call's frames and keyframes are counted on that grid"),
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

/** A keyframe a call carries: its image's size and the output frame it is placed at. */
export interface CallKeyframe {
  width: number;
  height: number;
  frameIndex: number;
}

/** What a call produces (for `encode`: what it reads), and the keyframes it carries at `fps` (`generate`). */
export interface CallShape {
  frames: number;
  width: number;
  height: number;
  fps?: number;
  keyframes?: readonly CallKeyframe[];
}

export const megapixelFrames = (shape: CallShape) => (shape.frames * shape.width * shape.height) / 1e6;

const KEYFRAME_TERMS = ['secondsPerKeyframe', 'secondsPerKeyframeMegapixel', 'secondsPerKeyframeFrameMegapixel', 'secondsPerMegapixelFrameBetweenKeyframes'] as const;

/**
 * The coefficients for `fn` on `engineId`. An engine without an entry gets the most expensive known
 * one (the largest base and the largest of each slope over every engine), never zero.
 */
export function functionCost(model: GpuCostModel, engineId: string, fn: GpuFunctionName): FunctionCost {
  const own = model.engines[engineId]?.[fn];
  if (own) return own;
  const known = Object.values(model.engines).flatMap((engine) => (engine[fn] ? [engine[fn]] : []));
  const out: FunctionCost = {
    baseSeconds: Math.max(MIN_ESTIMATE_SECONDS, ...known.map((c) => c.baseSeconds)),
    secondsPerMegapixelFrame: Math.max(0, ...known.map((c) => c.secondsPerMegapixelFrame)),
  };
  for (const term of KEYFRAME_TERMS) {
    const most = Math.max(0, ...known.map((c) => c[term] ?? 0));
    if (most > 0) out[term] = most;
  }
  return out;
}

/**
 * The call as an engine generating at `fps` and at most `maxPixels` (its `generation`) makes it: its frames and keyframes
 * on that grid (keyframes landing on one frame merged), its frames at that area. Without them (an unknown engine
 * too), the call as asked: the most there could be.
 */
export function onNativeGrid(shape: CallShape, native: { fps?: number; maxPixels?: number } = {}): CallShape {
  const { fps: nativeFps, maxPixels: nativeMaxPixels } = native;
  if (nativeMaxPixels !== undefined && shape.width * shape.height > nativeMaxPixels) {
    const area = Math.sqrt(nativeMaxPixels / (shape.width * shape.height));
    shape = { ...shape, width: shape.width * area, height: shape.height * area };
  }
  if (nativeFps === undefined || shape.fps === undefined || nativeFps >= shape.fps) return shape;
  const scale = nativeFps / shape.fps;
  const seen = new Set<number>();
  const keyframes = (shape.keyframes ?? []).flatMap((k) => {
    const frameIndex = Math.round(k.frameIndex * scale);
    if (seen.has(frameIndex)) return [];
    seen.add(frameIndex);
    return [{ ...k, frameIndex }];
  });
  return { ...shape, fps: nativeFps, frames: Math.max(1, Math.round(shape.frames * scale)), keyframes };
}

/** Estimated seconds of one call of `fn` with this output shape on `engine` (`id` or `id@version`). */
export function estimateCallSeconds(model: GpuCostModel, engine: string, fn: GpuFunctionName, shape: CallShape): number {
  const engineId = engine.split('@')[0] as string;
  const cost = functionCost(model, engineId, fn);
  const call = fn === 'generate' ? onNativeGrid(shape, model.engines[engineId]?.generation) : shape;
  let seconds = cost.baseSeconds + cost.secondsPerMegapixelFrame * megapixelFrames(call);
  const keyframes = call.keyframes ?? [];
  if (keyframes.length > 0) {
    const framePixels = call.width * call.height;
    seconds += (cost.secondsPerKeyframe ?? 0) * (keyframes.length - 1);
    seconds += ((cost.secondsPerKeyframeMegapixel ?? 0) * keyframes.reduce((sum, k) => sum + k.width * k.height, 0)) / 1e6;
    seconds += ((cost.secondsPerKeyframeFrameMegapixel ?? 0) * keyframes.length * framePixels) / 1e6;
    const first = Math.min(...keyframes.map((k) => k.frameIndex));
    const last = Math.max(...keyframes.map((k) => k.frameIndex));
    // in-betweens: the frames from the first keyframe to the last that are no keyframe's own
    seconds += ((cost.secondsPerMegapixelFrameBetweenKeyframes ?? 0) * Math.max(0, last - first + 1 - keyframes.length) * framePixels) / 1e6;
  }
  return Math.max(MIN_ESTIMATE_SECONDS, seconds);
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
