/**
 * `npm run bench -- live`: live and adaptive streaming on the real stack (reference engine), in headless Chromium.
 *
 * 1. Glass-to-glass latency: the demo page broadcasts Chromium's fake camera (640x480) in 2-s chunks and a second page
 *    of the same browser (one clock) watches it live through the signed bitstream URL; per chunk, when the viewer
 *    first drew the chunk's frames minus when the camera captured its first. The baseline beside it is the chunk's own
 *    length (no chunk can be shown before it is whole): target at most chunk length + 2 s.
 * 2. The adaptive player on emulated links (DevTools `Network.emulateNetworkConditions`, 4, 8, 16 and 64 kbps) playing
 *    the recorded broadcast on demand: rates chosen, stalls, bytes received; then one session whose link changes
 *    (64 → 8 → 32 kbps) to show the rate following it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { endBroadcast, fakeCamera, goLive, latencies, launchWithCamera, sentChunks, throttle, watch, watched, type Watched } from '../test/e2e/live-browser';
import { startStack, type Stack } from '../test/e2e/stack';

const CHUNK_MS = 2000;
const TARGET_MS = CHUNK_MS + 2000;
const BROADCAST_SECONDS = 24;
const LINKS_KBPS = [4, 8, 16, 64];
const FLOOR_KBPS = 1.5;
const CEILING_KBPS = 64;

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))] ?? NaN;
};

async function videoView(stack: Stack, id: string) {
  return (await (await fetch(`${stack.base}/v1/videos/${id}`, { headers: { Authorization: `Bearer ${stack.adminKey}` } })).json()) as {
    status: string;
    bitstream: { kbps: number; rateFloorKbps: number; videoKbps: number } | null;
    video: { durationSeconds: number } | null;
    live: { segmentsCoded: number };
  };
}

async function untilEnded(page: Page, seconds: number): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { cmvcWatch: Watched }).cmvcWatch.ended === true || (window as unknown as { cmvcWatch: Watched }).cmvcWatch.error !== null, undefined, { timeout: seconds * 1000 });
}

async function latencyRun(browser: Browser, stack: Stack) {
  const load = loadavg()[0] as number;
  const { page: broadcaster, videoId, watchUrl } = await goLive(browser, stack);
  const { page: viewer } = await watch(browser, stack, watchUrl, { floor: FLOOR_KBPS, ceiling: 1000 });
  await new Promise((r) => setTimeout(r, BROADCAST_SECONDS * 1000));
  await endBroadcast(broadcaster);
  await untilEnded(viewer, 120);
  const chunks = await sentChunks(broadcaster);
  const view = await watched(viewer);
  const per = latencies(chunks, view);
  console.log(`\nGlass-to-glass latency, ${CHUNK_MS / 1000}-s chunks from a 640x480 fake camera, viewer unthrottled (load average ${load.toFixed(1)} at the start):`);
  console.log('chunk  captured→sent ms  sent→at the viewer ms  →drawn ms  latency ms  beyond the chunk ms');
  for (const { n, ms } of per) {
    const chunk = chunks.find((c) => c.n === n);
    const arrived = view.chunkArrived[n];
    const sent = chunk?.sentAt === undefined ? '' : String(chunk.sentAt - chunk.capturedAt);
    const atViewer = chunk?.sentAt === undefined || arrived === undefined ? '' : String(arrived - chunk.sentAt);
    const drawn = arrived === undefined ? '' : String((view.chunkFirstDraw[n] as number) - arrived);
    console.log(`${String(n).padEnd(7)}${sent.padEnd(18)}${atViewer.padEnd(23)}${drawn.padEnd(11)}${String(ms).padEnd(12)}${ms - CHUNK_MS}`);
  }
  const values = per.map((p) => p.ms);
  const summary = {
    chunks: chunks.length,
    drawn: per.length,
    p50: pct(values, 0.5),
    p90: pct(values, 0.9),
    max: Math.max(...values),
    targetMs: TARGET_MS,
    withinTarget: values.filter((v) => v <= TARGET_MS).length,
    stalls: view.stalls,
    load,
  };
  console.log(`p50 ${summary.p50} ms, p90 ${summary.p90} ms, max ${summary.max} ms (${(summary.p50 / CHUNK_MS).toFixed(2)}x the chunk length); ${summary.withinTarget} of ${per.length} chunks within the target of ${TARGET_MS} ms; viewer stalls ${view.stalls}`);
  await broadcaster.close();
  await viewer.close();
  return { videoId, summary, perChunk: per };
}

async function adaptiveRun(browser: Browser, stack: Stack, videoId: string, linkKbps: number | number[], secondsPerStep = 0) {
  const { urls } = (await (
    await fetch(`${stack.base}/v1/videos/${videoId}/urls`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.adminKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ modes: ['it2v'], formats: ['bitstream'], expiresIn: 3600 }),
    })
  ).json()) as { urls: { url: string }[] };
  const steps = Array.isArray(linkKbps) ? linkKbps : [linkKbps];
  const { page, cdp } = await watch(browser, stack, `/live.html#url=${encodeURIComponent(urls[0]?.url as string)}`, { floor: FLOOR_KBPS, ceiling: CEILING_KBPS, linkKbps: steps[0] });
  const changes: { at: number; kbps: number }[] = [{ at: await page.evaluate(() => performance.now()), kbps: steps[0] as number }];
  for (const kbps of steps.slice(1)) {
    await new Promise((r) => setTimeout(r, secondsPerStep * 1000));
    await throttle(cdp, kbps);
    changes.push({ at: await page.evaluate(() => performance.now()), kbps });
  }
  await untilEnded(page, 240);
  const view = await watched(page);
  await page.close();
  return { view, changes };
}

export async function runLiveBench() {
  const dir = mkdtempSync(join(tmpdir(), 'cmvc-live-bench-'));
  const stack = await startStack();
  const browser = await launchWithCamera(fakeCamera(dir));
  try {
    const latency = await latencyRun(browser, stack);
    let stream = await videoView(stack, latency.videoId);
    for (let i = 0; i < 60 && stream.status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      stream = await videoView(stack, latency.videoId);
    }
    console.log(
      `\nAdaptive player, the recorded broadcast on demand (${stream.video?.durationSeconds.toFixed(1)} s, ${stream.live.segmentsCoded} segments, ${stream.bitstream?.kbps.toFixed(2)} kbps whole, texts-only floor ${stream.bitstream?.rateFloorKbps.toFixed(2)} kbps; the page's floor ${FLOOR_KBPS}, ceiling ${CEILING_KBPS} kbps), links emulated by DevTools:`,
    );
    console.log('link kbps  vs floor  asked kbps (min/median/max)  reached kbps (median)  group sizes  stalls (s)  bytes  kbps received');
    const links = [];
    for (const kbps of LINKS_KBPS) {
      const { view } = await adaptiveRun(browser, stack, latency.videoId, kbps);
      const asked = view.segments.map((s) => s.maxKbps ?? 0);
      const reached = view.segments.map((s) => s.kbps ?? 0);
      const seconds = stream.video?.durationSeconds ?? 1;
      const row = {
        linkKbps: kbps,
        vsFloor: kbps / FLOOR_KBPS,
        asked: { min: Math.min(...asked), median: pct(asked, 0.5), max: Math.max(...asked) },
        reachedMedian: pct(reached, 0.5),
        groupSizes: [...new Set(view.segments.map((s) => s.groupSize))],
        stalls: view.stalls,
        stalledSeconds: view.stalledSeconds,
        bytes: view.bytesReceived,
        error: view.error,
      };
      links.push(row);
      console.log(
        `${String(kbps).padEnd(11)}${`${row.vsFloor.toFixed(1)}x`.padEnd(10)}${`${row.asked.min.toFixed(2)} / ${row.asked.median.toFixed(2)} / ${row.asked.max.toFixed(2)}`.padEnd(29)}${row.reachedMedian.toFixed(2).padEnd(23)}${row.groupSizes.join(',').padEnd(13)}${`${row.stalls} (${row.stalledSeconds.toFixed(1)})`.padEnd(12)}${String(row.bytes).padEnd(7)}${((row.bytes * 8) / 1000 / seconds).toFixed(2)}${row.error ? `  error: ${row.error}` : ''}`,
      );
    }
    const steps = [64, 8, 32];
    const { view, changes } = await adaptiveRun(browser, stack, latency.videoId, steps, 9);
    const t0 = changes[0]?.at ?? 0;
    const linkAt = (at: number) => [...changes].reverse().find((c) => c.at <= at)?.kbps ?? steps[0];
    console.log(`\nThe link changing during one session (${steps.join(' → ')} kbps, every 9 s):`);
    console.log('segment  arrived s  link kbps  asked maxKbps  reached kbps  estimate kbps  group');
    for (const s of view.segments) {
      console.log(`${String(s.n).padEnd(9)}${((s.at - t0) / 1000).toFixed(1).padEnd(11)}${String(linkAt(s.at)).padEnd(11)}${(s.maxKbps?.toFixed(2) ?? '').padEnd(15)}${(s.kbps?.toFixed(2) ?? '').padEnd(14)}${(s.estimateKbps?.toFixed(1) ?? '-').padEnd(15)}${s.groupSize}`);
    }
    console.log(`stalls ${view.stalls} (${view.stalledSeconds.toFixed(1)} s)`);
    return { latency: { summary: latency.summary, perChunk: latency.perChunk }, stream: stream.bitstream, links, changing: { steps, changes, segments: view.segments, stalls: view.stalls } };
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
