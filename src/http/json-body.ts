import type { z } from 'zod';
import { ApiError, badRequest } from './errors';

/** Largest JSON request body read, in bytes. */
const MAX_JSON_BYTES = 64 * 1024;

/** Reads and validates a JSON body; every failure is a 4xx in the one error shape, naming the field. */
export async function jsonBody<T>(request: Request, schema: z.ZodType<T>): Promise<T> {
  if (!(request.headers.get('Content-Type') ?? '').toLowerCase().startsWith('application/json')) {
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  const length = Number(request.headers.get('Content-Length') ?? 0);
  if (length > MAX_JSON_BYTES) throw new ApiError(413, 'payload_too_large', `JSON bodies are limited to ${MAX_JSON_BYTES} bytes`);
  const text = await request.text();
  if (text.length > MAX_JSON_BYTES) throw new ApiError(413, 'payload_too_large', `JSON bodies are limited to ${MAX_JSON_BYTES} bytes`);
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
