/**
 * What a bitstream may ask of whoever reconstructs it, stated once: the import, inspect, the Worker's planner,
 * the GPU functions (through `schemas/bitstream/limits.json`) and the client decoder apply these same numbers.
 * They bound the work and memory a stream can cause: the pixels each keyframe decodes to relative to the video's
 * own geometry, the keyframes and their pixels per segment, the frames and frame rate, the chunks a reader walks
 * past, and the bytes. The reader's own bounds (limits.ts) only keep parsing safe; these keep reconstruction sane.
 *
 * Units: pixels, frames, frames per second, bytes. Pure: no Workers or Node API.
 */
import type { Bitstream } from './types';

export const STREAM_LIMITS = Object.freeze({
  /** Bytes of a whole bitstream that import and inspect accept. */
  maxBytes: 16 * 1024 * 1024,
  /**
   * Pixels of every keyframe image of an imported stream together: the import decodes each one to prove it whole
   * (2^29 px: about 3 s of WASM decoding at 160 Mpx/s; 7,000 keyframes of 320x240).
   */
  maxImportKeyframePixels: 2 ** 29,
  /** Bytes of one keyframe image (the reader's maxKeyframeBytes, the GPU contract's MAX_KEYFRAME_BYTES). */
  maxKeyframeBytes: 8 * 1024 * 1024,
  /** Packet bytes of one segment's sound (an audo chunk's data after its fixed fields): 128 kbps (the highest audioKbps) for 600 s is 9.6 MB. */
  maxAudioBytes: 10 * 1024 * 1024,
  /** Bytes of one audio packet: above the longest Opus packet (120 ms) at its highest rate (6 frames of 1275 bytes, plus framing). */
  maxAudioPacketBytes: 8 * 1024,
  /** Unknown ancillary chunks a reader walks past in one bitstream (the reader's maxUnknownChunks). */
  maxUnknownChunks: 1024,
  /** Chunks an inspect report lists; the rest are counted (`chunkCount`, `truncated`). */
  maxListedChunks: 1000,
  /** Width and height of an imported video, pixels: the reconstruction options' range (`w`, `h`). */
  minSide: 16,
  maxSide: 1920,
  /** Width and height of any stored video, pixels: a video encoded here keeps its source's (up to the GPU functions' 4096). */
  maxSourceSide: 4096,
  /** Frame rate, frames per second: the reconstruction options' range (`fps`). */
  minFps: 1,
  maxFps: 60,
  /** Segments of one video. */
  maxSegments: 1000,
  /** Frames of one segment at the video's rate: one generate call (the GPU contract's GenerateRequest.frameCount). */
  maxSegmentFrames: 10_000,
  /** Frames of the whole video, over its segments: an hour at 60 fps. */
  maxFrames: 216_000,
  /** Keyframes of one segment. */
  maxKeyframesPerSegment: 64,
  /** Pixels of one keyframe over the pixels of one frame of the video (header width × height): no keyframe is larger than the video. */
  maxKeyframePixelRatio: 1,
  /**
   * A segment's keyframes × the pixels of one frame of the video: every keyframe is placed at the video's size
   * before frames are made, so this is what a decoder holds for one segment (2^25 px: 96 MiB of RGB; 16
   * keyframes at 1920×1080, 36 at 1280×720, 64 at 854×480, 4 at 3840×2160). Chosen so that `cmvc decode` of the
   * largest stream allowed stays under 512 MiB resident (`npm run fuzz`).
   */
  maxSegmentKeyframePixels: 2 ** 25,
});

export type StreamLimitName = Exclude<keyof typeof STREAM_LIMITS, 'maxListedChunks' | 'maxBytes' | 'maxKeyframeBytes' | 'maxAudioBytes' | 'maxAudioPacketBytes' | 'maxUnknownChunks' | 'maxImportKeyframePixels'>;

/** A stream asking for more than STREAM_LIMITS allow: which limit, where, and by how much. */
export interface StreamLimitProblem {
  /** The STREAM_LIMITS entry that is broken. */
  limit: StreamLimitName;
  /** The field that breaks it, e.g. `segments[3].keyframes[2]`. */
  field: string;
  /** The bound and the value found (for a minimum, the value is below `max`'s counterpart `min`). */
  max: number;
  value: number;
  message: string;
}

