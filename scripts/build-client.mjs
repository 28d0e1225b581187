#!/usr/bin/env node
// Bundles the browser client (src/client) into public/client/cmvc-client.js: ESM, minified, no Node
// imports (the build fails if one sneaks in). Prints raw and gzipped sizes; --json prints them as JSON.
// `buildClient()` is what `wrangler dev`/`deploy` run, and what test/node/client-bundle.test.ts reads the
// metafile of: the modules the browser gets.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const outfile = join(root, 'public', 'client', 'cmvc-client.js');

/** The bundle's esbuild options; `write: false` keeps it in memory. */
export function buildClient({ write = true } = {}) {
  if (write) mkdirSync(join(root, 'public', 'client'), { recursive: true });
  return build({
    entryPoints: [join(root, 'src', 'client', 'browser.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    treeShaking: true,
    metafile: true,
    write,
    absWorkingDir: root,
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildClient();
  const bytes = readFileSync(outfile);
  const sizes = { bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
  if (process.argv.includes('--json')) console.log(JSON.stringify(sizes));
  else console.log(`public/client/cmvc-client.js: ${sizes.bytes} bytes, ${sizes.gzipBytes} gzipped`);
}
