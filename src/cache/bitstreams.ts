import { readBitstream, readIndex, type Bitstream, type BitstreamIndex } from '../bitstream';
import { ApiError } from '../http/errors';
import { Lru } from './lru';
import { bitstreamCacheUrl } from './keys';
import { CACHED_COPY_CONTROL } from './serve';

/** Bytes all parsed bitstreams kept in one isolate's memory may take together (a Worker isolate has 128 MB). */
export const PARSED_BITSTREAM_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * About what a parsed bitstream holds in memory: its keyframe images (copies), its texts as UTF-16, and the
 * objects around them. A bitstream of 16 MiB weighs at least 16 MiB.
 */
export function parsedBytes(bitstream: Bitstream): number {
  let bytes = 1024;
  for (const s of bitstream.segments) {
    bytes += 256 + 2 * (s.contentText.length + s.motionText.length);
    for (const k of s.keyframes) bytes += 128 + k.data.byteLength;
  }
  return bytes;
}

/**
 * Parsed bitstreams by content hash, at most PARSED_BITSTREAM_CACHE_BYTES (by parsedBytes) and 256 of them; a
 * bitstream never changes, so entries never go stale.
 */
export const parsedBitstreams = new Lru<string, Bitstream>(256, parsedBytes, PARSED_BITSTREAM_CACHE_BYTES);
const parsed = parsedBitstreams;

/** A bitstream as parsed, and its index (segment offsets and lengths, the whole length). */
export interface IndexedBitstream {
  bitstream: Bitstream;
  index: BitstreamIndex;
}

/** The indexes of the bitstreams parsed (small: a few numbers a segment), by content hash. */
const indexes = new Lru<string, BitstreamIndex>(256);

/**
 * The parsed bitstream with this hash: from this isolate's memory, else this location's Cache API,
 * else R2 (then kept in both). A hit neither re-reads R2 nor re-parses.
 */
export async function loadBitstream(bucket: R2Bucket, key: string, hash: string): Promise<Bitstream> {
  return parsed.get(hash) ?? (await loadIndexedBitstream(bucket, key, hash)).bitstream;
}

/** loadBitstream with the stream's index. */
export async function loadIndexedBitstream(bucket: R2Bucket, key: string, hash: string): Promise<IndexedBitstream> {
  const hit = parsed.get(hash);
  const hitIndex = indexes.get(hash);
  if (hit && hitIndex) return { bitstream: hit, index: hitIndex };
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
  const bitstream = hit ?? readBitstream(bytes);
  const index = readIndex(bytes);
  parsed.set(hash, bitstream);
  indexes.set(hash, index);
  return { bitstream, index };
}

/** Drops a deleted bitstream from this isolate's memory and this location's Cache API. */
export async function evictBitstream(hash: string): Promise<void> {
  parsed.delete(hash);
  indexes.delete(hash);
  await caches.default.delete(bitstreamCacheUrl(hash));
}
