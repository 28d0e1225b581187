/**
 * Mutation fuzzer for the CMVC bitstream reader.
 *
 *   npx tsx scripts/fuzz.ts [--count N] [--seconds S] [--seed X] [--no-decode]     (defaults: 100000 inputs, 60 s, seed 1)
 *
 * Mutates valid streams (bit flips, byte sets, truncations, huge length fields, duplicated / swapped /
 * deleted chunks, inserted junk, CRCs recomputed so mutations reach the decoders) and feeds each input to
 * readBitstream, the streaming reader (randomly re-chunked), readIndex, inspectBitstream and, when it
 * parses, cutBitstream and a write→read round trip. Fails (exit 1) when anything but a BitstreamError
 * escapes, when the streaming reader disagrees with readBitstream, when one input takes over 1 s, or when
 * the reader asks to allocate more than the limits allow. Prints counts per error code and the time. Then (unless
 * --no-decode) decodes the hostile corpus (scripts/decode-corpus.ts) with `cmvc decode`, one process a file: each
 * hostile shape must end in exit 1 with a typed error and no stack trace, each stream within the limits must
 * decode, and none may pass 512 MiB of resident memory.
 * test/node/bitstream-fuzz.test.ts runs the same engine with a fixed seed and a few thousand inputs.
 */
import { fileURLToPath } from 'node:url';
import {
  BitstreamError,
  BitstreamStreamReader,
  crc32,
  cutBitstream,
  DEFAULT_LIMITS,
  inspectBitstream,
  readBitstream,
  readIndex,
  walkChunks,
  writeBitstream,
  type AllocationKind,
  type Bitstream,
  type BitstreamLimits,
} from '../src/bitstream';
import { decodeCorpus, MAX_RSS_BYTES, runDecodeCorpus } from './decode-corpus';
import { buildVectors, MULTI_SEGMENT, ONE_SEGMENT, WEBP_1X1 } from './make-vectors';

/** mulberry32: a small, fixed, seedable PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid streams to start from: the golden vectors plus a few with seeds, empty and long texts. */
export function seedStreams(): Uint8Array[] {
  const extra: Bitstream = {
    header: { ...ONE_SEGMENT.header, models: {}, frameCount: 10 },
    segments: [
      { startFrame: 0, frameCount: 3, contentText: '', motionText: 'the camera is static', seed: 0xffff_ffff, keyframes: [] },
      { startFrame: 5, frameCount: 5, contentText: 'ünïcödé 🎥 caption; '.repeat(20), motionText: 'x', keyframes: [{ codec: 'jpeg', width: 2, height: 2, data: Uint8Array.of(0xff, 0xd8, 0xff, 0xd9), frameIndex: 4, priority: 0 }] },
    ],
  };
  const many: Bitstream = {
    header: { ...MULTI_SEGMENT.header },
    segments: Array.from({ length: 12 }, (_, i) => ({
      startFrame: i * 30,
      frameCount: 30,
      contentText: MULTI_SEGMENT.segments[i % 3]!.contentText,
      motionText: MULTI_SEGMENT.segments[(i + 1) % 3]!.motionText,
      // v1.1: several keyframes with frame indices and priorities (ties included) in some segments
      keyframes: Array.from({ length: i % 4 }, (_, j) => ({ codec: 'webp' as const, width: 1, height: 1, data: WEBP_1X1, frameIndex: j * 9 + (i % 3), priority: (i * 37 + j * 101) % 256 })),
    })),
  };
  return [...Object.values(buildVectors()), writeBitstream(extra), writeBitstream(many)];
}

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
const INTERESTING_U8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x41, 0x61];

function recomputeCrcs(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const c of walkChunks(bytes).chunks) {
    view.setUint32(c.offset + 8 + c.length, crc32(c.data, crc32(new TextEncoder().encode(c.type))));
  }
}

function splice(a: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length - remove + insert.length);
  out.set(a.subarray(0, at));
  out.set(insert, at);
  out.set(a.subarray(at + remove), at + insert.length);
  return out;
}

