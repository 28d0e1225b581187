import type { AudioCodec, KeyframeCodec } from './chunks';

export type { AudioCodec, KeyframeCodec } from './chunks';

/** A codec-tagged still image: what the segment shows at one of its frames (IT2V conditioning). */
export interface Keyframe {
  codec: KeyframeCodec;
  /** Pixels, ≥ 1. */
  width: number;
  height: number;
  /** The encoded image file, 1..maxKeyframeBytes bytes. */
  data: Uint8Array;
  /** The frame within the segment (0-based, < the segment's frameCount, at the header's frame rate) this image shows. */
  frameIndex: number;
  /** 0–255: higher is kept longer; cuts by rate drop keyframes lowest priority first. */
  priority: number;
}

/**
 * A segment's sound: codec packets that decode, after `preSkip` samples are dropped, to exactly
 * `sampleCount` samples per channel — the segment's frames at `sampleRate` (docs/bitstream.md, "audo").
 */
export interface SegmentAudio {
  codec: AudioCodec;
  /** 1 or 2. */
  channels: number;
  /** Samples per second of the decoded audio (48000 for Opus). */
  sampleRate: number;
  /** Samples per channel of the decoded packets to drop first (encoder delay and pre-roll). */
  preSkip: number;
  /** Samples per channel kept after `preSkip`: the segment's duration at `sampleRate`. */
  sampleCount: number;
  /** The codec's packets in decoding order (Opus: RFC 6716 packets), each 1..maxAudioPacketBytes bytes. */
  packets: Uint8Array[];
}

/** One scene: frames [startFrame, startFrame + frameCount) of the source video. */
export interface SegmentData {
  startFrame: number;
  frameCount: number;
  contentText: string;
  motionText: string;
  /** 0..maxKeyframesPerSegment keyframes, sorted by frameIndex, indices unique (none: a TT2V-only segment). */
  keyframes: Keyframe[];
  /** Overrides the header's generation seed for this segment. */
  seed?: number;
  /** v1.2: the segment's sound; absent: silent (a stream without audio, or a segment whose audio was cut). */
  audio?: SegmentAudio;
}

export interface BitstreamHeader {
  width: number;
  height: number;
  fpsNum: number;
  fpsDen: number;
  frameCount: number;
  durationMs: number;
  engineId: string;
  engineVersion: string;
  /** Model role → "id@revision". */
  models: Record<string, string>;
  /** Default generation seed. */
  seed: number;
}

export interface Bitstream {
  header: BitstreamHeader;
  segments: SegmentData[];
}

/** One SIDX entry: where segment n's chunks lie in the file. */
export interface SegmentIndexEntry {
  startFrame: number;
  frameCount: number;
  /** Offset of the segment's SEGP chunk from the start of the file. */
  offset: number;
  /** Bytes from `offset` to the next segment's SEGP (or the CEND chunk). */
  length: number;
}

/** What the first bytes of a file (through SIDX) say. */
export interface BitstreamIndex {
  header: BitstreamHeader;
  segments: SegmentIndexEntry[];
  /** Offset just past the SIDX chunk. */
  indexEnd: number;
  /** Length of the whole file (offset of CEND + 12). */
  totalBytes: number;
  /** The text dictionary version coded texts use (HEAD field). */
  textDictionary: number;
}
