import { z } from 'zod';
import { TEXT_DICTIONARY_V1 } from '../bitstream/dictionary';
import { GPU_SCHEMAS } from './contract';
import { GPU_TARGETS } from './modal-targets';

const SCHEMA_ID_BASE = 'https://cmvc.dev/schemas/gpu/';

/**
 * Renders every GPU contract shape as JSON Schema (draft 2020-12), file name → file text.
 * Requests are rendered as their input side (fields with defaults may be omitted), responses
 * as their output side (what a conforming function must send).
 */
export function renderGpuSchemas(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(GPU_SCHEMAS)) {
    const io = name.endsWith('.request') ? 'input' : 'output';
    const json = { $id: `${SCHEMA_ID_BASE}${name}.json`, ...z.toJSONSchema(schema, { io, target: 'draft-2020-12' }) };
    files[`${name}.json`] = `${JSON.stringify(json, null, 2)}\n`;
  }
  return files;
}

/** Bitstream facts other languages need, file name → file text (`schemas/bitstream/`): the text dictionary v1. */
export function renderBitstreamFiles(): Record<string, string> {
  return { 'text-dictionary-v1.txt': TEXT_DICTIONARY_V1 };
}

/** What the Modal app must deploy (`schemas/gpu-targets.json`): the Python side checks `modal_app.py` against it. */
export function renderGpuTargets(): string {
  return `${JSON.stringify({ targets: GPU_TARGETS }, null, 2)}\n`;
}
