import { readBitstream, type Bitstream } from '../bitstream';
import { ApiError } from '../http/errors';
import { Lru } from './lru';

/** Parsed bitstreams by content hash; a bitstream never changes, so entries never go stale. */
const parsed = new Lru<string, Bitstream>(256);

/** The parsed bitstream with this hash, from this isolate's memory or else R2. */
export async function loadBitstream(bucket: R2Bucket, key: string, hash: string): Promise<Bitstream> {
  const hit = parsed.get(hash);
  if (hit) return hit;
  const object = await bucket.get(key);
  if (object === null) throw new ApiError(404, 'not_found', 'video not found');
  const bitstream = readBitstream(new Uint8Array(await object.arrayBuffer()));
  parsed.set(hash, bitstream);
  return bitstream;
}
