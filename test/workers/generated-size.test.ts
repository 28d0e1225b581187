// Issue 24, defect 11: a reconstruction generated below the asked size names the size it was
// generated at (CMVC-Generated-Size); one generated at the asked size carries no such header.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENERATED_SIZE_HEADER } from '../../src/reconstruction/serve';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, encodedVideo, env } from './helpers';

let gpu: FakeGpu;
const engine = env.GPU_ENGINE;
beforeEach(() => {
  gpu = installFakeGpu();
});
afterEach(() => {
  env.GPU_ENGINE = engine;
});

describe('CMVC-Generated-Size', () => {
  it('names the model engine\'s 832x480 under a 1280x720 request, and nothing at a size it generates as asked', async () => {
    const id = await encodedVideo(gpu);
    env.GPU_ENGINE = 'model@1.0.0';
    const large = await call(`/v/${id}/tt2v.mp4?w=1280&h=720`, { headers: { Prefer: 'wait=20' } });
    expect(large.status).toBe(200);
    expect(large.headers.get(GENERATED_SIZE_HEADER)).toBe('832x480');
    const again = await call(`/v/${id}/tt2v.mp4?w=1280&h=720`); // from the cache: still said
    expect(again.status).toBe(200);
    expect(again.headers.get(GENERATED_SIZE_HEADER)).toBe('832x480');
    const asked = await call(`/v/${id}/tt2v.mp4?w=320&h=240`, { headers: { Prefer: 'wait=20' } });
    expect(asked.status).toBe(200);
    expect(asked.headers.get(GENERATED_SIZE_HEADER)).toBeNull();

    env.GPU_ENGINE = engine; // the reference engine renders the asked size itself
    const reference = await call(`/v/${id}/tt2v.mp4?w=1280&h=720`, { headers: { Prefer: 'wait=20' } });
    expect(reference.status).toBe(200);
    expect(reference.headers.get(GENERATED_SIZE_HEADER)).toBeNull();
  });
});
