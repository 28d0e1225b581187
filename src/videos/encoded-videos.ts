import { Lru } from '../cache/lru';
import { getVideo, type VideoRow } from './store';

/** How long an isolate trusts a remembered encoded video, in milliseconds (as long as a cached API key). */
export const ENCODED_VIDEO_TTL_MS = 5_000;

/** Encoded videos by id: such a row changes only by deletion, so the hot read paths need not ask D1 each time. */
const remembered = new Lru<string, { row: VideoRow; until: number }>(1024);

/**
 * The video row, from this isolate's memory when it was read as encoded in the last few seconds,
 * else from D1. Only for read paths whose worst case on a just-deleted video is serving what
 * already exists (the deleting isolate forgets at once; others within ENCODED_VIDEO_TTL_MS): any
 * path that would create something must confirm with {@link getVideo} first.
 */
export async function getVideoRemembered(db: D1Database, id: string, now = Date.now()): Promise<VideoRow | null> {
  const hit = remembered.get(id);
  if (hit && hit.until > now) return hit.row;
  const row = await getVideo(db, id);
  if (row?.status === 'succeeded') remembered.set(id, { row, until: now + ENCODED_VIDEO_TTL_MS });
  else remembered.delete(id);
  return row;
}

export function forgetVideo(id: string): void {
  remembered.delete(id);
}
