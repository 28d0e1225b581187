/** One HMAC signer for every signed URL of the Worker: the current secret signs, every listed secret verifies. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { base64UrlMac, hexMac, sign, signingSecrets, verify } from '../../src/auth/signing';
import { verifyArtifactUrl, workerTransfer } from '../../src/storage/artifact-transfer';
import { signSourceUrl, verifySourceUrl } from '../../src/storage/source-url';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));

describe('the signer', () => {
  it('signs with the first secret and verifies with each, in either encoding', async () => {
    expect(signingSecrets(' new , old ,')).toEqual(['new', 'old']);
    expect(() => signingSecrets(' , ')).toThrow('URL_SIGNING_SECRET is empty');
    for (const encode of [hexMac, base64UrlMac]) {
      const mac = await sign('new,old', 'message', encode);
      expect(mac).toBe(await sign('new', 'message', encode));
      expect(await verify('new', 'message', mac, encode)).toBe(true);
      expect(await verify('old', 'message', mac, encode)).toBe(false);
      expect(await verify('newer,new', 'message', mac, encode)).toBe(true);
      expect(await verify('new,old', 'another message', mac, encode)).toBe(false);
    }
  });

  it('is the only HMAC in the Worker', () => {
    const others = files(SRC).filter((file) => /crypto\.subtle\.(importKey|sign)\b|'HMAC'/.test(readFileSync(file, 'utf8')));
    expect(others.map((file) => relative(SRC, file))).toEqual(['auth/signing.ts']);
  });
});

describe('rotating URL_SIGNING_SECRET', () => {
  const now = 1_800_000_000_000;
  const exp = (url: string) => new URL(url).searchParams.get('exp') ?? undefined;
  const sig = (url: string) => new URL(url).searchParams.get('sig') ?? undefined;

  it('keeps a source URL signed before the rotation valid until its expiry, and ends it once its secret is dropped', async () => {
    const url = await signSourceUrl('http://w', 'old', 'vid_x', 60, now);
    expect(await verifySourceUrl('new,old', 'vid_x', exp(url), sig(url), now)).toBe(true);
    expect(await verifySourceUrl('new', 'vid_x', exp(url), sig(url), now)).toBe(false);
    // signed after the rotation: with the new secret, so it outlives the old one
    const after = await signSourceUrl('http://w', 'new,old', 'vid_x', 60, now);
    expect(await verifySourceUrl('new', 'vid_x', exp(after), sig(after), now)).toBe(true);
  });

  it('does the same for transfer URLs', async () => {
    const key = `artifacts/${'a'.repeat(64)}/${'b'.repeat(64)}.mp4`;
    const url = (await workerTransfer('http://w', 'old', 60, () => now).uploadTarget(key)).url;
    expect(await verifyArtifactUrl('new,old', 'PUT', key, exp(url), sig(url), now)).toBe(true);
    expect(await verifyArtifactUrl('new', 'PUT', key, exp(url), sig(url), now)).toBe(false);
  });
});
