import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signUrl, verifySignedUrl } from '../../src/auth/signed-url';

const SECRET = 'property-test-secret';
const optionName = fc.constantFrom('w', 'h', 'fps', 'seed', 'interp', 'format');
const options = fc.dictionary(optionName, fc.string({ minLength: 1, maxLength: 8 }), { maxKeys: 6 });

function shuffledQuery(url: URL, order: number[]): URL {
  const pairs = [...url.searchParams];
  const shuffled = order.map((i) => pairs[i % pairs.length]!).filter((p, i, all) => all.indexOf(p) === i);
  for (const p of pairs) if (!shuffled.includes(p)) shuffled.push(p);
  const out = new URL(url.origin + url.pathname);
  for (const [k, v] of shuffled) out.searchParams.append(k, v);
  return out;
}

describe('signed URLs (property)', () => {
  it('verify in any parameter order, and fail after any single-byte change', async () => {
    await fc.assert(
      fc.asyncProperty(options, fc.array(fc.nat(20), { maxLength: 10 }), fc.nat(), fc.integer({ min: 1, max: 255 }), async (opts, order, at, delta) => {
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const signed = new URL(`https://cmvc.test${await signUrl(SECRET, '/v/vid_abc/tt2v.mp4', opts, exp, { keyId: 'key_x' })}`);
        expect((await verifySignedUrl(SECRET, shuffledQuery(signed, order))).ok).toBe(true);

        const text = signed.pathname + signed.search;
        const i = at % text.length;
        const changed = String.fromCharCode((text.charCodeAt(i) + delta) % 128);
        const mutated = text.slice(0, i) + changed + text.slice(i + 1);
        let url: URL;
        try {
          url = new URL(`https://cmvc.test${mutated}`);
        } catch {
          return; // not a URL any more: nothing to verify
        }
        // A change that decodes to the same parameters (e.g. '%41' for 'A') is the same URL, not a tampering.
        const same = url.pathname === signed.pathname && [...url.searchParams].join('&') === [...signed.searchParams].join('&');
        if (!same) expect((await verifySignedUrl(SECRET, url)).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a URL signed with a previous secret while secrets rotate', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    const url = new URL(`https://cmvc.test${await signUrl('old-secret', '/v/vid_abc/it2v.mp4', {}, exp)}`);
    expect((await verifySignedUrl('new-secret,old-secret', url)).ok).toBe(true);
    expect(await verifySignedUrl('new-secret', url)).toEqual({ ok: false, code: 'invalid_signature' });
  });

  it('names expired and malformed signatures', async () => {
    const url = new URL(`https://cmvc.test${await signUrl(SECRET, '/v/x/tt2v.mp4', {}, 1000)}`);
    expect(await verifySignedUrl(SECRET, url)).toEqual({ ok: false, code: 'expired_signature' });
    url.searchParams.append('sig', 'again');
    expect(await verifySignedUrl(SECRET, url)).toEqual({ ok: false, code: 'malformed_signature' });
  });
});

describe('adjustable parameters', () => {
  it('verify whatever value the holder gives them, and only them', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const signed = new URL(`https://cmvc.test${await signUrl(SECRET, '/v/vid_abc/bitstream.cmvc', {}, exp, { mintedBy: 'key_x', adjustable: ['segments', 'maxKbps'] })}`);
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), async (segments, kbps) => {
        const chosen = new URL(signed);
        chosen.searchParams.set('segments', segments);
        chosen.searchParams.set('maxKbps', kbps);
        expect((await verifySignedUrl(SECRET, chosen)).ok).toBe(true);
        chosen.searchParams.set('w', '64');
        expect((await verifySignedUrl(SECRET, chosen)).ok).toBe(false);
      }),
      { numRuns: 100 },
    );
    // naming a parameter outside ADJUSTABLE_PARAMS is malformed, whatever the signature
    const widened = new URL(signed);
    widened.searchParams.set('adj', 'maxKbps.segments.w');
    expect(await verifySignedUrl(SECRET, widened)).toEqual({ ok: false, code: 'malformed_signature' });
    // a URL signed without adj keeps every parameter signed
    const strict = new URL(`https://cmvc.test${await signUrl(SECRET, '/v/vid_abc/bitstream.cmvc', {}, exp, { mintedBy: 'key_x' })}`);
    strict.searchParams.set('segments', '1');
    expect((await verifySignedUrl(SECRET, strict)).ok).toBe(false);
  });
});

