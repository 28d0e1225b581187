import type { KeyframeCodec } from './chunks';

export type { KeyframeCodec } from './chunks';

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
