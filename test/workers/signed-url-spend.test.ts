import { beforeEach, describe, expect, it } from 'vitest';
import { signUrl } from '../../src/auth/signed-url';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { ADMIN_KEY, call, callSettled, env } from './helpers';
import { encodedVideo, errorOf, mintUrls, newKey, pathOf, usageOf, SPEND_SCOPES } from './spend-helpers';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});


describe('signed URLs are charged to the key that minted them', () => {
  it("refuses a generation through any URL minted by a key without GPU budget, as it refuses the key's own request", async () => {
    const uploader = await newKey(SPEND_SCOPES, { owner: 'team-zero' });
    const broke = await newKey(SPEND_SCOPES, { owner: 'team-zero', limits: { gpuSecondsPerDay: 0 } });
    const id = await encodedVideo(uploader.secret);
    const generated = gpu.calls.generate;
    expect((await errorOf(await call(`/v/${id}/tt2v.mp4`, { key: broke.secret }))).code).toBe('gpu_quota_exceeded');
    for (const bindToKey of [true, false]) {
      const [signed] = await mintUrls(id, broke.secret, { modes: ['tt2v'], expiresIn: 600, bindToKey });
      expect(new URL(signed!.url).searchParams.get('mk')).toBe(broke.id);
      const viewed = await errorOf(await call(pathOf(signed!.url), { key: null }));
      expect(viewed, `bindToKey ${bindToKey}`).toMatchObject({ status: 429, code: 'gpu_quota_exceeded' });
    }
    expect(gpu.calls.generate).toBe(generated);
  });

  it("puts a signed URL's GPU seconds in the minting key's usage, not the viewer's", async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const [signed] = await mintUrls(id, key.secret, { modes: ['tt2v'], expiresIn: 600, bindToKey: false });
    const response = await call(pathOf(signed!.url), { key: null, headers: { 'CF-Connecting-IP': '203.0.113.9' } });
    expect(response.status).toBe(200);
    const mine = await usageOf(key.secret);
    expect(mine.reduce((sum, row) => sum + row.gpuSeconds, 0)).toBeGreaterThan(0);
    const viewer = await usageOf(ADMIN_KEY, 'ip:203.0.113.9');
    expect(viewer.reduce((sum, row) => sum + row.gpuSeconds, 0)).toBe(0);
  });

  it("applies the minting key's rate limit to its URLs", async () => {
    const key = await newKey(SPEND_SCOPES, { limits: { requestsPerMinute: 4 } });
    const id = await encodedVideo(key.secret); // upload: 1 unit
    const [playlist] = await mintUrls(id, key.secret, { modes: ['tt2v'], formats: ['hls'], expiresIn: 600 }); // 1 unit
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call(pathOf(playlist!.url), { key: null })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('ends every URL a key minted, bound or not, when the key is revoked', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const [bound] = await mintUrls(id, key.secret, { modes: ['tt2v'], expiresIn: 600, bindToKey: true });
    const [unbound] = await mintUrls(id, key.secret, { modes: ['tt2v'], expiresIn: 600, bindToKey: false });
    expect((await call(pathOf(unbound!.url), { key: null })).status).toBe(200);
    expect((await call(`/v1/keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
    for (const url of [bound!.url, unbound!.url]) expect(await errorOf(await call(pathOf(url), { key: null }))).toEqual({ status: 403, code: 'revoked_signature' });
  });

  it('refuses to mint, for a key that is not admin, a URL that outlives the key', async () => {
    const key = await newKey(SPEND_SCOPES, { expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    const id = await encodedVideo(key.secret);
    const response = await call(`/v1/videos/${id}/urls`, { method: 'POST', key: key.secret, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['tt2v'], expiresIn: 7200 }) });
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_body' });
    await mintUrls(id, key.secret, { modes: ['tt2v'], expiresIn: 1800 });
  });

  it('keeps serving URLs signed before they carried their minting key, until they expire', async () => {
    const id = await encodedVideo();
    const exp = Math.floor(Date.now() / 1000) + 600;
    const old = await signUrl('test-url-signing-secret', `/v/${id}/captions.vtt`, {}, exp);
    expect((await call(old, { key: null })).status).toBe(200);
  });

  it("charges a URL signed before URLs named a key to the video's uploader, under the uploader's quota, never to the viewer's address", async () => {
    const uploader = await newKey(SPEND_SCOPES, { limits: { gpuSecondsPerDay: 5 } });
    const id = await encodedVideo(uploader.secret);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const viewer = { 'CF-Connecting-IP': '203.0.113.77' };
    const old = await signUrl('test-url-signing-secret', `/v/${id}/tt2v.mp4`, {}, exp);
    const gpuSeconds = async () => (await usageOf(uploader.secret)).reduce((sum, row) => sum + row.gpuSeconds, 0);
    const encoded = await gpuSeconds();
    expect((await call(old, { key: null, headers: viewer })).status).toBe(200);
    expect(await gpuSeconds()).toBeGreaterThan(encoded);
    expect((await usageOf(ADMIN_KEY, 'ip:203.0.113.77')).reduce((sum, row) => sum + row.gpuSeconds, 0)).toBe(0);

    // The uploader's quota holds for such URLs: once spent, a miss through one is refused before any GPU call.
    const broke = await newKey(SPEND_SCOPES);
    const theirs = await encodedVideo(broke.secret);
    await env.DB.prepare('UPDATE api_keys SET gpu_seconds_per_day = 0 WHERE id = ?').bind(broke.id).run();
    const generated = gpu.calls.generate;
    const refused = await call(await signUrl('test-url-signing-secret', `/v/${theirs}/tt2v.mp4`, { seed: '5' }, exp), { key: null, headers: viewer });
    expect(await errorOf(refused)).toMatchObject({ status: 429, code: 'gpu_quota_exceeded' });
    expect(gpu.calls.generate).toBe(generated);
  });

  it("ends a URL signed before URLs named a key when its uploader's key is revoked, and limits its viewers per address", async () => {
    const uploader = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(uploader.secret);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const old = await signUrl('test-url-signing-secret', `/v/${id}/captions.vtt`, {}, exp);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callSettled(old, { key: null, headers: { 'CF-Connecting-IP': '203.0.113.78' } }, { SIGNED_URL_REQUESTS_PER_MINUTE: '2' })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect((await call(`/v1/keys/${uploader.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await errorOf(await call(old, { key: null }))).toEqual({ status: 403, code: 'revoked_signature' });
  });

  it('signs the URIs inside a playlist with the same minting key', async () => {
    const key = await newKey(SPEND_SCOPES);
    const id = await encodedVideo(key.secret);
    const [hls] = await mintUrls(id, key.secret, { modes: ['tt2v'], formats: ['hls'], expiresIn: 600, bindToKey: false });
    const master = await (await call(pathOf(hls!.url), { key: null })).text();
    const media = master.split('\n').find((line) => line.includes('media.m3u8')) as string;
    const url = new URL(media, 'http://cmvc.test');
    expect(url.searchParams.get('mk')).toBe(key.id);
    expect(url.searchParams.has('kid')).toBe(false);
  });
});

describe("the viewer's address for the per-viewer limit", () => {
  it('comes from CF-Connecting-IP on Cloudflare, and from the loopback connection under npm start whatever the client sends', async () => {
    const { viewerAddress } = await import('../../src/auth/access');
    expect(viewerAddress(env, '203.0.113.9')).toBe('203.0.113.9');
    expect(viewerAddress({ ...env, VIEWER_IP_FROM: 'loopback' }, '203.0.113.9')).toBe('127.0.0.1');
  });
});
