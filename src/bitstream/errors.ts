/** Stable error codes; the API maps each to `bitstream_<code>` (422). */
export type BitstreamErrorCode =
  | 'bad_magic'
  | 'unsupported_version'
  | 'truncated'
  | 'crc_mismatch'
  | 'unknown_critical_chunk'
  | 'limit_exceeded'
  | 'malformed_chunk'
  | 'invalid_content'
  | 'need_more'
  | 'bad_text';

export interface BitstreamErrorInit {
  /** The 4-character type of the chunk where the problem is, when there is one. */
  chunk?: string;
  /** Absolute byte offset (from the start of the file) of the offending field or chunk. */
  offset?: number;
  /** Machine-readable detail: `expected`/`got`, `limit`/`value`, `needBytes`, `field`… */
  details?: Record<string, unknown>;
}

/**
 * Malformed input (or, from the writer, invalid content). Anything else thrown from this module is a bug.
 * The message names the chunk and offset; `code` is stable and safe to branch on.
 */
export class BitstreamError extends Error {
  override readonly name = 'BitstreamError';
  readonly code: BitstreamErrorCode;
  readonly chunk?: string;
  readonly offset?: number;
  readonly details?: Record<string, unknown>;

  constructor(code: BitstreamErrorCode, message: string, init: BitstreamErrorInit = {}) {
    const where = [init.chunk !== undefined ? `chunk ${init.chunk}` : '', init.offset !== undefined ? `byte ${init.offset}` : '']
      .filter(Boolean)
      .join(', ');
    super(where ? `${message} (${where})` : message);
    this.code = code;
    if (init.chunk !== undefined) this.chunk = init.chunk;
    if (init.offset !== undefined) this.offset = init.offset;
    if (init.details !== undefined) this.details = init.details;
  }
}

/** A broken internal invariant: a bug in this module, never a property of the input. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`bitstream invariant failed: ${message}`);
}
