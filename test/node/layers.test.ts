/**
 * Layers only point down: every folder of src/ (and each file at its root) is a room with the rooms its modules may
 * import from, stated here and nowhere else; the README's table of the rooms' imports is checked against it. A
 * folder without a rule fails, so a new room says where it stands before it grows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** Room → the rooms it may import (its own always). A nested room (`client/decode`) is apart from its parent. */
const MAY_IMPORT: Record<string, string[]> = {
  bitstream: [],
  http: [],
  shared: ['bitstream'],
  gpu: ['bitstream', 'shared'],
  auth: ['http', 'shared', 'gpu'],
  storage: ['http', 'auth', 'gpu'],
  cache: ['bitstream', 'http', 'shared'],
  videos: ['bitstream', 'http', 'gpu', 'auth', 'cache'],
  jobs: ['bitstream', 'http', 'gpu', 'auth', 'storage', 'cache', 'videos'],
  uploads: ['http', 'gpu', 'auth', 'cache', 'jobs', 'videos'],
  generation: ['bitstream', 'http', 'shared', 'gpu', 'auth', 'storage', 'cache'],
  reconstruction: ['bitstream', 'http', 'shared', 'gpu', 'auth', 'cache', 'generation', 'videos'],
  live: ['bitstream', 'http', 'gpu', 'auth', 'cache', 'videos', 'jobs', 'uploads'],
  openapi: ['bitstream', 'http', 'gpu', 'auth', 'uploads', 'videos', 'live'],
  routes: ['bitstream', 'http', 'shared', 'gpu', 'auth', 'storage', 'cache', 'videos', 'jobs', 'uploads', 'reconstruction', 'live', 'openapi'],
  'client/decode': ['bitstream', 'shared'],
  client: ['bitstream', 'shared', 'client/decode'],
  cli: ['bitstream', 'shared', 'gpu', 'client', 'client/decode', 'openapi'],
  'app.ts': ['http', 'cache', 'openapi', 'routes'],
  'index.ts': ['app.ts', 'auth', 'generation', 'jobs', 'videos', 'live'],
};

/** Today's knots, each an import the rules above must refuse (the layer test's own test). */
const KNOTS: Edge[] = [
  { from: 'cache/artifacts.ts', to: 'generation/ensure-artifact' },
  { from: 'cache/artifacts.ts', to: 'generation/plan' },
  { from: 'cache/artifacts.ts', to: 'auth/admit-generation' },
  { from: 'cache/artifacts.ts', to: 'videos/store' },
  { from: 'client/decode/decoder.ts', to: 'cache/reconstruction-options' },
  { from: 'client/decode/decoder.ts', to: 'generation/keyframe-grid' },
  { from: 'client/decode/decoder.ts', to: 'gpu/contract' },
  { from: 'client/decode/decoder.ts', to: 'client/player' },
  { from: 'client/index.ts', to: 'gpu/contract' },
  { from: 'routes/reconstruct.ts', to: 'generation/plan' },
];

interface Edge {
  from: string;
  to: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function folders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [relative(SRC, join(dir, e.name)), ...folders(join(dir, e.name))]);
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => relative(SRC, resolve(dirname(file), m[1] as string)));
}

// Imports from outside src/ (schemas/*.json) are data, not layers.
const edges: Edge[] = files(SRC).flatMap((file) => imports(file).filter((to) => !to.startsWith('..')).map((to) => ({ from: relative(SRC, file), to })));

/** The room of a path under src/: the longest rule that names its folder, or the file itself at the root. */
function roomOf(path: string): string | undefined {
  // `../bitstream` names a folder's index module: the room is the folder itself.
  if (MAY_IMPORT[path] !== undefined) return path;
  const parts = path.replace(/\.ts$/, '').split('/');
  if (parts.length === 1) return MAY_IMPORT[`${path.replace(/\.ts$/, '')}.ts`] !== undefined ? `${path.replace(/\.ts$/, '')}.ts` : undefined;
  for (let n = parts.length - 1; n >= 1; n--) {
    const folder = parts.slice(0, n).join('/');
    if (MAY_IMPORT[folder] !== undefined) return folder;
  }
  return undefined;
}

/** The imports that break a rule, as `from -> to`. */
function violations(all: readonly Edge[]): string[] {
  return all
    .filter(({ from, to }) => {
      const a = roomOf(from);
      const b = roomOf(to);
      return a === undefined || b === undefined || (a !== b && !(MAY_IMPORT[a] as string[]).includes(b));
    })
    .map(({ from, to }) => `${from} -> ${to} (${roomOf(from) ?? '?'} may import ${(MAY_IMPORT[roomOf(from) ?? ''] ?? []).join(', ') || 'nothing'})`);
}

/** The README's table under "may import": room → rooms, in its words. */
function readmeTable(): Record<string, string[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('| room | may import |');
  expect(start, 'README.md has a table "| room | may import |"').toBeGreaterThan(0);
  const rows = readme.slice(start).split('\n').slice(2);
  const table: Record<string, string[]> = {};
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [room, allowed] = row.split('|').slice(1, 3).map((cell) => cell.trim()) as [string, string];
    const names = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => (m[1] as string).replace(/\/$/, ''));
    table[names(room)[0] as string] = allowed === '—' ? [] : names(allowed);
  }
  return table;
}

describe('layers', () => {
  it('finds the import graph', () => {
    expect(edges.length).toBeGreaterThan(200);
  });

  it('has a rule for every folder of src/ and every file at its root, and none for a folder that is gone', () => {
    const rooms = [...folders(SRC), ...readdirSync(SRC).filter((name) => name.endsWith('.ts'))];
    expect(rooms.filter((room) => MAY_IMPORT[room] === undefined)).toEqual([]);
    expect(Object.keys(MAY_IMPORT).filter((room) => !rooms.includes(room))).toEqual([]);
  });

  it('every import keeps its room\'s rule', () => {
    expect(violations(edges)).toEqual([]);
  });

  it('the rules point down: no room may import, directly or not, a room that may import it', () => {
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean =>
      (MAY_IMPORT[from] ?? []).some((next) => {
        if (next === to) return true;
        if (seen.has(next)) return false;
        seen.add(next);
        return reaches(next, to, seen);
      });
    expect(Object.keys(MAY_IMPORT).filter((room) => reaches(room, room))).toEqual([]);
  });

  it('refuses each knot it was written against', () => {
    for (const knot of KNOTS) expect(violations([knot]), `${knot.from} -> ${knot.to}`).toHaveLength(1);
  });

  it('the README states the same rules', () => {
    const table = readmeTable();
    const sorted = (rules: Record<string, string[]>) => Object.fromEntries(Object.entries(rules).map(([room, allowed]) => [room, [...allowed].sort()]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    expect(sorted(table)).toEqual(sorted(MAY_IMPORT));
  });
});
