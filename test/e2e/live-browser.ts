/// <reference lib="dom" />
/**
 * A broadcast from the demo page with Chromium's fake camera, watched live in a second page of the same browser (so
 * both read one clock) through the signed bitstream URL the broadcaster minted: what the live test and the live
 * bench both run.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { SAMPLE_CLIP, type Stack } from './stack';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A 640x480 MJPEG of the sample clip for Chromium's fake camera (which loops it), made with FFmpeg into `dir`. */
export function fakeCamera(dir: string): string {
  const file = join(dir, 'camera-640x480.mjpeg');
  execFileSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', SAMPLE_CLIP, '-vf', 'scale=640:480,fps=25', '-q:v', '5', '-f', 'mjpeg', file]);
  return file;
}

export function launchWithCamera(camera: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--autoplay-policy=no-user-gesture-required',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${camera}`,
      // a page in the background keeps its timers (the broadcaster's chunk clock) at full rate
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
}

export interface Broadcast {
  page: Page;
  videoId: string;
  watchUrl: string;
}

/** Opens the demo page with the admin key and goes live; answers once the watch link is shown. */
export async function goLive(browser: Browser, stack: Stack, { sound = true } = {}): Promise<Broadcast> {
  const page = await browser.newPage();
  await page.goto(`${stack.base}/`);
  await page.fill('#api-key', stack.adminKey);
  await page.click('#save-key');
  if (!sound) await page.uncheck('#live-audio');
  await page.click('#go-live');
  await page.waitForSelector('#watch-link:not([hidden])', { timeout: 30_000 });
  const { videoId, watchUrl } = await page.evaluate(() => {
    const b = (window as unknown as { cmvcBroadcast: { videoId: string; watchUrl: string } }).cmvcBroadcast;
    return { videoId: b.videoId, watchUrl: b.watchUrl };
  });
  return { page, videoId, watchUrl };
}

/** Opens the viewer on `watchUrl` (bounds in kbps), optionally behind an emulated link of `linkKbps`. */
export async function watch(browser: Browser, stack: Stack, watchUrl: string, { floor = 1, ceiling = 1000, linkKbps }: { floor?: number; ceiling?: number; linkKbps?: number } = {}): Promise<{ page: Page; cdp: CDPSession }> {
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  // the page and the player's code load at full speed; the link is narrowed before the player starts reading
  if (linkKbps !== undefined) {
    await page.route('**/client/cmvc-client.js', async (route) => {
      const response = await route.fetch();
      await throttle(cdp, linkKbps);
      await route.fulfill({ response });
    });
  }
  await page.goto(`${stack.base}${watchUrl}&floor=${floor}&ceiling=${ceiling}`);
  return { page, cdp };
}

/** Emulates a link of `kbps` both ways through the DevTools protocol (no added latency). */
export function throttle(cdp: CDPSession, kbps: number): Promise<unknown> {
  return cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: (kbps * 1000) / 8, uploadThroughput: (kbps * 1000) / 8 });
}

export interface Watched {
  firstDraw: Record<string, number>;
  chunkFirstDraw: Record<string, number>;
  /** When the viewer received each chunk's segment (ms since the epoch). */
  chunkArrived: Record<string, number>;
  segments: { n: number; chunk: number | null; maxKbps: number | null; kbps: number | null; bytes: number; groupSize: number; estimateKbps: number | null; at: number }[];
  stalls: number;
  error: string | null;
  ended?: boolean;
  opened?: boolean;
}

export const watched = (page: Page) => page.evaluate(() => ({ ...(window as unknown as { cmvcWatch: Watched }).cmvcWatch, stalledSeconds: (window as unknown as { cmvcPlayer: { stalledSeconds: number; bytesReceived: number } }).cmvcPlayer.stalledSeconds, bytesReceived: (window as unknown as { cmvcPlayer: { bytesReceived: number } }).cmvcPlayer.bytesReceived }));

export const sentChunks = (page: Page) => page.evaluate(() => (window as unknown as { cmvcBroadcast: { chunks: { n: number; capturedAt: number; sentAt?: number; status?: number; bytes?: number }[] } }).cmvcBroadcast.chunks.filter(Boolean));

/** Ends the broadcast from its page (the last chunk is sent first). */
export async function endBroadcast(page: Page): Promise<void> {
  await page.click('#stop-live');
  await page.waitForFunction(() => document.getElementById('live-status')?.textContent?.startsWith('ended'), undefined, { timeout: 30_000 });
}

/** Glass-to-glass latency per chunk, ms: when the viewer first drew the chunk's frames minus when the camera captured its first. */
export function latencies(chunks: { n: number; capturedAt: number }[], view: Pick<Watched, 'chunkFirstDraw'>): { n: number; ms: number }[] {
  return chunks.flatMap((c) => (view.chunkFirstDraw[c.n] === undefined ? [] : [{ n: c.n, ms: (view.chunkFirstDraw[c.n] as number) - c.capturedAt }]));
}
