/// <reference lib="dom" />
/**
 * The client decoder in Chromium, with the browser's own image decoder (createImageBitmap): its frames against
 * the reference engine's frames for the same bitstream (per-frame luma PSNR), and the bitstream player
 * (WebGL2 canvas, Range reads, play / seek) on a page served from 127.0.0.1. No stack: a static server.
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBitstream } from '../../src/bitstream';
import { lumaPsnr, type RgbImage } from '../../src/client/decode';
import { referenceBitstream, referenceFrames, SAMPLE_CLIP } from '../node/support/reference-it2v';
import { ROOT } from './stack';
import { serveStatic } from './static-files';
import type { DecodedSegment } from '../../src/client/decode/decoder';

/** The browser bundle the page loads as `window.cmvc` (built from src/client/browser.ts). */
type Cmvc = typeof import('../../src/client/browser');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PAGE = '<!doctype html><meta charset="utf-8"><title>decode</title><div id="box"><video id="player"></video></div>';

/** A stand-in for the API's mint route (`POST /v1/videos/{id}/urls`): answers with the static bitstream's URL. */
const MINT_PATH = '/v1/videos/vid_test/urls';
const minted: unknown[] = [];
function mint(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    minted.push(JSON.parse(body));
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ urls: [{ mode: 'it2v', format: 'bitstream', segment: null, url: `${base}/v.cmvc` }] }));
  });
}

/**
 * `drawnRgb(canvas)` in the page: what a canvas shows, as RGB rows top to bottom, from whichever context draws on
 * it (WebGL2's readPixels starts at the bottom row).
 */
const DRAWN_RGB = `window.drawnRgb = function (canvas) {
  const { width, height } = canvas;
  const out = new Uint8Array(width * height * 3);
  const gl = canvas.getContext('webgl2');
  let rgba;
  if (gl !== null) {
    rgba = new Uint8Array(width * height * 4);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, rgba);
  } else rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  for (let y = 0; y < height; y++) {
    const row = gl !== null ? height - 1 - y : y;
    for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = rgba[(row * width + x) * 4 + c];
  }
  return { width, height, data: out };
};`;
type DrawnRgb = { drawnRgb: (canvas: HTMLCanvasElement) => RgbImage };

