import { BitstreamError } from '../../../src/bitstream';

/** `code:chunk` of the BitstreamError `f` throws, or `ok` when it throws none (any other error is rethrown). */
export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof BitstreamError) return `${err.code}:${err.chunk}`;
    throw err;
  }
  return 'ok';
}