/** One mutated input from a seed stream. */
export function mutate(r: () => number, seeds: readonly Uint8Array[]): { bytes: Uint8Array; kind: string } {
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  let bytes: Uint8Array = pick(seeds).slice();
  const chunks = () => walkChunks(bytes).chunks;
  const kinds: string[] = [];
  const rounds = 1 + int(3);
  for (let round = 0; round < rounds; round++) {
    const kind = pick(['flip', 'set', 'truncate', 'length', 'duplicate', 'junk', 'delete', 'swap', 'u32', 'splice', 'keyframe', 'keyframe']);
    kinds.push(kind);
    const cs = chunks();
    switch (kind) {
      case 'flip':
        for (let k = 1 + int(4); k > 0; k--) {
          const at = int(bytes.length);
          bytes[at] = bytes[at]! ^ (1 << int(8));
        }
        break;
      case 'set':
        for (let k = 1 + int(4); k > 0; k--) bytes[int(bytes.length)] = r() < 0.5 ? pick(INTERESTING_U8) : int(256);
        break;
      case 'truncate':
        bytes = bytes.slice(0, int(bytes.length));
        break;
      case 'length': {
        const c = cs.length ? pick(cs) : undefined;
        if (!c) break;
        const v = pick([...INTERESTING_U32, c.length + 1, Math.max(0, c.length - 1), DEFAULT_LIMITS.maxChunkBytes + 1, int(0x1_0000_0000)]);
        new DataView(bytes.buffer).setUint32(c.offset, v >>> 0);
        break;
      }
      case 'duplicate': {
        const c = cs.length ? pick(cs) : undefined;
        if (c) bytes = splice(bytes, c.offset + c.length + 12, 0, bytes.slice(c.offset, c.offset + c.length + 12));
        break;
      }
      case 'junk': {
        const junk = new Uint8Array(1 + int(r() < 0.8 ? 16 : 300));
        for (let k = 0; k < junk.length; k++) junk[k] = int(256);
        if (r() < 0.3) junk.set(new TextEncoder().encode(pick(['tEXt', 'XTRA', 'SEGP', 'CEND', 'KFRM', 'zzzz'])).subarray(0, Math.min(4, junk.length)));
        bytes = splice(bytes, int(bytes.length + 1), 0, junk);
        break;
      }
      case 'delete': {
        const at = int(bytes.length);
        bytes = splice(bytes, at, Math.min(bytes.length - at, 1 + int(32)), new Uint8Array(0));
        break;
      }
      case 'swap': {
        if (cs.length < 2) break;
        const i = int(cs.length - 1);
        const a = cs[i]!;
        const b = cs[i + 1]!;
        const ab = bytes.slice(a.offset, b.offset + b.length + 12);
        const la = a.length + 12;
        const swapped = new Uint8Array(ab.length);
        swapped.set(ab.subarray(la));
        swapped.set(ab.subarray(0, la), ab.length - la);
        bytes.set(swapped, a.offset);
        break;
      }
      case 'u32': {
        if (bytes.length < 4) break;
        new DataView(bytes.buffer).setUint32(int(bytes.length - 3), pick(INTERESTING_U32));
        break;
      }
      case 'keyframe': {
        // v1.1 fields: a kpos/kfrx frame index out of order, out of range or duplicated; any priority
        const ks = cs.filter((c) => c.type === 'kpos' || c.type === 'kfrx');
        if (ks.length === 0) break;
        const c = pick(ks);
        const view = new DataView(bytes.buffer);
        if (r() < 0.6) {
          const current = view.getUint32(c.offset + 8);
          view.setUint32(c.offset + 8, pick([0, current - 1, current + 1, current + 30, 29, 30, 31, ...INTERESTING_U32]) >>> 0);
        } else {
          bytes[c.offset + 12] = pick([0, 1, 254, 255, int(256)]);
        }
        break;
      }
      case 'splice': {
        const other = pick(seeds);
        const at = int(bytes.length);
        bytes = splice(bytes, at, bytes.length - at, other.subarray(int(other.length)));
        break;
      }
    }
  }
  // Most mutations would only ever reach the CRC check; recompute CRCs so they reach the decoders.
  if (r() < 0.75) recomputeCrcs(bytes);
  return { bytes, kind: kinds.join('+') };
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Stop early after this many seconds. */
  seconds?: number;
  /** A single input over this many ms is a failure. */
  maxInputMs?: number;
  /** Log progress (CLI). */
  log?: (line: string) => void;
}

