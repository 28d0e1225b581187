import { describe, expect, it } from 'vitest';
import { BitstreamError, readBitstream, readIndex, writeBitstream } from '../../src/bitstream';
import { rng, runFuzz, seedStreams } from '../../scripts/fuzz';

describe('fuzz (fixed seed)', () => {
  it('lets only BitstreamError escape from 3,000 mutated inputs, agrees with the stream reader, and stays within limits', () => {
    const report = runFuzz({ seed: 20251125, count: 3000, maxInputMs: 1000 });
    expect(report.failures).toEqual([]);
    expect(report.inputs).toBe(3000);
    // the mutations reach past the framing into the decoders
    for (const code of ['crc_mismatch', 'malformed_chunk', 'limit_exceeded', 'truncated', 'bad_text']) expect(report.codes[code] ?? 0).toBeGreaterThan(0);
    expect(report.accepted).toBeGreaterThan(0);
  }, 60_000);

  it('every prefix of every seed stream is truncated (or, for readIndex, need_more), and the full stream still round-trips', () => {
    const r = rng(7);
    for (const bytes of seedStreams()) {
      for (let n = 0; n < bytes.length; n += 1 + Math.floor(r() * 3)) {
        let err: unknown;
        try {
          readBitstream(bytes.subarray(0, n));
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(BitstreamError);
        expect((err as BitstreamError).code).toBe('truncated');
        try {
          readIndex(bytes.subarray(0, n));
        } catch (e) {
          expect(e).toBeInstanceOf(BitstreamError);
          expect((e as BitstreamError).code).toBe('need_more');
          expect((e as BitstreamError).details!.needBytes).toBeGreaterThan(n);
        }
      }
      expect(writeBitstream(readBitstream(bytes))).toEqual(bytes);
    }
  });
});
