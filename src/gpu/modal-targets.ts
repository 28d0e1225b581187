/**
 * What `gpu-functions/modal_app.py` deploys, by the name Modal knows it under, derived from the contract's
 * list of GPU functions and the GPU classes they fan out to. `npm run schemas` exports it to `schemas/gpu-targets.json`, which the Python side
 * checks the Modal app against.
 */
import { GPU_FUNCTIONS } from './contract';

export interface GpuTarget {
  /** `cls`: a `@app.cls` (looked up with `cls.fromName`, then one of its methods); `function`: an `@app.function`. */
  kind: 'cls' | 'function';
  name: string;
  /** For classes: the `@modal.method` whose container pool is reported and scaled. */
  method?: string;
  /** Included in `gpu warm` unless `--only` says otherwise. */
  warm: boolean;
}

/**
 * The Modal app's own names: the model engine fans each contract function out over GPU classes (the
 * encoder's analysis, the generator's and the bridge's model calls), so these are not one per contract
 * function. The Python side tests that `modal_app.py` defines each of them, and every contract function.
 */
export const GPU_TARGETS: readonly GpuTarget[] = [
  { kind: 'cls', name: 'Encoder', method: 'analyse', warm: true },
  { kind: 'cls', name: 'Generator', method: 'run_call', warm: true },
  { kind: 'cls', name: 'Bridge', method: 'run_call', warm: true },
  ...GPU_FUNCTIONS.map((fn): GpuTarget => ({ kind: 'function', name: fn, warm: false })),
  { kind: 'function', name: 'web', warm: false },
];
