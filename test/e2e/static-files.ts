/** A static file server on 127.0.0.1 for browser tests: files by path, Range honoured (the bitstream player reads by range). */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type StaticFiles = Map<string, { type: string; body: Uint8Array }>;

/** Answers `req` from `files`: 206 for a `bytes=a-b` Range, else 200, 404 for an unknown path. */
export function serveStatic(files: StaticFiles, req: IncomingMessage, res: ServerResponse): void {
  const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
  if (!file) return void res.writeHead(404).end();
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (range) {
    const [start, end] = [Number(range[1]), Math.min(Number(range[2]), file.body.length - 1)];
    res.writeHead(206, { 'Content-Type': file.type, 'Content-Range': `bytes ${start}-${end}/${file.body.length}` }).end(file.body.subarray(start, end + 1));
  } else res.writeHead(200, { 'Content-Type': file.type }).end(file.body);
}
