/**
 * Bitstream benchmarks: `npx tsx bench/bitstream.ts` (or through bench/run.ts via runBitstreamBench).
 *
 * 1. Throughput of write / read / streaming read / cut on a stream with large (4 MB) keyframes, beside a
 *    baseline of copying the same bytes (`new Uint8Array(bytes)`) in the same process.
 * 2. Microseconds per operation on a typical few-KB stream (texts + small keyframes).
 * 3. Text coding in bits per character on test/corpus/texts.json: CMVC (deflate + dictionary v1, or plain,
 *    whichever is smaller, with its tag) against plain UTF-8, per-text gzip and brotli, and deflate without
 *    a dictionary; for content and motion texts apart, and for the texts held out of the dictionary.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { deflateSync } from 'fflate';
import {
  BitstreamStreamReader,
  cutBitstream,
  encodeText,
  inspectBitstream,
  readBitstream,
  readIndex,
  writeBitstream,
  type Bitstream,
} from '../src/bitstream';

interface CorpusText {
  kind: 'content' | 'motion';
  style: 'engine' | 'mllm';
  split: 'train' | 'heldout';
  text: string;
}

/** Median seconds per call of `fn`, over batches that run at least `minMs` in total. */
function timeIt(fn: () => unknown, minMs = 400): number {
  for (let i = 0; i < 3; i++) fn(); // warm up
  const samples: number[] = [];
  const started = performance.now();
  let batch = 1;
  while (performance.now() - started < minMs || samples.length < 5) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    const dt = performance.now() - t0;
    samples.push(dt / batch);
    if (dt < 5) batch *= 2;
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]! / 1000;
}

function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function loadCorpus(): CorpusText[] {
  return (JSON.parse(readFileSync(new URL('../test/corpus/texts.json', import.meta.url), 'utf8')) as { texts: CorpusText[] }).texts;
}

function streamWith(texts: CorpusText[], segments: number, keyframeBytes: number): Bitstream {
  const content = texts.filter((t) => t.kind === 'content');
  const motion = texts.filter((t) => t.kind === 'motion');
  return {
    header: {
      width: 1280,
      height: 720,
      fpsNum: 24,
      fpsDen: 1,
      frameCount: segments * 48,
      durationMs: segments * 2000,
      engineId: 'cmvc-modal',
      engineVersion: '2025.11.1',
      models: { it2v: 'ltx-video-i2v@0.9.7', mllm: 'qwen2.5-vl-7b-instruct@cc59489', t2v: 'ltx-video@0.9.7' },
      seed: 0,
    },
    segments: Array.from({ length: segments }, (_, i) => ({
      startFrame: i * 48,
      frameCount: 48,
      contentText: content[i % content.length]!.text,
      motionText: motion[i % motion.length]!.text,
      keyframes: keyframeBytes > 0 ? [{ codec: 'webp' as const, width: 1280, height: 720, data: pseudoRandomBytes(keyframeBytes, i + 1), frameIndex: 0, priority: 255 }] : [],
    })),
  };
}

const mbps = (bytes: number, seconds: number) => bytes / seconds / 1e6;
const fmt = (n: number, digits = 1) => n.toFixed(digits);

