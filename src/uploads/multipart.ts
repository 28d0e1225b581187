import { ApiError } from '../http/errors';

/** RFC 2046 §5.1.1: 1..70 `bchars`, the last of them not a space. */
const BOUNDARY_SYNTAX = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;
const CRLF = new Uint8Array([CR, LF]);
/** A part's header block ends at an empty line; its first CRLF is the one ending the delimiter line. */
const HEADER_BLOCK_END = new Uint8Array([CR, LF, CR, LF]);
/** RFC 7578 §4.4: a part without a Content-Type is `text/plain`; a file field's bytes are better treated as opaque. */
const DEFAULT_PART_TYPE = 'application/octet-stream';

/** Bytes of headers one part may carry (RFC 7578 sets no limit; a real form's are a few hundred). */
export const MAX_PART_HEADER_BYTES = 16 * 1024;
/** Bytes outside the file part (preamble, other fields and their headers, transport padding) read and discarded before refusing with 413. */
export const MAX_SKIPPED_BYTES = 1024 * 1024;

/** The file field of a multipart/form-data body; `stream` yields its bytes as the body arrives. */
export interface MultipartFile {
  filename: string | null;
  contentType: string;
  stream: ReadableStream<Uint8Array>;
}

const malformed = (message: string) => new ApiError(400, 'malformed_multipart', message);
const truncated = () => new ApiError(400, 'truncated_upload', 'the multipart body ended before its closing boundary');
const missingFile = () => new ApiError(400, 'missing_file', 'the multipart body needs a field "file" holding the video');

/**
 * Finds the part named `fieldName` in a multipart/form-data `body` (RFC 7578) and resolves as soon
 * as its headers are read. Parts before it are discarded as they stream; the returned stream ends
 * exactly at the delimiter after the file, once the rest of the body up to the close delimiter has
 * been read (and discarded), and errors with `truncated_upload` when the body ends before that.
 * Nothing is buffered beyond one incoming chunk and a carry-over shorter than the delimiter
 * (plus at most {@link MAX_PART_HEADER_BYTES} of one part's headers).
 *
 * Throws `ApiError` 400 `malformed_multipart` (no valid boundary, bad or oversized headers, a body
 * with no delimiter), 400 `missing_file`, or 413 `payload_too_large` past {@link MAX_SKIPPED_BYTES}.
 */
export async function fileFromMultipart(body: ReadableStream<Uint8Array>, contentType: string, fieldName = 'file'): Promise<MultipartFile> {
  const boundary = boundaryOf(contentType);
  // A delimiter is CRLF "--" boundary (RFC 2046 §5.1.1); the CRLF belongs to it, not to the part before.
  const delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
  const reader = body.getReader();
  // The first delimiter may open the body with no CRLF before it: start as if one came first.
  const source = new ByteSource(reader, CRLF);
  const budget = new SkipBudget();
  try {
    if (!(await source.discardUntil(delimiter, budget))) throw malformed('the multipart body holds no boundary delimiter');
    for (;;) {
      if (await source.atCloseDelimiter(budget)) throw missingFile();
      const headers = await readPartHeaders(source, budget);
      const disposition = parseParameters(headers.get('content-disposition') ?? '');
      if (disposition.value.toLowerCase() === 'form-data' && disposition.params.get('name') === fieldName) {
        return {
          filename: filenameOf(disposition.params),
          contentType: (headers.get('content-type') ?? '').trim().toLowerCase() || DEFAULT_PART_TYPE,
          stream: partStream(source, delimiter, budget),
        };
      }
      if (!(await source.discardUntil(delimiter, budget))) throw malformed('the multipart body ended before its closing boundary');
    }
  } catch (err) {
    await source.cancel();
    throw err;
  }
}

/**
 * The `boundary` parameter of a multipart Content-Type, quoted or not; 400 `malformed_multipart`
 * when it is missing or not 1..70 RFC 2046 boundary characters.
 */
export function boundaryOf(contentType: string): string {
  const { value, params } = parseParameters(contentType);
  const boundary = params.get('boundary');
  if (!value.toLowerCase().startsWith('multipart/') || boundary === undefined || !BOUNDARY_SYNTAX.test(boundary)) {
    throw malformed('the multipart Content-Type needs a boundary of 1 to 70 characters (RFC 2046)');
  }
  return boundary;
}

/**
 * Splits a header value such as `form-data; name="file"; filename="a \"b\".mp4"` into its leading
 * value and its parameters (names lower-cased, the first of repeated names kept, quoted-strings unescaped).
 */
