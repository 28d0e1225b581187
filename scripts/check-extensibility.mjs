#!/usr/bin/env node
// `npm run check:extensibility`: the README's file counts, reproduced. In a temporary worktree of the current
// commit (only committed work is checked) it
//   1. adds a mode to MODES alone (src/shared/modes.ts) and expects the typecheck and the Python mode test to
//      fail, naming every place that does something per mode (the modes are handled exhaustively);
//   2. applies the example mode (scripts/extensibility/example-mode.patch: every such place says what the mode
//      does), and
//   3. the example GPU function (scripts/extensibility/example-gpu-function.patch: `upscale`, served end to end by
//      the reference engine),
// each on a clean tree: the generated schemas must come out as the patch has them, the typecheck and the contract
// tests must pass, and the diffstat is printed. Exits non-zero when any step does not go as said.
//   --keep   leave the temporary worktree for inspection
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const PATCHES = join(root, 'scripts', 'extensibility');
const MODES_FILE = 'src/shared/modes.ts';
const MODES_LINE = /export const MODES = \[([^\]]*)\] as const;/;
/** The places that must refuse an unstated mode: the typecheck's (TypeScript) and the mode test's (Python). */
const MODE_PLACES_TS = ['src/generation/plan.ts', 'src/reconstruction/hls.ts', 'src/client/decode/decoder.ts'];
const MODE_PLACES_PY = ['engines/reference generate', 'engines/model segment plan', 'engines/model prompts'];
/** The contract tests run after each example. */
const NODE_TESTS = ['test/node/declared-once.test.ts', 'test/node/schemas.test.ts', 'test/node/openapi.test.ts', 'test/node/layers.test.ts', 'test/node/client-bundle.test.ts', 'test/node/plan-top.test.ts', 'test/node/gpu-cost.test.ts'];
const WORKERS_TESTS = ['test/workers/openapi-routes.test.ts'];
const PYTHON_TESTS = ['tests/test_modes.py', 'tests/test_contract_names.py', 'tests/test_contract_defaults.py', 'tests/test_layers.py'];

const git = (cwd, ...args) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
if (git(root, 'status', '--porcelain', '--untracked-files=no')) console.warn('[extensibility] the work tree has uncommitted changes: they are not part of this check');
const python = join(root, 'gpu-functions', '.venv', 'bin', 'python');
if (!existsSync(python)) execFileSync('node', [join(root, 'scripts', 'setup-python.mjs'), '--quiet'], { stdio: 'inherit' });

const tree = join(mkdtempSync(join(tmpdir(), 'cmvc-extensibility-')), 'tree');
git(root, 'worktree', 'add', '-q', '--detach', tree, 'HEAD');
// The dependencies come from this checkout (links, which git leaves out of every diff below).
symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
symlinkSync(join(root, 'gpu-functions', '.venv'), join(tree, 'gpu-functions', '.venv'));
console.log(`[extensibility] ${git(root, 'rev-parse', '--short=12', 'HEAD')} in ${tree}`);

let failures = 0;
const fail = (message) => {
  failures++;
  console.error(`[extensibility] FAILED: ${message}`);
};

