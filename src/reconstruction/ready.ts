import type { Context } from 'hono';
import { applyRatePlan, audioChunkPlace, imageOffset, planRateCut, ratePlanCuts, STREAM_LIMITS, streamLimitProblem, type Bitstream, type RatePlan } from '../bitstream';
import { loadBitstream } from '../cache/bitstreams';
import type { ReconstructionOptions } from '../shared/reconstruction-options';
import { checkModeOptions, requestOptions } from './options';
import type { Mode } from '../gpu/contract';
import { ApiError } from '../http/errors';
import type { VideoRow } from '../videos/store';
import { sendsKeyframes, type PlanInput } from '../generation/plan';

type AppContext = Context<{ Bindings: Env }>;

export interface ReadyVideo {
  video: VideoRow & { bitstream_key: string; bitstream_hash: string };
  /** The bitstream as reconstruction sees it: cut to `options.maxKbps` when given. */
  bitstream: Bitstream;
  options: ReconstructionOptions;
  /** The rate cut `maxKbps` made, when it dropped any keyframe or the sound. */
  rateCut: RatePlan | null;
}

/** The encoded video's parsed bitstream and the request's canonical options; 409 while it is still encoding. */
export async function readyVideo(c: AppContext, video: VideoRow, params = new URL(c.req.url).searchParams): Promise<ReadyVideo> {
  if (video.status !== 'succeeded' || video.bitstream_key === null || video.bitstream_hash === null) {
    throw new ApiError(409, 'video_not_ready', `the video is ${video.status}; reconstruction is possible once it is encoded`, {
      headers: { 'Retry-After': '5' },
      details: { status: video.status, video: `/v1/videos/${video.id}` },
    });
  }
  const bitstream = await loadBitstream(c.env.BUCKET, video.bitstream_key, video.bitstream_hash);
  const header = bitstream.header;
  const options = requestOptions(params, { width: header.width, height: header.height, fps: header.fpsNum / header.fpsDen, seed: header.seed });
  const plan = options.maxKbps === null ? null : planRateCut(bitstream, video.bitstream_bytes ?? 0, options.maxKbps);
  const rateCut = plan !== null && ratePlanCuts(plan) ? plan : null;
  return { video: video as ReadyVideo['video'], bitstream: rateCut ? applyRatePlan(bitstream, rateCut) : bitstream, options, rateCut };
}

/**
 * The ready video (readyVideo) for a reconstruction in `mode`: its options must apply to the mode (400), and what
 * the reconstruction reads of its bitstream (TT2V: no keyframes; IT2V: the keyframes `maxKbps` keeps) must ask for
 * no more than STREAM_LIMITS allow. A video stored before a limit was set that exceeds it is refused here, 422
 * `bitstream_limit_exceeded` naming the limit (TT2V, or a lower maxKbps, may still fit); its bitstream, poster and
 * captions still serve.
 */
export async function readyFor(c: AppContext, video: VideoRow, mode: Mode): Promise<ReadyVideo> {
  const ready = await readyVideo(c, video);
  checkModeOptions(mode, ready.options);
  const read = sendsKeyframes(mode) ? ready.bitstream : { ...ready.bitstream, segments: ready.bitstream.segments.map((s) => ({ ...s, keyframes: [] })) };
  const problem = streamLimitProblem(read, STREAM_LIMITS.maxSourceSide);
  if (problem !== null) {
    const { limit, field, max, value } = problem;
    const hint = sendsKeyframes(mode) && field.includes('keyframes') ? '; tt2v, or a lower maxKbps, reads fewer keyframes' : '';
    throw new ApiError(422, 'bitstream_limit_exceeded', `${field}: ${problem.message}; this video asks for more than a reconstruction may (${limit})${hint}`, { details: { limit, field, max, value } });
  }
  return ready;
}

/** What planning a reconstruction of the ready video in `mode` starts from (the segment aside). */
export function planInput(ready: ReadyVideo, mode: Mode, engine: string): Omit<PlanInput, 'segment'> {
  const { bitstream, options, rateCut } = ready;
  // The bitstream was read from its stored object, so an image's offset in the stream is its offset there.
  const locateKeyframe = (image: Uint8Array) => {
    const offset = imageOffset(image);
    return offset === undefined ? null : { r2Key: ready.video.bitstream_key, offset, length: image.length };
  };
  const locateAudio: PlanInput['locateAudio'] = (audio) => {
    const place = audioChunkPlace(audio);
    return place === undefined ? null : { r2Key: ready.video.bitstream_key, ...place };
  };
  return { bitstream, bitstreamHash: ready.video.bitstream_hash, mode, options, rateCut, engine, locateKeyframe, locateAudio };
}

export function checkSegment(bitstream: Bitstream, segment: number): void {
  if (segment >= bitstream.segments.length) {
    throw new ApiError(404, 'segment_not_found', `segment ${segment} does not exist; the video has ${bitstream.segments.length}`);
  }
}