export function parseParameters(header: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  let at = header.indexOf(';');
  const value = (at < 0 ? header : header.slice(0, at)).trim();
  while (at >= 0 && at < header.length) {
    at++; // past ';'
    const eq = header.indexOf('=', at);
    const semi = header.indexOf(';', at);
    if (eq < 0 || (semi >= 0 && semi < eq)) {
      at = semi; // a parameter without a value: skip it
      continue;
    }
    const name = header.slice(at, eq).trim().toLowerCase();
    at = eq + 1;
    while (header[at] === ' ' || header[at] === '\t') at++;
    let paramValue: string;
    if (header[at] === '"') {
      paramValue = '';
      at++;
      while (at < header.length && header[at] !== '"') {
        // Only \" and \\ are unescaped: browsers percent-encode quotes, and a Windows path keeps its backslashes.
        if (header[at] === '\\' && (header[at + 1] === '"' || header[at + 1] === '\\')) at++;
        paramValue += header[at];
        at++;
      }
      at = header.indexOf(';', at);
    } else {
      const end = header.indexOf(';', at);
      paramValue = (end < 0 ? header.slice(at) : header.slice(at, end)).trim();
      at = end;
    }
    if (name !== '' && !params.has(name)) params.set(name, paramValue);
  }
  return { value, params };
}

/** `filename*` (RFC 5987, UTF-8 only) when it decodes, else `filename`; an empty name (no file chosen) is null. */
function filenameOf(params: Map<string, string>): string | null {
  const extended = /^utf-8'[^']*'(.*)$/i.exec(params.get('filename*') ?? '');
  if (extended) {
    try {
      const decoded = decodeURIComponent(extended[1] as string);
      if (decoded !== '') return decoded;
    } catch {
      // Not valid percent-encoded UTF-8: fall back to the plain parameter.
    }
  }
  return params.get('filename') || null;
}

/**
 * Reads the header block after a delimiter line into lower-cased names (folded lines joined); at
 * most {@link MAX_PART_HEADER_BYTES}, else 400 `malformed_multipart`.
 */
