import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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

describe('keyframes in the estimate (the engines\' call plans)', () => {
  const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cost-vectors.json'), 'utf8')) as {
    model: unknown;
    vectors: { engine: string; width: number; height: number; fps: number; frames: number; keyframes: [number, number, number][]; seconds: number }[];
  };

  it('gives the shared vectors\' seconds (the Python copy in test_model_cost_keyframes.py checks the same file)', () => {
    const fixed = GpuCostModel.parse(vectors.model);
    for (const v of vectors.vectors) {
      const keyframes = v.keyframes.map(([width, height, frameIndex]) => ({ width, height, frameIndex }));
      expect(estimateCallSeconds(fixed, v.engine, 'generate', { frames: v.frames, width: v.width, height: v.height, fps: v.fps, keyframes })).toBeCloseTo(v.seconds, 9);
    }
  });

  it('prices finding 1\'s stream on the model engine as its plan does: 64 keyframes on 64 frames are ~42 more calls, not 0.8 s', () => {
    const keyframes = Array.from({ length: 64 }, (_, i) => ({ width: 320, height: 240, frameIndex: i }));
    const bare = estimateCallSeconds(GPU_COST_MODEL, 'model', 'generate', { frames: 64, width: 320, height: 240, fps: 24 });
    const crafted = estimateCallSeconds(GPU_COST_MODEL, 'model', 'generate', { frames: 64, width: 320, height: 240, fps: 24, keyframes });
    // gpu-functions/tests/model/test_model_cost_keyframes.py: the plan costs 736 s; 42 keyframes remain apart on its 16 fps grid
    expect(crafted / 736).toBeGreaterThan(0.5);
    expect(crafted / 736).toBeLessThan(2);
    expect(crafted).toBeGreaterThan(10 * bare);
  });

  it('counts every keyframe on the reference engine, its image and its frame, and the frames in-betweened', () => {
    const one = estimateCallSeconds(GPU_COST_MODEL, 'reference', 'generate', { frames: 64, width: 1152, height: 864, fps: 24, keyframes: [{ width: 1152, height: 864, frameIndex: 0 }] });
    const many = estimateCallSeconds(GPU_COST_MODEL, 'reference', 'generate', {
      frames: 64,
      width: 1152,
      height: 864,
      fps: 24,
      keyframes: Array.from({ length: 16 }, (_, i) => ({ width: 1152, height: 864, frameIndex: i * 4 })),
    });
    expect(many).toBeGreaterThan(one * 1.5);
  });
});