export interface FuzzReport {
  inputs: number;
  accepted: number;
  codes: Record<string, number>;
  failures: string[];
  slowestMs: number;
  totalMs: number;
  largestAllocation: Record<AllocationKind, number>;
}

const TIGHT_LIMITS: BitstreamLimits = {
  maxTotalBytes: 2048,
  maxChunkBytes: 512,
  maxSegments: 4,
  maxTextBytes: 96,
  maxKeyframeBytes: 40,
  maxKeyframesPerSegment: 2,
  maxAudioBytes: 300,
  maxAudioPacketBytes: 24,
  maxUnknownChunks: 4,
};

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function sameError(a: unknown, b: unknown): boolean {
  return a instanceof BitstreamError && b instanceof BitstreamError && a.code === b.code && a.offset === b.offset && a.chunk === b.chunk;
}

/** Runs the fuzzer; failures are collected, not thrown. */
export function runFuzz(opts: FuzzOptions): FuzzReport {
  const r = rng(opts.seed);
  const seeds = seedStreams();
  const report: FuzzReport = { inputs: 0, accepted: 0, codes: {}, failures: [], slowestMs: 0, totalMs: 0, largestAllocation: { chunk: 0, text: 0, keyframe: 0, audio: 0 } };
  const started = performance.now();
  const deadline = opts.seconds === undefined ? Infinity : started + opts.seconds * 1000;
  const maxInputMs = opts.maxInputMs ?? 1000;
  for (let i = 0; i < opts.count && performance.now() < deadline; i++) {
    const { bytes, kind } = mutate(r, seeds);
    const limits: BitstreamLimits = i % 5 === 4 ? TIGHT_LIMITS : { ...DEFAULT_LIMITS };
    const fail = (what: string) => report.failures.length < 50 && report.failures.push(`input ${i} (${kind}, ${bytes.length} bytes): ${what}`);
    const onAllocate = (n: number, k: AllocationKind) => {
      const bound = k === 'chunk' ? limits.maxChunkBytes + 4 : k === 'text' ? limits.maxTextBytes + 1 : k === 'audio' ? limits.maxAudioBytes : limits.maxKeyframeBytes;
      report.largestAllocation[k] = Math.max(report.largestAllocation[k], n);
      if (n > bound) fail(`allocation of ${n} bytes for ${k} exceeds ${bound}`);
    };
    const t0 = performance.now();
    let parsed: Bitstream | undefined;
    let error: unknown;
    try {
      parsed = readBitstream(bytes, { ...limits, onAllocate });
      report.accepted++;
      report.codes.ok = (report.codes.ok ?? 0) + 1;
    } catch (err) {
      error = err;
      if (err instanceof BitstreamError) report.codes[err.code] = (report.codes[err.code] ?? 0) + 1;
      else fail(`readBitstream threw ${describe(err)}`);
    }
    // The streaming reader, re-chunked at random, must give the same answer.
    try {
      const s = new BitstreamStreamReader({ ...limits, onAllocate });
      let at = 0;
      let streamError: unknown;
      try {
        while (at < bytes.length) {
          const n = 1 + Math.floor(r() * (r() < 0.5 ? 4 : 64));
          s.push(bytes.subarray(at, at + n));
          at += n;
        }
        const out = s.end();
        if (parsed === undefined) fail(`stream reader accepted what readBitstream rejected (${describe(error)})`);
        else if (JSON.stringify(out, replacer) !== JSON.stringify(parsed, replacer)) fail('stream reader result differs');
      } catch (err) {
        streamError = err;
      }
      if (streamError !== undefined && !sameError(streamError, error)) fail(`stream reader: ${describe(streamError)} vs readBitstream: ${describe(error)}`);
    } catch (err) {
      fail(`stream reader threw ${describe(err)}`);
    }
    for (const [name, run] of [
      ['readIndex', () => readIndex(bytes.subarray(0, Math.floor(r() * (bytes.length + 1))), limits)],
      ['inspect', () => inspectBitstream(bytes, limits)],
    ] as const) {
      try {
        run();
      } catch (err) {
        if (!(err instanceof BitstreamError)) fail(`${name} threw ${describe(err)}`);
      }
    }
    if (parsed !== undefined) {
      try {
        // Whatever the reader accepts, the writer can write, and it reads back equal; cuts read back too.
        const again = readBitstream(writeBitstream(parsed, limits), limits);
        if (JSON.stringify(again, replacer) !== JSON.stringify(parsed, replacer)) fail('write(read(x)) does not read back equal');
        readBitstream(cutBitstream(bytes, { profile: 'tt2v', segments: [0, 0] }, limits), limits);
        // a rate cut at any rate is a valid stream too
        readBitstream(cutBitstream(bytes, { maxKbps: 0.05 + r() * 4 }, limits), limits);
      } catch (err) {
        fail(`round trip of an accepted input threw ${describe(err)}`);
      }
    }
    const ms = performance.now() - t0;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (ms > maxInputMs) fail(`took ${ms.toFixed(0)} ms`);
    report.inputs++;
    if (opts.log && report.inputs % 10_000 === 0) opts.log(`${report.inputs} inputs, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  report.totalMs = performance.now() - started;
  return report;
}

/** JSON replacer that spells Uint8Array contents out (for comparing parse results). */
export function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? `bytes:${Array.from(value).join(',')}` : value;
}

async function main(argv: string[]): Promise<number> {
  const arg = (name: string, fallback: number) => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
    return v;
  };
  const count = arg('count', 100_000);
  const seconds = arg('seconds', 60);
  const seed = arg('seed', 1);
  console.log(`fuzzing the CMVC reader: up to ${count} inputs or ${seconds} s, seed ${seed}`);
  const report = runFuzz({ seed, count, seconds, log: (l) => console.log(`  ${l}`) });
  console.log(`\n${report.inputs} inputs in ${(report.totalMs / 1000).toFixed(1)} s (${((report.inputs / report.totalMs) * 1000).toFixed(0)}/s), slowest ${report.slowestMs.toFixed(1)} ms`);
  console.log(`accepted ${report.accepted}; largest allocations: chunk ${report.largestAllocation.chunk} B, text ${report.largestAllocation.text} B, keyframe ${report.largestAllocation.keyframe} B`);
  console.log('\noutcome                   count');
  for (const [code, n] of Object.entries(report.codes).sort((a, b) => b[1] - a[1])) console.log(`${code.padEnd(24)} ${String(n).padStart(7)}`);
  if (report.failures.length > 0) {
    console.log(`\nFAILED: ${report.failures.length} problem(s)`);
    for (const f of report.failures) console.log(`  ${f}`);
    return 1;
  }
  console.log('\nok: only BitstreamError escaped, the streaming reader agreed, limits held');
  if (argv.includes('--no-decode')) return 0;
  console.log(`\ndecoding the hostile corpus with \`cmvc decode\` (peak resident memory at most ${MAX_RSS_BYTES / 2 ** 20} MiB each):`);
  const decoded = await runDecodeCorpus(await decodeCorpus(), (line) => console.log(`  ${line}`));
  const failed = decoded.filter((r) => r.problem !== null);
  if (failed.length > 0) {
    console.log(`\nFAILED: ${failed.length} decode(s)`);
    return 1;
  }
  console.log(`\nok: every hostile file ended in a typed error, every stream within the limits decoded, peak ${(Math.max(...decoded.map((r) => r.maxRssBytes)) / 2 ** 20).toFixed(0)} MiB`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main(process.argv.slice(2));
