import { sendsKeyframes } from '../generation/plan';
import { badRequest } from '../http/errors';
import type { Mode } from '../shared/modes';
import { OptionError, parseMaxKbps, parseReconstructionOptions, type OptionDefaults, type ReconstructionOptions } from '../shared/reconstruction-options';

/** `parse()`, a bad option answered as a 400 with its code, naming the option in `details.option`. */
function asBadRequest<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof OptionError) throw badRequest(err.code, err.message, { option: err.option });
    throw err;
  }
}

/** A request's reconstruction options (shared/reconstruction-options.ts), canonical; an unknown, repeated or out-of-range one is a 400. */
export const requestOptions = (params: URLSearchParams, defaults: OptionDefaults): ReconstructionOptions => asBadRequest(() => parseReconstructionOptions(params, defaults));

/** A `maxKbps` query value, as the reconstruction options read it; else a 400. */
export const requestMaxKbps = (value: string): number => asBadRequest(() => parseMaxKbps(value));

export { sendsKeyframes };

/** Refuses options that do not apply to `mode` (400 naming the option): `maxKbps` cuts keyframes, which a mode that reads none (TT2V) does not read. */
export function checkModeOptions(mode: Mode, options: ReconstructionOptions): void {
  if (!sendsKeyframes(mode) && options.maxKbps !== null) throw badRequest('invalid_option', `option "maxKbps" cuts keyframes, so it does not apply to ${mode}, which reads none`, { option: 'maxKbps' });
}
