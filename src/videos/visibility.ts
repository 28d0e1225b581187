import type { Principal } from '../auth/principal';
import { notFound } from '../http/errors';
import { ID_PATTERN } from '../http/ids';
import { getVideoRemembered } from './encoded-videos';
import { getVideo } from './store';

/** Whether a principal may see a video: its owner, an admin, or a signed URL or ingest token made for it. */
export function canSee(principal: Principal, video: { id: string; owner: string }): boolean {
  if (principal.via === 'signed-url' || principal.via === 'ingest-token') return principal.videoId === video.id;
  return video.owner === principal.owner || principal.scopes.has('admin');
}

/**
 * The video if it exists and this principal may see it; otherwise 404 (never 403: no existence leak).
 * `remembered` lets a hot read path take an encoded video from this isolate's memory (see
 * getVideoRemembered for what that allows).
 */
export async function visibleVideo(db: D1Database, id: string, principal: Principal, { remembered = false } = {}) {
  const video = ID_PATTERN.test(id) ? await (remembered ? getVideoRemembered(db, id) : getVideo(db, id)) : null;
  if (!video || !canSee(principal, video)) throw notFound('video');
  return video;
}
