/** The signed bitstream URL for public players: GET /v/{id}/bitstream.cmvc, formats: ["bitstream"] when minting. */
import { beforeEach, describe, expect, it } from 'vitest';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, encodedVideo } from './helpers';
import { errorBody, json } from '../json';
import { SignedUrls } from '../../src/openapi/shapes';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});


const mint = (id: string, body: unknown) => call(`/v1/videos/${id}/urls`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const pathOf = (url: string) => {
  const u = new URL(url);
  return u.pathname + u.search;
};

describe('signed bitstream URLs', () => {
  it('serve the same bytes as the /v1 route with no key, with ETag, Range and the tt2v cut', async () => {
    const id = await encodedVideo(gpu, 3);
    const v1 = new Uint8Array(await (await call(`/v1/videos/${id}/bitstream`)).arrayBuffer());
    const v1TextsOnly = new Uint8Array(await (await call(`/v1/videos/${id}/bitstream?profile=tt2v`)).arrayBuffer());
    const minted = await json(await mint(id, { modes: ['it2v', 'tt2v'], formats: ['bitstream'], expiresIn: 600 }), SignedUrls);
    expect(minted.urls.map((u) => [u.mode, u.format, u.segment])).toEqual([
      ['it2v', 'bitstream', null],
      ['tt2v', 'bitstream', null],
    ]);
    const full = await call(pathOf(minted.urls[0]!.url), { key: null });
    expect(full.status).toBe(200);
    expect(full.headers.get('Content-Type')).toBe('application/vnd.cmvc');
    expect(new Uint8Array(await full.arrayBuffer())).toEqual(v1);
    const etag = full.headers.get('ETag') as string;
    expect((await call(pathOf(minted.urls[0]!.url), { key: null, headers: { 'If-None-Match': etag } })).status).toBe(304);
    const range = await call(pathOf(minted.urls[0]!.url), { key: null, headers: { Range: 'bytes=8-15' } });
    expect(range.status).toBe(206);
    expect(new Uint8Array(await range.arrayBuffer())).toEqual(v1.subarray(8, 16));
    const textsOnly = await call(pathOf(minted.urls[1]!.url), { key: null });
    expect(new URL(minted.urls[1]!.url).searchParams.get('profile')).toBe('tt2v');
    expect(new Uint8Array(await textsOnly.arrayBuffer())).toEqual(v1TextsOnly);
  });

  it('refuse a changed query, a missing signature and minting with segments or options', async () => {
    const id = await encodedVideo(gpu, 2);
    const minted = await json(await mint(id, { modes: ['it2v'], formats: ['bitstream'], expiresIn: 600 }), SignedUrls);
    const url = new URL(minted.urls[0]!.url);
    url.searchParams.set('profile', 'tt2v');
    expect((await call(url.pathname + url.search, { key: null })).status).toBe(403);
    expect((await call(`/v/${id}/bitstream.cmvc`, { key: null })).status).toBe(401);
    // a key holder reads it like the other /v routes
    expect((await call(`/v/${id}/bitstream.cmvc?segments=1`)).status).toBe(200);
    expect((await call(`/v/${id}/bitstream.cmvc?w=64`)).status).toBe(400);
    for (const body of [
      { modes: ['it2v'], formats: ['bitstream'], segments: [0], expiresIn: 600 },
      { modes: ['it2v'], formats: ['bitstream'], options: { w: 64 }, expiresIn: 600 },
    ]) {
      const refused = await mint(id, body);
      expect(refused.status).toBe(400);
      expect((await errorBody(refused)).details).toHaveProperty('field', 'formats');
    }
  });

  it("let the player choose each segment and its rate without a new signature, and nothing else", async () => {
    gpu.keyframeBytes = 600;
    const id = await encodedVideo(gpu, 3);
    const minted = await json(await mint(id, { modes: ['it2v', 'tt2v'], formats: ['bitstream'], expiresIn: 600 }), SignedUrls);
    const it2v = new URL(minted.urls[0]!.url);
    expect(it2v.searchParams.get('adj')).toBe('maxKbps.segments');
    expect(new URL(minted.urls[1]!.url).searchParams.get('adj')).toBe('segments'); // a texts-only stream has no rate to cut
    for (const [segments, maxKbps] of [
      ['1', '1'],
      ['2', '50'],
      ['0-1', '0.5'],
    ] as const) {
      const chosen = new URL(it2v);
      chosen.searchParams.set('segments', segments);
      chosen.searchParams.set('maxKbps', maxKbps);
      const response = await call(chosen.pathname + chosen.search, { key: null });
      expect(response.status).toBe(200);
      const direct = await call(`/v1/videos/${id}/bitstream?segments=${segments}&maxKbps=${maxKbps}`);
      expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array(await direct.arrayBuffer()));
      expect(response.headers.get('CMVC-Kbps')).toBe(direct.headers.get('CMVC-Kbps'));
    }
    // anything else changed, or the list of what may change widened, breaks the signature
    for (const [name, value] of [
      ['profile', 'tt2v'],
      ['adj', 'maxKbps.profile.segments'],
      ['adj', 'maxKbps'],
    ] as const) {
      const changed = new URL(it2v);
      changed.searchParams.set(name, value);
      changed.searchParams.set('segments', '1');
      const refused = await call(changed.pathname + changed.search, { key: null });
      expect([name, value, refused.status]).toEqual([name, value, 403]);
    }
    // the texts-only URL lets the segment change, not the rate
    const tt2v = new URL(minted.urls[1]!.url);
    tt2v.searchParams.set('segments', '2');
    expect((await call(tt2v.pathname + tt2v.search, { key: null })).status).toBe(200);
    tt2v.searchParams.set('maxKbps', '1');
    expect((await call(tt2v.pathname + tt2v.search, { key: null })).status).toBe(403);
  });
});
