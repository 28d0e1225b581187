import { evictBitstream } from '../cache/bitstreams';
import { artifactCacheUrl, artifactHashOf, artifactPrefix, livePrefix } from '../cache/keys';
import { forgetVideo } from './encoded-videos';
import type { VideoRow } from './store';

/** Cache API deletions in flight at once. */
const CACHE_PURGE_BATCH = 50;

/**
 * Deletes a video and everything derived from it: the source, and — unless another video shares the
 * same bitstream — the bitstream and every artifact made from it. D1 rows go first, so requests
 * racing the deletion already get 404 and regenerate nothing.
 */
export async function deleteVideo(env: Env, video: VideoRow): Promise<void> {
  await env.DB.batch([
    env.DB.prepare('DELETE FROM jobs WHERE video_id = ?').bind(video.id),
    env.DB.prepare('DELETE FROM idempotency_keys WHERE video_id = ?').bind(video.id),
    env.DB.prepare('DELETE FROM videos WHERE id = ?').bind(video.id),
    env.DB.prepare('DELETE FROM live_chunks WHERE video_id = ?').bind(video.id),
    env.DB.prepare('DELETE FROM live_streams WHERE video_id = ?').bind(video.id),
  ]);
  forgetVideo(video.id);
  const keys: string[] = [];
  const listed = async (prefix: string) => {
    let cursor: string | undefined;
    do {
      const page = await env.BUCKET.list({ prefix, cursor });
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  };
  if (video.source_key) keys.push(video.source_key);
  // a video started live: its chunks, and its artifacts under the root it alone has
  if (video.artifact_root !== null) {
    await listed(livePrefix(video.id));
    await listed(artifactPrefix(video.artifact_root));
  }
  if (video.bitstream_hash && video.bitstream_key) {
    const shared = await env.DB.prepare('SELECT 1 FROM videos WHERE bitstream_hash = ? LIMIT 1').bind(video.bitstream_hash).first();
    if (!shared) {
      keys.push(video.bitstream_key);
      if (video.artifact_root === null) await listed(artifactPrefix(video.bitstream_hash));
    }
  }
  for (let i = 0; i < keys.length; i += 1000) await env.BUCKET.delete(keys.slice(i, i + 1000));
  // The Cache API copies of what went, in this location (other locations' copies expire unreachable:
  // every route finds the video in D1 before it looks in a cache).
  const artifacts = keys.filter((key) => key.startsWith('artifacts/'));
  for (let i = 0; i < artifacts.length; i += CACHE_PURGE_BATCH) {
    await Promise.all(artifacts.slice(i, i + CACHE_PURGE_BATCH).map((key) => caches.default.delete(artifactCacheUrl(artifactHashOf(key)))));
  }
  if (video.bitstream_hash && keys.includes(video.bitstream_key as string)) await evictBitstream(video.bitstream_hash);
}
