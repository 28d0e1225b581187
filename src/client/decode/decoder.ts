/**
 * The client-side IT2V / TT2V decoder: a CMVC bitstream (whole, or segment by segment as Range reads arrive)
 * to frames at the stream's geometry and frame rate, by the reference engine's algorithm
 * (gpu-functions/cmvc_gpu/engines/reference/engine.py `generate`), with no GPU and no video stream.
 * No Node-only and no DOM-only imports: the platform's image decoder is injected.
 */
import { BitstreamError, imageSize, readBitstream, STREAM_LIMITS, streamLimitProblem, type Bitstream, type BitstreamHeader, type SegmentData } from '../../bitstream';
import { parseReconstructionOptions } from '../../shared/reconstruction-options';
import { unhandledMode, type Mode } from '../../shared/modes';
import { framesAtRate, onOutputGrid } from '../../shared/frame-grid';
import { parseContent } from './content-text';
import { DecodeError } from './errors';
import type { DecodeImage, RgbImage } from './image';
import { parseMotion } from './motion-text';
import { pixelsOf, type FrameRecipe, type RecipeAt } from './frame-recipe';
import { alongMotion, fromKeyframes, pairShift, paint, resizeImage, type PlacedKeyframe, type Shift } from './render';

export interface DecodeOptions {
  decodeImage: DecodeImage;
  /** `it2v` (default where a segment has keyframes; TT2V for a segment without) or `tt2v` (texts only). */
  mode?: Mode;
  /** Reject motion texts outside the grammar (default true); false parses them as the reference engine does. */
  strictMotion?: boolean;
}

/**
 * Whether decoding in `mode` reads a segment's keyframes, as the reference engine's `generate` does in that mode
 * (`MODE_FRAMES` in gpu-functions/cmvc_gpu/engines/reference/engine.py): a mode added to MODES says here how the
 * client decodes it.
 */
export function decodesKeyframes(mode: Mode): boolean {
  switch (mode) {
    case 'tt2v': // the content text painted, moved along the motion
      return false;
    case 'it2v': // keyframes in place, in-betweens from both neighbours along the motion between them
      return true;
    default:
      return unhandledMode(mode);
  }
}

/** What a decode produces: the reconstruction options' defaults for this stream (even size, fps to 1/1000). */
export interface Geometry {
  width: number;
  height: number;
  fps: number;
}

/** The output geometry of a stream, as the Worker's default reconstruction options give it. */
export function geometryOf(header: BitstreamHeader): Geometry {
  const o = parseReconstructionOptions(new URLSearchParams(), { width: header.width, height: header.height, fps: header.fpsNum / header.fpsDen, seed: header.seed });
  return { width: o.w, height: o.h, fps: o.fps };
}

/**
 * Parses a whole bitstream; a malformed one is a `bad_bitstream` DecodeError with the BitstreamError as its cause,
 * and one asking for more than a reconstruction may (STREAM_LIMITS) is `limit_exceeded` naming the limit, before
 * anything is decoded or allocated for its frames.
 */
export function parseForDecode(bytes: Uint8Array): Bitstream {
  let bitstream: Bitstream;
  try {
    bitstream = readBitstream(bytes);
  } catch (err) {
    if (err instanceof BitstreamError) throw new DecodeError('bad_bitstream', `not a valid CMVC bitstream: ${err.message}`, {}, { cause: err });
    throw err;
  }
  checkLimits(bitstream);
  return bitstream;
}

/** Throws `limit_exceeded` when `bitstream` asks for more than STREAM_LIMITS allow (a stored video's side: maxSourceSide). */
function checkLimits(bitstream: Bitstream, segmentIndex?: number): void {
  const problem = streamLimitProblem(bitstream, STREAM_LIMITS.maxSourceSide);
  if (problem === null) return;
  const field = segmentIndex === undefined ? problem.field : problem.field.replace(/^segments\[0\]/, `segments[${segmentIndex}]`);
  const segment = segmentIndex ?? /^segments\[(\d+)\]/.exec(field)?.[1];
  throw new DecodeError('limit_exceeded', `${field}: ${problem.message} (${problem.limit})`, { limit: problem.limit, ...(segment === undefined ? {} : { segment: Number(segment) }) });
}

/** A decoded segment: how many frames it has, and the frames, computed as they are drawn. */
export interface DecodedSegment {
  index: number;
  frameCount: number;
  mode: Mode;
  /** Frame `i` (0 ≤ i < frameCount) described, not computed: what a renderer draws (WebGL2 evaluates it on the GPU). */
  recipeAt: RecipeAt;
  /** Frame `i` (0 ≤ i < frameCount) on its own, its pixels computed here: for seeking. */
  frameAt: (i: number) => RgbImage;
  /** Every frame in order. */
  frames: Iterable<RgbImage>;
}

