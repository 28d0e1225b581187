/**
 * What `gpu-functions/modal_app.py` deploys, by the name Modal knows it under, derived from the contract's
 * GPU functions and the GPU classes each calls. `npm run schemas` exports the classes and the endpoint to
 * `schemas/gpu-targets.json`, which the Python side checks the Modal app against.
 */
import { GPU_FUNCTION_CONTRACT, GPU_FUNCTIONS, type GpuClass } from './contract';

export interface GpuTarget {
  /** `cls`: a `@app.cls` (looked up with `cls.fromName`, then one of its methods); `function`: an `@app.function`. */
  kind: 'cls' | 'function';
  name: string;
  /** For classes: the `@modal.method` whose container pool is reported and scaled. */
  method?: string;
  /** Included in `gpu warm` unless `--only` says otherwise. */
  warm: boolean;
}

/** The `@modal.method` each GPU class is looked up by (its container pool is what is reported and scaled). */
const CLASS_METHOD: { [C in GpuClass]: string } = { Encoder: 'analyse', Generator: 'run_call', Bridge: 'run_call' };

/** The GPU classes the contract functions call, in order of first use. */
const usedClasses = [...new Set(GPU_FUNCTIONS.flatMap((fn): readonly GpuClass[] => GPU_FUNCTION_CONTRACT[fn].gpuClasses))];

/**
 * The Modal app's own names: the GPU classes (warmed by default), one function per contract function
 * (each waits for its calls on the classes), and the web endpoint in front of them. The Python side tests
 * that `modal_app.py` defines each of them.
 */
export const GPU_TARGETS: readonly GpuTarget[] = [
  ...usedClasses.map((name): GpuTarget => ({ kind: 'cls', name, method: CLASS_METHOD[name], warm: true })),
  ...GPU_FUNCTIONS.map((fn): GpuTarget => ({ kind: 'function', name: fn, warm: false })),
  { kind: 'function', name: 'web', warm: false },
];
