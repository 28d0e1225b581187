/** What the browser gets: the modules scripts/build-client.mjs bundles, read off esbuild's metafile. */
import { describe, expect, it } from 'vitest';
import { buildClient } from '../../scripts/build-client.mjs';

interface Metafile {
  inputs: Record<string, unknown>;
}

const { metafile } = (await buildClient({ write: false })) as { metafile: Metafile };
const sources = Object.keys(metafile.inputs).filter((path) => path.startsWith('src/'));

describe('client bundle', () => {
  it('bundles the client from src/', () => {
    expect(sources).toContain('src/client/browser.ts');
    expect(sources.some((path) => path.startsWith('src/client/decode/'))).toBe(true);
  });

  it('contains no module of cache/, generation/, auth/ or routes/', () => {
    expect(sources.filter((path) => /^src\/(cache|generation|auth|routes)\//.test(path))).toEqual([]);
  });

  it('contains only the client, the bitstream and what the server and client share', () => {
    expect(sources.filter((path) => !/^src\/(client|bitstream|shared)\//.test(path))).toEqual([]);
    expect(Object.keys(metafile.inputs).filter((path) => /node_modules\/(hono|zod)\//.test(path))).toEqual([]);
  });
});
