import { Hono } from 'hono';
import { acceptChunk } from '../live/accept-chunk';
import { endLive } from '../live/end-live';
import { ingestAccess } from '../live/ingest-access';
import { liveFacts } from '../live/store';
import { getVideo, jobForVideo } from '../videos/store';
import { videoView } from '../videos/views';
import { visibleVideo } from '../videos/visibility';
import { notFound } from '../http/errors';

export const live = new Hono<{ Bindings: Env }>();

const describe = async (env: Env, videoId: string) => {
  const video = await getVideo(env.DB, videoId);
  if (video === null) throw notFound('video');
  return videoView(video, await jobForVideo(env.DB, videoId), await liveFacts(env.DB, videoId));
};

/**
 * PUT /v1/videos/{id}/live/{n} — chunk n of a live video (a self-contained video/webm, video/mp4 or video/mp2t of
 * about 2 s), by its ingest token or an `encode` key: 202 received and queued; the same bytes again 200; other bytes
 * for a chunk received, or a chunk too far behind the newest, 409.
 */
live.put('/:id/live/:n', ingestAccess(), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  const { chunk, replayed } = await acceptChunk(c.env, video.id, c.req.param('n'), c.req.raw, c.get('principal'));
  c.header('Cache-Control', 'no-store');
  return c.json({ video: await describe(c.env, video.id), chunk: { n: chunk.n, bytes: chunk.bytes, sha256: chunk.sha256, status: chunk.status } }, replayed ? 200 : 202);
});

/** POST /v1/videos/{id}/live/end — ends the stream: what was received is coded, then it is an ordinary video. */
live.post('/:id/live/end', ingestAccess(), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  await endLive(c.env, video.id, 'ended');
  c.header('Cache-Control', 'no-store');
  return c.json({ video: await describe(c.env, video.id) }, 202);
});
