/**
 * The upload route's multipart parser (src/uploads/multipart.ts) against @remix-run/multipart-parser:
 * `npx tsx bench/multipart.ts` (or `npm run bench multipart`).
 *
 * 1. Speed: a form with one 64 MiB file part arriving in 64 KiB chunks, read to the end, best of 5
 *    runs each, beside a baseline that only pulls the same chunks.
 * 2. Bounds: how many body bytes have been read when the file's first byte is available (a streaming
 *    parser: one chunk; a buffering one: the whole part), and the most bytes of the file held at once.
 * 3. Errors: what each answers for a truncated body, a body with no delimiter, and an oversized header.
 */
import { fileURLToPath } from 'node:url';
import { MultipartParseError, parseMultipartStream } from '@remix-run/multipart-parser';
import { fileFromMultipart } from '../src/uploads/multipart';

const BOUNDARY = '----cmvc-bench-7MA4YWxkTrZu0gW';
const FILE_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const RUNS = 5;

/** A multipart/form-data body with one file part of `fileBytes`, cut into `CHUNK_BYTES` chunks. */
function formChunks(fileBytes: number, { close = true, head = '' } = {}): Uint8Array[] {
  const text = new TextEncoder();
  const file = new Uint8Array(fileBytes);
  for (let i = 0; i < file.length; i += 4096) file[i] = i & 0xff;
  const opening = text.encode(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n${head}Content-Type: video/mp4\r\n\r\n`);
  const closing = text.encode(close ? `\r\n--${BOUNDARY}--\r\n` : '');
  const body = new Uint8Array(opening.length + file.length + closing.length);
  body.set(opening, 0);
  body.set(file, opening.length);
  body.set(closing, opening.length + file.length);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += CHUNK_BYTES) chunks.push(body.subarray(at, at + CHUNK_BYTES));
  return chunks;
}

/** A stream over `chunks` that counts the bytes pulled from it so far. */
function counted(chunks: Uint8Array[]): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let next = 0;
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[next++];
        if (chunk === undefined) return controller.close();
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled };
}

async function eachChunk(stream: ReadableStream<Uint8Array>, use: (chunk: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) use(read.value);
}

interface Run {
  fileBytes: number;
  /** Body bytes read when the first file byte was available to the caller. */
  bodyReadAtFirstByte: number;
  /** The most file bytes the parser handed over at once (a streaming parser: about one chunk). */
  largestPiece: number;
}

async function ours(chunks: Uint8Array[]): Promise<Run> {
  const { stream, pulled } = counted(chunks);
  const file = await fileFromMultipart(stream, `multipart/form-data; boundary=${BOUNDARY}`);
  const run: Run = { fileBytes: 0, bodyReadAtFirstByte: -1, largestPiece: 0 };
  await eachChunk(file.stream, (piece) => {
    if (run.bodyReadAtFirstByte < 0) run.bodyReadAtFirstByte = pulled();
    run.fileBytes += piece.length;
    run.largestPiece = Math.max(run.largestPiece, piece.length);
  });
  return run;
}

async function remix(chunks: Uint8Array[]): Promise<Run> {
  const { stream, pulled } = counted(chunks);
  const run: Run = { fileBytes: 0, bodyReadAtFirstByte: -1, largestPiece: 0 };
  // maxFileSize raised from its 2 MiB default so that a video fits at all.
  for await (const part of parseMultipartStream(stream, { boundary: BOUNDARY, maxFileSize: 4 * FILE_BYTES, maxTotalSize: 4 * FILE_BYTES })) {
    if (part.name !== 'file') continue;
    run.bodyReadAtFirstByte = pulled();
    run.fileBytes = part.size; // its content is a list of every chunk of the part, all held at once
    run.largestPiece = part.size;
  }
  return run;
}

async function baseline(chunks: Uint8Array[]): Promise<Run> {
  const { stream } = counted(chunks);
  let bytes = 0;
  await eachChunk(stream, (chunk) => {
    bytes += chunk.length;
  });
  return { fileBytes: bytes, bodyReadAtFirstByte: CHUNK_BYTES, largestPiece: CHUNK_BYTES };
}

async function best(parse: (chunks: Uint8Array[]) => Promise<Run>, chunks: Uint8Array[]) {
  let ms = Number.POSITIVE_INFINITY;
  let run: Run | undefined;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    run = await parse(chunks);
    ms = Math.min(ms, performance.now() - started);
  }
  return { ms: Number(ms.toFixed(1)), mbPerSecond: Number((FILE_BYTES / 1e6 / (ms / 1000)).toFixed(0)), ...run };
}

/** What a parser answers for a malformed body: its error's name, status/code where it has them, and message. */
async function outcome(parse: () => Promise<unknown>): Promise<string> {
  try {
    await parse();
    return 'accepted';
  } catch (err) {
    const e = err as { name?: string; status?: number; code?: string; message?: string };
    return [e.name, e.status, e.code, e.message].filter((x) => x !== undefined).join(' ');
  }
}

export async function runMultipartBench() {
  const chunks = formChunks(FILE_BYTES);
  const speed = { baseline: await best(baseline, chunks), ours: await best(ours, chunks), remix: await best(remix, chunks) };
  const cases: Record<string, () => Uint8Array[]> = {
    'truncated body (no closing boundary)': () => formChunks(1024 * 1024, { close: false }),
    'no delimiter at all': () => [new TextEncoder().encode('just some bytes, not a form')],
    'a 20 KiB part header': () => formChunks(1024, { head: `X-Pad: ${'a'.repeat(20 * 1024)}\r\n` }),
  };
  const errors: Record<string, { ours: string; remix: string }> = {};
  for (const [name, make] of Object.entries(cases)) {
    errors[name] = { ours: await outcome(() => ours(make())), remix: await outcome(() => remix(make())) };
  }
  const result = { fileBytes: FILE_BYTES, chunkBytes: CHUNK_BYTES, runs: RUNS, speed, errors, remixIsParseError: MultipartParseError.name };
  console.log(`\nMultipart upload parsing (${FILE_BYTES / 2 ** 20} MiB file part, ${CHUNK_BYTES / 1024} KiB chunks, best of ${RUNS}):`);
  for (const [name, r] of Object.entries(speed)) {
    console.log(`${name.padEnd(9)} ${String(r.ms).padStart(7)} ms  ${String(r.mbPerSecond).padStart(6)} MB/s  first file byte after ${r.bodyReadAtFirstByte} body bytes, largest piece held ${r.largestPiece} bytes`);
  }
  for (const [name, e] of Object.entries(errors)) console.log(`${name}:\n  ours:  ${e.ours}\n  remix: ${e.remix}`);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runMultipartBench();
