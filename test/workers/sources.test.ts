// Raw uploads behind an HMAC-signed, expiring URL: how a GPU function reads a source too large to
// travel inline.
import { beforeEach, describe, expect, it } from 'vitest';
import { INLINE_SOURCE_MAX_BYTES } from '../../src/jobs/encode-job';
import { signSourceUrl, verifySourceUrl } from '../../src/storage/source-url';
import { installFakeGpu, type FakeGpu } from './fake-gpu';
import { call, callSettled, deliverEncode, env, fakeMp4, upload } from './helpers';
import { JobView } from '../../src/openapi/shapes';
import { json } from '../json';

let gpu: FakeGpu;
beforeEach(() => {
  gpu = installFakeGpu();
});

/** The path and query of a source URL signed with the Worker's secret (or another). */
async function sourcePath(videoId: string, { expiresIn = 60, secret = env.URL_SIGNING_SECRET, now = Date.now() } = {}) {
  const url = new URL(await signSourceUrl(env.PUBLIC_ORIGIN, secret, videoId, expiresIn, now));
  return { url, path: url.pathname + url.search };
}

const errorCode = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;

describe('/internal/sources', () => {
  it('serves the source bytes to a valid signature, with no key and nothing cached', async () => {
    const bytes = fakeMp4(5000);
    const { json: accepted } = await upload(bytes);
    const response = await call((await sourcePath(accepted.video.id)).path, { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('video/mp4');
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
  });

  it('refuses a tampered, expired, foreign-key or moved signature with 403', async () => {
    const { json: accepted } = await upload();
    const other = (await upload()).json.video.id;
    const { url } = await sourcePath(accepted.video.id);
    const sig = url.searchParams.get('sig') as string;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    const exp = Number(url.searchParams.get('exp'));
    const refused = [
      `${url.pathname}?exp=${exp}&sig=${flipped}`, // one hex digit changed
      `${url.pathname}?exp=${exp + 3600}&sig=${sig}`, // expiry pushed out
      `${url.pathname}?exp=${exp}`, // no signature
      (await sourcePath(accepted.video.id, { secret: 'another-secret' })).path,
      (await sourcePath(accepted.video.id, { expiresIn: 60, now: Date.now() - 120_000 })).path, // expired a minute ago
      `/internal/sources/${other}?exp=${exp}&sig=${sig}`, // a valid signature for another video
    ];
    for (const path of refused) {
      const response = await call(path, { key: null });
      expect(response.status, path).toBe(403);
      expect(await errorCode(response)).toBe('invalid_signature');
    }
  });

  it('answers 404 once the source is gone', async () => {
    const { json: accepted } = await upload();
    await env.BUCKET.delete(`sources/${accepted.video.id}`);
    const response = await call((await sourcePath(accepted.video.id)).path, { key: null });
    expect(response.status).toBe(404);
  });

  it('sends a source over the inline limit by signed URL, which the GPU function reads back whole', async () => {
    const bytes = fakeMp4(INLINE_SOURCE_MAX_BYTES + 1);
    const { json: accepted } = await upload(bytes);
    await deliverEncode({ jobId: accepted.job.id, videoId: accepted.video.id });
    const sent = gpu.submitted[0]?.body.video;
    expect(sent.data).toBeUndefined();
    expect(sent.url).toMatch(new RegExp(`^${env.PUBLIC_ORIGIN}/internal/sources/${accepted.video.id}\\?exp=\\d+&sig=[0-9a-f]{64}$`));
    expect(gpu.fetchedSources).toEqual([bytes.byteLength]);
    expect(((await json(await call(`/v1/jobs/${accepted.job.id}`), JobView))).status).toBe('succeeded');
  });

  it('keeps an encode\'s source URL valid while URL_SIGNING_SECRET rotates, and signs new ones with the new secret', { timeout: 30_000 }, async () => {
    const bytes = fakeMp4(INLINE_SOURCE_MAX_BYTES + 1);
    const { json: accepted } = await upload(bytes);
    // The encode is submitted before the rotation and still runs: its GPU function holds a URL signed with the secret of then.
    gpu.on('encode', 'accept-then-stall');
    await deliverEncode({ jobId: accepted.job.id, videoId: accepted.video.id }, 1, { overrides: { GPU_TIMEOUT_SECONDS: '1' } });
    const inFlight = new URL(gpu.submitted[0]?.body.video.url as string);
    const rotated = { URL_SIGNING_SECRET: `rotated-secret,${env.URL_SIGNING_SECRET}` };
    // The GPU function fetches it (again: a retry) after the new secret was put in front: still the source.
    const fetched = await callSettled(inFlight.pathname + inFlight.search, { key: null }, rotated);
    expect(fetched.status).toBe(200);
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(bytes);
    // Once the old secret is dropped, the URL ends.
    expect((await callSettled(inFlight.pathname + inFlight.search, { key: null }, { URL_SIGNING_SECRET: 'rotated-secret' })).status).toBe(403);
    // An encode submitted after the rotation signs with the new secret: valid where only it is left.
    const second = (await upload(fakeMp4(INLINE_SOURCE_MAX_BYTES + 1))).json;
    await deliverEncode({ jobId: second.job.id, videoId: second.video.id }, 1, { overrides: rotated });
    const after = new URL(gpu.submitted.at(-1)?.body.video.url as string);
    const [exp, sig] = [after.searchParams.get('exp') ?? undefined, after.searchParams.get('sig') ?? undefined];
    expect(await verifySourceUrl('rotated-secret', second.video.id, exp, sig)).toBe(true);
    expect(await verifySourceUrl(env.URL_SIGNING_SECRET, second.video.id, exp, sig)).toBe(false);
  });

  it('sends a source at the inline limit inline', async () => {
    const { json: accepted } = await upload(fakeMp4(INLINE_SOURCE_MAX_BYTES));
    await deliverEncode({ jobId: accepted.job.id, videoId: accepted.video.id });
    expect(gpu.submitted[0]?.body.video.url).toBeUndefined();
    expect(atob(gpu.submitted[0]?.body.video.data).length).toBe(INLINE_SOURCE_MAX_BYTES);
  });
});
