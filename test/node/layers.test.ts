/** Layers only point down: each rule names a folder of src/ and the folders its modules may import from. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

/** Folder → folders it may import (its own always). */
const MAY_IMPORT: Record<string, string[]> = {
  bitstream: [],
  http: [],
  gpu: ['bitstream'],
  auth: ['http', 'gpu'],
  storage: ['http', 'auth', 'gpu'],
};

/** Only the app wires these together; no capability reaches up into them. */
const TOP = ['routes', 'openapi/document.ts', 'openapi/route-methods.ts', 'app.ts', 'index.ts'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => relative(SRC, resolve(dirname(file), m[1] as string)));
}

// Imports from outside src/ (schemas/*.json) are data, not layers.
const edges = files(SRC).flatMap((file) => imports(file).filter((to) => !to.startsWith('..')).map((to) => ({ from: relative(SRC, file), to })));
const folderOf = (path: string) => path.split('/')[0] as string;

describe('layers', () => {
  it('finds the import graph', () => {
    expect(edges.length).toBeGreaterThan(200);
  });

  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only from ${[folder, ...allowed].join(', ')}`, () => {
      const upward = edges.filter((e) => folderOf(e.from) === folder && folderOf(e.to) !== folder && !allowed.includes(folderOf(e.to)));
      expect(upward).toEqual([]);
    });
  }

  it('no capability imports the routes, the API document or the app', () => {
    const isTop = (path: string) => TOP.some((top) => path === top || path === top.replace(/\.ts$/, '') || path.startsWith(`${top}/`));
    const upward = edges.filter((e) => !isTop(e.from) && isTop(e.to));
    expect(upward).toEqual([]);
  });

  // The API document renders shapes that their capabilities own (videos/view-shapes, auth/key-view); a capability
  // that imported openapi/ would make the document's module a dependency of the code it documents.
  it('no capability imports openapi/ (only the app, the routes and the CLI read it)', () => {
    const reader = (path: string) => TOP.some((top) => path === top || path.startsWith(`${top}/`)) || path.startsWith('openapi/') || path.startsWith('cli/');
    const upward = edges.filter((e) => !reader(e.from) && folderOf(e.to) === 'openapi');
    expect(upward).toEqual([]);
  });
});
