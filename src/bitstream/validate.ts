/**
 * Content rules shared by the writer (which throws `invalid_content`) and the reader (which throws
 * `malformed_chunk` at the field's offset), so the two accept exactly the same bitstreams.
 */
import { FORMAT_LIMITS } from './limits';
import { encodeUtf8 } from './byte-writer';

/** Reports a broken rule: `field` names it (e.g. "segments[3].frameCount"). */
export type Fail = (message: string, field: string) => never;

export function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= FORMAT_LIMITS.maxU32;
}

export function checkU32(v: unknown, field: string, fail: Fail, min = 0): number {
  if (!isU32(v) || v < min) fail(`${field} must be an integer in [${min}, 2^32-1], got ${String(v)}`, field);
  return v as number;
}

/** True when `s` has no lone surrogates (so UTF-8 encoding is lossless). */
export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return false;
    }
  }
  return true;
}

/** A string field: well-formed, UTF-8 length in [min, max]. Returns its UTF-8 length. */
export function checkString(s: unknown, field: string, fail: Fail, min: number, max: number): number {
  if (typeof s !== 'string') return fail(`${field} must be a string`, field);
  if (!isWellFormed(s)) fail(`${field} has a lone surrogate and cannot be UTF-8`, field);
  const n = encodeUtf8(s).length;
  if (n < min || n > max) fail(`${field} must be ${min}–${max} bytes of UTF-8, got ${n}`, field);
  return n;
}

/** Byte-wise comparison of UTF-8 encodings (the model list order). */
export function compareUtf8(a: string, b: string): number {
  const x = encodeUtf8(a);
  const y = encodeUtf8(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** A segment's frame range against the previous segment's end and the header's frame count. */
export function checkFrames(startFrame: number, frameCount: number, previousEnd: number, totalFrames: number, field: string, fail: Fail): void {
  if (frameCount < 1) fail(`${field}.frameCount must be at least 1`, `${field}.frameCount`);
  if (startFrame < previousEnd) fail(`${field}.startFrame ${startFrame} overlaps the previous segment, which ends at frame ${previousEnd}`, `${field}.startFrame`);
  if (startFrame + frameCount > totalFrames) {
    fail(`${field} ends at frame ${startFrame + frameCount}, past the header's frame count ${totalFrames}`, `${field}.frameCount`);
  }
}
