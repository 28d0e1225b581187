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
});
