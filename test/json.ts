/**
 * Typed response bodies for the route tests: each body is parsed by the zod shape the route documents
 * (src/openapi/shapes.ts), so a test reads typed fields instead of `any`, and a body that drifts from
 * the documented shape fails the test that reads it.
 */
import type { z } from 'zod';
import { ErrorBody } from '../src/openapi/shapes';

/** The body of `response`, parsed by `shape` (extra fields are dropped, as the shape's type says). */
export async function json<S extends z.ZodType>(response: Response, shape: S): Promise<z.output<S>> {
  return shape.parse(await response.json());
}

/** The `{ error: { code, message, details } }` body every failure answers with. */
export async function errorBody(response: Response): Promise<z.output<typeof ErrorBody>['error']> {
  return (await json(response, ErrorBody)).error;
}
