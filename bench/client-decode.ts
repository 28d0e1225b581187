/**
 * The client decoder's speed and what it saves on the wire: decoded frames per second in Node and in headless
 * Chromium (pixels computed on the CPU; frames drawn by the player's renderer; the player playing in real
 * time) beside the stream's frame rate and as a multiple of it, at 1280x720 (the multi-keyframe test vector) and
 * 320x240 (the sample clip coded by the reference engine at 30 kbps); and the bytes per second of video of the
 * bitstream against the reference engine's MP4 and MPEG-TS (HLS) of the same bitstream.
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { readBitstream, type Bitstream } from '../src/bitstream';
import { decodeImageNode } from '../src/cli/decode-image';
import { decodeBitstream, geometryOf } from '../src/client/decode';
import { generateRequest, referenceBitstream, SAMPLE_CLIP } from '../test/node/support/reference-it2v';

/** The browser bundle the page loads as `window.cmvc` (built from src/client/browser.ts). */
type Cmvc = typeof import('../src/client/browser');

const root = join(import.meta.dirname, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Clip {
  name: string;
  bytes: Uint8Array;
  /** Motion texts outside the grammar (a model engine's prose) are read leniently. */
  lenient: boolean;
}

async function nodeFps(bitstream: Bitstream, lenient: boolean): Promise<number> {
  const started = performance.now();
  let frames = 0;
  for await (const segment of decodeBitstream(bitstream, { decodeImage: decodeImageNode, strictMotion: !lenient })) for (const _ of segment.frames) frames++;
  return frames / ((performance.now() - started) / 1000);
}

/** Frames per second in Chromium (WebGL2 is SwiftShader, software GL on the CPU, when headless without a GPU). */
interface BrowserFps {
  /** Every frame's pixels computed on the CPU (what Node and the 2D-canvas fallback do). */
  decode: number;
  /** Decoded and drawn as the player draws, as fast as it goes (each frame read back, so that it is really drawn). */
  decodeAndDraw: number;
  /** How the player's renderer drew (`auto`): WebGL2's shader on a hardware GPU, a 2D context on software GL. */
  drawing: 'webgl2' | '2d';
  /** Workers computing parts of each frame beside the page's thread (the player's default for this machine's cores). */
  workers: number;
  /** The player playing the clip in real time on a canvas in the page: frames drawn per second of playback (at most the source rate). */
  played: number;
  /** Frames the playback skipped because it fell behind the clock. */
  missed: number;
}

async function chromiumFps(clips: Clip[]): Promise<(BrowserFps | null)[]> {
  if (!existsSync(CHROMIUM)) return clips.map(() => null);
  const bundle = await build({ entryPoints: [join(root, 'src/client/browser.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  try {
    const page = await browser.newPage();
    await page.setContent('<!doctype html><canvas id="c"></canvas>');
    await page.addScriptTag({ type: 'module', content: `import('data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0]!.contents).toString('base64')}').then((m) => { window.cmvc = m; });` });
    await page.waitForFunction(() => (window as unknown as { cmvc?: unknown }).cmvc !== undefined);
    // tsx compiles this file with esbuild's keepNames: functions passed to the page call its `__name` helper
    await page.evaluate('globalThis.__name = (f) => f');
    const out: (BrowserFps | null)[] = [];
    for (const clip of clips) {
      out.push(
        await page.evaluate(
          async ([b64, lenient]) => {
            const w = window as unknown as { cmvc: Cmvc };
            const bitstreamBytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const bitstream = w.cmvc.parseForDecode(bitstreamBytes);
            const canvas = document.getElementById('c') as HTMLCanvasElement;
            const player = new w.cmvc.BitstreamPlayer(canvas, { url: 'unused', decodeImage: w.cmvc.decodeImageBrowser });
            const gl = player.renderer.kind === 'webgl2' ? (canvas.getContext('webgl2') as WebGL2RenderingContext) : null;
            const context = gl === null ? canvas.getContext('2d') : null;
            const pixel = new Uint8Array(4);
            const fps: number[] = [];
            for (const draw of [false, true]) {
              const started = performance.now();
              let frames = 0;
              for await (const s of w.cmvc.decodeBitstream(bitstream, { decodeImage: w.cmvc.decodeImageBrowser, strictMotion: !lenient })) {
                for (let i = 0; i < s.frameCount; i++) {
                  // decode only: every frame's pixels on the CPU; drawn: as the player does, the recipe to the renderer
                  if (draw) {
                    await player.draw(s.recipeAt(i));
                    // gl.finish() does not wait for SwiftShader; reading a pixel back does, so each frame is really drawn
                    if (gl !== null) gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
                    else context?.getImageData(0, 0, 1, 1);
                  }
                  else s.frameAt(i);
                  frames++;
                }
              }
              fps.push(frames / ((performance.now() - started) / 1000));
            }
            // real-time playback, as a person would watch it: the player's own clock, animation frames and canvas
            const shown = document.createElement('canvas');
            document.body.append(shown);
            let drawn = 0;
            const ended: (() => void)[] = [];
            const done = new Promise<void>((resolve) => ended.push(resolve));
            const playing = new w.cmvc.BitstreamPlayer(shown, {
              url: 'memory',
              fetch: async () => new Response(bitstreamBytes),
              decodeImage: w.cmvc.decodeImageBrowser,
              strictMotion: !lenient,
              onFrame: () => drawn++,
              onEnded: () => ended[0]?.(),
            });
            await playing.open();
            drawn = 0;
            const started = performance.now();
            playing.play();
            await done;
            const seconds = (performance.now() - started) / 1000;
            const { fps: rate } = playing.geometry;
            const expected = Math.round(playing.duration * rate);
            shown.remove();
            return { decode: fps[0] as number, decodeAndDraw: fps[1] as number, drawing: player.renderer.kind, workers: player.workers, played: drawn / seconds, missed: Math.max(0, expected - drawn) };
          },
          [Buffer.from(clip.bytes).toString('base64'), clip.lenient] as const,
        ),
      );
    }
    return out;
  } finally {
    await browser.close();
  }
}

/** Bytes of the reference engine's IT2V MP4 and MPEG-TS for every segment of `bitstream` at its default options. */
async function reconstructionBytes(bitstream: Bitstream): Promise<{ mp4: number; mpegts: number }> {
  const requests = await Promise.all(bitstream.segments.map((_, n) => generateRequest(bitstream, n, 'it2v')));
  const python = join(root, 'gpu-functions/.venv/bin/python');
  return JSON.parse(execFileSync(python, [join(root, 'gpu-functions/scripts/reference_it2v.py'), 'sizes'], { input: JSON.stringify(requests), maxBuffer: 1 << 20 }).toString());
}

export async function runClientDecodeBench() {
  const clips: Clip[] = [
    { name: 'multi-keyframe vector 1280x720', bytes: new Uint8Array(readFileSync(join(root, 'test/vectors/multi-keyframe.cmvc'))), lenient: true },
    { name: 'cup-4s at 30 kbps 320x240', bytes: referenceBitstream(SAMPLE_CLIP, 30), lenient: false },
  ];
  const browserFps = await chromiumFps(clips);
  const rows = [];
  for (const [i, clip] of clips.entries()) {
    const bitstream = readBitstream(clip.bytes);
    const { width, height, fps } = geometryOf(bitstream.header);
    const seconds = bitstream.header.frameCount / (bitstream.header.fpsNum / bitstream.header.fpsDen);
    const recon = await reconstructionBytes(bitstream);
    rows.push({
      clip: clip.name,
      width,
      height,
      sourceFps: fps,
      nodeFps: await nodeFps(bitstream, clip.lenient),
      chromiumFps: browserFps[i],
      bitstreamKbps: (clip.bytes.length * 8) / 1000 / seconds,
      mp4Kbps: (recon.mp4 * 8) / 1000 / seconds,
      hlsTsKbps: (recon.mpegts * 8) / 1000 / seconds,
    });
  }
  console.log('\nClient decoder (frames per second on this machine; kbps over the wire per second of video):');
  console.log(`(Chromium: CPU decode on the page's thread / decode + draw as the player draws (${rows[0]?.chromiumFps?.drawing ?? '-'}, ${rows[0]?.chromiumFps?.workers ?? 0} frame workers beside the page) / real-time playback, frames missed; ×: against the source rate)`);
  console.log('clip                             size      source fps  Node fps       Chromium fps (decode / +draw / played, missed)        bitstream kbps  MP4 kbps  HLS TS kbps');
  const ratio = (fps: number, source: number) => `${fps.toFixed(1)} (${(fps / source).toFixed(2)}×)`;
  for (const r of rows) {
    const c = r.chromiumFps;
    const chromium = c ? `${ratio(c.decode, r.sourceFps)} / ${ratio(c.decodeAndDraw, r.sourceFps)} / ${ratio(c.played, r.sourceFps)}, ${c.missed}` : '-';
    console.log(
      `${r.clip.padEnd(33)}${`${r.width}x${r.height}`.padEnd(10)}${r.sourceFps.toFixed(2).padEnd(12)}${ratio(r.nodeFps, r.sourceFps).padEnd(15)}${chromium.padEnd(54)}${r.bitstreamKbps.toFixed(2).padEnd(16)}${r.mp4Kbps.toFixed(1).padEnd(10)}${r.hlsTsKbps.toFixed(1)}`,
    );
  }
  return rows;
}
