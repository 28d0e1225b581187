/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedVideo, ROOT, SAMPLE_CLIP as SAMPLE, startStack, type Stack } from './stack';

const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: Stack;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: npm test installs it when run as root; else apt-get install chromium (or set CHROMIUM_PATH)`);
  stack = await startStack();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('demo page in Chromium', () => {
  it('uploads the sample, shows progress, plays both reconstructions and shows the figures', async () => {
    mkdirSync(RESULTS, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    try {
      await page.goto(`${stack.base}/`);
      await page.fill('#api-key', stack.adminKey);
      await page.click('#save-key');

      const progressValues: number[] = [];
      await page.exposeFunction('recordProgress', (v: number) => progressValues.push(v));
      await page.evaluate(() => {
        const bar = document.getElementById('progress') as HTMLProgressElement;
        new MutationObserver(() => (window as unknown as { recordProgress: (v: number) => void }).recordProgress(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
      });
      await page.setInputFiles('#file', SAMPLE);

      await page.waitForSelector('#result:not([hidden])', { timeout: 120_000 });
      expect(progressValues.length).toBeGreaterThan(1);
      expect(Math.max(...progressValues)).toBe(1);
      expect(progressValues).toEqual([...progressValues].sort((a, b) => a - b));

      for (const id of ['tt2v', 'it2v']) {
        await page.waitForFunction((el) => {
          const video = document.getElementById(el) as HTMLVideoElement;
          return video.readyState >= 2 && video.currentTime > 0.2;
        }, id, { timeout: 90_000 });
      }
      await page.waitForFunction(() => document.getElementById('f-ttff')?.textContent !== '', undefined, { timeout: 30_000 });
      // IT2V decoded in the page from the bitstream alone: a canvas in place of the video, frames advancing, bytes shown
      await page.waitForFunction(() => Number((document.getElementById('client-it2v') as HTMLElement | null)?.dataset.time ?? 0) > 0.2, undefined, { timeout: 60_000 });
      expect(await page.$eval('#client-it2v', (el) => el.tagName)).toBe('DIV');
      expect(await page.textContent('#f-client')).toMatch(/^[\d.]+ (bytes|KiB) for [\d.]+ s \([\d.]+ kbps\), drawn with (webgl2|2d)$/);
      const figures = await page.$$eval('#figures td', (cells) => cells.map((c) => c.textContent ?? ''));
      expect(figures.every((f) => f.length > 0)).toBe(true);
      expect(await page.$eval('#poster', (img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
      expect(await page.$$eval('#captions li', (items) => items.length)).toBeGreaterThan(0);

      await page.click('#share');
      await page.waitForSelector('#share-url:not([hidden])');
      expect(await page.inputValue('#share-url')).toMatch(/\/v\/vid_[0-9a-z]{26}\/it2v\.mp4\?.*sig=/);
      expect(errors).toEqual([]);
    } finally {
      await page.screenshot({ path: join(RESULTS, 'demo-page.png'), fullPage: true });
      await page.close();
    }
  });
});

describe('client library in Chromium', () => {
  it('shows the poster and captions from the bitstream, then plays the reconstruction', async () => {
    // its own video: this test does not lean on the upload of the one above
    const { video } = await encodedVideo(stack, SAMPLE);
    const page = await browser.newPage();
    try {
      await page.goto(`${stack.base}/`);
      await page.evaluate((key) => localStorage.setItem('cmvc-api-key', key), stack.adminKey);
      await page.goto(`${stack.base}/player.html?v=${video.id}&mode=it2v`);
      await page.waitForSelector('#status[data-ready]', { timeout: 30_000 });
      expect(await page.$eval('#player', (v) => (v as HTMLVideoElement).poster)).toMatch(/^blob:/);
      expect(await page.$eval('#player', (v) => (v as HTMLVideoElement).textTracks[0]?.cues?.length ?? 0)).toBeGreaterThan(0);
      const state = () => page.evaluate(() => { const v = document.getElementById('player') as HTMLVideoElement; return `${document.getElementById('status')?.textContent} src=${v.currentSrc.slice(0, 60)} err=${v.error?.code}:${v.error?.message} ready=${v.readyState} t=${v.currentTime}`; });
      await page.waitForFunction(() => (document.getElementById('player') as HTMLVideoElement).currentTime > 0.2, undefined, { timeout: 60_000 }).catch(async (err) => { throw new Error(`${err.message}; ${await state()}`); });
      // Chromium plays HLS natively: the player takes the signed playlist, segments generated as it asks.
      expect(await page.textContent('#status')).toMatch(/bitstream \d+ bytes, \d+ segment\(s\), playing hls/);
      expect(await page.$eval('#player', (v) => (v as HTMLVideoElement).currentSrc)).toMatch(/\/it2v\.m3u8\?.*sig=/);
    } finally {
      await page.close();
    }
  });
});
