// Issue 24, defect 11: a reconstruction the model engine generates below the asked size (at most
// 832x480, then scaled up) says so in CMVC-Generated-Size. The Worker computes that size from the
// geometry gpu-cost.json exports; the Python side checks its own rule against the same table.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_COST_MODEL, generatedSize } from '../../src/gpu/cost-model';

const table = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'generated-sizes.json'), 'utf8')) as { sizes: [number, number, number, number][] };

describe('generatedSize', () => {
  it.each(table.sizes)('model@1.0.0 asked %ix%i generates at %ix%i', (width, height, gw, gh) => {
    const expected = gw < width || gh < height ? { width: gw, height: gh } : null;
    expect(generatedSize(GPU_COST_MODEL, 'model@1.0.0', width, height)).toEqual(expected);
  });

  it('is null for an engine that generates the size asked (the reference engine)', () => {
    expect(generatedSize(GPU_COST_MODEL, 'reference@0.2.0', 1920, 1080)).toBeNull();
  });
});
