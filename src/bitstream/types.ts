import type { KeyframeCodec } from './chunks';

export type { KeyframeCodec } from './chunks';

/** A codec-tagged still image (the IT2V conditioning frame of a segment). */
export interface Keyframe {
  codec: KeyframeCodec;
  /** Pixels, ≥ 1. */
  width: number;
  height: number;
  /** The encoded image file, 1..maxKeyframeBytes bytes. */
  data: Uint8Array;
}

/** One scene: frames [startFrame, startFrame + frameCount) of the source video. */
export interface SegmentData {
  startFrame: number;
  frameCount: number;
  contentText: string;
  motionText: string;
  keyframe?: Keyframe;
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
