import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBitstreamFiles, renderGpuSchemas, renderGpuTargets } from '../../src/gpu/schema-export';

const dir = join(import.meta.dirname, '..', '..', 'schemas', 'gpu');

describe('schemas/gpu', () => {
  it('matches the zod contract exactly (run `npm run schemas` after changing src/gpu/contract.ts)', () => {
    const rendered = renderGpuSchemas();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(rendered).sort());
    for (const [name, text] of Object.entries(rendered)) expect(readFileSync(join(dir, name), 'utf8'), name).toBe(text);
  });
});

describe('schemas/bitstream', () => {
  it('holds the bitstream facts the Python encoder reads, exactly as src/bitstream has them', () => {
    const bitstreamDir = join(import.meta.dirname, '..', '..', 'schemas', 'bitstream');
    const rendered = renderBitstreamFiles();
    expect(readdirSync(bitstreamDir).sort()).toEqual(Object.keys(rendered).sort());
    for (const [name, text] of Object.entries(rendered)) expect(readFileSync(join(bitstreamDir, name), 'utf8'), name).toBe(text);
  });
});

describe('schemas/gpu-targets.json', () => {
  it('lists what the CLI targets, exactly as src/gpu/modal-targets.ts derives it', () => {
    expect(readFileSync(join(import.meta.dirname, '..', '..', 'schemas', 'gpu-targets.json'), 'utf8')).toBe(renderGpuTargets());
  });
});
