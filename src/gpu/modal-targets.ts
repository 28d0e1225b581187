/**
 * What `gpu-functions/modal_app.py` deploys, by the name Modal knows it under, derived from the contract's
 * list of GPU functions. `npm run schemas` exports it to `schemas/gpu-targets.json`, which the Python side
 * checks the Modal app against.
 */
import { GPU_FUNCTIONS, type GpuFunctionName } from './contract';

export interface GpuTarget {
  /** `cls`: a `@app.cls` (looked up with `cls.fromName`, then one of its methods); `function`: an `@app.function`. */
  kind: 'cls' | 'function';
  name: string;
  /** For classes: the `@modal.method` whose container pool is reported and scaled. */
  method?: string;
  /** Included in `gpu warm` unless `--only` says otherwise. */
  warm: boolean;
}

/** The `@app.cls` serving each GPU function, or null where it is a plain `@app.function` of the same name. */
const MODAL_CLASS: { [F in GpuFunctionName]: string | null } = {
  encode: 'Encoder',
  generate: 'Generator',
  interpolate: 'Interpolator',
  assemble: null,
};

/** The HTTP endpoint in front of the functions. */
const WEB_TARGET: GpuTarget = { kind: 'function', name: 'web', warm: false };

export const GPU_TARGETS: readonly GpuTarget[] = [
  ...GPU_FUNCTIONS.map((fn): GpuTarget => {
    const cls = MODAL_CLASS[fn];
    return cls === null ? { kind: 'function', name: fn, warm: false } : { kind: 'cls', name: cls, method: fn, warm: true };
  }),
  WEB_TARGET,
];
