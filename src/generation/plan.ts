import { STREAM_LIMITS, type Bitstream } from '../bitstream';
import { artifactId, type ArtifactId, type ArtifactSource } from '../cache/artifact-key';
import { canonicalOptions } from '../shared/reconstruction-options';
import type { GenerateRequest } from '../gpu/contract';
import { ApiError, badRequest } from '../http/errors';
import type { Mode } from '../shared/modes';
import { audioOfHlsSegment, audioOfSegments, carriesAudio, type LocateAudio, type PlannedAudio } from './audio-plan';
import { framesAtRate } from '../shared/frame-grid';
import { keyframesOnGrid, type PlannedKeyframe, type StoredBytes } from './keyframe-grid';

interface SpecBase extends ArtifactId {
  /** What it is, for people and logs: `it2v seg 0 fps=24&…`. */
  label: string;
}

/** A generate request as planned: no upload target yet, and keyframes as the spec holds them (see PlannedKeyframe). */
export type PlannedGenerate = Omit<GenerateRequest, 'output' | 'segment'> & {
  segment: Omit<GenerateRequest['segment'], 'keyframes'> & { keyframes: PlannedKeyframe[] };
};

/** One node of the artifact graph, and everything needed to make it. */
export type GenerationSpec =
  | (SpecBase & { kind: 'generate'; request: PlannedGenerate })
  | (SpecBase & { kind: 'interpolate'; factor: number; input: GenerationSpec })
  | (SpecBase & { kind: 'assemble'; inputs: GenerationSpec[]; container: 'mp4' | 'mpegts'; timeOffsetSeconds: number; /** The sound it carries (absent in specs stored before sound): none. */ audio?: PlannedAudio | null });

export interface ArtifactRef {
  key: string;
  r2Key: string;
  bytes: number;
  etag: string;
}

/** `bitstream` is already cut by `rateCut`. */
export interface PlanInput extends ArtifactSource {
  bitstream: Bitstream;
  /** 0-based segment, or null for the whole video. */
  segment: number | null;
  /** Where a keyframe image is stored (so a large one is sent by URL), when known; absent: every image inline. */
  locateKeyframe?: (image: Uint8Array) => StoredBytes | null;
  /** Where a segment's audo chunk is stored (so a large one is sent by URL), when known; absent: every chunk inline. */
  locateAudio?: LocateAudio;
}

/**
 * The artifact graph of one reconstruction request: a segment generated at `fps`, its interpolated
 * variant derived from it, and a whole video assembled from the segments' final artifacts. Asking for
 * the cheap variant never plans the expensive one; the expensive one reuses the cheap one. Generated
 * segments are silent; the bitstream's sound is coded beside them by the assemble that delivers them
 * (whole video or one segment), so a silent request (`audio=0`) shares every generated segment.
 */
export async function planReconstruction(input: PlanInput): Promise<GenerationSpec> {
  const { bitstream, segment } = input;
  const sound = carriesAudio(bitstream, input.options);
  if (segment !== null) {
    const part = await planSegment(input, segment);
    if (!sound) return part;
    const id = await artifactId({ ...input, audio: true }, segment, 'assemble', 'mp4');
    return { kind: 'assemble', ...id, label: `${labelOf(input, segment)} audio`, inputs: [part], container: 'mp4', timeOffsetSeconds: 0, audio: audioOfSegments(bitstream, segment, segment, input.locateAudio) };
  }
  const parts = await Promise.all(bitstream.segments.map((_, n) => planSegment(input, n)));
  if (parts.length === 1 && !sound) return parts[0] as GenerationSpec;
  const audio = sound ? audioOfSegments(bitstream, 0, bitstream.segments.length - 1, input.locateAudio) : null;
  return { kind: 'assemble', ...(await artifactId({ ...input, audio: sound }, 'all', 'assemble', 'mp4')), label: labelOf(input, 'all'), inputs: parts, container: 'mp4', timeOffsetSeconds: 0, audio };
}

/**
 * The id of the artifact planReconstruction(input) makes at the top of its graph, found without planning the graph
 * (one hash, not one per segment): enough to look the artifact up before anything is planned.
 */
export function topArtifactId(input: PlanInput): Promise<ArtifactId> {
  const sound = carriesAudio(input.bitstream, input.options);
  if (input.segment === null && (input.bitstream.segments.length > 1 || sound)) return artifactId({ ...input, audio: sound }, 'all', 'assemble', 'mp4');
  if (input.segment !== null && sound) return artifactId({ ...input, audio: true }, input.segment, 'assemble', 'mp4');
  const n = input.segment ?? 0;
  if (input.options.interp === 1) return artifactId({ ...input, options: { ...input.options, interp: 1 } }, n, 'generate', 'mp4');
  return artifactId(input, n, 'interpolate', 'mp4');
}

