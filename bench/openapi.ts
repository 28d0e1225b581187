/**
 * The hand-assembled OpenAPI document (src/openapi/document.ts: paths written out, schemas from the zod
 * shapes by `z.toJSONSchema`) against @hono/zod-openapi deriving it from routes declared with
 * `createRoute`: `npx tsx bench/openapi.ts` (or `npm run bench openapi`).
 *
 * Measured on the one route both can state without rewriting the app (GET /v1/videos/{id}): whether the
 * library renders the same response schemas from the same zod shapes, and the time to build a document.
 */
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { openApiDocument } from '../src/openapi/document';
import { ErrorBody, VideoView } from '../src/openapi/shapes';

const RUNS = 200;

type Json = Record<string, unknown>;
const at = (doc: unknown, ...path: string[]): unknown => path.reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc);

function libraryDocument(): Json {
  const app = new OpenAPIHono();
  const route = createRoute({
    method: 'get',
    path: '/v1/videos/{id}',
    operationId: 'getVideo',
    request: { params: z.object({ id: z.string() }) },
    responses: {
      200: { description: 'the video', content: { 'application/json': { schema: VideoView } } },
      404: { description: 'not found', content: { 'application/json': { schema: ErrorBody } } },
    },
  });
  app.openapi(route, (c) => c.json({} as z.infer<typeof VideoView>, 200));
  return app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'CMVC Edge', version: '1' } }) as unknown as Json;
}

/** JSON pointers where `a` and `b` differ (a key on one side only, or unequal leaves). */
function differences(a: unknown, b: unknown, path = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return isDeepStrictEqual(a, b) ? [] : [path || '/'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => differences((a as Json)[k], (b as Json)[k], `${path}/${k}`));
}

function microseconds(build: () => unknown): number {
  build();
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) build();
  return Number((((performance.now() - started) / RUNS) * 1000).toFixed(0));
}

export async function runOpenApiBench() {
  const ours = openApiDocument('/');
  const library = libraryDocument();
  const compare = (status: string) => {
    const mine = at(ours, 'paths', '/v1/videos/{id}', 'get', 'responses', status, 'content', 'application/json', 'schema');
    const theirs = at(library, 'paths', '/v1/videos/{id}', 'get', 'responses', status, 'content', 'application/json', 'schema');
    return { same: isDeepStrictEqual(mine, theirs), differences: differences(mine, theirs) };
  };
  const ok = compare('200');
  const notFound = compare('404');
  const result = {
    sameSchema200: ok.same,
    sameSchema404: notFound.same,
    differences200: ok.differences,
    differences404: notFound.differences,
    microsecondsPerDocument: { oursWholeDocument: microseconds(() => openApiDocument('/')), libraryOneRoute: microseconds(libraryDocument) },
  };
  console.log('\nOpenAPI document: hand-assembled paths vs @hono/zod-openapi (GET /v1/videos/{id}):');
  console.log(`same 200 schema: ${result.sameSchema200}; same 404 schema: ${result.sameSchema404}`);
  console.log(`µs per build: ours (whole document, ${Object.keys(ours.paths as Json).length} paths) ${result.microsecondsPerDocument.oursWholeDocument}, library (one route) ${result.microsecondsPerDocument.libraryOneRoute}`);
  console.log(`differences in the 200 schema (${ok.differences.length}): ${ok.differences.join(' ')}`);
  console.log(`differences in the 404 schema (${notFound.differences.length}): ${notFound.differences.join(' ')}`);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runOpenApiBench();
