/**
 * What planning costs a reconstruction request that the cache then answers (`npm run bench -- plan`):
 * the whole-video plan of a stream of 1 and of 60 segments, beside the least a cache lookup needs
 * (the artifact keys alone) and beside the plan with every inline keyframe base64-coded, as plans
 * were before keyframes stayed bytes until a call is made. Same process, same streams.
 */
import { fileURLToPath } from 'node:url';
import { readBitstream, writeBitstream, type Bitstream } from '../src/bitstream';
import { artifactId } from '../src/cache/artifact-key';
import { parseReconstructionOptions } from '../src/shared/reconstruction-options';
import { planReconstruction, type GenerationSpec } from '../src/generation/plan';
import { bytesToBase64 } from '../src/http/base64';

const ROUNDS = 3;

function stream(segments: number, keyframeBytes: number): Bitstream {
  const written: Bitstream = {
    header: { width: 1280, height: 720, fpsNum: 24, fpsDen: 1, frameCount: 240 * segments, durationMs: 10_000 * segments, engineId: 'reference', engineVersion: 'bench', models: {}, seed: 1 },
    segments: Array.from({ length: segments }, (_, i) => ({
      startFrame: i * 240,
      frameCount: 240,
      contentText: `scene ${i}: a cup on a wooden table by a window`,
      motionText: 'the camera pans right about 2% of the width per second',
      keyframes: [{ codec: 'webp' as const, width: 640, height: 360, data: new Uint8Array(keyframeBytes).fill(i % 251), frameIndex: 0, priority: 255 }],
    })),
  };
  return readBitstream(writeBitstream(written));
}

/** Median milliseconds per call of `run` over ROUNDS rounds of `n` calls. */
async function msPer(n: number, run: () => Promise<unknown>): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    for (let i = 0; i < n; i++) await run();
    rounds.push((performance.now() - started) / n);
  }
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] as number;
}

const codeInline = (spec: GenerationSpec): void => {
  if (spec.kind === 'generate') {
    for (const k of spec.request.segment.keyframes) if ('image' in k) bytesToBase64(k.image);
  } else if (spec.kind === 'interpolate') {
    codeInline(spec.input);
  } else {
    for (const part of spec.inputs) codeInline(part);
  }
};

export async function runPlanBench() {
  const rows = [];
  for (const [segments, keyframeBytes] of [[1, 1024], [60, 1024], [60, 20_000]] as const) {
    const bitstream = stream(segments, keyframeBytes);
    const options = parseReconstructionOptions(new URLSearchParams(), { width: 1280, height: 720, fps: 24, seed: 1 });
    const input = { bitstream, bitstreamHash: 'a'.repeat(64), mode: 'it2v' as const, options, engine: 'reference@bench' };
    const n = segments === 1 ? 2000 : 100;
    const keys = await msPer(n, async () => {
      for (let s = 0; s < segments; s++) await artifactId(input, s, 'generate', 'mp4');
      if (segments > 1) await artifactId(input, 'all', 'assemble', 'mp4');
    });
    const plan = await msPer(n, () => planReconstruction({ ...input, segment: null }));
    const coded = await msPer(n, async () => codeInline(await planReconstruction({ ...input, segment: null })));
    rows.push({ segments, keyframeBytes, keysMs: keys, planMs: plan, planCodingKeyframesMs: coded, planVsKeys: plan / keys, codedVsKeys: coded / keys });
  }
  console.log('\nPlanning a whole-video request the cache answers (ms per request; the baseline is the artifact keys alone):');
  console.log(['segments', 'keyframe B', 'keys ms', 'plan ms', 'vs keys', 'plan+base64 ms', 'vs keys'].map((c) => c.padEnd(15)).join(''));
  for (const r of rows) console.log([r.segments, r.keyframeBytes, r.keysMs.toFixed(3), r.planMs.toFixed(3), `${r.planVsKeys.toFixed(2)}x`, r.planCodingKeyframesMs.toFixed(3), `${r.codedVsKeys.toFixed(2)}x`].map((c) => String(c).padEnd(15)).join(''));
  return { rows };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runPlanBench();
