import { BitstreamError } from './errors';
import { STREAM_LIMITS } from './stream-limits';

/** Resource limits a reader enforces before it allocates or decompresses anything. All sizes in bytes. */
export interface BitstreamLimits {
  /** Whole file, from the magic to the end of the CEND chunk. */
  maxTotalBytes: number;
  /** Data field of any one chunk. */
  maxChunkBytes: number;
  /** Segments in one bitstream (entries of SIDX). */
  maxSegments: number;
  /** One text, as plain UTF-8 (also bounds its coded form). */
  maxTextBytes: number;
  /** Image bytes of one keyframe. */
  maxKeyframeBytes: number;
  /** Keyframes in one segment (KFRM plus kfrx chunks). */
  maxKeyframesPerSegment: number;
  /** Packet bytes of one segment's audio (an audo chunk's data after its fixed fields). */
  maxAudioBytes: number;
  /** One audio packet. */
  maxAudioPacketBytes: number;
  /** Unknown ancillary chunks skipped in one bitstream (a flood of them costs a walk, and a listing in inspect). */
  maxUnknownChunks: number;
}

export const DEFAULT_LIMITS: Readonly<BitstreamLimits> = Object.freeze({
  maxTotalBytes: 64 * 1024 * 1024,
  maxChunkBytes: 16 * 1024 * 1024,
  maxSegments: 10_000,
  maxTextBytes: 16 * 1024,
  maxKeyframeBytes: STREAM_LIMITS.maxKeyframeBytes,
  maxKeyframesPerSegment: STREAM_LIMITS.maxKeyframesPerSegment,
  maxAudioBytes: STREAM_LIMITS.maxAudioBytes,
  maxAudioPacketBytes: STREAM_LIMITS.maxAudioPacketBytes,
  maxUnknownChunks: STREAM_LIMITS.maxUnknownChunks,
});

/** What a reader may allocate for: reported to `onAllocate` before each buffer is made. */
export type AllocationKind = 'chunk' | 'text' | 'keyframe' | 'audio';

/** Reader options: any subset of the limits, plus an observer that sees every byte buffer before it is allocated. */
export interface ReadOptions extends Partial<BitstreamLimits> {
  onAllocate?: (bytes: number, kind: AllocationKind) => void;
}

/** Hard format limits (not options): they follow from field widths in docs/bitstream.md. */
export const FORMAT_LIMITS = Object.freeze({
  /** u8 length prefix of header strings. */
  maxStringBytes: 255,
  /** Entries in the HEAD model list. */
  maxModels: 64,
  /** Largest value of a u32 field. */
  maxU32: 0xffff_ffff,
  /** Largest text plain length a varint may declare (4 varint bytes). */
  maxVarint: 0x0fff_ffff,
});

const LIMIT_KEYS = ['maxTotalBytes', 'maxChunkBytes', 'maxSegments', 'maxTextBytes', 'maxKeyframeBytes', 'maxKeyframesPerSegment', 'maxAudioBytes', 'maxAudioPacketBytes', 'maxUnknownChunks'] as const;

/** Resolves options against DEFAULT_LIMITS; a bad option is a programming error (RangeError). */
export function resolveLimits(options: ReadOptions = {}): BitstreamLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of LIMIT_KEYS) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0 || value > FORMAT_LIMITS.maxU32) {
      throw new RangeError(`bitstream limit ${key} must be an integer in [0, 2^32-1], got ${String(value)}`);
    }
    out[key] = value;
  }
  return out;
}

/** Throws limit_exceeded when `value` > `limit`. */
export function checkLimit(value: number, limit: number, name: keyof BitstreamLimits | string, where: { chunk?: string; offset?: number }): void {
  if (value > limit) {
    throw new BitstreamError('limit_exceeded', `${name} is ${value}, over the limit of ${limit}`, { ...where, details: { limit: name, max: limit, value } });
  }
}
