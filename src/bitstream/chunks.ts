/** Constants named after docs/bitstream.md. All multi-byte integers are big-endian. */

/** File signature, bytes 0–7: \x89 C M V C \r \n \x1a (PNG-style: catches 7-bit and newline-mangling transfers). */
export const MAGIC = Uint8Array.of(0x89, 0x43, 0x4d, 0x56, 0x43, 0x0d, 0x0a, 0x1a);
/** Byte 8: the major version. A reader rejects any other major version. */
export const VERSION_MAJOR = 1;
/** Byte 9: the minor version. Minor versions only add ancillary chunks; readers accept any minor. */
export const VERSION_MINOR = 2;
/** The minor version of a stream with v1.1's keyframe chunks and no audio: byte-identical to what a v1.1 writer made. */
export const VERSION_MINOR_V1_1 = 1;
/** The minor version of a stream that uses none of v1.1's chunks (no keyframe positions): byte-identical to v1.0. */
export const VERSION_MINOR_V1_0 = 0;
/** Bytes before the first chunk: magic + major + minor. */
export const PREAMBLE_BYTES = MAGIC.length + 2;

/** Chunk framing: u32 length + 4-byte type before the data, u32 CRC-32 after it. */
export const CHUNK_HEAD_BYTES = 8;
export const CHUNK_CRC_BYTES = 4;
export const CHUNK_OVERHEAD_BYTES = CHUNK_HEAD_BYTES + CHUNK_CRC_BYTES;

/** Header: geometry, timing, engine, models, generation defaults. Critical; first chunk. */
export const CHUNK_HEAD = 'HEAD';
/** Segment index: byte ranges of each segment. Critical; follows HEAD. */
export const CHUNK_SIDX = 'SIDX';
/** Segment parameters; opens a segment. Critical. */
export const CHUNK_SEGP = 'SEGP';
/** Content text of the current segment. Critical. */
export const CHUNK_CTXT = 'CTXT';
/** Motion text of the current segment. Critical. */
export const CHUNK_MTXT = 'MTXT';
/** Keyframe image of the current segment. Critical (optional per segment). */
export const CHUNK_KFRM = 'KFRM';
/** End of stream; empty; last chunk. Critical. */
export const CHUNK_CEND = 'CEND';
/** v1.1: frame index and priority of the segment's KFRM (its anchor keyframe). Ancillary; right after KFRM. */
export const CHUNK_KPOS = 'kpos';
/** v1.1: a further keyframe of the segment, with its frame index and priority. Ancillary; after kpos. */
export const CHUNK_KFRX = 'kfrx';
/** v1.2: the segment's sound, as codec packets with the samples to skip and to keep. Ancillary; last in its segment. */
export const CHUNK_AUDO = 'audo';

export const KNOWN_CHUNKS: ReadonlySet<string> = new Set([CHUNK_HEAD, CHUNK_SIDX, CHUNK_SEGP, CHUNK_CTXT, CHUNK_MTXT, CHUNK_KFRM, CHUNK_CEND, CHUNK_KPOS, CHUNK_KFRX, CHUNK_AUDO]);
/** Chunks only a v1.1 stream has: a stream with any of them (and no v1.2 chunk) is written as minor 1. */
export const V1_1_CHUNKS: ReadonlySet<string> = new Set([CHUNK_KPOS, CHUNK_KFRX]);
/** Chunks only a v1.2 stream has: a stream with any of them is written as minor 2. */
export const V1_2_CHUNKS: ReadonlySet<string> = new Set([CHUNK_AUDO]);

/** The minor version a writer gives a stream made of chunks of these types: the lowest whose chunks it uses. */
export function minorVersionFor(types: Iterable<string>): number {
  let minor = VERSION_MINOR_V1_0;
  for (const type of types) {
    if (V1_2_CHUNKS.has(type)) return VERSION_MINOR;
    if (V1_1_CHUNKS.has(type)) minor = VERSION_MINOR_V1_1;
  }
  return minor;
}

/** A chunk type is four ASCII letters (A–Z, a–z). */
export function isValidChunkType(bytes: Uint8Array): boolean {
  if (bytes.length !== 4) return false;
  for (const b of bytes) {
    if (!((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a))) return false;
  }
  return true;
}

/** PNG rule: an upper-case first letter marks a critical chunk; lower-case marks an ancillary one. */
export function isCritical(type: string): boolean {
  const c = type.charCodeAt(0);
  return c >= 0x41 && c <= 0x5a;
}

/** Fixed data sizes. */
export const HEAD_FIXED_BYTES = 7 * 4 + 1; // seven u32 fields + dictionary version u8
export const SIDX_FIXED_BYTES = 8; // count u32 + end offset u32
export const SIDX_ENTRY_BYTES = 16; // offset, length, start frame, frame count: u32 each
export const SEGP_FLAG_SEED = 0x01;
export const SEGP_MIN_BYTES = 9; // start frame u32, frame count u32, flags u8
export const KFRM_FIXED_BYTES = 9; // codec u8, width u32, height u32
export const KPOS_BYTES = 5; // frame index u32, priority u8
export const KFRX_FIXED_BYTES = KPOS_BYTES + KFRM_FIXED_BYTES; // frame index, priority, then KFRM's fields
/** Priority of a v1.0 KFRM (no kpos): the segment's only keyframe, kept longest. */
export const LEGACY_KEYFRAME_PRIORITY = 255;
/** A segment is at least SEGP + CTXT + MTXT, each with framing and a coding tag. */
export const MIN_SEGMENT_BYTES = 3 * CHUNK_OVERHEAD_BYTES + SEGP_MIN_BYTES + 2;

/** Text coding tags (first data byte of CTXT/MTXT). */
export const TEXT_CODING_PLAIN = 0x00;
export const TEXT_CODING_DEFLATE_DICT = 0x01;

export type KeyframeCodec = 'webp' | 'jpeg' | 'avif' | 'png';
/** KFRM codec byte → codec name; 0 and 5–255 are reserved. */
export const KEYFRAME_CODECS: Readonly<Record<number, KeyframeCodec>> = Object.freeze({ 1: 'webp', 2: 'jpeg', 3: 'avif', 4: 'png' });
export const KEYFRAME_CODEC_IDS: Readonly<Record<KeyframeCodec, number>> = Object.freeze({ webp: 1, jpeg: 2, avif: 3, png: 4 });

/** audo: codec u8, channels u8, sample rate u32, pre-skip u32, sample count u32; then the packets. */
export const AUDO_FIXED_BYTES = 1 + 1 + 4 + 4 + 4;
export type AudioCodec = 'opus';
/** audo codec byte → codec name; 0 and 2–255 are reserved. */
export const AUDIO_CODECS: Readonly<Record<number, AudioCodec>> = Object.freeze({ 1: 'opus' });
export const AUDIO_CODEC_IDS: Readonly<Record<AudioCodec, number>> = Object.freeze({ opus: 1 });
/** The one sample rate of Opus audio (RFC 7845: Opus always decodes at 48 kHz here). */
export const OPUS_SAMPLE_RATE = 48_000;
/** Channel counts an audo chunk may carry: mono or stereo (a multichannel source is downmixed). */
export const AUDIO_MAX_CHANNELS = 2;

export const BITSTREAM_MIME = 'application/vnd.cmvc';
export const BITSTREAM_EXTENSION = '.cmvc';
