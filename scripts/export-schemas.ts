/** Writes schemas/gpu/*.json from the zod contract in src/gpu/contract.ts. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderBitstreamFiles, renderGpuSchemas, renderGpuTargets } from '../src/gpu/schema-export';

const dir = join(import.meta.dirname, '..', 'schemas', 'gpu');
mkdirSync(dir, { recursive: true });
const files = renderGpuSchemas();
for (const stale of readdirSync(dir)) if (!(stale in files)) rmSync(join(dir, stale));
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
console.log(`wrote ${Object.keys(files).length} schemas to ${dir}`);

// The bitstream's text dictionary: the Python encoder sizes coded texts with it to hit a target rate.
const bitstreamDir = join(import.meta.dirname, '..', 'schemas', 'bitstream');
mkdirSync(bitstreamDir, { recursive: true });
for (const [name, text] of Object.entries(renderBitstreamFiles())) writeFileSync(join(bitstreamDir, name), text);

// What the Modal app deploys, so the Python side can check modal_app.py against the CLI's targets.
writeFileSync(join(import.meta.dirname, '..', 'schemas', 'gpu-targets.json'), renderGpuTargets());
