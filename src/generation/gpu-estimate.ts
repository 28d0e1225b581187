import { estimateCallSeconds, GPU_COST_MODEL, type CallShape, type GpuCostModel } from '../gpu/cost-model';
import type { GenerationSpec } from './plan';

/** The video an artifact is: its frames and geometry (and, for a generate call, the keyframes it carries), from the plan alone. */
export function outputShape(spec: GenerationSpec): CallShape {
  switch (spec.kind) {
    case 'generate': {
      const { frameCount, width, height, fps, segment } = spec.request;
      const keyframes = segment.keyframes.map((k) => ({ width: k.width, height: k.height, frameIndex: k.frameIndex }));
      return { frames: frameCount, width, height, fps, keyframes };
    }
    case 'interpolate': {
      const { frames, width, height } = outputShape(spec.input);
      return { width, height, frames: frames * spec.factor };
    }
    case 'assemble': {
      const parts = spec.inputs.map(outputShape);
      const first = parts[0] as CallShape;
      return { width: first.width, height: first.height, frames: parts.reduce((sum, p) => sum + p.frames, 0) };
    }
  }
}

/** Estimated GPU seconds of the one call that makes this artifact from its inputs. */
export function estimateSpecSeconds(spec: GenerationSpec, engine: string, model: GpuCostModel = GPU_COST_MODEL): number {
  return estimateCallSeconds(model, engine, spec.kind, outputShape(spec));
}

const inputsOf = (spec: GenerationSpec): GenerationSpec[] => (spec.kind === 'generate' ? [] : spec.kind === 'interpolate' ? [spec.input] : spec.inputs);

export interface PlannedWork {
  /** Estimated GPU seconds of every call the request would start. */
  seconds: number;
  /** `generate` calls among them. */
  generations: number;
}

/**
 * The GPU work a request for `spec` would start: every artifact of its graph not stored yet, with
 * the estimate of the call that makes it. A stored artifact's inputs are not needed. `knownMissing`:
 * the caller has just found `spec` itself missing from R2, so it is not looked up again.
 */
export async function plannedWork(bucket: R2Bucket, spec: GenerationSpec, engine: string, knownMissing = false): Promise<PlannedWork> {
  if (!knownMissing && (await bucket.head(spec.r2Key)) !== null) return { seconds: 0, generations: 0 };
  const inputs = await Promise.all(inputsOf(spec).map((input) => plannedWork(bucket, input, engine)));
  return inputs.reduce((sum, w) => ({ seconds: sum.seconds + w.seconds, generations: sum.generations + w.generations }), {
    seconds: estimateSpecSeconds(spec, engine),
    generations: spec.kind === 'generate' ? 1 : 0,
  });
}
