import type { Context } from 'hono';
import { applyRatePlan, audioChunkPlace, imageOffset, planRateCut, planSegmentRateCut, ratePlanCuts, STREAM_LIMITS, streamLimitProblem, type Bitstream, type RatePlan } from '../bitstream';
import { loadIndexedBitstream } from '../cache/bitstreams';
import type { ReconstructionOptions } from '../shared/reconstruction-options';
import { checkModeOptions, requestOptions } from './options';
import type { Mode } from '../gpu/contract';
import { ApiError } from '../http/errors';
import { isStreaming, type VideoRow } from '../videos/store';
import { sendsKeyframes, type PlanInput } from '../generation/plan';

type AppContext = Context<{ Bindings: Env }>;

export interface ReadyVideo {
  video: VideoRow & { bitstream_key: string; bitstream_hash: string };
  /** The bitstream as reconstruction sees it: cut to `options.maxKbps` when given. */
  bitstream: Bitstream;
  options: ReconstructionOptions;
  /** The rate cut `maxKbps` made, when it dropped any keyframe or the sound. */
  rateCut: RatePlan | null;
  /** Whether the video is live: its bitstream grows (its segments so far are readable; the whole video is not yet). */
  live: boolean;
}

/**
 * The encoded (or live) video's parsed bitstream and the request's canonical options; 409 while it is still
 * encoding, or live with no segment coded yet. `segment`: the request is for that segment alone, so a `maxKbps` cut
 * is planned over it alone (404 when the stream has no such segment).
 */
export async function readyVideo(c: AppContext, video: VideoRow, params = new URL(c.req.url).searchParams, segment: number | null = null): Promise<ReadyVideo> {
  const live = isStreaming(video);
  if ((video.status !== 'succeeded' && !live) || video.bitstream_key === null || video.bitstream_hash === null) {
    const status = live ? 'live' : video.status;
    throw new ApiError(409, 'video_not_ready', live ? 'the video is live and no segment of it is coded yet' : `the video is ${status}; reconstruction is possible once it is encoded`, {
      headers: { 'Retry-After': live ? '1' : '5' },
      details: { status, video: `/v1/videos/${video.id}` },
    });
  }
  const { bitstream, index } = await loadIndexedBitstream(c.env.BUCKET, video.bitstream_key, video.bitstream_hash);
  if (segment !== null) checkSegment(bitstream, segment, live);
  const header = bitstream.header;
  const options = requestOptions(params, { width: header.width, height: header.height, fps: header.fpsNum / header.fpsDen, seed: header.seed });
  let plan: RatePlan | null = null;
  if (options.maxKbps !== null) plan = segment === null ? planRateCut(bitstream, video.bitstream_bytes ?? 0, options.maxKbps) : planSegmentRateCut(bitstream, index, segment, options.maxKbps);
  const rateCut = plan !== null && ratePlanCuts(plan) ? plan : null;
  return { video: video as ReadyVideo['video'], bitstream: rateCut ? applyRatePlan(bitstream, rateCut) : bitstream, options, rateCut, live };
}

/**
 * The ready video (readyVideo) for a reconstruction in `mode`: its options must apply to the mode (400), and what
 * the reconstruction reads of its bitstream (TT2V: no keyframes; IT2V: the keyframes `maxKbps` keeps) must ask for
 * no more than STREAM_LIMITS allow. A video stored before a limit was set that exceeds it is refused here, 422
 * `bitstream_limit_exceeded` naming the limit (TT2V, or a lower maxKbps, may still fit); its bitstream, poster and
 * captions still serve. `segment`: as readyVideo's.
 */
export async function readyFor(c: AppContext, video: VideoRow, mode: Mode, segment: number | null = null): Promise<ReadyVideo> {
  const ready = await readyVideo(c, video, undefined, segment);
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
  const source = { bitstream, bitstreamHash: ready.video.bitstream_hash, artifactRoot: ready.video.artifact_root ?? undefined, mode, options, rateCut, engine };
  // A live video's stored bitstream is replaced by the next chunk's: its keyframes and sound travel inline.
  if (ready.live) return source;
  // The bitstream was read from its stored object, so an image's offset in the stream is its offset there.
  const locateKeyframe = (image: Uint8Array) => {
    const offset = imageOffset(image);
    return offset === undefined ? null : { r2Key: ready.video.bitstream_key, offset, length: image.length };
  };
  const locateAudio: PlanInput['locateAudio'] = (audio) => {
    const place = audioChunkPlace(audio);
    return place === undefined ? null : { r2Key: ready.video.bitstream_key, ...place };
  };
  return { ...source, locateKeyframe, locateAudio };
}

/** 404 for a segment the video does not have; for a live video, one not coded yet (`Retry-After`: it may come). */
export function checkSegment(bitstream: Bitstream, segment: number, live = false): void {
  if (segment < bitstream.segments.length) return;
  if (live) {
    throw new ApiError(404, 'segment_not_ready', `segment ${segment} is not coded yet; the live video has ${bitstream.segments.length} so far`, {
      headers: { 'Retry-After': '1' },
      details: { segmentsCoded: bitstream.segments.length },
    });
  }
  throw new ApiError(404, 'segment_not_found', `segment ${segment} does not exist; the video has ${bitstream.segments.length}`);
}
