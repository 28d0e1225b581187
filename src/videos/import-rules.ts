/**
 * What an imported bitstream must satisfy beyond being well-formed: everything a reconstruction of it
 * will ask of the GPU contract and the reconstruction options, so that an import that is accepted can
 * always be played (never a video whose every reconstruction is a 422).
 */
import type { Bitstream } from '../bitstream';
import { EncodedSegment, GenerateRequest, Keyframe, KeyframeCodec } from '../gpu/contract';
import { ApiError } from '../http/errors';
import type { z } from 'zod';
import { jpegSize, webpSize, type ImageSize } from './image-probe';

export const IMPORT_LIMITS = Object.freeze({
  /** Width and height in pixels: the reconstruction options' range (`w`, `h`). */
  minSide: 16,
  maxSide: 1920,
  /** Frames per second: the reconstruction options' range (`fps`). */
  minFps: 1,
  maxFps: 60,
  /** Segments of one video. */
  maxSegments: 1000,
  /** Frames of one segment at the video's rate: one generate call (GenerateRequest.frameCount). */
  maxSegmentFrames: GenerateRequest.shape.frameCount.maxValue as number,
  /** Pixels of a keyframe side (Keyframe.width / height). */
  maxKeyframeSide: Keyframe.shape.width.maxValue as number,
});

type ContractCodec = z.infer<typeof KeyframeCodec>;
const PROBES: Record<ContractCodec, (bytes: Uint8Array) => ImageSize | null> = { webp: webpSize, jpeg: jpegSize };
const CONTRACT_CODECS = new Set<string>(KeyframeCodec.options);

const refuse = (field: string, message: string) =>
  new ApiError(422, 'bitstream_not_reconstructable', `${field}: ${message}; such a bitstream could never be reconstructed`, { details: { field } });

/** Throws 422 `bitstream_not_reconstructable` naming the first field out of bounds. */
export function checkReconstructable(bitstream: Bitstream): void {
  const { header, segments } = bitstream;
  const L = IMPORT_LIMITS;
  for (const side of ['width', 'height'] as const) {
    if (header[side] < L.minSide || header[side] > L.maxSide) throw refuse(`header.${side}`, `${header[side]} px is outside ${L.minSide}..${L.maxSide}`);
  }
  const fps = header.fpsNum / header.fpsDen;
  if (!(fps >= L.minFps && fps <= L.maxFps)) throw refuse('header.fps', `${header.fpsNum}/${header.fpsDen} frames per second is outside ${L.minFps}..${L.maxFps}`);
  if (segments.length > L.maxSegments) throw refuse('segments', `${segments.length} segments are more than ${L.maxSegments}`);
  segments.forEach((segment, n) => {
    const at = `segments[${n}]`;
    if (segment.frameCount > L.maxSegmentFrames) throw refuse(`${at}.frameCount`, `${segment.frameCount} frames are more than ${L.maxSegmentFrames}`);
    for (const field of ['contentText', 'motionText'] as const) {
      const check = EncodedSegment.shape[field].safeParse(segment[field]);
      if (!check.success) throw refuse(`${at}.${field}`, `must be 1..4000 characters, got ${segment[field].length}`);
    }
    segment.keyframes.forEach((keyframe, k) => {
      const kf = `${at}.keyframes[${k}]`;
      if (!CONTRACT_CODECS.has(keyframe.codec)) throw refuse(`${kf}.codec`, `${keyframe.codec} is not a keyframe codec the GPU functions read (${KeyframeCodec.options.join(', ')})`);
      if (keyframe.width > L.maxKeyframeSide || keyframe.height > L.maxKeyframeSide) throw refuse(kf, `${keyframe.width}x${keyframe.height} is larger than ${L.maxKeyframeSide} px a side`);
      const size = PROBES[keyframe.codec as ContractCodec](keyframe.data);
      if (size === null) throw refuse(`${kf}.data`, `is not a ${keyframe.codec} image`);
      if (size.width !== keyframe.width || size.height !== keyframe.height) {
        throw refuse(kf, `declares ${keyframe.width}x${keyframe.height} but the ${keyframe.codec} image is ${size.width}x${size.height}`);
      }
    });
  });
}
