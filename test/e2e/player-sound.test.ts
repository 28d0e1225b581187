/// <reference lib="dom" />
/**
 * The bitstream player's sound in Chromium: both decoders give each segment exactly its samples (and are timed
 * against each other), and the player keeps picture and sound within one frame through play, pause, seek and the
 * end, measured as heard: the clicks of the sync clip as they leave the audio graph, the cuts as they are drawn.
 */
import { build } from 'esbuild';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBitstream } from '../../src/bitstream';
import { referenceBitstream } from '../node/support/reference-it2v';
import { ROOT } from './stack';
import { serveStatic } from './static-files';
import { makeSyncClip, SYNC_CUT_FRAMES, SYNC_FPS } from './sync';

type Cmvc = typeof import('../../src/client/browser');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: Server;
let base: string;
let browser: Browser;
let page: Page;
let stream: Uint8Array;

/** An AudioWorklet that reports the context time of every sound onset it passes (over 0.2 after 0.3 s under it). */
const ONSETS_WORKLET = `registerProcessor('onsets', class extends AudioWorkletProcessor {
  constructor() { super(); this.quiet = Infinity; }
  process(inputs) {
    const input = inputs[0];
    if (input && input[0]) {
      const x = input[0];
      for (let i = 0; i < x.length; i++) {
        if (Math.abs(x[i]) > 0.2) { if (this.quiet >= 0.3 * sampleRate) this.port.postMessage(currentTime + i / sampleRate); this.quiet = 0; } else this.quiet++;
      }
    }
    return true;
  }
});`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const clip = join(mkdtempSync(join(tmpdir(), 'cmvc-player-sound-')), 'sync.mp4');
  makeSyncClip(clip);
  stream = referenceBitstream(clip, undefined, 16);
  const bundle = await build({ entryPoints: [join(ROOT, 'src/client/browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  const files = new Map<string, { type: string; body: Uint8Array }>([
    ['/', { type: 'text/html', body: new TextEncoder().encode('<!doctype html><meta charset="utf-8"><canvas id="c"></canvas>') }],
    ['/cmvc-client.js', { type: 'text/javascript', body: bundle.outputFiles[0]!.contents }],
    ['/onsets.js', { type: 'text/javascript', body: new TextEncoder().encode(ONSETS_WORKLET) }],
    ['/sync.cmvc', { type: 'application/vnd.cmvc', body: stream }],
  ]);
  server = createServer((req, res) => {
    serveStatic(files, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking', '--no-first-run', '--autoplay-policy=no-user-gesture-required'] });
  page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.addScriptTag({ type: 'module', content: `import * as cmvc from '/cmvc-client.js'; window.cmvc = cmvc; window.cmvcReady = true;` });
  await page.waitForFunction(() => (window as unknown as { cmvcReady?: boolean }).cmvcReady === true);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the bitstream player\'s sound in Chromium', () => {
  it('WebCodecs and Web Audio decode each segment to exactly its samples, the same samples', async () => {
    const parsed = readBitstream(stream);
    expect(parsed.segments.every((s) => s.audio !== undefined)).toBe(true);
    const result = await page.evaluate(async (b64) => {
      const cmvc = (window as unknown as { cmvc: Cmvc }).cmvc;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const segments = cmvc.parseForDecode(bytes).segments;
      const context = new AudioContext({ sampleRate: 48_000 });
      const timing: Record<string, number> = { webcodecs: Infinity, webaudio: Infinity };
      const decoded: Record<string, Float32Array[]> = {};
      for (let round = 0; round < 3; round++) {
        for (const how of ['webcodecs', 'webaudio'] as const) {
          const started = performance.now();
          const buffers = await Promise.all(segments.map((s) => cmvc.decodeSegmentAudio(context, s.audio!, how)));
          timing[how] = Math.min(timing[how]!, performance.now() - started);
          decoded[how] = buffers.map((b) => b.getChannelData(0));
        }
      }
      const lengths = Object.fromEntries(Object.entries(decoded).map(([k, v]) => [k, v.map((p) => p.length)]));
      let worst = 0;
      for (const [n, a] of decoded.webcodecs!.entries()) {
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - decoded.webaudio![n]![i]!));
      }
      return { timing, lengths, worst, default: cmvc.defaultAudioDecoding() };
    }, Buffer.from(stream).toString('base64'));
    const expected = parsed.segments.map((s) => s.audio!.sampleCount);
    expect(result.lengths).toEqual({ webcodecs: expected, webaudio: expected });
    expect(result.worst).toBeLessThan(1e-3); // one decoder, two ways in: the same samples, aligned
    const seconds = expected.reduce((a, b) => a + b, 0) / 48_000;
    console.log(`decoding ${seconds.toFixed(2)} s of sound in Chromium (best of 3): WebCodecs ${result.timing.webcodecs!.toFixed(1)} ms, Web Audio ${result.timing.webaudio!.toFixed(1)} ms; default ${result.default}`);
    expect(result.default).toBe('webaudio'); // the faster of the two where it was measured (README, "Sound")
  });

  it('keeps picture and sound within one frame through play, pause, seek and the end', { timeout: 60_000 }, async () => {
    const measured = await page.evaluate(async (url) => {
      const cmvc = (window as unknown as { cmvc: Cmvc }).cmvc;
      const context = new AudioContext({ sampleRate: 48_000 });
      await context.audioWorklet.addModule('/onsets.js');
      const heard = () => {
        const stamp = context.getOutputTimestamp();
        return stamp.performanceTime ? stamp.contextTime! + (performance.now() - stamp.performanceTime) / 1000 : context.currentTime - context.outputLatency;
      };
      const canvas = document.getElementById('c') as HTMLCanvasElement;
      const drawn: { luma: number; at: number; seconds: number }[] = [];
      let ended = false;
      const player = new cmvc.BitstreamPlayer(canvas, {
        url,
        decodeImage: cmvc.decodeImageBrowser,
        audio: context,
        drawing: '2d',
        frameWorkers: 0,
        onFrame: (seconds) => {
          const [r, g, b] = canvas.getContext('2d')!.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
          drawn.push({ luma: 0.299 * r! + 0.587 * g! + 0.114 * b!, at: heard(), seconds });
        },
        onEnded: () => (ended = true),
      });
      await player.open();
      const clicks: number[] = [];
      const tap = new AudioWorkletNode(context, 'onsets');
      tap.port.onmessage = (e) => clicks.push(e.data as number);
      player.sound!.output.connect(tap);
      const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
      // play through the first cut, pause, seek past the second, play to the end
      player.play();
      while (player.currentTime < 1.6) await wait(20);
      player.pause();
      const pausedAt = player.currentTime;
      await wait(300);
      const heardWhilePaused = clicks.length;
      await player.seek(2.2);
      player.play();
      while (!ended) await wait(50);
      await wait(200);
      return { drawn, clicks, pausedAt, heardWhilePaused, ended, end: player.currentTime, duration: player.duration };
    }, `${base}/sync.cmvc`);
    expect(measured.ended).toBe(true);
    expect(measured.end).toBeCloseTo(measured.duration, 3);
    // pausing silences: no click is heard between the pause and the seek (the one at 1.2 s came before)
    expect(measured.heardWhilePaused).toBe(1);
    const cuts = measured.drawn.flatMap((d, i) => (i > 0 && Math.abs(d.luma - measured.drawn[i - 1]!.luma) > 40 && Math.abs(d.seconds - measured.drawn[i - 1]!.seconds) < 0.2 ? [d.at] : []));
    expect(cuts).toHaveLength(SYNC_CUT_FRAMES.length);
    expect(measured.clicks).toHaveLength(SYNC_CUT_FRAMES.length);
    const offsets = cuts.map((cut, i) => measured.clicks[i]! - cut);
    console.log(`player sync in Chromium (click heard − cut drawn, ms): ${offsets.map((o) => (o * 1000).toFixed(1)).join(', ')}`);
    for (const offset of offsets) expect(Math.abs(offset)).toBeLessThanOrEqual(1 / SYNC_FPS);
  });
});