async function readPartHeaders(source: ByteSource, budget: SkipBudget): Promise<Map<string, string>> {
  const pieces: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const step = await source.scan(HEADER_BLOCK_END);
    if (step === null) throw malformed('the multipart body ended inside the headers of a part');
    length += step.bytes.byteLength;
    if (length > MAX_PART_HEADER_BYTES) throw malformed(`the headers of a multipart part exceed ${MAX_PART_HEADER_BYTES} bytes`);
    budget.spend(step.bytes.byteLength + (step.found ? HEADER_BLOCK_END.byteLength : 0));
    // Copied so that only the header bytes are kept, not every (possibly large) chunk they came from.
    pieces.push(step.bytes.slice());
    if (step.found) break;
  }
  const block = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    block.set(piece, offset);
    offset += piece.byteLength;
  }
  const headers = new Map<string, string>();
  let last: string | null = null;
  // The block starts with the CRLF ending the delimiter line, so its first line is empty.
  for (const line of new TextDecoder().decode(block).split('\r\n').slice(1)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== null) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`); // obsolete line folding (RFC 5322 §2.2.3)
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('a multipart part has a header line without a name');
    last = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * The bytes of the file part up to `delimiter`, pulled on demand; at its end the rest of the body is
 * drained to the close delimiter so that a truncated body errors the stream instead of ending it.
 */
function partStream(source: ByteSource, delimiter: Uint8Array, budget: SkipBudget): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const step = await source.scan(delimiter);
          if (step === null) throw truncated();
          // A view, not a copy: chunks are never written to once read, only joined into new arrays.
          if (step.bytes.byteLength > 0) controller.enqueue(step.bytes);
          if (!step.found) return;
          await drainAfterFile(source, delimiter, budget);
          controller.close();
        } catch (err) {
          // The body ending anywhere before the close delimiter means the upload did not arrive whole.
          const endedEarly = source.ended && err instanceof ApiError && err.code === 'malformed_multipart';
          await source.cancel();
          controller.error(err instanceof ApiError && !endedEarly ? err : truncated());
        }
      },
      async cancel(reason) {
        await source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads and discards the parts after the file up to the close delimiter; the epilogue is left unread. */
async function drainAfterFile(source: ByteSource, delimiter: Uint8Array, budget: SkipBudget): Promise<void> {
  for (;;) {
    if (await source.atCloseDelimiter(budget)) {
      await source.cancel();
      return;
    }
    await readPartHeaders(source, budget);
    if (!(await source.discardUntil(delimiter, budget))) throw truncated();
  }
}

/** Counts the bytes read outside the file part; 413 once they pass {@link MAX_SKIPPED_BYTES}. */
class SkipBudget {
  private spent = 0;

  spend(bytes: number): void {
    this.spent += bytes;
    if (this.spent > MAX_SKIPPED_BYTES) {
      throw new ApiError(413, 'payload_too_large', `the multipart fields besides the file exceed ${MAX_SKIPPED_BYTES} bytes`, {
        details: { maxBytes: MAX_SKIPPED_BYTES },
      });
    }
  }
}

/**
 * A cursor over a byte stream that holds one chunk at a time plus a carry-over: the unconsumed tail
 * of the previous chunk, which is only ever kept when it may be the start of a delimiter.
 */
class ByteSource {
  private pending: Uint8Array;
  private done = false;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    initial: Uint8Array,
  ) {
    this.pending = initial;
  }

  /** Whether the underlying stream has ended. */
  get ended(): boolean {
    return this.done;
  }

  /**
   * The next bytes before `needle` that can no longer be part of it, and whether `needle` follows
   * them (then it is consumed too); never empty unless `found`. Null when the body ends first.
   */
  async scan(needle: Uint8Array): Promise<{ bytes: Uint8Array; found: boolean } | null> {
    for (;;) {
      const at = indexOf(this.pending, needle);
      if (at >= 0) {
        const bytes = this.pending.subarray(0, at);
        this.pending = this.pending.subarray(at + needle.byteLength);
        return { bytes, found: true };
      }
      const safe = this.pending.byteLength - partialMatchAtEnd(this.pending, needle);
      if (safe > 0) {
        const bytes = this.pending.subarray(0, safe);
        this.pending = this.pending.subarray(safe);
        return { bytes, found: false };
      }
      if (!(await this.more())) return null;
    }
  }

  /** Discards bytes up to and including `needle`, charging them to `budget`; false when the body ends first. */
  async discardUntil(needle: Uint8Array, budget: SkipBudget): Promise<boolean> {
    for (;;) {
      const step = await this.scan(needle);
      if (step === null) return false;
      budget.spend(step.bytes.byteLength + (step.found ? needle.byteLength : 0));
      if (step.found) return true;
    }
  }

  /**
   * After a delimiter: true when it is the close delimiter (`--` follows); otherwise skips the
   * transport padding (RFC 2046 §5.1.1) and leaves the CRLF that ends the delimiter line unread.
   */
  async atCloseDelimiter(budget: SkipBudget): Promise<boolean> {
    if (!(await this.fill(2))) throw malformed('the multipart body ended after a boundary delimiter');
    if (this.pending[0] === DASH && this.pending[1] === DASH) return true;
    for (;;) {
      let padding = 0;
      while (padding < this.pending.byteLength && (this.pending[padding] === SPACE || this.pending[padding] === TAB)) padding++;
      budget.spend(padding);
      this.pending = this.pending.subarray(padding);
      if (!(await this.fill(2))) throw malformed('the multipart body ended after a boundary delimiter');
      if (this.pending[0] !== SPACE && this.pending[0] !== TAB) break;
    }
    if (this.pending[0] !== CR || this.pending[1] !== LF) throw malformed('a multipart boundary delimiter is followed by more than padding');
    return false;
  }

  /** Cancels the underlying stream; what is left of the body is never read. */
  async cancel(reason?: unknown): Promise<void> {
    this.pending = new Uint8Array(0);
    if (this.done) return;
    this.done = true;
    await this.reader.cancel(reason).catch(() => {});
  }

  /** Reads until at least `n` bytes are pending; false when the body ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.pending.byteLength < n) if (!(await this.more())) return false;
    return true;
  }

  /** Appends the next chunk to the carry-over; false at the end of the body. */
  private async more(): Promise<boolean> {
    if (this.done) return false;
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await this.reader.read();
    } catch {
      this.done = true;
      throw new ApiError(400, 'truncated_upload', 'the upload did not arrive whole');
    }
    if (next.done) {
      this.done = true;
      return false;
    }
    const chunk = next.value;
    if (this.pending.byteLength === 0) {
      this.pending = chunk;
    } else {
      const joined = new Uint8Array(this.pending.byteLength + chunk.byteLength);
      joined.set(this.pending);
      joined.set(chunk, this.pending.byteLength);
      this.pending = joined;
    }
    return true;
  }
}

/** The first index of `needle` in `haystack`, or -1; the native byte search finds each candidate start. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0] as number;
  const last = haystack.byteLength - needle.byteLength;
  for (let at = haystack.indexOf(first); at >= 0 && at <= last; at = haystack.indexOf(first, at + 1)) {
    let i = 1;
    while (i < needle.byteLength && haystack[at + i] === needle[i]) i++;
    if (i === needle.byteLength) return at;
  }
  return -1;
}

/** The length of the longest end of `haystack` that is a proper start of `needle`: bytes to carry over. */
function partialMatchAtEnd(haystack: Uint8Array, needle: Uint8Array): number {
  for (let length = Math.min(haystack.byteLength, needle.byteLength - 1); length > 0; length--) {
    const from = haystack.byteLength - length;
    let i = 0;
    while (i < length && haystack[from + i] === needle[i]) i++;
    if (i === length) return length;
  }
  return 0;
}
