/// <reference lib="dom" />
// A broadcast from the demo page (Chromium's fake camera, 2-s chunks) watched live in a second page through a signed
// URL, on the real stack with the reference engine; the latency it shows is measured by `npm run bench -- live`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endBroadcast, fakeCamera, goLive, latencies, launchWithCamera, sentChunks, watch, watched } from './live-browser';
import { startStack, type Stack } from './stack';

let stack: Stack;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cmvc-live-'));
  stack = await startStack();
  browser = await launchWithCamera(fakeCamera(dir));
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('live from the demo page', () => {
  it('is watched live in a second page through a signed URL, chunk after chunk, and ends as an ordinary video', async () => {
    const { page: broadcaster, videoId, watchUrl } = await goLive(browser, stack);
    expect(watchUrl).toMatch(/^\/live\.html#url=.*bitstream\.cmvc.*adj%3DmaxKbps\.segments/);
    const { page: viewer } = await watch(browser, stack, watchUrl);
    // while the broadcast goes on, the viewer draws the frames of chunk after chunk
    await viewer.waitForFunction(() => Object.keys((window as unknown as { cmvcWatch: { chunkFirstDraw: object } }).cmvcWatch.chunkFirstDraw).length >= 4, undefined, { timeout: 90_000 });
    const live = await (await fetch(`${stack.base}/v1/videos/${videoId}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } })).json();
    expect(live).toMatchObject({ status: 'live', live: { state: 'live' } });

    // a viewer who joins late starts near the live edge (the newest segment), not at the beginning
    const { page: late } = await watch(browser, stack, watchUrl);
    await late.waitForFunction(() => Object.keys((window as unknown as { cmvcWatch: { firstDraw: object } }).cmvcWatch.firstDraw).length >= 1, undefined, { timeout: 60_000 });
    const lateView = await watched(late);
    const segmentsThen = live.live.segmentsCoded as number;
    const firstDrawn = Math.min(...Object.keys(lateView.firstDraw).map(Number));
    expect(firstDrawn).toBeGreaterThanOrEqual(segmentsThen - 1);

    // a viewer who seeks behind the live edge plays from there and stays there (no jump back to the edge) ...
    await late.evaluate(() => (window as unknown as { cmvcPlayer: { seek(s: number): Promise<void> } }).cmvcPlayer.seek(0.5));
    const behind = await late.evaluate(() => {
      const p = (window as unknown as { cmvcPlayer: { following: boolean; currentTime: number } }).cmvcPlayer;
      return { following: p.following, at: p.currentTime };
    });
    expect(behind.following).toBe(false);
    expect(behind.at).toBeLessThan(2);
    await late.waitForFunction(() => (window as unknown as { cmvcPlayer: { currentTime: number } }).cmvcPlayer.currentTime > 2.5, undefined, { timeout: 30_000 });
    expect(await late.evaluate(() => (window as unknown as { cmvcPlayer: { following: boolean } }).cmvcPlayer.following)).toBe(false);
    // ... until it goes back to the live edge
    await late.click('#go-live');
    const edge = await late.evaluate(() => {
      const p = (window as unknown as { cmvcPlayer: { following: boolean; currentTime: number; duration: number } }).cmvcPlayer;
      return { following: p.following, behindEdge: p.duration - p.currentTime };
    });
    expect(edge.following).toBe(true);
    expect(edge.behindEdge).toBeLessThan(4.5);
    await late.close();

    await endBroadcast(broadcaster);
    await viewer.waitForFunction(() => (window as unknown as { cmvcWatch: { ended?: boolean } }).cmvcWatch.ended === true, undefined, { timeout: 90_000 });
    const view = await watched(viewer);
    const chunks = await sentChunks(broadcaster);
    expect(view.error).toBeNull();
    expect(chunks.every((c) => c.status === 202)).toBe(true);
    // each chunk the viewer drew was drawn after it was captured, and the chunks came in order
    const drawn = latencies(chunks, view);
    expect(drawn.length).toBeGreaterThanOrEqual(4);
    expect(drawn.every((d) => d.ms > 0)).toBe(true);
    expect(drawn.map((d) => d.n)).toEqual([...drawn.map((d) => d.n)].sort((a, b) => a - b));
    // every segment read says its rate (the page shows it) and, read alone, its chunk
    expect(view.segments.every((s) => s.maxKbps !== null && s.kbps !== null)).toBe(true);
    expect(await viewer.$$eval('#rates tbody tr', (rows) => rows.length)).toBe(view.segments.length);
    // ended, it is an ordinary video with every chunk received in it
    let ended: { status: string; live: { state: string; chunksReceived: number; segmentsCoded: number } } | null = null;
    for (let i = 0; i < 60 && ended?.status !== 'succeeded'; i++) {
      ended = await (await fetch(`${stack.base}/v1/videos/${videoId}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } })).json();
      if (ended?.status !== 'succeeded') await new Promise((r) => setTimeout(r, 1000));
    }
    expect(ended).toMatchObject({ status: 'succeeded', live: { state: 'ended', chunksReceived: chunks.length } });
    expect(ended?.live.segmentsCoded).toBeGreaterThanOrEqual(chunks.length);
  });
});
