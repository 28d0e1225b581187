const CHUNK = 0x8000;

/** `Uint8Array.prototype.toBase64` / `Uint8Array.fromBase64` (TC39), native in workerd and current browsers, not in Node 24. */
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string;
}
const nativeToBase64 = (Uint8Array.prototype as NativeBase64).toBase64;

/**
 * Standard base64 of bytes: natively where the runtime has it (a keyframe of a megabyte in about a
 * millisecond, where the portable path below takes tens), else in chunks so that large buffers don't
 * overflow the argument stack.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  if (nativeToBase64 !== undefined) return nativeToBase64.call(bytes);
  return portableBytesToBase64(bytes);
}

/** The portable path of {@link bytesToBase64}; exported so a test can hold the two to the same answer. */
export function portableBytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

/** Decodes standard base64; throws a plain Error on characters outside the alphabet. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
