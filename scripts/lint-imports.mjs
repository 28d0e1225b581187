#!/usr/bin/env node
// The second half of `npm run lint`: a module is imported by one statement per file (values and
// `type` names together). Biome 2.6 has no lint rule for this; its organizeImports assist would merge
// such imports, but it also reorders every file's imports, which this lint does not impose.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const FOLDERS = ['src', 'test', 'scripts', 'bench', 'bin'];
const IMPORT = /^import\s[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm;

/** `file:line: module imported again (first on line N)` for each repeated import in `text`. */
export function duplicateImports(file, text) {
  const first = new Map();
  const found = [];
  for (const match of text.matchAll(IMPORT)) {
    const line = text.slice(0, match.index).split('\n').length;
    const seen = first.get(match[1]);
    if (seen === undefined) first.set(match[1], line);
    else found.push(`${file}:${line}: '${match[1]}' imported again (first on line ${seen}); merge the two statements`);
  }
  return found;
}

if (import.meta.main) {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...FOLDERS], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|mts|mjs|js)$/.test(f));
  const found = files.flatMap((f) => duplicateImports(f, readFileSync(join(root, f), 'utf8')));
  for (const line of found) console.error(line);
  if (found.length > 0) process.exit(1);
  console.log(`imports: ${files.length} files, one statement per module`);
}