function segmentOf(index: number, frameCount: number, mode: Mode, describe: RecipeAt): DecodedSegment {
  const recipeAt = (i: number): FrameRecipe => {
    if (!Number.isInteger(i) || i < 0 || i >= frameCount) throw new RangeError(`frame ${i} is outside segment ${index}'s 0..${frameCount - 1}`);
    return describe(i);
  };
  return {
    index,
    frameCount,
    mode,
    recipeAt,
    frameAt: (i) => pixelsOf(recipeAt(i)),
    frames: {
      *[Symbol.iterator]() {
        for (let i = 0; i < frameCount; i++) yield pixelsOf(describe(i));
      },
    },
  };
}

/**
 * Segment `index` of a stream with `header`: its keyframes decoded (before any frame, so a bad one fails here and
 * never halfway through playback) and its frames ready to draw. The segment is checked against STREAM_LIMITS
 * first, and each keyframe's own header against its declared size before its pixels are decoded; keyframes are
 * decoded one at a time, each placed at the output size before the next, so no more than one is ever held at
 * its coded size.
 */
export async function decodeSegment(header: BitstreamHeader, segment: SegmentData, index: number, options: DecodeOptions): Promise<DecodedSegment> {
  checkLimits({ header, segments: [{ ...segment, startFrame: 0 }] }, index);
  const { width, height, fps } = geometryOf(header);
  const sourceFps = header.fpsNum / header.fpsDen;
  const frameCount = framesAtRate(segment.frameCount, sourceFps, fps);
  const motion = parseMotion(segment.motionText, { strict: options.strictMotion, segment: index });
  const placed = decodesKeyframes(options.mode ?? 'it2v') ? onOutputGrid(segment.keyframes, sourceFps, fps, frameCount) : [];
  if (placed.length === 0) {
    const image = paint(parseContent(segment.contentText), width, height, segment.seed ?? header.seed);
    return segmentOf(index, frameCount, 'tt2v', alongMotion(image, motion, fps));
  }
  // Decoding, resizing keyframes and estimating the motion between them are the heavy steps (tens of ms each at
  // 720p): done here one keyframe at a time, one per task, so that a player preparing the next segment while it
  // plays keeps drawing between them, and only one keyframe is held at its coded size.
  const keyframes: PlacedKeyframe[] = [];
  for (const [n, k] of placed.entries()) {
    const where = { segment: index, keyframe: n };
    const size = imageSize(k.data, k.codec);
    if (size === null) throw new DecodeError('bad_keyframe', `segment ${index} keyframe ${n} (${k.data.length} bytes) is not a well-formed ${k.codec} image`, where);
    if (size.width !== k.width || size.height !== k.height) {
      throw new DecodeError('bad_keyframe', `segment ${index} keyframe ${n} declares ${k.width}x${k.height} but its ${k.codec} image is ${size.width}x${size.height}`, where);
    }
    let image: RgbImage;
    try {
      image = await options.decodeImage(k.data, k.codec);
    } catch (err) {
      throw new DecodeError('bad_keyframe', `segment ${index} keyframe ${n} (${k.codec}, ${k.data.length} bytes) does not decode as an image`, where, { cause: err });
    }
    if (image.width !== k.width || image.height !== k.height || image.data.length !== image.width * image.height * 3) {
      throw new DecodeError('bad_keyframe', `segment ${index} keyframe ${n} decoded to ${image.width}x${image.height}, not the ${k.width}x${k.height} it declares`, where);
    }
    keyframes.push({ frameIndex: k.frameIndex, image: resizeImage(image, width, height) });
    await nextTask();
  }
  const shifts: Shift[] = [];
  for (let n = 0; n + 1 < keyframes.length; n++) {
    shifts.push(pairShift((keyframes[n] as PlacedKeyframe).image, (keyframes[n + 1] as PlacedKeyframe).image));
    await nextTask();
  }
  return segmentOf(index, frameCount, 'it2v', fromKeyframes(keyframes, shifts, motion, fps));
}

/** Resolves in a later task (a timer, in browsers and Node alike): whatever waits for its turn gets it. */
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Every segment of a parsed bitstream, decoded one after the other. */
export async function* decodeBitstream(bitstream: Bitstream, options: DecodeOptions): AsyncGenerator<DecodedSegment> {
  for (const [n, segment] of bitstream.segments.entries()) yield await decodeSegment(bitstream.header, segment, n, options);
}
