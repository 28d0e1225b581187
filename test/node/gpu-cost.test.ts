import { describe, expect, it } from 'vitest';
import { estimateCallSeconds, functionCost, GPU_COST_MODEL, GpuCostModel, MIN_ESTIMATE_SECONDS } from '../../src/gpu/cost-model';

const model = GpuCostModel.parse({
  version: 1,
  engines: {
    cheap: { generate: { baseSeconds: 1, secondsPerMegapixelFrame: 0.5 } },
    dear: { generate: { baseSeconds: 20, secondsPerMegapixelFrame: 0.1 }, callLimitSeconds: 600 },
  },
});

describe('the GPU cost model', () => {
  it('ships an entry for every function of the reference engine', () => {
    for (const fn of ['encode', 'generate', 'interpolate', 'assemble'] as const) expect(GPU_COST_MODEL.engines.reference?.[fn]).toBeDefined();
  });

  it('estimates base + slope × megapixel-frames of the output, for `id@version` engine names too', () => {
    expect(estimateCallSeconds(model, 'cheap@1.2', 'generate', { frames: 10, width: 1000, height: 1000 })).toBeCloseTo(1 + 0.5 * 10);
  });

  it('gives an engine without an entry the most expensive known coefficients, and never zero', () => {
    expect(functionCost(model, 'unknown', 'generate')).toEqual({ baseSeconds: 20, secondsPerMegapixelFrame: 0.5 });
    expect(estimateCallSeconds(model, 'unknown', 'assemble', { frames: 0, width: 16, height: 16 })).toBe(MIN_ESTIMATE_SECONDS);
  });

  it('refuses a malformed cost file', () => {
    expect(() => GpuCostModel.parse({ version: 1, engines: { x: { generate: { baseSeconds: -1, secondsPerMegapixelFrame: 0 } } } })).toThrow();
    expect(() => GpuCostModel.parse({ version: 2, engines: {} })).toThrow();
  });
});
