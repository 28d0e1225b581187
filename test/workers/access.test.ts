import { beforeEach, describe, expect, it } from 'vitest';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { ADMIN_KEY, call, env, fakeMp4 } from './helpers';
import { errorBody, json } from '../json';
import { encodedVideo } from './spend-helpers';
import { KeyView, SignedUrls, UsageReport, VideoList } from '../../src/openapi/shapes';
import { z } from 'zod';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

async function newKey(scopes: string[], extra: Record<string, unknown> = {}) {
  const response = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `k-${scopes.join('-')}`, scopes, ...extra }) });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string; owner: string };
}

async function errorOf(response: Response) {
  return { status: response.status, code: (await errorBody(response))?.code };
}

async function countRows(table: string) {
  return ((await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n ?? 0);
}

describe('API keys', () => {
  it('creates a key whose secret is shown once and stored only as a hash', async () => {
    const key = await newKey(['read']);
    expect(key.secret).toMatch(/^cmvc_sk_[A-Za-z0-9_-]{43}$/);
    const rows = (await env.DB.prepare('SELECT * FROM api_keys').all()).results;
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(key.secret);
    expect(stored).not.toContain(key.secret.slice(12));
    const listed = await json(await call('/v1/keys'), z.object({ keys: z.array(KeyView) }));
    expect(JSON.stringify(listed)).not.toContain(key.secret);
    expect(listed.keys[0]).toMatchObject({ id: key.id, scopes: ['read'] });
  });

  it('rejects, with the right status and code and no side effect, each way a key can be wrong', async () => {
    const reader = await newKey(['read']);
    const revoked = await newKey(['read', 'encode']);
    expect((await call(`/v1/keys/${revoked.id}`, { method: 'DELETE' })).status).toBe(204);
    const expiring = await newKey(['read'], { expiresAt: new Date(Date.now() + 60_000).toISOString() });
    // Its expiry passes (moved into the past in D1 rather than waited for; the key was never used, so nothing caches it).
    await env.DB.prepare('UPDATE api_keys SET expires_at = ? WHERE id = ?').bind(Date.now() - 1000, expiring.id).run();
    const videosBefore = await countRows('videos');
    const upload = (key: string | null, headers: Record<string, string> = {}) =>
      call('/v1/videos', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4', ...headers }, key });

    const rows: [string, Promise<Response>, number, string][] = [
      ['no key', upload(null), 401, 'missing_api_key'],
      ['malformed header', upload(null, { Authorization: 'Basic abc' }), 401, 'malformed_authorization'],
      ['unknown key', upload(`cmvc_sk_${'A'.repeat(43)}`), 401, 'invalid_api_key'],
      ['revoked key', upload(revoked.secret), 401, 'revoked_api_key'],
      ['expired key', upload(expiring.secret), 401, 'expired_api_key'],
      ['read key uploading', upload(reader.secret), 403, 'insufficient_scope'],
      ['read key making keys', call('/v1/keys', { method: 'POST', key: reader.secret, headers: { 'Content-Type': 'application/json' }, body: '{"name":"x","scopes":["admin"]}' }), 403, 'insufficient_scope'],
      ['read key reconstructing', call('/v/vid_00000000000000000000000000/it2v.mp4', { key: reader.secret }), 403, 'insufficient_scope'],
    ];
    for (const [name, pending, status, code] of rows) {
      expect(await errorOf(await pending), name).toEqual({ status, code });
    }
    expect(await countRows('videos')).toBe(videosBefore);
    expect((await env.BUCKET.list({ prefix: 'sources/' })).objects).toHaveLength(0);
  });

  it("hides another owner's video as a 404", async () => {
    const alice = await newKey(['encode', 'read', 'reconstruct']);
    const bob = await newKey(['encode', 'read', 'reconstruct']);
    const id = await encodedVideo(alice.secret);
    expect((await call(`/v1/videos/${id}`, { key: alice.secret })).status).toBe(200);
    expect(await errorOf(await call(`/v1/videos/${id}`, { key: bob.secret }))).toEqual({ status: 404, code: 'not_found' });
    expect(await errorOf(await call(`/v/${id}/tt2v.mp4`, { key: bob.secret }))).toEqual({ status: 404, code: 'not_found' });
    expect(await errorOf(await call(`/v1/videos/${id}`, { method: 'DELETE', key: bob.secret }))).toEqual({ status: 404, code: 'not_found' });
    expect(gpu.calls.generate).toBe(0);
    const listed = (await json(await call('/v1/videos', { key: bob.secret }), VideoList));
    expect(listed.videos).toHaveLength(0);
  });
});

describe('signed URLs', () => {
  async function mint(id: string, key = ADMIN_KEY, body: Record<string, unknown> = { modes: ['tt2v'], expiresIn: 600 }) {
    const response = await call(`/v1/videos/${id}/urls`, { method: 'POST', key, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    return (await json(response, SignedUrls)).urls;
  }
  const path = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');

  it('serves a signed URL without a key, and refuses every tampered or expired one', async () => {
    const id = await encodedVideo();
    const [signed] = await mint(id, ADMIN_KEY, { modes: ['tt2v'], expiresIn: 600, options: { seed: 7 } });
    const good = await call(path(signed!.url), { key: null });
    expect(good.status).toBe(200);
    expect(good.headers.get('Cache-Control')).toContain('immutable');
    const generated = gpu.calls.generate;

    const url = new URL(signed!.url);
    const variants: [string, string][] = [
      ['changed option', path(signed!.url).replace('seed=7', 'seed=8')],
      ['added option', `${path(signed!.url)}&fps=12`],
      ['other mode', path(signed!.url).replace('/tt2v.mp4', '/it2v.mp4')],
      ['later expiry', path(signed!.url).replace(/exp=\d+/, `exp=${Number(url.searchParams.get('exp')) + 1}`)],
      ['flipped signature char', path(signed!.url).replace(/sig=(.)/, (_, ch) => `sig=${ch === 'A' ? 'B' : 'A'}`)],
    ];
    for (const [name, p] of variants) {
      expect(await errorOf(await call(p, { key: null })), name).toEqual({ status: 403, code: 'invalid_signature' });
    }
    expect(gpu.calls.generate).toBe(generated);

    const past = await import('../../src/auth/signed-url');
    const expired = await past.signUrl('test-url-signing-secret', `/v/${id}/tt2v.mp4`, {}, Math.floor(Date.now() / 1000) - 1);
    expect(await errorOf(await call(expired, { key: null }))).toEqual({ status: 403, code: 'expired_signature' });
  });

  it('stops serving URLs bound to a revoked key', async () => {
    const key = await newKey(['encode', 'read', 'reconstruct']);
    const id = await encodedVideo(key.secret);
    const [signed] = await mint(id, key.secret);
    expect((await call(path(signed!.url), { key: null })).status).toBe(200);
    expect((await call(`/v1/keys/${key.id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await errorOf(await call(path(signed!.url), { key: null }))).toEqual({ status: 403, code: 'revoked_signature' });
  });
});

describe('rate limits and quotas', () => {
  it('answers a burst beyond the per-minute limit with 429, Retry-After and RateLimit headers', async () => {
    const key = await newKey(['read'], { limits: { requestsPerMinute: 5 } });
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await call('/v1/videos', { key: key.secret });
      statuses.push(last.status);
      if (last.status === 200) expect(last.headers.get('RateLimit-Limit')).toBe('5');
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(last!.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(last!.headers.get('RateLimit-Remaining')).toBe('0');
    expect((await errorBody(last!)).code).toBe('rate_limited');
  });

  it('turns misses into 429 once the daily GPU quota is spent, while hits are still served', async () => {
    // Another key of the same owner uploads: encoding is charged too, to the uploader.
    const uploader = await newKey(['encode'], { owner: 'quota-owner' });
    const key = await newKey(['encode', 'read', 'reconstruct'], { owner: 'quota-owner', limits: { gpuSecondsPerDay: 0.5 } });
    const id = await encodedVideo(uploader.secret);
    expect((await call(`/v/${id}/tt2v.mp4`, { key: key.secret })).status).toBe(200); // the fake spends 0.5 s
    const miss = await call(`/v/${id}/tt2v.mp4?seed=1`, { key: key.secret });
    expect(await errorOf(miss)).toEqual({ status: 429, code: 'gpu_quota_exceeded' });
    expect((await call(`/v/${id}/tt2v.mp4`, { key: key.secret })).status).toBe(200);
    const usage = (await json(await call('/v1/usage', { key: key.secret }), UsageReport));
    // The fake spends 0.5 s computing and 0.01 s uploading the output; both are billed.
    expect(usage.usage[0]).toMatchObject({ keyId: key.id, gpuSeconds: 0.51, generations: 1 });
    expect(usage.usage[0]!.bytesServed).toBeGreaterThan(0);
  });
});

describe('headers', () => {
  it('sends security headers and no internals on errors', async () => {
    const response = await call('/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const text = await response.text();
    expect(text).not.toMatch(/src\/|at .*\.ts|stack/);
  });

  it('allows CORS only for the configured origins', async () => {
    const allowed = await call('/v1/videos', { method: 'OPTIONS', key: null, headers: { Origin: 'http://127.0.0.1:8787', 'Access-Control-Request-Method': 'GET' } });
    expect(allowed.headers.get('Access-Control-Allow-Origin')).toBe('http://127.0.0.1:8787');
    const other = await call('/v1/videos', { method: 'OPTIONS', key: null, headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' } });
    expect(other.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});
