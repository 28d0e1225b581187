/**
 * The reference engine's side of the decoder agreement tests: encodes clips with the Python reference engine
 * (gpu-functions/scripts/reference_it2v.py), writes their bitstreams with the Worker's writer, and renders the
 * frames the reference `generate` makes for the generate requests the Worker would send for them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBitstream, type Bitstream } from '../../../src/bitstream';
import { parseReconstructionOptions } from '../../../src/shared/reconstruction-options';
import type { RgbImage } from '../../../src/client/decode';
import { planReconstruction } from '../../../src/generation/plan';
import { bytesToBase64 } from '../../../src/http/base64';
import type { EncodeResponse, GenerateRequest, Mode } from '../../../src/gpu/contract';
import { bitstreamFromEncode } from '../../../src/jobs/bitstream-from-encode';

const ROOT = join(import.meta.dirname, '../../..');
const PYTHON = join(ROOT, 'gpu-functions/.venv/bin/python');
const SCRIPT = join(ROOT, 'gpu-functions/scripts/reference_it2v.py');
export const SAMPLE_CLIP = join(ROOT, 'test/fixtures/cup-4s.mp4');

/** The bitstream of `clip` (a file, or `pan:P` / `zoom:Z`) as the stack would store it after a reference encode (with its sound at `audioKbps`; 0: none). */
export function referenceBitstream(clip: string, targetKbps?: number, audioKbps = 0): Uint8Array {
  const args = [SCRIPT, 'encode', clip, ...(targetKbps === undefined ? [] : ['--target-kbps', String(targetKbps)]), '--audio-kbps', String(audioKbps)];
  const result = JSON.parse(execFileSync(PYTHON, args, { maxBuffer: 64 << 20 }).toString('utf8')) as EncodeResponse;
  return writeBitstream(bitstreamFromEncode(result));
}

/** The generate request the Worker sends for segment `n` at the stream's default options. */
export async function generateRequest(bitstream: Bitstream, n: number, mode: Mode): Promise<Omit<GenerateRequest, 'output'>> {
  const h = bitstream.header;
  const options = parseReconstructionOptions(new URLSearchParams(), { width: h.width, height: h.height, fps: h.fpsNum / h.fpsDen, seed: h.seed });
  const spec = await planReconstruction({ bitstream, bitstreamHash: '0'.repeat(64), mode, segment: n, options, engine: 'reference@test' });
  if (spec.kind !== 'generate') throw new Error(`expected a generate spec, got ${spec.kind}`);
  // Planned without a place to find stored images, every keyframe travels inline, as the coordinator sends it.
  const keyframes = spec.request.segment.keyframes.map((k) => {
    if (!('image' in k)) throw new Error('a keyframe was planned by where it is stored');
    const { image, ...fields } = k;
    return { ...fields, data: bytesToBase64(image) };
  });
  return { ...spec.request, segment: { ...spec.request.segment, keyframes } };
}

/** The frames the reference engine renders for each segment of `bitstream` in `mode`, in order. */
export async function referenceFrames(bitstream: Bitstream, mode: Mode): Promise<RgbImage[]> {
  const requests = await Promise.all(bitstream.segments.map((_, n) => generateRequest(bitstream, n, mode)));
  const dir = mkdtempSync(join(tmpdir(), 'cmvc-ref-'));
  try {
    const out = join(dir, 'frames.rgb');
    execFileSync(PYTHON, [SCRIPT, 'frames', out], { input: JSON.stringify(requests), maxBuffer: 1 << 20 });
    const bytes = new Uint8Array(readFileSync(out));
    const frames: RgbImage[] = [];
    let offset = 0;
    for (const r of requests) {
      const size = r.width * r.height * 3;
      for (let i = 0; i < r.frameCount; i++, offset += size) frames.push({ width: r.width, height: r.height, data: bytes.subarray(offset, offset + size) });
    }
    if (offset !== bytes.length) throw new Error(`the reference wrote ${bytes.length} bytes, expected ${offset}`);
    return frames;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
