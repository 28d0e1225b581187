/** topArtifactId names the artifact planReconstruction makes at the top of its graph, without planning it. */
import { describe, expect, it } from 'vitest';
import { writeBitstream, readBitstream, type Bitstream } from '../../src/bitstream';
import { parseReconstructionOptions } from '../../src/shared/reconstruction-options';
import { planReconstruction, topArtifactId, type PlanInput } from '../../src/generation/plan';
import { WITH_AUDIO } from '../../scripts/make-vectors';

const segment = (n: number) => ({ startFrame: n * 24, frameCount: 24, contentText: `scene ${n}`, motionText: 'the camera is static', keyframes: [{ codec: 'webp' as const, width: 32, height: 24, data: Uint8Array.of(1), frameIndex: 0, priority: 255 }] });
const stream = (segments: number): Bitstream =>
  readBitstream(writeBitstream({ header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: 24 * segments, durationMs: 1000 * segments, engineId: 'e', engineVersion: '1', models: {}, seed: 0 }, segments: Array.from({ length: segments }, (_, n) => segment(n)) }));
/** The v1.2 vector with sound, whole and as its first segment alone. */
const withSound = (segments: number): Bitstream => {
  const { header } = WITH_AUDIO;
  const kept = WITH_AUDIO.segments.slice(0, segments);
  return readBitstream(writeBitstream({ ...WITH_AUDIO, header: { ...header, frameCount: kept.reduce((n, s) => n + s.frameCount, 0) }, segments: kept }));
};

describe('topArtifactId', () => {
  it('is the key and R2 key of what planReconstruction makes, for whole videos and segments, with and without interpolation and sound', async () => {
    const streams: [string, Bitstream][] = [
      ['1 segment', stream(1)],
      ['3 segments', stream(3)],
      ['1 segment with sound', withSound(1)],
      ['2 segments with sound', withSound(2)],
    ];
    for (const [name, bitstream] of streams) {
      const { width, height, fpsNum, fpsDen } = bitstream.header;
      const last = bitstream.segments.length - 1;
      for (const query of ['', 'interp=2', 'fps=12&w=160&h=120', 'audio=0']) {
        for (const segment of [null, 0, last]) {
          for (const mode of ['tt2v', 'it2v'] as const) {
            const options = parseReconstructionOptions(new URLSearchParams(query), { width, height, fps: fpsNum / fpsDen, seed: 0 });
            const input: PlanInput = { bitstream, bitstreamHash: 'a'.repeat(64), mode, options, engine: 'reference@1', segment };
            const spec = await planReconstruction(input).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
            // a segment without a keyframe has no it2v (planReconstruction refuses it: nothing to look up)
            if (spec instanceof Error) {
              expect(mode, `${name}: ${spec.message}`).toBe('it2v');
              continue;
            }
            expect(await topArtifactId(input), `${name}, ${query}, segment ${segment}, ${mode}`).toEqual({ key: spec.key, r2Key: spec.r2Key });
          }
        }
      }
    }
  });
});
