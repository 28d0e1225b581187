import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/openapi/document';

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(openApiDocument('http://127.0.0.1:8787') as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });
});

describe('OpenAPI document, kept', () => {
  it('equals test/fixtures/openapi.json: a change to the public API is deliberate (regenerate the file and say so)', () => {
    const kept = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'openapi.json'), 'utf8'));
    expect(openApiDocument('http://127.0.0.1:8787')).toEqual(kept);
    expect(JSON.stringify(openApiDocument('http://127.0.0.1:8787'))).toBe(JSON.stringify(kept));
  });
});
