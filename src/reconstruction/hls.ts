import type { Bitstream } from '../bitstream';
import { carriesAudio } from '../generation/audio-plan';
import type { ReconstructionOptions } from '../shared/reconstruction-options';
import type { Mode } from '../shared/modes';

/** Rough bits per pixel per frame of the generated H.264, for the master playlist's BANDWIDTH hints. */
const ESTIMATED_BITS_PER_PIXEL = 0.08;

export function segmentDurations(bitstream: Bitstream): number[] {
  const fps = bitstream.header.fpsNum / bitstream.header.fpsDen;
  return bitstream.segments.map((s) => s.frameCount / fps);
}

const optionQuery = (o: Partial<ReconstructionOptions>) =>
  new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();

export interface Variant {
  options: ReconstructionOptions;
  /** Query string of the options that differ from the video's defaults. */
  query: string;
}

/**
 * Whether a mode's playlist offers the interpolated frame rate as a variant: IT2V's in-betweens come from its
 * keyframes, which the LoRA interpolation model is tuned for; a mode added to MODES says here whether it does.
 */
const INTERPOLATED_VARIANT: Record<Mode, boolean> = { tt2v: false, it2v: true };

/**
 * Variants a player can adapt between: as asked, half size, and (IT2V) the interpolated frame rate,
 * which is derived from the same cached segments and so costs only the interpolation.
 */
export function hlsVariants(mode: Mode, base: ReconstructionOptions, explicit: Record<string, string>): Variant[] {
  const half = { ...base, w: Math.max(16, Math.round(base.w / 4) * 2), h: Math.max(16, Math.round(base.h / 4) * 2) };
  const variants: Variant[] = [{ options: base, query: optionQuery(explicit) }];
  if (half.w !== base.w) variants.push({ options: half, query: optionQuery({ ...explicit, w: half.w, h: half.h }) });
  if (INTERPOLATED_VARIANT[mode] && base.interp === 1 && base.fps * 2 <= 60) variants.push({ options: { ...base, interp: 2 }, query: optionQuery({ ...explicit, interp: 2 }) });
  return variants;
}

/**
 * H.264 levels (ITU-T H.264 Table A-1) as `[level_idc, MaxMBPS, MaxFS]`, macroblocks per second and per frame,
 * in the order an encoder tries them (x264 takes the first that fits; with CRF and no VBV, its bit rate limits
 * do not apply, and one reference frame never fills a level's DPB before its frame size does).
 */
const H264_LEVELS: readonly (readonly [number, number, number])[] = [
  [10, 1485, 99],
  [11, 3000, 396],
  [12, 6000, 396],
  [13, 11880, 396],
  [20, 11880, 396],
  [21, 19800, 792],
  [22, 20250, 1620],
  [30, 40500, 1620],
  [31, 108000, 3600],
  [32, 216000, 5120],
  [40, 245760, 8192],
  [42, 522240, 8704],
  [50, 589824, 22080],
  [51, 983040, 36864],
  [52, 2073600, 36864],
];

/** The H.264 level a `w`×`h` picture at `fps` frames per second is coded at: the first whose limits it fits. */
export function h264Level(w: number, h: number, fps: number): number {
  const wide = Math.ceil(w / 16);
  const high = Math.ceil(h / 16);
  const frame = wide * high;
  const fits = ([, maxMbps, maxFs]: readonly [number, number, number]) =>
    frame <= maxFs && frame * fps <= maxMbps && Math.max(wide, high) <= Math.sqrt(8 * maxFs);
  return (H264_LEVELS.find(fits) ?? H264_LEVELS[H264_LEVELS.length - 1]!)[0];
}

/**
 * The RFC 6381 codecs of a variant's segments, for the master playlist's CODECS (players, Safari first, pick a
 * variant by it): the generated H.264 (High profile, its level) and, when it carries sound, AAC-LC.
 */
export function variantCodecs(o: Pick<ReconstructionOptions, 'w' | 'h' | 'fps' | 'interp'>, sound: boolean): string {
  const video = `avc1.6400${h264Level(o.w, o.h, o.fps * o.interp).toString(16).padStart(2, '0')}`;
  return sound ? `${video},mp4a.40.2` : video;
}

/**
 * The master playlist: one EXT-X-STREAM-INF per variant, pointing at `{mode}/media.m3u8?{options}`, each with the
 * codecs of its segments (their sound as `bitstream` and the variant's options have it).
 */
export function masterPlaylist(mode: Mode, variants: Variant[], sign: (path: string) => string, bitstream: Bitstream): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const { options: o, query } of variants) {
    const rate = o.fps * o.interp;
    const bandwidth = Math.round(o.w * o.h * rate * ESTIMATED_BITS_PER_PIXEL);
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},CODECS="${variantCodecs(o, carriesAudio(bitstream, o))}",RESOLUTION=${o.w}x${o.h},FRAME-RATE=${rate.toFixed(3)}`);
    lines.push(sign(`${mode}/media.m3u8${query ? `?${query}` : ''}`));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A media playlist of MPEG-TS segments `{n}.ts?{options}`, generated lazily as players ask: VOD, or (`live`) an EVENT
 * playlist of the segments coded so far, without ENDLIST, which players reload until it ends.
 */
export function mediaPlaylist(bitstream: Bitstream, query: string, sign: (path: string) => string, live = false): string {
  const durations = segmentDurations(bitstream);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    // a live stream's chunks are about 2 s, but a scene cut may make one segment of a chunk's whole length
    `#EXT-X-TARGETDURATION:${Math.ceil(Math.max(...durations))}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PLAYLIST-TYPE:${live ? 'EVENT' : 'VOD'}`,
  ];
  durations.forEach((d, n) => {
    lines.push(`#EXTINF:${d.toFixed(3)},`);
    lines.push(sign(`${n}.ts${query ? `?${query}` : ''}`));
  });
  if (!live) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

const vttTime = (seconds: number) => {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
};

/** The texts as WebVTT: one cue per segment with its content text and its motion text. */
export function captionsVtt(bitstream: Bitstream): string {
  const fps = bitstream.header.fpsNum / bitstream.header.fpsDen;
  const cues = bitstream.segments.map((s, n) => {
    const start = s.startFrame / fps;
    const end = (s.startFrame + s.frameCount) / fps;
    const clean = (t: string) => t.replace(/-->/g, '→').replace(/\n+/g, ' ');
    return `${n}\n${vttTime(start)} --> ${vttTime(end)}\n${clean(s.contentText)}\n${clean(s.motionText)}`;
  });
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}
