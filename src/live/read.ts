/** What readers of a live video's bitstream learn beside its bytes: where the live edge is, and when it moves. */
import { getVideo, isStreaming, type VideoRow } from '../videos/store';
import { LIVE_CACHE_SECONDS, LIVE_MAX_WAIT_SECONDS } from './limits';

/** `live` while the video is live, `ended` once a video started live is an ordinary one. */
export const LIVE_HEADER = 'CMVC-Live';
/** Segments in the live video's bitstream now. */
export const LIVE_SEGMENTS_HEADER = 'CMVC-Live-Segments';
/** On a one-segment read of a video started live: the chunk that segment was coded from. */
export const LIVE_CHUNK_HEADER = 'CMVC-Live-Chunk';

/** How often a reader waiting for the next segment looks again, in milliseconds. */
const POLL_MS = 50;

/** The headers of a read of video `video` (`segment`: a one-segment read); none for a video never live. */
export async function liveHeaders(db: D1Database, video: VideoRow, segment: number | null): Promise<Record<string, string>> {
  if (video.artifact_root === null) return {};
  const headers: Record<string, string> = { [LIVE_HEADER]: isStreaming(video) ? 'live' : 'ended', [LIVE_SEGMENTS_HEADER]: String(video.segment_count ?? 0) };
  if (segment !== null) {
    const chunk = await db
      .prepare('SELECT n FROM live_chunks WHERE video_id = ? AND first_segment <= ? AND first_segment + segment_count > ? LIMIT 1')
      .bind(video.id, segment, segment)
      .first<{ n: number }>();
    if (chunk !== null) headers[LIVE_CHUNK_HEADER] = String(chunk.n);
  }
  return headers;
}

/** Cache-Control of what grows while a video is live: seconds in a cache, never immutable. */
export const liveCacheControl = (shared: boolean) => `${shared ? 'public' : 'private'}, max-age=${LIVE_CACHE_SECONDS}`;

/**
 * The video once its live stream has more than `segment` segments (or has ended, or was never live), waiting at most
 * `waitSeconds` (capped at LIVE_MAX_WAIT_SECONDS): a player asking for the next segment is answered when it is
 * coded, without polling over a thin link. The video as it is at the deadline otherwise.
 */
export async function whenSegmentCoded(db: D1Database, video: VideoRow, segment: number, waitSeconds: number): Promise<VideoRow> {
  const deadline = Date.now() + Math.min(waitSeconds, LIVE_MAX_WAIT_SECONDS) * 1000;
  let current = video;
  while (isStreaming(current) && (current.segment_count ?? 0) <= segment && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
    current = (await getVideo(db, video.id)) ?? current;
  }
  return current;
}
