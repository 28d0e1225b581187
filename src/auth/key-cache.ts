/**
 * How long a key lookup is trusted in one isolate: a revocation takes effect within this time (docs/gpu-spend.md).
 * Apart from keys.ts so that a test on Node reads the bound it waits for.
 */
export const KEY_CACHE_TTL_MS = 5_000;
