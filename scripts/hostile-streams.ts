/**
 * Hostile bitstreams: the shapes issue 25's probe found (huge declared sizes, lying image headers, keyframe floods,
 * endless segments, absurd frame rates, floods of ancillary chunks), each a well-formed CMVC stream the reader
 * accepts, so that what must stop them is the statement of what a stream may ask for (src/bitstream/stream-limits.ts).
 * `npm run fuzz` decodes each with `cmvc decode` and checks the error and the memory; the tests import them.
 * Pure: the images are passed in (tests in workerd use committed bytes; Node scripts make them with sharp).
 */
import {
  assembleChunks,
  CURRENT_TEXT_DICTIONARY,
  DEFAULT_LIMITS,
  encodeHeader,
  segmentNodes,
  writeBitstream,
  type Bitstream,
  type BitstreamHeader,
  type Keyframe,
  type SegmentData,
} from '../src/bitstream';
import { CHUNK_HEAD } from '../src/bitstream/chunks';

/** Real image files the shapes carry. */
export interface HostileImages {
  /** An 8192x8192 WebP of a few KB (finding 1's keyframe). */
  webp8192: Uint8Array;
  /** A 16383x16383 WebP of about 10 KB (finding 2's lying keyframe). */
  webp16383: Uint8Array;
}

const header = (h: Partial<BitstreamHeader> = {}): BitstreamHeader => ({
  width: 320,
  height: 240,
  fpsNum: 24,
  fpsDen: 1,
  frameCount: 24,
  durationMs: 1000,
  engineId: 'elsewhere',
  engineVersion: '1',
  models: {},
  seed: 0,
  ...h,
});

const texts = { contentText: 'a red cup on a white table', motionText: 'the camera slowly pans right about 2.1% of the width per second; little object motion' };

/** Finding 1: 320x240, one segment of 64 frames, 64 lossless WebP keyframes of 8192x8192 (about 170 KB in all). */
export function craftedKeyframeStream(images: HostileImages): Bitstream {
  const keyframes: Keyframe[] = Array.from({ length: 64 }, (_, i) => ({ codec: 'webp', width: 8192, height: 8192, data: images.webp8192, frameIndex: i, priority: 255 - i }));
  return { header: header({ frameCount: 64, durationMs: 2667 }), segments: [{ startFrame: 0, frameCount: 64, ...texts, keyframes }] };
}

/**
 * The worst stream the limits let through for reconstruction work: one segment of `frames` frames at `width` x
 * `height` carrying as many keyframes as `maxKeyframesFor` allows, each `image` (of the video's own size).
 */
export function fullKeyframeStream(image: Uint8Array, width: number, height: number, count: number, frames = count): Bitstream {
  const keyframes: Keyframe[] = Array.from({ length: count }, (_, i) => ({ codec: 'webp', width, height, data: image, frameIndex: Math.floor((i * frames) / count), priority: 255 - (i % 256) }));
  return { header: header({ width, height, frameCount: frames, durationMs: Math.round((frames / 24) * 1000) }), segments: [{ startFrame: 0, frameCount: frames, ...texts, keyframes }] };
}

/** `bitstream` written with `count` empty unknown ancillary chunks (`xtra`) at the end of its last segment. */
export function withAncillaryChunks(bitstream: Bitstream, count: number): Uint8Array {
  const limits = { ...DEFAULT_LIMITS, maxTotalBytes: Number.MAX_SAFE_INTEGER };
  const segments = bitstream.segments.map((s) => segmentNodes(s, CURRENT_TEXT_DICTIONARY));
  const last = segments.at(-1);
  if (last === undefined) throw new Error('a bitstream has at least one segment');
  const empty = new Uint8Array(0);
  for (let i = 0; i < count; i++) last.chunks.push({ type: 'xtra', data: empty });
  return assembleChunks({ type: CHUNK_HEAD, data: encodeHeader(bitstream.header, CURRENT_TEXT_DICTIONARY) }, segments, limits);
}

/** A shape, the bytes, and the STREAM_LIMITS entry (or decode error code) that must stop it. */
export interface HostileStream {
  name: string;
  bytes: Uint8Array;
  /** What stops the client decoder (which allows any stored video's side, maxSourceSide): a STREAM_LIMITS name, a reader limit, or the declared size. */
  stoppedBy: string;
}

const texted = (h: Partial<BitstreamHeader>, segments: Partial<SegmentData>[]): Uint8Array =>
  writeBitstream({ header: header(h), segments: segments.map((s) => ({ startFrame: 0, frameCount: 24, ...texts, keyframes: [], ...s })) });

/** Every hostile shape, as the files `npm run fuzz` decodes. */
export function hostileStreams(images: HostileImages): HostileStream[] {
  return [
    { name: 'keyframes-8192', bytes: writeBitstream(craftedKeyframeStream(images)), stoppedBy: 'maxKeyframePixelRatio' },
    {
      name: 'lying-keyframe',
      bytes: writeBitstream({ header: header({ width: 32, height: 24 }), segments: [{ startFrame: 0, frameCount: 24, ...texts, keyframes: [{ codec: 'webp', width: 32, height: 24, data: images.webp16383, frameIndex: 0, priority: 255 }] }] }),
      stoppedBy: 'declared size',
    },
    { name: 'header-65535', bytes: texted({ width: 65535, height: 65535 }, [{}]), stoppedBy: 'maxSourceSide' },
    { name: 'segment-2^32-frames', bytes: texted({ frameCount: 0xffff_ffff }, [{ frameCount: 0xffff_ffff }]), stoppedBy: 'maxSegmentFrames' },
    { name: 'fps-4e9', bytes: texted({ fpsNum: 4_000_000_000, fpsDen: 1 }, [{}]), stoppedBy: 'maxFps' },
    { name: 'fps-1-in-4294967295', bytes: texted({ fpsNum: 1, fpsDen: 0xffff_ffff }, [{}]), stoppedBy: 'minFps' },
    { name: 'ancillary-flood', bytes: withAncillaryChunks({ header: header(), segments: [{ startFrame: 0, frameCount: 24, ...texts, keyframes: [] }] }, 200_000), stoppedBy: 'maxUnknownChunks' },
  ];
}