/** Start time of each segment in seconds, at the source frame rate (for HLS playlists and offsets). */
export function segmentStarts(bitstream: Bitstream): number[] {
  const fps = bitstream.header.fpsNum / bitstream.header.fpsDen;
  return bitstream.segments.map((s) => s.startFrame / fps);
}

/**
 * An HLS media segment: segment `n` remuxed (not re-encoded) into MPEG-TS with its timestamps moved
 * to where it starts in the video, derived from the cached MP4 segment artifact; with the bitstream's sound
 * as AAC-LC on the timeline's grid, so consecutive segments' audio continues without a gap.
 */
export async function planHlsSegment(input: Omit<PlanInput, 'segment'>, n: number): Promise<GenerationSpec> {
  const segment = await planSegment({ ...input, segment: n }, n);
  const offset = segmentStarts(input.bitstream)[n] as number;
  const sound = carriesAudio(input.bitstream, input.options);
  return {
    kind: 'assemble',
    ...(await artifactId({ ...input, audio: sound }, n, 'hls-ts', 'ts')),
    label: `${labelOf({ ...input, segment: n }, n)} ts`,
    inputs: [segment],
    container: 'mpegts',
    // to the microsecond: the audio's timestamps follow the same offset, and segments' sound must meet exactly
    timeOffsetSeconds: Math.round(offset * 1e6) / 1e6,
    audio: sound ? audioOfHlsSegment(input.bitstream, n, input.locateAudio) : null,
  };
}

/**
 * What a generate request of each mode carries of its segment besides the texts: a mode added to MODES says here
 * what it sends (and so what it reads of a bitstream: its limits, `maxKbps`, the signed bitstream URL's profile).
 */
const MODE_SENDS: Record<Mode, { keyframes: boolean }> = {
  tt2v: { keyframes: false },
  it2v: { keyframes: true },
};

/** Whether a reconstruction in `mode` reads the segment's keyframes (MODE_SENDS). */
export const sendsKeyframes = (mode: Mode): boolean => MODE_SENDS[mode].keyframes;

async function planSegment(input: PlanInput, n: number): Promise<GenerationSpec> {
  const { bitstream, options, mode } = input;
  const segment = bitstream.segments[n];
  if (!segment) throw new Error(`segment ${n} out of range`);
  const sourceFps = bitstream.header.fpsNum / bitstream.header.fpsDen;
  const frameCount = framesAtRate(segment.frameCount, sourceFps, options.fps);
  if (frameCount > STREAM_LIMITS.maxSegmentFrames) {
    throw badRequest('invalid_option', `option "fps": segment ${n} would have ${frameCount} frames at ${options.fps} fps, more than ${STREAM_LIMITS.maxSegmentFrames} (maxSegmentFrames)`, { option: 'fps', limit: 'maxSegmentFrames' });
  }
  const baseOptions = { ...options, interp: 1 as const };
  const baseId = await artifactId({ ...input, options: baseOptions }, n, 'generate', 'mp4');
  const keyframes = sendsKeyframes(mode) ? keyframesOnGrid(segment.keyframes, sourceFps, options.fps, frameCount, input.locateKeyframe) : [];
  if (sendsKeyframes(mode) && keyframes.length === 0) {
    throw new ApiError(422, 'mode_unavailable', `segment ${n} has no keyframe, so ${mode} cannot be reconstructed; use tt2v`);
  }
  // Every keyframe is resized to the output size before frames are made: at most maxSegmentKeyframePixels of them.
  if (keyframes.length * options.w * options.h > STREAM_LIMITS.maxSegmentKeyframePixels) {
    const most = Math.floor(STREAM_LIMITS.maxSegmentKeyframePixels / keyframes.length);
    throw badRequest('invalid_option', `options "w" and "h": segment ${n}'s ${keyframes.length} keyframes at ${options.w}x${options.h} would be ${keyframes.length * options.w * options.h} px, more than ${STREAM_LIMITS.maxSegmentKeyframePixels} (maxSegmentKeyframePixels); ask for at most ${most} px a frame, or a lower maxKbps`, { option: 'w', limit: 'maxSegmentKeyframePixels' });
  }
  const base: GenerationSpec = {
    kind: 'generate',
    ...baseId,
    label: labelOf({ ...input, options: baseOptions }, n),
    request: {
      mode,
      segment: {
        contentText: segment.contentText,
        motionText: segment.motionText,
        keyframes,
      },
      width: options.w,
      height: options.h,
      fps: options.fps,
      frameCount,
      seed: segment.seed ?? options.seed,
      container: 'mp4',
    },
  };
  if (options.interp === 1) return base;
  return { kind: 'interpolate', ...(await artifactId(input, n, 'interpolate', 'mp4')), label: labelOf(input, n), factor: options.interp, input: base };
}

function labelOf(input: PlanInput, segment: number | 'all') {
  return `${input.mode} seg ${segment} ${canonicalOptions(input.options)}`;
}