function table(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  console.log(`\n${title}`);
  cells.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

export async function runBitstreamBench(): Promise<Record<string, unknown>> {
  const corpus = loadCorpus();

  // 1. Large keyframes: throughput against a plain copy.
  const big = streamWith(corpus, 4, 4 * 1024 * 1024);
  const bigBytes = writeBitstream(big);
  const copy = timeIt(() => new Uint8Array(bigBytes));
  const ops: [string, () => unknown][] = [
    ['copy (baseline)', () => new Uint8Array(bigBytes)],
    ['write', () => writeBitstream(big)],
    ['read', () => readBitstream(bigBytes)],
    ['stream read, 64 KiB pieces', () => {
      const r = new BitstreamStreamReader();
      for (let at = 0; at < bigBytes.length; at += 65536) r.push(bigBytes.subarray(at, at + 65536));
      return r.end();
    }],
    ['cut tt2v', () => cutBitstream(bigBytes, { profile: 'tt2v' })],
  ];
  const throughput = ops.map(([name, fn]) => {
    const s = name.startsWith('copy') ? copy : timeIt(fn);
    return { op: name, ms: s * 1000, mbPerSecond: mbps(bigBytes.length, s), timesCopy: s / copy };
  });
  table(`Throughput on a ${fmt(bigBytes.length / 1e6)} MB stream (4 segments, 4 MiB keyframes)`, ['operation', 'ms', 'MB/s', '× copy time'], throughput.map((t) => [t.op, fmt(t.ms, 2), fmt(t.mbPerSecond, 0), fmt(t.timesCopy, 2)]));

  // 2. A typical stream: 8 segments of texts, 2 KB keyframes on every other one.
  const typical = streamWith(corpus, 8, 0);
  typical.segments.forEach((s, i) => {
    if (i % 2 === 0) s.keyframes = [{ codec: 'webp', width: 320, height: 180, data: pseudoRandomBytes(2048, i + 9), frameIndex: 0, priority: 255 }];
  });
  const typicalBytes = writeBitstream(typical);
  const small: [string, () => unknown][] = [
    ['write', () => writeBitstream(typical)],
    ['read', () => readBitstream(typicalBytes)],
    ['readIndex', () => readIndex(typicalBytes)],
    ['inspect', () => inspectBitstream(typicalBytes)],
    ['cut tt2v', () => cutBitstream(typicalBytes, { profile: 'tt2v' })],
  ];
  const perCall = small.map(([name, fn]) => ({ op: name, microseconds: timeIt(fn) * 1e6 }));
  table(`Per call on a typical ${typicalBytes.length}-byte stream (8 segments, 4 keyframes of 2 KB)`, ['operation', 'µs'], perCall.map((p) => [p.op, fmt(p.microseconds, 1)]));

  // 3. Text coding.
  const enc = new TextEncoder();
  const methods: Record<string, (t: string) => number> = {
    'plain UTF-8': (t) => enc.encode(t).length,
    gzip: (t) => gzipSync(enc.encode(t), { level: 9 }).length,
    brotli: (t) => brotliCompressSync(enc.encode(t), { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: t.length } }).length,
    'deflate, no dict': (t) => deflateSync(enc.encode(t), { level: 9 }).length,
    'CMVC (dict v1)': (t) => encodeText(t, 1).length,
  };
  const sets: [string, CorpusText[]][] = [
    ['all', corpus],
    ['content', corpus.filter((t) => t.kind === 'content')],
    ['motion', corpus.filter((t) => t.kind === 'motion')],
    ['engine style', corpus.filter((t) => t.style === 'engine')],
    ['MLLM style', corpus.filter((t) => t.style === 'mllm')],
    ['held out (all)', corpus.filter((t) => t.split === 'heldout')],
    ['held out content', corpus.filter((t) => t.split === 'heldout' && t.kind === 'content')],
    ['held out motion', corpus.filter((t) => t.split === 'heldout' && t.kind === 'motion')],
  ];
  const bitsPerChar: Record<string, Record<string, number>> = {};
  for (const [name, set] of sets) {
    const chars = set.reduce((n, t) => n + [...t.text].length, 0);
    bitsPerChar[name] = Object.fromEntries(Object.entries(methods).map(([m, f]) => [m, (set.reduce((n, t) => n + f(t.text), 0) * 8) / chars]));
    bitsPerChar[name]!.texts = set.length;
    bitsPerChar[name]!.meanChars = chars / set.length;
  }
  table(
    'Text coding, bits per character, each text coded alone (CMVC includes its 1-byte tag and length varint)',
    ['texts', 'n', 'chars', ...Object.keys(methods)],
    sets.map(([name]) => [name, bitsPerChar[name]!.texts!, fmt(bitsPerChar[name]!.meanChars!, 0), ...Object.keys(methods).map((m) => fmt(bitsPerChar[name]![m]!, 2))]),
  );
  console.log('(held out = texts not used to build dictionary v1: the fair figure for unseen captions)');

  return {
    large: { bytes: bigBytes.length, ops: throughput },
    typical: { bytes: typicalBytes.length, ops: perCall },
    textBitsPerChar: bitsPerChar,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runBitstreamBench();
}
