import type { z } from 'zod';
import { ApiError, badRequest } from './errors';

/** Largest JSON request body read, in bytes. */
const MAX_JSON_BYTES = 64 * 1024;

/** Reads and validates a JSON body; every failure is a 4xx in the one error shape, naming the field. */
export async function jsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  if (!(request.headers.get('Content-Type') ?? '').toLowerCase().startsWith('application/json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  const text = await boundedText(request);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('invalid_json', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue?.path.join('.') || '(body)';
    throw badRequest('invalid_body', `${field}: ${issue?.message ?? 'invalid'}`, { field });
  }
  return parsed.data;
}

const tooLarge = () => new ApiError(413, 'payload_too_large', `JSON bodies are limited to ${MAX_JSON_BYTES} bytes`, { details: { maxBytes: MAX_JSON_BYTES } });

/**
 * The body as text, refused past MAX_JSON_BYTES bytes — counted as bytes while reading, so neither an
 * undeclared length nor multi-byte characters (a string's length counts UTF-16 units) get more through.
 */
async function boundedText(request: Request): Promise<string> {
  if (Number(request.headers.get('Content-Length') ?? 0) > MAX_JSON_BYTES) throw tooLarge();
  if (request.body === null) return '';
  const decoder = new TextDecoder();
  const reader = request.body.getReader();
  let text = '';
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    total += value.byteLength;
    if (total > MAX_JSON_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
}
