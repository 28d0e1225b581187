import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/http/errors';
import { MAX_PART_HEADER_BYTES, MAX_SKIPPED_BYTES, boundaryOf, fileFromMultipart, parseParameters } from '../../src/uploads/multipart';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function concat(...parts: (Uint8Array | string)[]): Uint8Array {
  const bytes = parts.map((p) => (typeof p === 'string' ? utf8(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of bytes) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/** A stream handing out `body` in pieces of the given sizes (cycled; at least 1 byte each). */
function streamOf(body: Uint8Array, sizes: number[] = [body.byteLength || 1]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.byteLength) return controller.close();
      const size = Math.max(1, sizes[i++ % sizes.length] as number);
      // Copies, as a real body's chunks are separate buffers.
      controller.enqueue(body.slice(at, at + size));
      at += size;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(...chunks);
    chunks.push(value);
  }
}

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw new Error(`expected an ApiError, got ${String(err)}`);
  }
  throw new Error('expected an ApiError, but nothing was thrown');
}

const B = 'XyZ-boundary_0123';
const TYPE = `multipart/form-data; boundary=${B}`;
const filePart = (data: Uint8Array | string, disposition = 'form-data; name="file"; filename="clip.mp4"', type = 'Content-Type: video/mp4\r\n') =>
  concat(`--${B}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`, data, '\r\n');
const close = `--${B}--\r\n`;

async function parse(body: Uint8Array, contentType = TYPE, sizes?: number[]) {
  const file = await fileFromMultipart(streamOf(body, sizes), contentType);
  return { ...file, bytes: await collect(file.stream) };
}