let server: Server;
let base: string;
let browser: Browser;
let page: Page;
/** Files the static server answers with, by path (the bitstreams honour Range). */
const files = new Map<string, { type: string; body: Uint8Array }>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const bundle = await build({ entryPoints: [join(ROOT, 'src/client/browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  files.set('/cmvc-client.js', { type: 'text/javascript', body: bundle.outputFiles[0]!.contents });
  files.set('/', { type: 'text/html', body: new TextEncoder().encode(PAGE) });
  server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === MINT_PATH) return void mint(req, res);
    serveStatic(files, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.addScriptTag({ type: 'module', content: `import * as cmvc from '/cmvc-client.js'; window.cmvc = cmvc; window.cmvcReady = true;` });
  await page.waitForFunction(() => (window as unknown as { cmvcReady?: boolean }).cmvcReady === true);
  await page.addScriptTag({ content: DRAWN_RGB });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** Decodes `bytes` in the page with createImageBitmap; the frames come back in batches as base64. */
async function browserFrames(bytes: Uint8Array): Promise<RgbImage[]> {
  const meta = await page.evaluate(async (b64) => {
    const w = window as unknown as { cmvc: Cmvc; segments: DecodedSegment[] };
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitstream = w.cmvc.parseForDecode(data);
    w.segments = [];
    for await (const s of w.cmvc.decodeBitstream(bitstream, { decodeImage: w.cmvc.decodeImageBrowser })) w.segments.push(s);
    return w.segments.map((s: { frameCount: number }) => s.frameCount);
  }, Buffer.from(bytes).toString('base64'));
  const frames: RgbImage[] = [];
  for (const [n, count] of meta.entries()) {
    for (let first = 0; first < count; first += 12) {
      const batch = await page.evaluate(
        ([segment, from, to]) => {
          const s = (window as unknown as { segments: DecodedSegment[] }).segments[segment]!;
          const out = [];
          for (let i = from; i < to; i++) {
            const f = s.frameAt(i);
            let text = '';
            for (let k = 0; k < f.data.length; k += 0x8000) text += String.fromCharCode(...f.data.subarray(k, k + 0x8000));
            out.push({ width: f.width, height: f.height, b64: btoa(text) });
          }
          return out;
        },
        [n, first, Math.min(count, first + 12)] as const,
      );
      for (const f of batch) frames.push({ width: f.width, height: f.height, data: new Uint8Array(Buffer.from(f.b64, 'base64')) });
    }
  }
  return frames;
}

describe('client decode in Chromium (createImageBitmap) agrees with the reference engine', () => {
  it.each([
    ['the sample clip at 30 kbps', SAMPLE_CLIP, 30],
    ['a synthetic pan at 40 kbps', 'pan:2.5', 40],
  ] as const)('%s', async (_, clip, kbps) => {
    const bytes = referenceBitstream(clip, kbps);
    const bitstream = readBitstream(bytes);
    const [client, reference] = [await browserFrames(bytes), await referenceFrames(bitstream, 'it2v')];
    expect(client.length).toBe(reference.length);
    const psnr = client.map((f, i) => Math.min(100, lumaPsnr(f, reference[i] as RgbImage)));
    expect(psnr.reduce((a, b) => a + b, 0) / psnr.length).toBeGreaterThanOrEqual(35);
    expect(Math.min(...psnr)).toBeGreaterThanOrEqual(30);
  });
});

describe('bitstream player in Chromium', () => {
  it('reads the index and then segments by Range, plays, seeks, and draws', async () => {
    const bytes = referenceBitstream(SAMPLE_CLIP, 30);
    files.set('/v.cmvc', { type: 'application/vnd.cmvc', body: bytes });
    const state = await page.evaluate(async () => {
      const w = window as unknown as { cmvc: Cmvc };
      const canvas = document.createElement('canvas');
      document.body.append(canvas);
      const player = new w.cmvc.BitstreamPlayer(canvas, { url: '/v.cmvc', decodeImage: w.cmvc.decodeImageBrowser });
      await player.open();
      const afterOpen = player.bytesReceived;
      player.play();
      // playing: its clock passes half a second (fails after 10 s)
      await new Promise<void>((resolve, reject) => {
        const started = performance.now();
        const poll = setInterval(() => {
          if (player.currentTime > 0.5) resolve();
          else if (performance.now() - started > 10_000) reject(new Error(`played to ${player.currentTime} s after 10 s`));
          else return;
          clearInterval(poll);
        }, 20);
      });
      const playedTo = player.currentTime;
      player.pause();
      await player.seek(3.5);
      const shown = (window as unknown as DrawnRgb).drawnRgb(canvas);
      const centre = ((canvas.height >> 1) * canvas.width + (canvas.width >> 1)) * 3;
      const pixel = shown.data.subarray(centre, centre + 3);
      return { kind: player.renderer.kind, afterOpen, bytes: player.bytesReceived, playedTo, at: player.currentTime, size: [canvas.width, canvas.height], pixel: [...pixel], error: player.error?.message ?? null };
    });
    expect(state.error).toBeNull();
    // headless Chromium's WebGL2 is SwiftShader, software GL: the player draws with a 2D context, the faster there
    expect(state.kind).toBe('2d');
    // every byte once, the index probe then the rest of the (single) segment; the 12-byte CEND chunk is never read
    expect(state.afterOpen).toBe(bytes.length - 12);
    expect(state.bytes).toBe(bytes.length - 12);
    expect(state.playedTo).toBeGreaterThan(0.5);
    expect(state.at).toBeCloseTo(3.5, 5);
    expect(state.size).toEqual([320, 240]);
    expect(state.pixel.some((v) => v > 0)).toBe(true);
  });

  it.each(['webgl2', '2d'] as const)('draws with %s what the decoder computes: every kind of frame, to within one level of 8 bits', async (drawing) => {
    files.set('/v.cmvc', { type: 'application/vnd.cmvc', body: referenceBitstream(SAMPLE_CLIP, 30) });
    const result = await page.evaluate(async (drawing) => {
      const w = window as unknown as { cmvc: Cmvc } & DrawnRgb;
      const canvas = document.createElement('canvas');
      const player = new w.cmvc.BitstreamPlayer(canvas, { url: '/v.cmvc', decodeImage: w.cmvc.decodeImageBrowser, drawing });
      const index = await player.open();
      const kinds = new Set<string>();
      let maxDiff = 0;
      let minPsnr = Infinity;
      for (let n = 0; n < index.segments.length; n++) {
        const { decoded } = await player.segment(n);
        for (let i = 0; i < decoded.frameCount; i++) {
          const recipe = decoded.recipeAt(i);
          kinds.add(recipe.kind);
          player.renderer.draw(recipe);
          const drawn = w.drawnRgb(canvas);
          const cpu = decoded.frameAt(i);
          for (let k = 0; k < drawn.data.length; k++) maxDiff = Math.max(maxDiff, Math.abs((drawn.data[k] as number) - (cpu.data[k] as number)));
          minPsnr = Math.min(minPsnr, w.cmvc.lumaPsnr(drawn, cpu));
        }
      }
      return { kind: player.renderer.kind, kinds: [...kinds].sort(), maxDiff, minPsnr };
    }, drawing);
    expect(result.kind).toBe(drawing);
    expect(result.kinds).toEqual(['blend', 'still', 'warp']);
    // the shader rounds in float32 where the CPU rounds in double: a value on a rounding edge may move by one
    expect(result.maxDiff).toBeLessThanOrEqual(1);
    expect(result.minPsnr).toBeGreaterThanOrEqual(58);
  });

  it('computes each frame in parts on its frame workers, byte for byte the frame the page computes alone, on an opaque canvas', async () => {
    files.set('/v.cmvc', { type: 'application/vnd.cmvc', body: referenceBitstream(SAMPLE_CLIP, 30) });
    const result = await page.evaluate(async () => {
      const w = window as unknown as { cmvc: Cmvc } & DrawnRgb;
      const canvas = document.createElement('canvas');
      const player = new w.cmvc.BitstreamPlayer(canvas, { url: '/v.cmvc', decodeImage: w.cmvc.decodeImageBrowser, drawing: '2d', frameWorkers: 2 });
      const index = await player.open();
      let frames = 0;
      let differing = 0;
      for (let n = 0; n < index.segments.length; n++) {
        const { decoded } = await player.segment(n);
        for (let i = 0; i < decoded.frameCount; i++) {
          await player.draw(decoded.recipeAt(i));
          const drawn = w.drawnRgb(canvas);
          const cpu = decoded.frameAt(i);
          for (let k = 0; k < drawn.data.length; k++) if (drawn.data[k] !== cpu.data[k]) differing++;
          frames++;
        }
      }
      const workers = player.workers;
      player.close();
      return { frames, differing, workers, alpha: (canvas.getContext('2d') as CanvasRenderingContext2D).getContextAttributes().alpha };
    });
    expect(result.frames).toBeGreaterThan(100);
    // both workers started and none failed (a failed worker is dropped and its rows fall to the page)
    expect(result.workers).toBe(2);
    expect(result.differing).toBe(0);
    expect(result.alpha).toBe(false);
  });

  it('attachPlayer: after playback reaches the end, the control reads Play again and the last frame stays drawn', async () => {
    const bytes = referenceBitstream(SAMPLE_CLIP, 30);
    files.set('/v.cmvc', { type: 'application/vnd.cmvc', body: bytes });
    minted.length = 0;
    const end = await page.evaluate(async () => {
      const w = window as unknown as { cmvc: Cmvc };
      const client = new w.cmvc.CmvcClient({ baseUrl: location.origin, apiKey: 'test-key' });
      const info = await w.cmvc.attachPlayer(document.getElementById('player') as HTMLVideoElement, { client, videoId: 'vid_test', mode: 'it2v', prefer: 'bitstream' });
      const box = document.getElementById('player') as HTMLElement;
      const toggle = box.querySelector('button') as HTMLButtonElement;
      const seek = box.querySelector('input[type=range]') as HTMLInputElement;
      const player = info.player as NonNullable<typeof info.player>;
      // a person drags the seek bar near the end and presses Play
      seek.value = String(player.duration - 0.4);
      seek.dispatchEvent(new Event('input'));
      // the frame there is drawn: a seek to the same place resolves once it is (its segment already on its way)
      await player.seek(Number(seek.value));
      toggle.click();
      const whilePlaying = toggle.textContent;
      await new Promise<void>((resolve, reject) => {
        const started = performance.now();
        const poll = setInterval(() => {
          if (toggle.textContent === 'Play') resolve();
          else if (performance.now() - started > 10_000) reject(new Error(`still "${toggle.textContent}" after 10 s`));
          else return;
          clearInterval(poll);
        }, 20);
      });
      const shown = (window as unknown as DrawnRgb).drawnRgb(box.querySelector('canvas') as HTMLCanvasElement);
      const last = (await player.segment(info.segments - 1)).decoded;
      const frame = last.frameAt(last.frameCount - 1);
      let maxDiff = 0;
      for (let k = 0; k < frame.data.length; k++) maxDiff = Math.max(maxDiff, Math.abs((shown.data[k] as number) - (frame.data[k] as number)));
      return {
        source: info.source,
        whilePlaying,
        toggle: toggle.textContent,
        paused: player.paused,
        atEnd: player.currentTime === player.duration,
        // the range input snaps its value to its 0.01 s step
        seek: Math.abs(Number(seek.value) - player.duration) <= 0.01,
        kind: player.renderer.kind,
        status: box.querySelector('[role=status]')?.textContent,
        duration: player.duration,
        error: player.error?.message ?? null,
        lastFrameDiff: maxDiff,
      };
    });
    expect(minted).toEqual([{ modes: ['it2v'], expiresIn: 3600, options: {}, formats: ['bitstream'] }]);
    expect(end).toMatchObject({ source: 'bitstream', whilePlaying: 'Pause', toggle: 'Play', paused: true, atEnd: true, seek: true, error: null });
    expect(end.status).toBe(`${end.kind} · ${bytes.length - 12} bytes received · ${end.duration.toFixed(2)} s`);
    expect(end.lastFrameDiff).toBe(0);
  });

  it('stops with a typed error, not a blank canvas that claims to play, on a bitstream that does not parse', async () => {
    files.set('/bad.cmvc', { type: 'application/vnd.cmvc', body: new TextEncoder().encode('this is no bitstream') });
    const result = await page.evaluate(async () => {
      const w = window as unknown as { cmvc: Cmvc };
      const player = new w.cmvc.BitstreamPlayer(document.createElement('canvas'), { url: '/bad.cmvc', decodeImage: w.cmvc.decodeImageBrowser });
      const error = await player.open().then(() => null, (err: { name: string; code: string }) => ({ name: err.name, code: err.code }));
      return { error, paused: player.paused };
    });
    expect(result).toEqual({ error: { name: 'DecodeError', code: 'bad_bitstream' }, paused: true });
  });
});
