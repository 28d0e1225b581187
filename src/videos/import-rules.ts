/**
 * What an imported bitstream must satisfy beyond being well-formed: everything a reconstruction of it
 * will ask of the GPU contract and the reconstruction options, so that an import that is accepted can
 * always be played (never a video whose every reconstruction is a 422).
 */
import { streamLimitProblem, type Bitstream } from '../bitstream';
import { EncodedSegment, KeyframeCodec } from '../gpu/contract';
import { ApiError } from '../http/errors';
import type { z } from 'zod';
import { jpegSize, webpSize, type ImageSize } from '../bitstream/image-size';

type ContractCodec = z.infer<typeof KeyframeCodec>;
const PROBES: Record<ContractCodec, (bytes: Uint8Array) => ImageSize | null> = { webp: webpSize, jpeg: jpegSize };
const CONTRACT_CODECS = new Set<string>(KeyframeCodec.options);

const refuse = (field: string, message: string, limit?: string) =>
  new ApiError(422, 'bitstream_not_reconstructable', `${field}: ${message}; such a bitstream could never be reconstructed`, { details: limit === undefined ? { field } : { field, limit } });

/** Throws 422 `bitstream_not_reconstructable` naming the first field out of bounds (and the STREAM_LIMITS entry, when it is one). */
export function checkReconstructable(bitstream: Bitstream): void {
  const problem = streamLimitProblem(bitstream);
  if (problem !== null) throw refuse(problem.field, problem.message, problem.limit);
  bitstream.segments.forEach((segment, n) => {
    const at = `segments[${n}]`;
    for (const field of ['contentText', 'motionText'] as const) {
      const check = EncodedSegment.shape[field].safeParse(segment[field]);
      if (!check.success) throw refuse(`${at}.${field}`, `must be 1..4000 characters, got ${segment[field].length}`);
    }
    segment.keyframes.forEach((keyframe, k) => {
      const kf = `${at}.keyframes[${k}]`;
      if (!CONTRACT_CODECS.has(keyframe.codec)) throw refuse(`${kf}.codec`, `${keyframe.codec} is not a keyframe codec the GPU functions read (${KeyframeCodec.options.join(', ')})`);
      const size = PROBES[keyframe.codec as ContractCodec](keyframe.data);
      if (size === null) throw refuse(`${kf}.data`, `is not a ${keyframe.codec} image`);
      if (size.width !== keyframe.width || size.height !== keyframe.height) {
        throw refuse(kf, `declares ${keyframe.width}x${keyframe.height} but the ${keyframe.codec} image is ${size.width}x${size.height}`);
      }
    });
  });
}
