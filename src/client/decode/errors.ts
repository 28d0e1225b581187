/** What can go wrong decoding a bitstream to frames; players show it, the CLI exits non-zero with it. */
export type DecodeErrorCode =
  /** The bytes are no valid CMVC bitstream (the BitstreamError is the cause). */
  | 'bad_bitstream'
  /** A keyframe's bytes do not decode as an image of its codec. */
  | 'bad_keyframe'
  /** A motion text outside the grammar (gpu-functions/docs/motion-grammar.md). */
  | 'bad_motion_text'
  /** The stream asks for more than a reconstruction may (STREAM_LIMITS in src/bitstream/stream-limits.ts): `where.limit` names it. */
  | 'limit_exceeded'
  /** The request cannot be met (e.g. a geometry over the limit). */
  | 'invalid_request';

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
    readonly where: { segment?: number; keyframe?: number; limit?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DecodeError';
  }
}
