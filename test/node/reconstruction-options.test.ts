import { describe, expect, it } from 'vitest';
import { canonicalOptions, OptionError, parseReconstructionOptions } from '../../src/shared/reconstruction-options';
import { ApiError } from '../../src/http/errors';
import { parseRange } from '../../src/cache/range';
import { requestOptions } from '../../src/reconstruction/options';

const defaults = { width: 320, height: 240, fps: 24, seed: 0 };
const parse = (query: string) => canonicalOptions(parseReconstructionOptions(new URLSearchParams(query), defaults));

/** What the Worker answers for a bad option: a 400 with the parser's code, naming the option. */
function errorOf(query: string) {
  try {
    requestOptions(new URLSearchParams(query), defaults);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return { status: (err as ApiError).status, code: (err as ApiError).code, option: ((err as ApiError).details as { option: string }).option };
  }
  throw new Error(`no error for ${query}`);
}

describe('reconstruction options', () => {
  it('gives one canonical form per meaning', () => {
    expect(parse('')).toBe(parse('fps=24&w=320&h=240&seed=0&interp=1&format=mp4'));
    expect(parse('seed=5&w=160')).toBe(parse('w=160&seed=5'));
    expect(parse('fps=24.0')).toBe(parse(''));
    expect(parse('seed=5')).not.toBe(parse('seed=6'));
  });

  it('names unknown, repeated and out-of-range options', () => {
    expect(errorOf('quality=9')).toEqual({ status: 400, code: 'unknown_option', option: 'quality' });
    expect(errorOf('w=160&w=320')).toEqual({ status: 400, code: 'invalid_option', option: 'w' });
    expect(errorOf('w=17')).toEqual({ status: 400, code: 'invalid_option', option: 'w' });
    expect(errorOf('w=4096')).toEqual({ status: 400, code: 'invalid_option', option: 'w' });
    expect(errorOf('fps=0')).toEqual({ status: 400, code: 'invalid_option', option: 'fps' });
    expect(errorOf('fps=abc')).toEqual({ status: 400, code: 'invalid_option', option: 'fps' });
    expect(errorOf('interp=3')).toEqual({ status: 400, code: 'invalid_option', option: 'interp' });
    expect(errorOf('seed=-1')).toEqual({ status: 400, code: 'invalid_option', option: 'seed' });
    expect(errorOf('seed=4294967296')).toEqual({ status: 400, code: 'invalid_option', option: 'seed' });
    expect(errorOf('format=webm')).toEqual({ status: 400, code: 'invalid_option', option: 'format' });
  });

  it('names the option in the shared parser\'s own error too (what the client decoder sees)', () => {
    expect(() => parse('w=17')).toThrow(OptionError);
    expect(() => parse('quality=9')).toThrow(expect.objectContaining({ code: 'unknown_option', option: 'quality' }));
  });

  it('ignores signature parameters', () => {
    expect(parse('exp=1&sig=abc&kid=key_x')).toBe(parse(''));
  });
});

describe('Range parsing', () => {
  it('resolves single ranges and refuses unsatisfiable ones', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ offset: 0, length: 10 });
    expect(parseRange('bytes=90-', 100)).toEqual({ offset: 90, length: 10 });
    expect(parseRange('bytes=-10', 100)).toEqual({ offset: 90, length: 10 });
    expect(parseRange('bytes=95-200', 100)).toEqual({ offset: 95, length: 5 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange(null, 100)).toBeNull();
  });
});
