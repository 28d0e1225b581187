import { z } from 'zod';
import { TEXT_DICTIONARY_V1 } from '../bitstream/dictionary';
import { renderStreamLimits } from '../bitstream/stream-limits';
import { GENERATION_TIMING, GPU_FUNCTION_CONTRACT, GPU_FUNCTIONS, SHARED_GPU_SCHEMAS } from './contract';
import { GPU_TARGETS } from './modal-targets';

const SCHEMA_ID_BASE = 'https://cmvc.dev/schemas/gpu/';

/** The key of a function's request schema that names the Modal GPU classes it calls (`gpuClasses`). */
export const GPU_CLASSES_KEY = 'x-cmvc-gpu-classes';

function render(name: string, schema: z.ZodType, extra: Record<string, unknown> = {}): string {
  const io = name.endsWith('.request') ? 'input' : 'output';
  const json = { $id: `${SCHEMA_ID_BASE}${name}.json`, ...extra, ...z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * Renders every GPU contract shape as JSON Schema (draft 2020-12), file name → file text: each
 * function's `{name}.request.json` and `{name}.response.json` (the files the Python side finds the
 * functions by), then the shared shapes, and `timing.json` (`GENERATION_TIMING`). Requests are rendered as their input side (fields with
 * defaults may be omitted), responses as their output side (what a conforming function must send).
 */
export function renderGpuSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const fn of GPU_FUNCTIONS) {
    const spec = GPU_FUNCTION_CONTRACT[fn];
    files[`${fn}.request.json`] = render(`${fn}.request`, spec.request, { [GPU_CLASSES_KEY]: spec.gpuClasses });
    files[`${fn}.response.json`] = render(`${fn}.response`, spec.response);
  }
  for (const [name, schema] of Object.entries(SHARED_GPU_SCHEMAS)) files[`${name}.json`] = render(name, schema);
  // Not a schema: the generation's timing, which the Modal app and gpu:plan read (contract.timing()).
  files['timing.json'] = `${JSON.stringify(GENERATION_TIMING, null, 2)}\n`;
  return files;
}

/** Bitstream facts other languages need, file name → file text (`schemas/bitstream/`): the text dictionary v1 and what a stream may ask for. */
export function renderBitstreamFiles(): Record<string, string> {
  return { 'text-dictionary-v1.txt': TEXT_DICTIONARY_V1, 'limits.json': renderStreamLimits() };
}

/**
 * What the Modal app must deploy besides one function per contract function (`schemas/gpu-targets.json`):
 * the GPU classes and the web endpoint. The Python side checks `modal_app.py` against it, and finds the
 * contract functions by their schemas, so a new function leaves this file unchanged.
 */
export function renderGpuTargets(): string {
  const functions: readonly string[] = GPU_FUNCTIONS;
  return `${JSON.stringify({ targets: GPU_TARGETS.filter((t) => !functions.includes(t.name)) }, null, 2)}\n`;
}
