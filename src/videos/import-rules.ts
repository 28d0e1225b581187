/**
 * What an imported bitstream must satisfy beyond being well-formed: everything a reconstruction of it
 * will ask of the GPU contract and the reconstruction options, so that an import that is accepted can
 * always be played (never a video whose every reconstruction is a 422).
 */
import { STREAM_LIMITS, streamLimitProblem, type Bitstream } from '../bitstream';
import { EncodedSegment, KeyframeCodec } from '../gpu/contract';
import { ApiError } from '../http/errors';
import type { z } from 'zod';
import { jpegSize, webpSize, type ImageSize } from '../bitstream/image-size';
import { decodedSize } from './keyframe-decode';

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

/**
 * Decodes every keyframe of a stream checkReconstructable accepted, one at a time, and throws 422
 * `bitstream_not_reconstructable` naming the first that does not decode whole to its declared size: the GPU
 * functions decode them the same way, so an import that passes here never makes a video whose IT2V
 * reconstructions all fail. Refused first, without decoding, when the images together have more pixels than
 * STREAM_LIMITS.maxImportKeyframePixels.
 */
export async function checkKeyframesDecode(bitstream: Bitstream): Promise<void> {
  const pixels = bitstream.segments.reduce((sum, s) => sum + s.keyframes.reduce((n, k) => n + k.width * k.height, 0), 0);
  if (pixels > STREAM_LIMITS.maxImportKeyframePixels) {
    throw refuse('segments', `the keyframes have ${pixels} px together, more than the ${STREAM_LIMITS.maxImportKeyframePixels} an import decodes`, 'maxImportKeyframePixels');
  }
  for (const [n, segment] of bitstream.segments.entries()) {
    for (const [k, keyframe] of segment.keyframes.entries()) {
      const size = await decodedSize(keyframe.data, keyframe.codec as ContractCodec);
      const field = `segments[${n}].keyframes[${k}].data`;
      if (size === null) throw refuse(field, `does not decode as a ${keyframe.codec} image`);
      if (size.width !== keyframe.width || size.height !== keyframe.height) throw refuse(field, `decodes to ${size.width}x${size.height}, not the ${keyframe.width}x${keyframe.height} declared`);
    }
  }
}
