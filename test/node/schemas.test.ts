import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderGpuSchemas } from '../../src/gpu/schema-export';

const dir = join(import.meta.dirname, '..', '..', 'schemas', 'gpu');

describe('schemas/gpu', () => {
  it('matches the zod contract exactly (run `npm run schemas` after changing src/gpu/contract.ts)', () => {
    const rendered = renderGpuSchemas();
    expect(readdirSync(dir).sort()).toEqual(Object.keys(rendered).sort());
    for (const [name, text] of Object.entries(rendered)) expect(readFileSync(join(dir, name), 'utf8'), name).toBe(text);
  });
});
