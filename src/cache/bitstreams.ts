import { readBitstream, readIndex, type Bitstream, type BitstreamIndex } from '../bitstream';
import { ApiError } from '../http/errors';
import { Lru } from './lru';
import { bitstreamCacheUrl } from './keys';
import { CACHED_COPY_CONTROL } from './serve';

/** A bitstream as parsed, and its index (segment offsets and lengths, the whole length). */
export interface IndexedBitstream {
  bitstream: Bitstream;
  index: BitstreamIndex;
}

/** Parsed bitstreams by content hash; a bitstream never changes, so entries never go stale. */
const parsed = new Lru<string, IndexedBitstream>(256);

/**
 * The parsed bitstream with this hash: from this isolate's memory, else this location's Cache API,
 * else R2 (then kept in both). A hit neither re-reads R2 nor re-parses.
 */
export async function loadBitstream(bucket: R2Bucket, key: string, hash: string): Promise<Bitstream> {
  return (await loadIndexedBitstream(bucket, key, hash)).bitstream;
}

/** loadBitstream with the stream's index. */
export async function loadIndexedBitstream(bucket: R2Bucket, key: string, hash: string): Promise<IndexedBitstream> {
  const hit = parsed.get(hash);
  if (hit) return hit;
  const cacheKey = new Request(bitstreamCacheUrl(hash));
  const cached = await caches.default.match(cacheKey);
  let bytes: Uint8Array;
  if (cached) {
    bytes = new Uint8Array(await cached.arrayBuffer());
  } else {
    const object = await bucket.get(key);
    if (object === null) throw new ApiError(404, 'not_found', 'video not found');
    bytes = new Uint8Array(await object.arrayBuffer());
    await caches.default.put(cacheKey, new Response(bytes, { headers: { 'Cache-Control': CACHED_COPY_CONTROL, 'Content-Type': 'application/vnd.cmvc' } }));
  }
  const indexed = { bitstream: readBitstream(bytes), index: readIndex(bytes) };
  parsed.set(hash, indexed);
  return indexed;
}

/** Drops a deleted bitstream from this isolate's memory and this location's Cache API. */
export async function evictBitstream(hash: string): Promise<void> {
  parsed.delete(hash);
  await caches.default.delete(bitstreamCacheUrl(hash));
}
