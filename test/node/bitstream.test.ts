import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BitstreamIndex,
  BITSTREAM_MIME,
  BitstreamError,
  BitstreamStreamReader,
  CHUNK_CTXT,
  CHUNK_HEAD,
  CHUNK_MTXT,
  CHUNK_SEGP,
  DEFAULT_LIMITS,
  TEXT_DICTIONARIES,
  TEXT_DICTIONARY_V1,
  assembleChunks,
  crc32,
  cutBitstream,
  decodeText,
  encodeHeader,
  encodeText,
  imageOffset,
  inspectBitstream,
  readBitstream,
  readIndex,
  readSegment,
  segmentNodes,
  sha256Hex,
  walkChunks,
  writeBitstream,
  type Bitstream,
  type BitstreamErrorCode,
  type ChunkNode,
  type SegmentData,
} from '../../src/bitstream';
import corpus from '../corpus/texts.json';
import { MULTI_SEGMENT, ONE_SEGMENT } from '../../scripts/make-vectors';

const hex = (s: string) => Uint8Array.from(s.replace(/#[^\n]*/g, '').match(/[0-9a-f]{2}/gi) ?? [], (h) => parseInt(h, 16));
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The error a call throws (fails the test when it does not throw a BitstreamError). */
function bitstreamError(f: () => unknown): BitstreamError {
  try {
    f();
  } catch (err) {
    if (err instanceof BitstreamError) return err;
    throw new Error(`expected a BitstreamError, got ${String(err)}`);
  }
  throw new Error('expected a BitstreamError, but nothing was thrown');
}

function expectCode(f: () => unknown, code: BitstreamErrorCode, at?: { chunk?: string; offset?: number }): BitstreamError {
  const err = bitstreamError(f);
  expect(err.code, err.message).toBe(code);
  if (at?.chunk !== undefined) expect(err.chunk).toBe(at.chunk);
  if (at?.offset !== undefined) expect(err.offset).toBe(at.offset);
  return err;
}

const TINY: Bitstream = {
  header: { width: 320, height: 240, fpsNum: 24, fpsDen: 1, frameCount: 48, durationMs: 2000, engineId: 'e', engineVersion: '1', models: {}, seed: 0 },
  segments: [{ startFrame: 0, frameCount: 48, contentText: 'cup', motionText: 'static', keyframes: [] }],
};

// The same bytes as the example in docs/bitstream.md.
const TINY_BYTES = hex(`
  89 43 4D 56 43 0D 0A 1A      # signature "\\x89CMVC\\r\\n\\x1a"
  01 00                        # major 1, minor 0
  00 00 00 22 48 45 41 44      # @10 HEAD, 34 data bytes
  00 00 01 40 00 00 00 F0      #   width 320, height 240
  00 00 00 18 00 00 00 01      #   fpsNum 24, fpsDen 1
  00 00 00 30 00 00 07 D0      #   frameCount 48, durationMs 2000
  00 00 00 00 01               #   seed 0, text dictionary 1
  01 65 01 31 00               #   engineId "e", engineVersion "1", 0 models
  9F AE C8 70                  #   CRC-32 of "HEAD" + data
  00 00 00 18 53 49 44 58      # @56 SIDX, 24 data bytes
  00 00 00 01 00 00 00 93      #   1 segment, CEND at 147
  00 00 00 5C 00 00 00 37      #   segment 0 at 92, 55 bytes
  00 00 00 00 00 00 00 30      #   frames 0 + 48
  45 78 C7 EF                  #   CRC
  00 00 00 09 53 45 47 50      # @92 SEGP, 9 data bytes
  00 00 00 00 00 00 00 30 00   #   startFrame 0, frameCount 48, flags 0 (no seed)
  8A D5 61 0A                  #   CRC
  00 00 00 04 43 54 58 54      # @113 CTXT, 4 data bytes
  00 63 75 70                  #   plain, "cup"
  70 38 BD A4                  #   CRC
  00 00 00 06 4D 54 58 54      # @129 MTXT, 6 data bytes
  01 06 83 94 4E 00            #   deflate + dictionary v1, 6 plain bytes, payload
  D9 39 9C BC                  #   CRC
  00 00 00 00 43 45 4E 44      # @147 CEND, empty
  C1 FF 80 E6                  #   CRC of "CEND"
`);

describe('format basics', () => {
  it('CRC-32 is the ISO-HDLC check value', () => {
    expect(crc32(utf8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(utf8('6789'), crc32(utf8('12345')))).toBe(0xcbf43926);
  });

  it('writes the annotated tiny stream byte for byte, and reads it back', () => {
    expect(Array.from(writeBitstream(TINY))).toEqual(Array.from(TINY_BYTES));
    expect(readBitstream(TINY_BYTES)).toEqual(TINY);
  });

  it('keeps text dictionary v1 frozen', () => {
    const v1 = TEXT_DICTIONARIES.get(1)!;
    expect(v1.length).toBe(3999);
    expect(v1.length).toBeLessThanOrEqual(4096);
    expect(crc32(v1)).toBe(0x2e3b2521);
    expect(new TextEncoder().encode(TEXT_DICTIONARY_V1)).toEqual(v1);
  });

  it('exports the media type and hashes with SHA-256', async () => {
    expect(BITSTREAM_MIME).toBe('application/vnd.cmvc');
    expect(await sha256Hex(utf8('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('text coding', () => {
  const texts = (corpus as { texts: { text: string; kind: string }[] }).texts;

  it('has a corpus of at least 200 texts of both kinds', () => {
    expect(texts.length).toBeGreaterThanOrEqual(200);
    expect(texts.filter((t) => t.kind === 'content').length).toBeGreaterThan(100);
    expect(texts.filter((t) => t.kind === 'motion').length).toBeGreaterThan(100);
  });

  it('round-trips every corpus text and never codes longer than plain + 1', () => {
    let coded = 0;
    let plain = 0;
    for (const { text } of texts) {
      const data = encodeText(text, 1);
      expect(data.length).toBeLessThanOrEqual(utf8(text).length + 1);
      expect(decodeText(data, { chunk: CHUNK_CTXT, offset: 0, dictionaryVersion: 1, maxTextBytes: DEFAULT_LIMITS.maxTextBytes })).toBe(text);
      coded += data.length;
      plain += utf8(text).length;
    }
    expect(coded / plain).toBeLessThan(0.6); // the dictionary pays for itself
  });

  it('picks plain when coding does not help, and for dictionary 0', () => {
    expect(encodeText('', 1)).toEqual(Uint8Array.of(0));
    expect(encodeText('cup', 1)).toEqual(Uint8Array.of(0, 0x63, 0x75, 0x70));
    expect(encodeText('the camera is static', 0)[0]).toBe(0);
    expect(encodeText('the camera is static', 1)[0]).toBe(1);
  });

  const ctx = { chunk: CHUNK_MTXT, offset: 100, dictionaryVersion: 1, maxTextBytes: 64 };
  const coded = (plainLength: number, payload: Uint8Array) => Uint8Array.of(1, plainLength, ...payload);
  const staticPayload = encodeText('static', 1).subarray(2);

  it('rejects a payload that inflates to more or less than declared', () => {
    expect(decodeText(coded(6, staticPayload), ctx)).toBe('static');
    expectCode(() => decodeText(coded(5, staticPayload), ctx), 'bad_text', { chunk: CHUNK_MTXT, offset: 100 });
    expectCode(() => decodeText(coded(7, staticPayload), ctx), 'bad_text');
    expectCode(() => decodeText(coded(6, Uint8Array.of(0xff, 0xff, 0xff)), ctx), 'bad_text');
    expectCode(() => decodeText(coded(6, new Uint8Array(0)), ctx), 'bad_text');
  });

  it('checks the declared length against maxTextBytes before inflating (limit passes, one more fails)', () => {
    const text = 'the camera is static; little object motion; '.repeat(3).slice(0, 64);
    const data = encodeText(text, 1);
    expect(data[0]).toBe(1);
    expect(decodeText(data, ctx)).toBe(text);
    expectCode(() => decodeText(data, { ...ctx, maxTextBytes: 63 }), 'limit_exceeded');
    // a deflate bomb: declares 100 bytes, would inflate to 10,000; refused by the declared length alone
    const bomb = encodeText('a'.repeat(10_000), 1);
    expectCode(() => decodeText(Uint8Array.of(1, 100, ...bomb.subarray(3)), ctx), 'limit_exceeded');
    // declared within the limit, inflates past it: stopped at declared + 1 bytes
    expectCode(() => decodeText(Uint8Array.of(1, 50, ...bomb.subarray(3)), ctx), 'bad_text');
  });

  it('rejects bad tags, over-long varints, invalid UTF-8 and a missing dictionary', () => {
    expectCode(() => decodeText(Uint8Array.of(2, 0x61), ctx), 'malformed_chunk', { offset: 100 });
    expectCode(() => decodeText(Uint8Array.of(1, 0x86, 0x00, ...staticPayload), ctx), 'malformed_chunk');
    expectCode(() => decodeText(Uint8Array.of(0, 0xc3, 0x28), ctx), 'bad_text');
    expectCode(() => decodeText(coded(6, staticPayload), { ...ctx, dictionaryVersion: 0 }), 'bad_text');
  });
});

// ------------------------------------------------------------------ arbitraries

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(...(corpus as { texts: { text: string }[] }).texts.map((t) => t.text)),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);
const str = (min: number) => fc.string({ unit: 'binary', minLength: min, maxLength: 30 }).filter((s) => utf8(s).length <= 255);
const keyframe = fc.record({
  codec: fc.constantFrom('webp' as const, 'jpeg' as const, 'avif' as const, 'png' as const),
  width: fc.integer({ min: 1, max: 0xffff_ffff }),
  height: fc.integer({ min: 1, max: 8192 }),
  data: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  priority: fc.integer({ min: 0, max: 255 }),
  at: fc.nat(),
});
const arbBitstream: fc.Arbitrary<Bitstream> = fc
  .record({
    header: fc.record({
      width: fc.integer({ min: 1, max: 0xffff_ffff }),
      height: fc.integer({ min: 1, max: 0xffff_ffff }),
      fpsNum: fc.integer({ min: 1, max: 0xffff_ffff }),
      fpsDen: fc.integer({ min: 1, max: 0xffff_ffff }),
      durationMs: u32,
      engineId: str(1),
      engineVersion: str(1),
      models: fc.dictionary(str(1), str(0), { maxKeys: 6 }),
      seed: u32,
    }),
    parts: fc.array(
      fc.record(
        { gap: fc.integer({ min: 0, max: 1000 }), frameCount: fc.integer({ min: 1, max: 100_000 }), contentText: text, motionText: text, keyframes: fc.array(keyframe, { maxLength: 4 }), seed: u32 },
        { requiredKeys: ['gap', 'frameCount', 'contentText', 'motionText', 'keyframes'] },
      ),
      { minLength: 1, maxLength: 8 },
    ),
    tail: fc.integer({ min: 0, max: 1000 }),
  })
  .map(({ header, parts, tail }) => {
    let at = 0;
    const segments: SegmentData[] = parts.map(({ gap, keyframes: drawn, ...s }) => {
      // v1.1: keyframes at distinct frames of the segment, sorted, with any priorities
      const byFrame = new Map(drawn.map(({ at: a, ...k }) => [a % s.frameCount, k]));
      const keyframes = [...byFrame].sort((x, y) => x[0] - y[0]).map(([frameIndex, k]) => ({ ...k, frameIndex }));
      const seg = { ...s, keyframes, startFrame: at + gap };
      at = seg.startFrame + s.frameCount;
      return seg;
    });
    return { header: { ...header, models: { ...header.models }, frameCount: at + tail }, segments };
  });

describe('round trips (fast-check)', () => {
  it('write → read gives the input back, for any valid content', () => {
    fc.assert(
      fc.property(arbBitstream, (b) => {
        expect(readBitstream(writeBitstream(b))).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });

  it('write is deterministic and independent of model key order', () => {
    fc.assert(
      fc.property(arbBitstream, (b) => {
        const reordered = { ...b, header: { ...b.header, models: Object.fromEntries(Object.entries(b.header.models).reverse()) } };
        const a = writeBitstream(b);
        expect(writeBitstream(b)).toEqual(a);
        expect(writeBitstream(reordered)).toEqual(a);
        expect(writeBitstream(readBitstream(a))).toEqual(a);
      }),
      { numRuns: 100 },
    );
  });

  it('cut then read equals read then select, for segment ranges and the tt2v profile', () => {
    fc.assert(
      fc.property(arbBitstream, fc.nat(), fc.nat(), fc.boolean(), (b, x, y, tt2v) => {
        const n = b.segments.length;
        const first = x % n;
        const last = first + (y % (n - first));
        const bytes = writeBitstream(b);
        const cut = cutBitstream(bytes, { segments: [first, last], profile: tt2v ? 'tt2v' : 'full' });
        const selected = b.segments.slice(first, last + 1).map((s) => {
          if (!tt2v) return s;
          return { ...s, keyframes: [] };
        });
        expect(readBitstream(cut)).toEqual({ header: b.header, segments: selected });
        expect(cut.length).toBeLessThanOrEqual(bytes.length);
        // the same content written directly gives the same bytes: a cut of a canonical stream is canonical
        expect(cut).toEqual(writeBitstream({ header: b.header, segments: selected }));
        // inspect predicts the tt2v size
        expect(inspectBitstream(bytes).profiles!.tt2v.bytes).toBe(cutBitstream(bytes, { profile: 'tt2v' }).length);
      }),
      { numRuns: 150 },
    );
  });

  it('readIndex + readSegment on byte ranges equal readBitstream', () => {
    fc.assert(
      fc.property(arbBitstream, (b) => {
        const bytes = writeBitstream(b);
        const whole = readBitstream(bytes);
        // grow the prefix as a range reader would
        let prefix = bytes.subarray(0, 16);
        let index: BitstreamIndex | undefined;
        for (let tries = 0; index === undefined; tries++) {
          expect(tries).toBeLessThan(5);
          try {
            index = readIndex(prefix);
          } catch (err) {
            if (!(err instanceof BitstreamError) || err.code !== 'need_more') throw err;
            const need = err.details!.needBytes as number;
            expect(need).toBeGreaterThan(prefix.length);
            prefix = bytes.subarray(0, need);
          }
        }
        expect(index.header).toEqual(whole.header);
        expect(index.totalBytes).toBe(bytes.length);
        expect(index.segments.map((s) => [s.startFrame, s.frameCount])).toEqual(whole.segments.map((s) => [s.startFrame, s.frameCount]));
        index.segments.forEach((e, n) => {
          expect(readSegment(index, n, bytes.subarray(e.offset, e.offset + e.length))).toEqual(whole.segments[n]);
        });
      }),
      { numRuns: 150 },
    );
  });
});

// ------------------------------------------------------------------ streaming

function pushInPattern(bytes: Uint8Array, pattern: readonly number[]): { ok: Bitstream } | { err: BitstreamError } {
  const reader = new BitstreamStreamReader();
  try {
    let at = 0;
    for (let k = 0; at < bytes.length; k++) {
      const n = pattern[k % pattern.length]!;
      reader.push(bytes.subarray(at, at + n));
      at += n;
    }
    return { ok: reader.end() };
  } catch (err) {
    if (err instanceof BitstreamError) return { err };
    throw err;
  }
}

const outcome = (r: ReturnType<typeof pushInPattern>) => ('ok' in r ? r.ok : { code: r.err.code, chunk: r.err.chunk, offset: r.err.offset });

describe('streaming reader', () => {
  const patterns = [[1], [2], [3], [5], [8], [13], [1, 7, 2, 13, 3, 1, 64], [4096], [0x7fffffff]];
  const inputs: [string, Uint8Array][] = [
    ['tiny', TINY_BYTES],
    ['one segment', writeBitstream(ONE_SEGMENT)],
    ['multi segment', writeBitstream(MULTI_SEGMENT)],
    ['truncated', writeBitstream(MULTI_SEGMENT).subarray(0, 500)],
    ['bad CRC', (() => { const b = writeBitstream(MULTI_SEGMENT); b[300] = b[300]! ^ 1; return b; })()],
    ['trailing byte', Uint8Array.of(...TINY_BYTES, 0)],
    ['bad magic', Uint8Array.of(0x89, 0x50, 0x4e, 0x47)],
  ];

  it.each(inputs)('gives the same answer in 1, 2, 3, 5, 8, 13-byte and mixed pieces: %s', (_, bytes) => {
    const whole = (() => {
      try {
        return readBitstream(bytes);
      } catch (err) {
        const e = err as BitstreamError;
        return { code: e.code, chunk: e.chunk, offset: e.offset };
      }
    })();
    for (const p of patterns) expect(outcome(pushInPattern(bytes, p)), `pattern ${p.join(',')}`).toEqual(whole);
  });

  it('gives the same answer for random splits of random streams (fast-check)', () => {
    fc.assert(
      fc.property(arbBitstream, fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (b, pattern) => {
        expect(outcome(pushInPattern(writeBitstream(b), pattern))).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });

  it('rejects an over-limit chunk as soon as its head arrives, before its data', () => {
    const bytes = writeBitstream(MULTI_SEGMENT);
    const kfrm = walkChunks(bytes).chunks.find((c) => c.type === 'KFRM')!;
    const reader = new BitstreamStreamReader({ maxKeyframeBytes: kfrm.length - 10 });
    const err = bitstreamError(() => reader.push(bytes.subarray(0, kfrm.offset + 8)));
    expect([err.code, err.chunk, err.offset]).toEqual(['limit_exceeded', 'KFRM', kfrm.offset]);
    expect(() => reader.push(bytes.subarray(kfrm.offset + 8))).toThrow(err); // the failure sticks
  });

  it('never buffers more than it has been given for a chunk that declares more', () => {
    const allocations: number[] = [];
    const head = Uint8Array.of(...TINY_BYTES.subarray(0, 10), 0x00, 0xff, 0x00, 0x00, ...utf8('tEXt'), 1, 2, 3);
    const reader = new BitstreamStreamReader({ onAllocate: (n) => allocations.push(n) });
    // HEAD first is required, so put the ancillary chunk where it belongs: after a valid HEAD
    const headChunk = TINY_BYTES.subarray(10, 56);
    reader.push(Uint8Array.of(...TINY_BYTES.subarray(0, 10), ...headChunk));
    for (const b of head.subarray(10)) reader.push(Uint8Array.of(b));
    expect(Math.max(...allocations)).toBeLessThanOrEqual(4096);
    expectCode(() => reader.end(), 'truncated', { chunk: 'tEXt', offset: 56 });
  });
});

// ------------------------------------------------------------------ chunks and errors

/** A valid stream with `extra` chunks placed after segment `n`'s MTXT, SIDX laid out to match. */
function withExtraChunks(b: Bitstream, n: number, extra: ChunkNode[]): Uint8Array {
  const segments = b.segments.map((s) => segmentNodes(s, 1));
  segments[n]!.chunks.splice(3, 0, ...extra);
  return assembleChunks({ type: CHUNK_HEAD, data: encodeHeader(b.header, 1) }, segments, DEFAULT_LIMITS);
}

describe('critical and ancillary chunks', () => {
  it('skips an unknown ancillary chunk and drops it when cutting', () => {
    const bytes = withExtraChunks(MULTI_SEGMENT, 1, [{ type: 'tEXt', data: utf8('comment=hello') }]);
    expect(readBitstream(bytes)).toEqual(MULTI_SEGMENT);
    const report = inspectBitstream(bytes);
    expect(report.chunks.find((c) => c.type === 'tEXt')).toMatchObject({ critical: false, known: false, crcOk: true, length: 13 });
    expect(report.sizes!.other).toBe(13);
    expect(cutBitstream(bytes)).toEqual(writeBitstream(MULTI_SEGMENT));
    expect(report.profiles!.tt2v.bytes).toBe(cutBitstream(bytes, { profile: 'tt2v' }).length);
  });

  it('rejects an unknown critical chunk, naming it and its offset', () => {
    const bytes = withExtraChunks(MULTI_SEGMENT, 1, [{ type: 'XTRA', data: utf8('must understand') }]);
    const at = walkChunks(bytes).chunks.find((c) => c.type === 'XTRA')!.offset;
    const err = expectCode(() => readBitstream(bytes), 'unknown_critical_chunk', { chunk: 'XTRA', offset: at });
    expect(err.message).toContain(`byte ${at}`);
  });

  it('still checks the CRC of a skipped ancillary chunk', () => {
    const bytes = withExtraChunks(TINY, 0, [{ type: 'tEXt', data: utf8('x') }]);
    const c = walkChunks(bytes).chunks.find((k) => k.type === 'tEXt')!;
    bytes[c.offset + 8] = 0x79;
    expectCode(() => readBitstream(bytes), 'crc_mismatch', { chunk: 'tEXt', offset: c.offset });
  });

  it('rejects chunks out of order, duplicated, or after CEND, with offsets', () => {
    const bytes = TINY_BYTES;
    // SEGP where CTXT belongs (a duplicated SEGP)
    const dup = withExtraChunks(TINY, 0, []);
    expect(dup).toEqual(bytes);
    const segp = bytes.subarray(92, 113);
    const doubled = Uint8Array.of(...bytes.subarray(0, 113), ...segp, ...bytes.subarray(113));
    expectCode(() => readBitstream(doubled), 'malformed_chunk', { chunk: CHUNK_SEGP, offset: 113 });
    expectCode(() => readBitstream(Uint8Array.of(...bytes, ...bytes.subarray(147))), 'malformed_chunk', { offset: 159 });
    // an ancillary chunk before HEAD
    const early = Uint8Array.of(...bytes.subarray(0, 10), 0, 0, 0, 0, ...utf8('tEXt'), ...u32be(crc32(utf8('tEXt'))), ...bytes.subarray(10));
    expectCode(() => readBitstream(early), 'malformed_chunk', { chunk: 'tEXt', offset: 10 });
  });

  it('reports each kind of damage with its code and place', () => {
    const b = TINY_BYTES;
    expectCode(() => readBitstream(new Uint8Array(0)), 'truncated');
    expectCode(() => readBitstream(Uint8Array.of(0x89, 0x43, 0x4d, 0x57)), 'bad_magic', { offset: 3 });
    expectCode(() => readBitstream(Uint8Array.of(...b.subarray(0, 8), 2, 0, ...b.subarray(10))), 'unsupported_version', { offset: 8 });
    expect(readBitstream(Uint8Array.of(...b.subarray(0, 9), 7, ...b.subarray(10)))).toEqual(TINY); // any minor
    expectCode(() => readBitstream(b.subarray(0, 100)), 'truncated', { chunk: CHUNK_SEGP, offset: 92 });
    expectCode(() => readBitstream(b.subarray(0, 110)), 'truncated', { chunk: CHUNK_SEGP, offset: 92 });
    expectCode(() => readBitstream(b.subarray(0, 95)), 'truncated', { offset: 92 });
    expectCode(() => readBitstream(b.subarray(0, 147)), 'truncated', { offset: 147 });
    const badCrc = b.slice();
    badCrc[123] = 0x61; // "cup" → "cap"
    expectCode(() => readBitstream(badCrc), 'crc_mismatch', { chunk: CHUNK_CTXT, offset: 113 });
    const badType = b.slice();
    badType[60] = 0x31;
    expectCode(() => readBitstream(badType), 'malformed_chunk', { offset: 60 });
  });

  it('checks the index against the layout', () => {
    // SIDX claims segment 0 has 54 bytes while CEND is at 147: the SIDX itself is inconsistent
    const b = TINY_BYTES.slice();
    const v = new DataView(b.buffer);
    v.setUint32(76, 54); // entry 0 length (SIDX data at 64: count, endOffset, then offset, length, startFrame, frameCount)
    fixCrc(b, 56);
    expectCode(() => readBitstream(b), 'malformed_chunk', { chunk: 'SIDX' });
    // consistent SIDX that disagrees with SEGP frames
    const c = TINY_BYTES.slice();
    new DataView(c.buffer).setUint32(84, 47); // entry 0 frameCount
    fixCrc(c, 56);
    expectCode(() => readBitstream(c), 'malformed_chunk', { chunk: CHUNK_SEGP, offset: 100 });
  });
});

function u32be(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function fixCrc(bytes: Uint8Array, chunkOffset: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const length = v.getUint32(chunkOffset);
  v.setUint32(chunkOffset + 8 + length, crc32(bytes.subarray(chunkOffset + 4, chunkOffset + 8 + length)));
}

// ------------------------------------------------------------------ limits

describe('limits: each passes at the limit and fails one past it', () => {
  const bytes = writeBitstream(MULTI_SEGMENT);
  const chunks = walkChunks(bytes).chunks;
  const largest = Math.max(...chunks.map((c) => c.length));
  const keyframeBytes = Math.max(...MULTI_SEGMENT.segments.flatMap((s) => s.keyframes.map((k) => k.data.length)));
  const textBytes = Math.max(...MULTI_SEGMENT.segments.flatMap((s) => [utf8(s.contentText).length, utf8(s.motionText).length]));

  it.each([
    ['maxTotalBytes', bytes.length],
    ['maxChunkBytes', largest],
    ['maxSegments', MULTI_SEGMENT.segments.length],
    ['maxTextBytes', textBytes],
    ['maxKeyframeBytes', keyframeBytes],
  ] as const)('%s = %i', (name, value) => {
    expect(readBitstream(bytes, { [name]: value })).toEqual(MULTI_SEGMENT);
    expect(outcome(pushInPattern(bytes, [7]))).toEqual(MULTI_SEGMENT);
    const err = expectCode(() => readBitstream(bytes, { [name]: value - 1 }), 'limit_exceeded');
    expect(err.details).toMatchObject({ limit: expect.stringContaining(name) });
    // the streaming reader fails at the same place
    const r = new BitstreamStreamReader({ [name]: value - 1 });
    const streamErr = bitstreamError(() => {
      for (let at = 0; at < bytes.length; at += 5) r.push(bytes.subarray(at, at + 5));
      r.end();
    });
    expect([streamErr.code, streamErr.offset]).toEqual([err.code, err.offset]);
  });

  it('a plain text exactly at maxTextBytes passes, one byte more fails', () => {
    const plain = (n: number): Bitstream => ({ ...TINY, segments: [{ ...TINY.segments[0]!, contentText: '\u{1F3A5}'.repeat(n / 4) }] });
    expect(readBitstream(writeBitstream(plain(64)), { maxTextBytes: 64 }).segments[0]!.contentText).toHaveLength(32);
    expectCode(() => readBitstream(writeBitstream(plain(68)), { maxTextBytes: 64 }), 'limit_exceeded', { chunk: CHUNK_CTXT });
  });

  it('the writer enforces the default limits on both sides', () => {
    const seg = TINY.segments[0]!;
    const withText = (n: number) => ({ ...TINY, segments: [{ ...seg, contentText: 'x'.repeat(n) }] });
    expect(readBitstream(writeBitstream(withText(DEFAULT_LIMITS.maxTextBytes))).segments[0]!.contentText).toHaveLength(DEFAULT_LIMITS.maxTextBytes);
    expectCode(() => writeBitstream(withText(DEFAULT_LIMITS.maxTextBytes + 1)), 'invalid_content');
    const withKeyframe = (n: number): Bitstream => ({ ...TINY, segments: [{ ...seg, keyframes: [{ codec: 'jpeg', width: 1, height: 1, data: new Uint8Array(n), frameIndex: 0, priority: 1 }] }] });
    expect(readBitstream(writeBitstream(withKeyframe(DEFAULT_LIMITS.maxKeyframeBytes))).segments[0]!.keyframes[0]!.data.length).toBe(DEFAULT_LIMITS.maxKeyframeBytes);
    expectCode(() => writeBitstream(withKeyframe(DEFAULT_LIMITS.maxKeyframeBytes + 1)), 'invalid_content');
    const withSegments = (n: number): Bitstream => ({
      header: { ...TINY.header, frameCount: n },
      segments: Array.from({ length: n }, (_, i) => ({ startFrame: i, frameCount: 1, contentText: '', motionText: '', keyframes: [] })),
    });
    expect(readBitstream(writeBitstream(withSegments(DEFAULT_LIMITS.maxSegments))).segments).toHaveLength(DEFAULT_LIMITS.maxSegments);
    expectCode(() => writeBitstream(withSegments(DEFAULT_LIMITS.maxSegments + 1)), 'invalid_content');
  });

  it('a chunk length over maxChunkBytes or past maxTotalBytes is refused from its head alone', () => {
    const b = TINY_BYTES.slice();
    new DataView(b.buffer).setUint32(113, 0xffff_fff0);
    expectCode(() => readBitstream(b), 'limit_exceeded', { chunk: CHUNK_CTXT, offset: 113 });
    expectCode(() => readBitstream(b, { maxChunkBytes: 0xffff_ffff }), 'limit_exceeded', { chunk: CHUNK_CTXT, offset: 113 });
  });
});

// ------------------------------------------------------------------ writer validation, random access, cut, inspect

describe('writer validation', () => {
  const bad: [string, (b: Bitstream) => void][] = [
    ['zero width', (b) => (b.header.width = 0)],
    ['fractional fps', (b) => (b.header.fpsNum = 29.97)],
    ['negative seed', (b) => (b.header.seed = -1)],
    ['seed over u32', (b) => (b.header.seed = 2 ** 32)],
    ['empty engine id', (b) => (b.header.engineId = '')],
    ['engine id over 255 bytes', (b) => (b.header.engineId = 'é'.repeat(128))],
    ['lone surrogate', (b) => (b.segments[0]!.contentText = 'a\ud800b')],
    ['no segments', (b) => (b.segments = [])],
    ['overlapping segments', (b) => b.segments.push({ ...b.segments[0]! })],
    ['segment past the frame count', (b) => (b.segments[0]!.frameCount = 49)],
    ['zero-frame segment', (b) => (b.segments[0]!.frameCount = 0)],
    ['unknown codec', (b) => (b.segments[0]!.keyframes = [{ codec: 'gif' as 'png', width: 1, height: 1, data: Uint8Array.of(1), frameIndex: 0, priority: 0 }])],
    ['empty keyframe', (b) => (b.segments[0]!.keyframes = [{ codec: 'png', width: 1, height: 1, data: new Uint8Array(0), frameIndex: 0, priority: 0 }])],
    ['keyframe frame index out of range', (b) => (b.segments[0]!.keyframes = [{ codec: 'png', width: 1, height: 1, data: Uint8Array.of(1), frameIndex: 48, priority: 0 }])],
    ['keyframes out of order', (b) => (b.segments[0]!.keyframes = [2, 1].map((frameIndex) => ({ codec: 'png' as const, width: 1, height: 1, data: Uint8Array.of(1), frameIndex, priority: 0 })))],
    ['duplicate keyframe frame index', (b) => (b.segments[0]!.keyframes = [3, 3].map((frameIndex) => ({ codec: 'png' as const, width: 1, height: 1, data: Uint8Array.of(1), frameIndex, priority: 0 })))],
    ['priority over 255', (b) => (b.segments[0]!.keyframes = [{ codec: 'png', width: 1, height: 1, data: Uint8Array.of(1), frameIndex: 0, priority: 256 }])],
    ['65 keyframes', (b) => (b.segments[0]!.keyframes = Array.from({ length: 65 }, (_, frameIndex) => ({ codec: 'png' as const, width: 1, height: 1, data: Uint8Array.of(1), frameIndex, priority: 0 })))],
    ['65 models', (b) => (b.header.models = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, 'x'])))],
  ];
  it.each(bad)('rejects %s with invalid_content', (_, change) => {
    const b = structuredClone(TINY);
    change(b);
    expectCode(() => writeBitstream(b), 'invalid_content');
  });

  it('keeps a "__proto__" model key as ordinary data', () => {
    const models = JSON.parse('{"__proto__":"x@1","t2v":"y@2"}') as Record<string, string>;
    const back = readBitstream(writeBitstream({ ...TINY, header: { ...TINY.header, models } }));
    expect(Object.keys(back.header.models)).toEqual(['__proto__', 't2v']);
    expect(Object.getPrototypeOf(back.header.models)).toBe(Object.prototype);
  });
});

describe('random access', () => {
  const bytes = writeBitstream(MULTI_SEGMENT);

  it('asks for exactly the bytes it needs', () => {
    const sizes: number[] = [];
    let n = 0;
    for (;;) {
      try {
        readIndex(bytes.subarray(0, n));
        break;
      } catch (err) {
        const e = err as BitstreamError;
        expect(e.code).toBe('need_more');
        n = e.details!.needBytes as number;
        sizes.push(n);
      }
    }
    const sidx = walkChunks(bytes).chunks[1]!;
    expect(sizes).toEqual([10, 18, 10 + 12 + walkChunks(bytes).chunks[0]!.length, sidx.offset + 8, sidx.offset + 12 + sidx.length]);
  });

  it('says where each keyframe image lies in the stream, read whole, in pieces or by segment', () => {
    const images = (b: Bitstream | SegmentData[]) => ('segments' in b ? b.segments : b).flatMap((s) => s.keyframes.map((k) => k.data));
    const inPieces = new BitstreamStreamReader();
    for (let at = 0; at < bytes.length; at += 7) inPieces.push(bytes.subarray(at, at + 7));
    const index = readIndex(bytes);
    const bySegment = index.segments.map((e, n) => readSegment(index, n, bytes.subarray(e.offset, e.offset + e.length)));
    for (const read of [images(readBitstream(bytes)), images(inPieces.end()), images(bySegment)]) {
      expect(read.length).toBeGreaterThan(1);
      for (const image of read) {
        const at = imageOffset(image) as number;
        expect(bytes.subarray(at, at + image.length)).toEqual(image);
      }
    }
    expect(imageOffset(new Uint8Array(4))).toBeUndefined();
  });

  it('rejects a wrong-sized or corrupt segment range', () => {
    const index = readIndex(bytes);
    const e = index.segments[1]!;
    expectCode(() => readSegment(index, 1, bytes.subarray(e.offset, e.offset + e.length - 1)), 'truncated');
    expectCode(() => readSegment(index, 1, bytes.subarray(e.offset, e.offset + e.length + 1)), 'malformed_chunk');
    const corrupt = bytes.slice(e.offset, e.offset + e.length);
    corrupt[10] = corrupt[10]! ^ 1; // a SEGP data byte
    expectCode(() => readSegment(index, 1, corrupt), 'crc_mismatch');
    expect(() => readSegment(index, 3, new Uint8Array(0))).toThrow(RangeError);
  });
});

describe('cut and inspect', () => {
  const bytes = writeBitstream(MULTI_SEGMENT);

  it('refuses out-of-range options and invalid input', () => {
    expect(() => cutBitstream(bytes, { segments: [2, 1] })).toThrow(RangeError);
    expect(() => cutBitstream(bytes, { segments: [0, 3] })).toThrow(RangeError);
    expectCode(() => cutBitstream(bytes.subarray(0, 200)), 'truncated');
  });

  it('reports structure, sizes and bits per second; JSON round-trips', () => {
    const report = inspectBitstream(bytes);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    expect(report.valid).toBe(true);
    expect(report.chunks.map((c) => c.type)).toEqual(['HEAD', 'SIDX', 'SEGP', 'CTXT', 'MTXT', 'KFRM', 'kpos', 'SEGP', 'CTXT', 'MTXT', 'KFRM', 'kpos', 'SEGP', 'CTXT', 'MTXT', 'CEND']);
    expect(report.segments.map((s) => s.keyframes.map((k) => k.codec))).toEqual([['png'], ['webp'], []]);
    expect(report.seconds).toBeCloseTo(360 / (30000 / 1001), 5);
    expect(report.profiles!.full.bitsPerSecond).toBeCloseTo((bytes.length * 8) / report.seconds!, 1);
    const s = report.sizes!;
    expect(s.preamble + s.framing + s.header + s.index + s.segmentParams + s.textCoded + s.keyframes + s.other).toBe(bytes.length);
  });

  it('reports a damaged stream as invalid, and throws only for non-CMVC input', () => {
    const damaged = bytes.slice();
    damaged[400] = damaged[400]! ^ 0xff;
    const report = inspectBitstream(damaged);
    expect(report.valid).toBe(false);
    expect(report.error?.code).toBe('crc_mismatch');
    expect(report.chunks.some((c) => !c.crcOk)).toBe(true);
    expect(report.header?.width).toBe(1280);
    expectCode(() => inspectBitstream(utf8('GIF89a....')), 'bad_magic');
  });
});