describe('fileFromMultipart', () => {
  it('reads the file part with an unquoted boundary', async () => {
    const file = await parse(concat(filePart('hello video'), close));
    expect(file).toMatchObject({ filename: 'clip.mp4', contentType: 'video/mp4' });
    expect(text(file.bytes)).toBe('hello video');
  });

  it('reads a quoted boundary with spaces and RFC 2046 punctuation', async () => {
    const boundary = "a b'()+_,-./:=?c";
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\nDATA\r\n--${boundary}--`;
    const file = await parse(utf8(body), `multipart/form-data; charset=utf-8; boundary="${boundary}"`);
    expect(text(file.bytes)).toBe('DATA');
    expect(file).toMatchObject({ filename: null, contentType: 'application/octet-stream' });
  });

  it('skips a preamble, a text field before the file and parts after it, and ignores the epilogue', async () => {
    const body = concat(
      'This is the preamble; it is to be ignored.\r\n',
      `--${B}\r\nContent-Disposition: form-data; name="title"\r\n\r\nmy --${B} title\r\n`,
      filePart('the file'),
      `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\nafter\r\n`,
      close,
      'epilogue, never read',
    );
    for (const sizes of [[body.byteLength], [1], [3, 7, 2]]) {
      const file = await parse(body, TYPE, sizes);
      expect(text(file.bytes)).toBe('the file');
      expect(file.filename).toBe('clip.mp4');
    }
  });

  it('tolerates transport padding after a delimiter and folded header lines', async () => {
    const body = `--${B} \t\r\nContent-Disposition: form-data;\r\n name="file"; filename="x.mp4"\r\n\r\nok\r\n--${B}--`;
    const file = await parse(utf8(body));
    expect(file.filename).toBe('x.mp4');
    expect(text(file.bytes)).toBe('ok');
  });

  it('unescapes quoted filenames and prefers a UTF-8 filename*', async () => {
    const quoted = await parse(concat(filePart('x', 'form-data; name="file"; filename="my \\"best\\" clip.mp4"'), close));
    expect(quoted.filename).toBe('my "best" clip.mp4');
    const windows = await parse(concat(filePart('x', 'form-data; name="file"; filename="C:\\clips\\a;b.mp4"'), close));
    expect(windows.filename).toBe('C:\\clips\\a;b.mp4');
    const extended = await parse(concat(filePart('x', `form-data; name="file"; filename="plain.mp4"; filename*=UTF-8''na%C3%AFve%20clip.mp4`), close));
    expect(extended.filename).toBe('naïve clip.mp4');
    const raw = await parse(concat(filePart('x', 'form-data; name="file"; filename="été.mp4"'), close));
    expect(raw.filename).toBe('été.mp4');
    const empty = await parse(concat(filePart('x', 'form-data; name="file"; filename=""'), close));
    expect(empty.filename).toBeNull();
  });

  it('keeps CRLF, dashes and the boundary text that is not a delimiter in the file data', async () => {
    const data = `\r\nline\r\n\r\n--\r\n-${B}\r\n-- ${B}\n--${B}\r--${B}\r\n-\r\n`;
    for (const sizes of [[1], [2], [5], [1000]]) {
      const file = await parse(concat(filePart(data), close), TYPE, sizes);
      expect(text(file.bytes)).toBe(data);
    }
  });

  it('gives an empty stream for an empty file part', async () => {
    const file = await parse(concat(filePart(''), close));
    expect(file.bytes.byteLength).toBe(0);
  });

  it('streams the file before the body has fully arrived', async () => {
    let push!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => {
        push = c;
      },
    });
    push.enqueue(concat(`--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`, 'first bytes'));
    const file = await fileFromMultipart(body, TYPE);
    const reader = file.stream.getReader();
    const first = await reader.read();
    expect(text(first.value as Uint8Array)).toBe('first bytes');
    push.enqueue(utf8(`, more\r\n--${B}--`));
    push.close();
    const rest: string[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(text(r.value));
    expect(rest.join('')).toBe(', more');
  });

  it('answers missing_file when no part is named "file"', async () => {
    const body = concat(`--${B}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\nxx\r\n`, close);
    const err = await apiError(fileFromMultipart(streamOf(body), TYPE));
    expect([err.status, err.code, err.message]).toEqual([400, 'missing_file', 'the multipart body needs a field "file" holding the video']);
    const emptyForm = await apiError(fileFromMultipart(streamOf(utf8(close)), TYPE));
    expect(emptyForm.code).toBe('missing_file');
  });

  it('errors the stream with truncated_upload when the closing delimiter never comes', async () => {
    const cut = concat(`--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`, 'partial data\r\n--', B.slice(0, 5));
    const file = await fileFromMultipart(streamOf(cut, [4]), TYPE);
    const err = await apiError(collect(file.stream));
    expect([err.status, err.code]).toEqual([400, 'truncated_upload']);
    // The file part ended, but the body stops inside a later part.
    const later = concat(filePart('whole'), `--${B}\r\nContent-Disposition: form-data; name="x"\r\n\r\nabc`);
    const afterFile = await fileFromMultipart(streamOf(later), TYPE);
    expect((await apiError(collect(afterFile.stream))).code).toBe('truncated_upload');
    // A delimiter after the file, but the body ends before saying whether it is the close delimiter.
    const noClose = concat(filePart('whole'), `--${B}`);
    expect((await apiError(collect((await fileFromMultipart(streamOf(noClose), TYPE)).stream))).code).toBe('truncated_upload');
  });

  it('errors the stream with truncated_upload when the body itself fails', async () => {
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error('connection reset'));
        sent = true;
        controller.enqueue(utf8(`--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc`));
      },
    });
    const file = await fileFromMultipart(body, TYPE);
    expect((await apiError(collect(file.stream))).code).toBe('truncated_upload');
  });

  it('refuses a header block over the limit, and a header line without a name', async () => {
    const big = concat(`--${B}\r\nContent-Disposition: form-data; name="file"\r\nX-Pad: ${'a'.repeat(MAX_PART_HEADER_BYTES)}\r\n\r\nx\r\n`, close);
    const err = await apiError(fileFromMultipart(streamOf(big, [100]), TYPE));
    expect([err.status, err.code]).toEqual([400, 'malformed_multipart']);
    const nameless = concat(`--${B}\r\nnot a header\r\n\r\nx\r\n`, close);
    expect((await apiError(fileFromMultipart(streamOf(nameless), TYPE))).code).toBe('malformed_multipart');
  });

  it('refuses a missing or invalid boundary, and a body without any delimiter', async () => {
    const body = concat(filePart('x'), close);
    for (const contentType of [
      'multipart/form-data',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      `multipart/form-data; boundary=${'a'.repeat(71)}`,
      'multipart/form-data; boundary="ends with space "',
      'multipart/form-data; boundary=semi;colon',
      'multipart/form-data; boundary="no@at"',
      'multipart/form-data; boundary=ünï',
    ]) {
      const err = await apiError(fileFromMultipart(streamOf(body), contentType));
      expect([err.status, err.code], contentType).toEqual([400, 'malformed_multipart']);
    }
    expect(boundaryOf(`multipart/form-data; boundary=${'a'.repeat(70)}`)).toBe('a'.repeat(70));
    expect(boundaryOf('Multipart/Form-Data; BOUNDARY="Case-Kept"')).toBe('Case-Kept');
    const nothing = await apiError(fileFromMultipart(streamOf(utf8('just some text')), TYPE));
    expect(nothing.code).toBe('malformed_multipart');
    const noHeaders = await apiError(fileFromMultipart(streamOf(utf8(`--${B}\r\nContent-Disp`)), TYPE));
    expect(noHeaders.code).toBe('malformed_multipart');
    const junkAfter = await apiError(fileFromMultipart(streamOf(utf8(`--${B}junk\r\n\r\n`)), TYPE));
    expect(junkAfter.code).toBe('malformed_multipart');
  });

  it('answers 413 when the data outside the file passes the limit', async () => {
    const body = concat(`--${B}\r\nContent-Disposition: form-data; name="big"\r\n\r\n`, new Uint8Array(MAX_SKIPPED_BYTES + 1), '\r\n', filePart('x'), close);
    const err = await apiError(fileFromMultipart(streamOf(body, [65536]), TYPE));
    expect([err.status, err.code]).toEqual([413, 'payload_too_large']);
  });

  it('cancels the body when the file stream is cancelled', async () => {
    let cancelled: unknown = null;
    const body = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(utf8(`--${B}\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc`)),
      cancel: (reason) => {
        cancelled = reason ?? 'cancelled';
      },
    });
    const file = await fileFromMultipart(body, TYPE);
    await file.stream.cancel('not a video');
    expect(cancelled).toBe('not a video');
  });
});

describe('parseParameters', () => {
  it('splits a value and its parameters, quoted or not', () => {
    const { value, params } = parseParameters('form-data; NAME="a;b=c"; flag; filename=plain.mp4 ; name=second');
    expect(value).toBe('form-data');
    expect([...params]).toEqual([
      ['name', 'a;b=c'],
      ['filename', 'plain.mp4'],
    ]);
  });
});

describe('fileFromMultipart (fast-check)', () => {
  const bchar = fc.constantFrom(..."0123456789abcXYZ'()+_,-./:=?");
  const arbBoundary = fc
    .tuple(fc.array(fc.oneof(bchar, fc.constant(' ')), { maxLength: 69 }), bchar)
    .map(([head, last]) => head.join('') + last);

  it('gives back exactly the file bytes for any content and any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbBoundary,
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 40 }),
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        fc.boolean(),
        async (boundary, pieceKinds, randomPieces, sizes, fieldBefore, partAfter) => {
          const delimiter = `\r\n--${boundary}`;
          // File data built from pieces that look like the delimiter, its prefixes and its suffixes.
          const fragments = [delimiter.slice(0, -1), `--${boundary}`, '\r\n--', '\r', '\r\n', delimiter.slice(1), boundary];
          const file = concat(
            ...pieceKinds.map((kind, i) => (kind === 0 ? (randomPieces[i % Math.max(1, randomPieces.length)] ?? new Uint8Array(0)) : (fragments[(kind + i) % fragments.length] as string))),
          );
          // The one constraint on a part's content (RFC 2046 §5.1.1): the delimiter does not occur in it.
          const latin1 = (b: Uint8Array) => Array.from(b, (x) => String.fromCharCode(x)).join('');
          fc.pre(latin1(concat(file, delimiter)).indexOf(delimiter) === file.byteLength);
          const body = concat(
            'preamble\r\n',
            fieldBefore ? `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n${boundary}\r\n` : '',
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
            file,
            `\r\n`,
            partAfter ? `--${boundary}\r\nContent-Disposition: form-data; name="after"\r\n\r\n--\r\n` : '',
            `--${boundary}--\r\nepilogue`,
          );
          const parsed = await fileFromMultipart(streamOf(body, sizes), `multipart/form-data; boundary="${boundary}"`);
          expect(await collect(parsed.stream)).toEqual(file);
        },
      ),
      { numRuns: 400 },
    );
  });
});
