import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CLIP as SAMPLE, startStack, type Stack } from './stack';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const admin = () => ({ Authorization: `Bearer ${stack.adminKey}` });

async function newKey(limits?: object): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${stack.base}/v1/keys`, {
    method: 'POST',
    headers: { ...admin(), 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'e2e-spend', scopes: ['encode', 'read', 'reconstruct'], ...(limits ? { limits } : {}) }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string };
}

/** Seconds the reference GPU server counted itself, every function and outcome: computing and
 * uploading the output, as each call reports them and the Worker charges them. */
async function serverSeconds(): Promise<number> {
  const text = await (await fetch(`${stack.gpu}/metrics`)).text();
  return [...text.matchAll(/^cmvc_gpu_(?:upload_)?seconds_total\{function="\w+"\} ([\d.]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('end to end: GPU spend', () => {
  it("charges a signed URL's generation and the upload's encode to the minting key, as the GPU server counted them, and revocation ends the URL", async () => {
    const key = await newKey();
    const bearer = { Authorization: `Bearer ${key.secret}` };
    const uploaded = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { ...bearer, 'Content-Type': 'video/mp4' }, body: readFileSync(SAMPLE) });
    expect(uploaded.status).toBe(202);
    const { video, job } = (await uploaded.json()) as any;
    for (let status = ''; status !== 'succeeded'; ) {
      status = ((await (await fetch(`${stack.base}/v1/jobs/${job.id}`, { headers: bearer })).json()) as any).status;
      expect(status).not.toBe('failed');
      await new Promise((r) => setTimeout(r, 300));
    }
    const minted = await fetch(`${stack.base}/v1/videos/${video.id}/urls`, { method: 'POST', headers: { ...bearer, 'Content-Type': 'application/json' }, body: JSON.stringify({ modes: ['tt2v'], expiresIn: 600, bindToKey: false }) });
    const url = ((await minted.json()) as any).urls[0].url as string;
    const viewed = await fetch(url, { headers: { Prefer: 'wait=60' } });
    expect(viewed.status).toBe(200);
    await viewed.arrayBuffer();

    const usage = ((await (await fetch(`${stack.base}/v1/usage?keyId=${key.id}`, { headers: admin() })).json()) as any).usage;
    const charged = usage.reduce((sum: number, row: any) => sum + row.gpuSeconds, 0);
    expect(usage[0]).toMatchObject({ keyId: key.id, generations: 1 });
    // The fresh stack ran only this key's encode and generation.
    const counted = await serverSeconds();
    expect(charged).toBeGreaterThan(0);
    expect(Math.abs(charged - counted) / counted).toBeLessThan(0.05);

    expect((await fetch(`${stack.base}/v1/keys/${key.id}`, { method: 'DELETE', headers: admin() })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 5500)); // other isolates trust a key lookup for 5 s
    const revoked = await fetch(url);
    expect(revoked.status).toBe(403);
    expect(((await revoked.json()) as any).error.code).toBe('revoked_signature');
  });

  it('refuses an upload and a reconstruction for a key without GPU budget', async () => {
    const broke = await newKey({ gpuSecondsPerDay: 0 });
    const uploaded = await fetch(`${stack.base}/v1/videos`, { method: 'POST', headers: { Authorization: `Bearer ${broke.secret}`, 'Content-Type': 'video/mp4' }, body: readFileSync(SAMPLE) });
    expect(uploaded.status).toBe(429);
    const body = (await uploaded.json()) as any;
    expect(body.error.code).toBe('gpu_quota_exceeded');
    expect(body.error.details).toMatchObject({ remainingSeconds: 0, quotaSeconds: 0 });
  });
});
