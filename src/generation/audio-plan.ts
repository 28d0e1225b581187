/**
 * The sound an assembled artifact carries, planned from the bitstream's audo chunks (docs/bitstream.md): whole
 * videos and single segments carry their segments' sound from their first frame; an HLS segment carries its own
 * samples, coded from its neighbours' too, on the timeline's AAC grid, so the segments play on gaplessly.
 */
import { audioChunkPlace, audioSampleAt, encodeAudio, OPUS_SAMPLE_RATE, type Bitstream, type SegmentAudio } from '../bitstream';
import type { ReconstructionOptions } from '../shared/reconstruction-options';
import { INLINE_KEYFRAME_BYTES, type StoredBytes } from './keyframe-grid';

/** One segment's sound in a plan: its audo chunk's data, where that data is stored, or silence of its length (samples). */
export type PlannedAudioPart = { data: Uint8Array } | { stored: StoredBytes } | { silence: number };

/** An assemble call's `audio` as a plan holds it (the coordinator names stored parts by URL when it calls). */
export interface PlannedAudio {
  parts: PlannedAudioPart[];
  /** The timeline sample (48 kHz from the video's first frame) where parts[0] begins. */
  startSample: number;
  /** The timeline samples the file carries; null: all the parts give. */
  window: { start: number; end: number } | null;
  /** Code AAC on the timeline's 1024-sample grid (HLS segments). */
  grid: boolean;
}

/** Where an audo chunk's data lies in storage, when it was read from a stored stream. */
export type LocateAudio = (audio: SegmentAudio) => StoredBytes | null;

/** Whether artifacts of `bitstream` asked for with `options` carry sound: it has some and `audio=0` was not asked. */
export function carriesAudio(bitstream: Bitstream, options: Pick<ReconstructionOptions, 'audio'>): boolean {
  return options.audio === 1 && bitstream.segments.some((s) => s.audio !== undefined);
}

/** Timeline samples [start, end) of segment `n`. */
function span(b: Bitstream, n: number): { start: number; end: number } {
  const s = b.segments[n]!;
  return { start: audioSampleAt(s.startFrame, b.header, OPUS_SAMPLE_RATE), end: audioSampleAt(s.startFrame + s.frameCount, b.header, OPUS_SAMPLE_RATE) };
}

function part(b: Bitstream, n: number, locate: LocateAudio): PlannedAudioPart {
  const audio = b.segments[n]!.audio;
  if (audio === undefined) {
    const { start, end } = span(b, n);
    return { silence: end - start };
  }
  const stored = (audioChunkPlace(audio)?.length ?? 0) > INLINE_KEYFRAME_BYTES ? locate(audio) : null;
  return stored === null ? { data: encodeAudio(audio) } : { stored };
}

/** The sound of segments first..last, played one after the other from the file's start (a whole video, or one segment). */
export function audioOfSegments(b: Bitstream, first: number, last: number, locate: LocateAudio = () => null): PlannedAudio {
  const parts: PlannedAudioPart[] = [];
  for (let n = first; n <= last; n++) parts.push(part(b, n, locate));
  return { parts, startSample: span(b, first).start, window: null, grid: false };
}

/**
 * The sound of HLS segment `n`: its own samples on the timeline, coded with its neighbours' sound around it
 * (where they join it with no gap in frames) so the AAC frames at its edges continue the next and previous segments'.
 */
export function audioOfHlsSegment(b: Bitstream, n: number, locate: LocateAudio = () => null): PlannedAudio {
  const joins = (a: number, c: number) => {
    const x = b.segments[a];
    const y = b.segments[c];
    return x !== undefined && y !== undefined && x.startFrame + x.frameCount === y.startFrame;
  };
  const first = joins(n - 1, n) ? n - 1 : n;
  const last = joins(n, n + 1) ? n + 1 : n;
  return { ...audioOfSegments(b, first, last, locate), window: span(b, n), grid: true };
}
