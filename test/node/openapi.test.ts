import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/openapi/document';
import { internalOpenApiDocument } from '../../src/openapi/internal-document';
import { UPLOAD_MEDIA_TYPES } from '../../src/uploads/upload-options';

const DOCUMENTS = { public: openApiDocument('http://127.0.0.1:8787'), internal: internalOpenApiDocument('http://127.0.0.1:8787') };
const FIXTURES = { public: 'openapi.json', internal: 'openapi.internal.json' };

/** Every media type a document names (request bodies, responses, multipart encodings). */
function mediaTypes(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) mediaTypes(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === 'content' && child !== null && typeof child === 'object') for (const type of Object.keys(child)) found.add(type);
      if (key === 'contentType' && typeof child === 'string') for (const type of child.split(',')) found.add(type.trim());
      mediaTypes(child, found);
    }
  }
  return found;
}

describe('OpenAPI documents', () => {
  for (const [name, document] of Object.entries(DOCUMENTS)) {
    it(`the ${name} one is a valid OpenAPI 3.1 document`, async () => {
      const validator = new Validator();
      const result = await validator.validate(document as Parameters<Validator['validate']>[0]);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
      expect(validator.version).toBe('3.1');
    });

    it(`the ${name} one names concrete media types only (no video/* that API tools cannot serialise)`, () => {
      expect([...mediaTypes(document)].filter((type) => type.includes('*'))).toEqual([]);
    });
  }

  it('the public one lists no internal route, the internal one nothing else', () => {
    expect(Object.keys(DOCUMENTS.public.paths as object).filter((path) => path.startsWith('/internal'))).toEqual([]);
    expect(Object.keys(DOCUMENTS.internal.paths as object).filter((path) => !path.startsWith('/internal/'))).toEqual([]);
  });

  it("lists the upload's accepted types", () => {
    const upload = (DOCUMENTS.public.paths as Record<string, { post: { requestBody: { content: Record<string, unknown> } } }>)['/v1/videos']?.post.requestBody.content ?? {};
    expect(Object.keys(upload)).toEqual([...UPLOAD_MEDIA_TYPES, 'multipart/form-data']);
  });
});

describe('OpenAPI documents, kept', () => {
  for (const [name, document] of Object.entries(DOCUMENTS)) {
    const file = FIXTURES[name as keyof typeof FIXTURES];
    it(`the ${name} one equals test/fixtures/${file}: a change to the API is deliberate (regenerate the file and say so)`, () => {
      const kept = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', file), 'utf8'));
      expect(document).toEqual(kept);
      expect(JSON.stringify(document)).toBe(JSON.stringify(kept));
    });
  }
});
