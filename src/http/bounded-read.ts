import { ApiError, badRequest } from './errors';

/**
 * Reads a stream to its end, handing each chunk to `onChunk`, unless it holds more than `maxBytes`: then it is
 * cancelled as soon as that is known and the answer is false (nothing past the bound is handed over).
 */
export async function readWithin(stream: ReadableStream<Uint8Array>, maxBytes: number, onChunk: (chunk: Uint8Array) => unknown): Promise<boolean> {
  const reader = stream.getReader();
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return false;
    }
    await onChunk(value);
  }
}

/**
 * A request body of at most `maxBytes`, whole: 413 `payload_too_large` past it (checked from Content-Length before
 * reading and while reading, `tooLarge` naming what is limited), 400 `empty_body` when there is none.
 */
export async function readBoundedBody(request: Request, maxBytes: number, tooLarge = `the body is limited to ${maxBytes} bytes`): Promise<Uint8Array> {
  const refuse = () => new ApiError(413, 'payload_too_large', tooLarge, { details: { maxBytes } });
  if (Number(request.headers.get('Content-Length') ?? NaN) > maxBytes) throw refuse();
  if (request.body === null) throw badRequest('empty_body', 'the body is empty');
  const parts: Uint8Array[] = [];
  let total = 0;
  const whole = await readWithin(request.body, maxBytes, (chunk) => {
    parts.push(chunk);
    total += chunk.byteLength;
  });
  if (!whole) throw refuse();
  if (total === 0) throw badRequest('empty_body', 'the body is empty');
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