/** The most keyframes a segment of a `width` × `height` video may carry (maxKeyframesPerSegment and maxSegmentKeyframePixels). */
export function maxKeyframesFor(width: number, height: number): number {
  const L = STREAM_LIMITS;
  return Math.max(1, Math.min(L.maxKeyframesPerSegment, Math.floor(L.maxSegmentKeyframePixels / Math.max(1, width * height))));
}

/**
 * The first way `bitstream` asks for more than STREAM_LIMITS allow, or null. `maxSide` is the side limit to apply:
 * `STREAM_LIMITS.maxSide` for an import (the default), `maxSourceSide` for a stored video encoded here.
 */
export function streamLimitProblem(bitstream: Bitstream, maxSide: number = STREAM_LIMITS.maxSide): StreamLimitProblem | null {
  const L = STREAM_LIMITS;
  const { header, segments } = bitstream;
  const over = (limit: StreamLimitName, field: string, max: number, value: number, message: string): StreamLimitProblem => ({ limit, field, max, value, message });
  for (const side of ['width', 'height'] as const) {
    const value = header[side];
    if (value < L.minSide) return over('minSide', `header.${side}`, L.minSide, value, `${value} px is below ${L.minSide}`);
    if (value > maxSide) return over(maxSide === L.maxSide ? 'maxSide' : 'maxSourceSide', `header.${side}`, maxSide, value, `${value} px is above ${maxSide}`);
  }
  const fps = header.fpsNum / header.fpsDen;
  if (!(fps >= L.minFps)) return over('minFps', 'header.fps', L.minFps, fps, `${header.fpsNum}/${header.fpsDen} frames per second is below ${L.minFps}`);
  if (!(fps <= L.maxFps)) return over('maxFps', 'header.fps', L.maxFps, fps, `${header.fpsNum}/${header.fpsDen} frames per second is above ${L.maxFps}`);
  if (segments.length > L.maxSegments) return over('maxSegments', 'segments', L.maxSegments, segments.length, `${segments.length} segments are more than ${L.maxSegments}`);
  const framePixels = header.width * header.height;
  const maxKeyframePixels = Math.floor(framePixels * L.maxKeyframePixelRatio);
  const maxKeyframes = maxKeyframesFor(header.width, header.height);
  let frames = 0;
  for (const [n, segment] of segments.entries()) {
    const at = `segments[${n}]`;
    if (segment.frameCount > L.maxSegmentFrames) return over('maxSegmentFrames', `${at}.frameCount`, L.maxSegmentFrames, segment.frameCount, `${segment.frameCount} frames are more than ${L.maxSegmentFrames}`);
    frames += segment.frameCount;
    if (frames > L.maxFrames) return over('maxFrames', `${at}.frameCount`, L.maxFrames, frames, `the segments through this one have ${frames} frames, more than ${L.maxFrames}`);
    const count = segment.keyframes.length;
    if (count > L.maxKeyframesPerSegment) return over('maxKeyframesPerSegment', `${at}.keyframes`, L.maxKeyframesPerSegment, count, `${count} keyframes are more than ${L.maxKeyframesPerSegment}`);
    if (count > maxKeyframes) {
      return over('maxSegmentKeyframePixels', `${at}.keyframes`, L.maxSegmentKeyframePixels, count * framePixels, `${count} keyframes at the video's ${header.width}x${header.height} are ${count * framePixels} px, more than ${L.maxSegmentKeyframePixels} (at most ${maxKeyframes} keyframes)`);
    }
    for (const [k, keyframe] of segment.keyframes.entries()) {
      const pixels = keyframe.width * keyframe.height;
      if (pixels > maxKeyframePixels) {
        return over('maxKeyframePixelRatio', `${at}.keyframes[${k}]`, maxKeyframePixels, pixels, `${keyframe.width}x${keyframe.height} has more pixels than a ${header.width}x${header.height} frame of the video`);
      }
    }
  }
  return null;
}

/** STREAM_LIMITS as `schemas/bitstream/limits.json`: the GPU functions read the same numbers. */
export function renderStreamLimits(): string {
  return `${JSON.stringify({ description: 'What a CMVC bitstream may ask of a reconstruction (src/bitstream/stream-limits.ts); units: pixels, frames, frames per second, bytes', ...STREAM_LIMITS }, null, 2)}\n`;
}
