#!/usr/bin/env node
// Bundles the browser client (src/client) into public/client/cmvc-client.js: ESM, minified, no Node
// imports (the build fails if one sneaks in). Prints raw and gzipped sizes; --json prints them as JSON.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const outfile = join(root, 'public', 'client', 'cmvc-client.js');
mkdirSync(join(root, 'public', 'client'), { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'client', 'browser.ts')],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  treeShaking: true,
  logLevel: 'warning',
});
const bytes = readFileSync(outfile);
const sizes = { bytes: bytes.byteLength, gzipBytes: gzipSync(bytes, { level: 9 }).byteLength };
if (process.argv.includes('--json')) console.log(JSON.stringify(sizes));
else console.log(`public/client/cmvc-client.js: ${sizes.bytes} bytes, ${sizes.gzipBytes} gzipped`);
