import { describe, expect, it } from 'vitest';
import { app } from '../../src/app';
import { documentedPaths } from '../../src/openapi/route-methods';
import { MODES } from '../../src/shared/modes';
import { call } from './helpers';
import { errorBody } from '../json';

/** The modes as a route pattern spells them (`tt2v\|it2v`), escaped for a RegExp. */
const MODE_PATTERN = MODES.join('\\|');

/** Hono's `/:id/:file{(tt2v|it2v)\.mp4}` → OpenAPI's `/{id}/{mode}.mp4`, and so on. */
function toOpenApiPath(path: string): string {
  return path
    .replace(new RegExp(`:file\\{\\(${MODE_PATTERN}\\)\\\\\\.(mp4|m3u8)\\}`), '{mode}.$1')
    .replace(new RegExp(`:mode\\{${MODE_PATTERN}\\}`), '{mode}')
    .replace(/:file\{\[0-9\]\{1,5\}\\\.(mp4|ts)\}/, '{n}.$1')
    .replace(/:([a-z]+)/g, '{$1}')
    .replace(/\/$/, '') || '/';
}

describe('OpenAPI coverage', () => {
  it('documents every route the app serves, in the public document or the internal one, and nothing it does not', () => {
    const served = new Set(
      app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${toOpenApiPath(r.path)}`),
    );
    const documented = new Set(
      Object.entries(documentedPaths()).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)),
    );
    expect([...served].sort()).toEqual([...documented].sort());
  });

  it('serves the public document without any internal route, and the internal one to an admin key only', async () => {
    const served = (await (await call('/openapi.json', { key: null })).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(served.paths).filter((path) => path.startsWith('/internal'))).toEqual([]);
    expect((await call('/internal/openapi.json', { key: null })).status).toBe(401);
    const created = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'reader', scopes: ['read', 'encode', 'reconstruct'] }) });
    const { secret } = (await created.json()) as { secret: string };
    expect((await call('/internal/openapi.json', { key: secret })).status).toBe(403);
    const internal = await call('/internal/openapi.json');
    expect(internal.status).toBe(200);
    expect(internal.headers.get('Cache-Control')).toBe('no-store');
    const doc = (await internal.json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).sort()).toEqual(['/internal/artifacts/{bitstream}/{file}', '/internal/bitstreams/{file}', '/internal/openapi.json', '/internal/sources/{id}']);
  });

  it('serves the document and an offline docs page', async () => {
    const doc = (await (await call('/openapi.json', { key: null })).json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
    const docs = await call('/docs', { key: null });
    const html = await docs.text();
    expect(html).toContain('/v/{id}/{mode}.mp4');
    expect(html).not.toMatch(/<script|https?:\/\/cdn/);
  });
});

describe('methods', () => {
  it('answers 405 with Allow for a documented path asked with another method', async () => {
    const response = await call('/v1/keys', { method: 'PUT', key: null });
    expect(response.status).toBe(405);
    expect(response.headers.get('Allow')).toBe('POST, GET, HEAD, OPTIONS');
    expect((await errorBody(response)).code).toBe('method_not_allowed');
    expect((await call('/v/vid_00000000000000000000000000/it2v.mp4', { method: 'DELETE', key: null })).status).toBe(405);
    expect((await call('/nowhere', { method: 'PUT', key: null })).status).toBe(404);
  });

  it('answers 404, not 405, for a documented method on a path no route takes (found by Schemathesis)', async () => {
    for (const path of ['/v/vid_00000000000000000000000000/AAA.mp4', '/v/vid_00000000000000000000000000/tt2v/%C2%84.ts', '/v/vid_00000000000000000000000000/xx.m3u8']) {
      const response = await call(path, {});
      expect(response.status, path).toBe(404);
      expect(response.headers.get('Allow'), path).toBeNull();
    }
  });
});

describe('query strictness (found by Schemathesis)', () => {
  it('refuses an empty or non-numeric list cursor instead of reading it as the first page', async () => {
    for (const cursor of ['', 'abc', '1e3']) {
      const response = await call(`/v1/videos?cursor=${cursor}`, {});
      expect(response.status, cursor).toBe(400);
      expect((await errorBody(response)).details).toHaveProperty('option', 'cursor');
    }
    expect((await call('/v1/videos?cursor=123', {})).status).toBe(200);
  });
});
