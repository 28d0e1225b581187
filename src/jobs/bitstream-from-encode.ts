import type { Bitstream, KeyframeCodec } from '../bitstream';
import type { EncodeResponse } from '../gpu/contract';
import { base64ToBytes } from '../http/base64';

/** Default generation seed recorded in every bitstream header. */
export const DEFAULT_SEED = 0;

/** A frame rate as a rational: integers stay integers, NTSC rates become n·1000/1001. */
export function fpsToRational(fps: number): { fpsNum: number; fpsDen: number } {
  if (Math.abs(fps - Math.round(fps)) < 1e-6) return { fpsNum: Math.round(fps), fpsDen: 1 };
  const ntsc = fps * 1.001;
  if (Math.abs(ntsc - Math.round(ntsc)) < 1e-3) return { fpsNum: Math.round(ntsc) * 1000, fpsDen: 1001 };
  return { fpsNum: Math.round(fps * 1000), fpsDen: 1000 };
}

/** The bitstream content of a GPU encode result: its texts, keyframes and, per segment, its sound. */
export function bitstreamFromEncode(result: EncodeResponse): Bitstream {
  const { video, engine, audio } = result;
  return {
    header: {
      width: video.width,
      height: video.height,
      ...fpsToRational(video.fps),
      frameCount: video.frameCount,
      durationMs: Math.round(video.durationSeconds * 1000),
      engineId: engine.id,
      engineVersion: engine.version,
      models: engine.models,
      seed: DEFAULT_SEED,
    },
    segments: result.segments.map((s, n) => {
      const sound = audio?.segments[n];
      return {
        startFrame: s.startFrame,
        frameCount: s.frameCount,
        contentText: s.contentText,
        motionText: s.motionText,
        keyframes: s.keyframes.map((k) => ({ codec: k.codec as KeyframeCodec, width: k.width, height: k.height, data: base64ToBytes(k.data), frameIndex: k.frameIndex, priority: k.priority })),
        ...(audio && sound
          ? { audio: { codec: audio.codec, channels: audio.channels, sampleRate: audio.sampleRate, preSkip: sound.preSkip, sampleCount: sound.sampleCount, packets: sound.packets.map(base64ToBytes) } }
          : {}),
      };
    }),
  };
}