/** Runs a command in the worktree; its output is kept (and printed when `show`). */
function run(cmd, args, { cwd = tree, show = false } = {}) {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout}${result.stderr}`;
  if (show) process.stdout.write(output);
  return { ok: result.status === 0, output };
}

const typecheck = () => run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.json']).output + run('npx', ['tsc', '--noEmit', '-p', 'tsconfig.node.json']).output;
const schemasDigest = () =>
  readdirSync(join(tree, 'schemas', 'gpu'))
    .sort()
    .reduce((hash, name) => hash.update(name).update(readFileSync(join(tree, 'schemas', 'gpu', name))), createHash('sha256'))
    .digest('hex');
const reset = () => {
  git(tree, 'reset', '-q', '--hard');
  git(tree, 'clean', '-fdq', '-e', 'node_modules', '-e', 'gpu-functions/.venv');
};

function step(title) {
  console.log(`\n[extensibility] ── ${title}`);
}

// 1. A mode added to MODES alone: every place that does something per mode refuses it.
step('1. a mode added to MODES alone: the typecheck and the Python mode test must name every place');
{
  const file = join(tree, MODES_FILE);
  const text = readFileSync(file, 'utf8');
  if (!MODES_LINE.test(text)) fail(`${MODES_FILE} no longer declares MODES as this check expects`);
  writeFileSync(file, text.replace(MODES_LINE, (_, list) => `export const MODES = [${list}, 'xt2v'] as const;`));
  run('npm', ['run', 'schemas']);
  const named = [...new Set([...typecheck().matchAll(/^(src\/[^(]+)\(\d+,\d+\): error/gm)].map((m) => m[1]))].sort();
  console.log(`typecheck refuses it in: ${named.join(', ') || 'nothing'}`);
  for (const place of MODE_PLACES_TS) if (!named.includes(place)) fail(`the typecheck does not refuse the unstated mode in ${place}`);
  const pytest = run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests/test_modes.py'], { cwd: join(tree, 'gpu-functions') });
  const refused = [...new Set([...pytest.output.matchAll(/RuntimeError: (.+?) must say what each reconstruction mode does/g)].map((m) => m[1]))].sort();
  console.log(`tests/test_modes.py ${pytest.ok ? 'passes' : 'fails'}, refusing it in: ${refused.join(', ') || 'nothing'}`);
  if (pytest.ok) fail('the Python mode test passes with an unstated mode');
  for (const place of MODE_PLACES_PY) if (!refused.includes(place)) fail(`Python does not refuse the unstated mode in ${place}`);
  reset();
}

/** Applies an example, checks that the schemas regenerate as it has them, runs the checks, prints the diffstat. */
function example(title, patch) {
  step(title);
  const applied = run('git', ['apply', '--index', join(PATCHES, patch)]);
  if (!applied.ok) {
    fail(`${patch} no longer applies (regenerate it from a tree where the example is made again):\n${applied.output}`);
    return reset();
  }
  const before = schemasDigest();
  run('npm', ['run', 'schemas']);
  if (schemasDigest() !== before) fail(`npm run schemas changes what ${patch} generated: the patch is stale`);
  const errors = typecheck().match(/error TS\d+.*/g) ?? [];
  console.log(`typecheck: ${errors.length === 0 ? 'ok' : `${errors.length} errors`}`);
  if (errors.length > 0) fail(`typecheck after ${patch}:\n${errors.join('\n')}`);
  const changed = git(tree, 'diff', '--cached', '--name-only').split('\n').filter(Boolean);
  const addedTests = changed.filter((f) => f.startsWith('gpu-functions/tests/')).map((f) => f.slice('gpu-functions/'.length));
  for (const [label, result] of [
    ['node', run('npx', ['vitest', 'run', '--project', 'node', ...NODE_TESTS])],
    ['workers', run('npx', ['vitest', 'run', '--project', 'workers', ...WORKERS_TESTS])],
    ['python', run(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', ...PYTHON_TESTS, ...addedTests], { cwd: join(tree, 'gpu-functions') })],
  ]) {
    const summary = result.output.match(/Tests\s+(.*\(\d+\))/)?.[1] ?? result.output.trim().split('\n').at(-1);
    console.log(`${label} contract tests: ${result.ok ? 'ok' : 'FAILED'} (${summary})`);
    if (!result.ok) fail(`${label} contract tests after ${patch}:\n${result.output.slice(-4000)}`);
  }
  console.log(git(tree, 'diff', '--cached', '--stat'));
  const isTest = (f) => f.startsWith('test/') || f.startsWith('gpu-functions/tests/');
  const generated = changed.filter((f) => f.startsWith('schemas/'));
  const source = changed.filter((f) => !isTest(f) && !f.startsWith('schemas/'));
  console.log(`files: ${source.length} source, ${generated.length} generated (npm run schemas), ${changed.filter(isTest).length} tests and fixtures`);
  reset();
}

try {
  example('2. the example mode (xt2v, made as it2v at every place that says what a mode does)', 'example-mode.patch');
  example('3. the example GPU function (upscale, served end to end by the reference engine)', 'example-gpu-function.patch');
} finally {
  if (keep) console.log(`\n[extensibility] kept ${tree}`);
  else {
    git(root, 'worktree', 'remove', '--force', tree);
    rmSync(join(tree, '..'), { recursive: true, force: true });
  }
}
console.log(`\n[extensibility] ${failures === 0 ? 'ok' : `${failures} failure(s)`}`);
process.exit(failures === 0 ? 0 : 1);
