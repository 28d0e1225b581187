import { beforeEach, describe, expect, it } from 'vitest';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { callSettled, encodedVideo as encodedVideoOn } from './helpers';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

const encodedVideo = () => encodedVideoOn(gpu);

describe('a miss at the edge', () => {
  it('names where its time went in Server-Timing when the bench routes are on, and says nothing otherwise', { timeout: 30_000 }, async () => {
    const id = await encodedVideo();
    const timed = await callSettled(`/v/${id}/tt2v.mp4?seed=21`, {}, { BENCH_ROUTES: 'true' });
    expect(timed.status).toBe(200);
    const stages = (timed.headers.get('Server-Timing') ?? '').split(', ').map((s) => s.split(';dur=')[0]);
    expect(stages).toEqual(expect.arrayContaining(['lookup', 'admit', 'coordinator', 'do-rpc-in', 'do-reserve', 'do-submit', 'do-call', 'do-settle', 'do-head-after', 'do-rpc-out', 'first-byte']));
    const plain = await callSettled(`/v/${id}/tt2v.mp4?seed=22`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('Server-Timing')).toBeNull();
    // A hit did no generation, so it has no breakdown to give.
    expect((await callSettled(`/v/${id}/tt2v.mp4?seed=21`, {}, { BENCH_ROUTES: 'true' })).headers.get('X-Cache')).toMatch(/^hit/);
  });
});
