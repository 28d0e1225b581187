import { Hono } from 'hono';
import { access } from '../auth/access';
import { badRequest, notFound } from '../http/errors';
import { acceptUpload } from '../uploads/accept-upload';
import { startLive } from '../live/start-live';
import { liveFacts, liveFactsOf } from '../live/store';
import { deleteVideo } from '../videos/delete-video';
import { getJob, getVideo, jobForVideo, listVideos } from '../videos/store';
import { jobView, videoView } from '../videos/views';
import { visibleVideo } from '../videos/visibility';

export const videos = new Hono<{ Bindings: Env }>();

/**
 * POST /v1/videos — upload a video (raw `video/*` body or multipart field `file`); 202 with the video and its encode
 * job. `?live=true` starts a live video instead: 201 with the video and its ingest URL and token.
 */
videos.post('/', access('encode'), async (c) => {
  if (c.req.query('live') === 'true') {
    const started = await startLive(c.env, c.req.raw, c.get('principal'));
    const video = await getVideo(c.env.DB, started.videoId);
    if (video === null) throw notFound('video');
    const view = videoView(video, await jobForVideo(c.env.DB, video.id), await liveFacts(c.env.DB, video.id));
    c.header('Cache-Control', 'no-store');
    c.header('Location', `/v1/videos/${video.id}`);
    if (started.replayed) c.header('Idempotent-Replayed', 'true');
    return c.json({ video: view, ingest: { url: `/v1/videos/${video.id}/live`, token: started.token } }, 201);
  }
  const upload = await acceptUpload(c.env, c.req.raw, c.get('principal'));
  return accepted(c.env, upload.videoId, upload.jobId, upload.replayed);
});

/** GET /v1/videos — this key's videos, newest first; `?limit=` (≤ 100) and `?cursor=` from the previous page. */
videos.get('/', access('read'), async (c) => {
  const principal = c.get('principal');
  const limit = Number(c.req.query('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw badRequest('invalid_option', 'option "limit" must be an integer in 1..100', { option: 'limit' });
  const cursor = c.req.query('cursor');
  if (cursor !== undefined && !/^[0-9]{1,15}$/.test(cursor)) throw badRequest('invalid_option', 'option "cursor" is not valid', { option: 'cursor' });
  const before = cursor === undefined ? null : Number(cursor);
  const rows = await listVideos(c.env.DB, principal.scopes.has('admin') ? null : principal.owner, limit, before);
  const last = rows.at(-1);
  const live = await liveFactsOf(c.env.DB, rows.map((v) => v.id));
  return c.json({ videos: rows.map((v) => videoView(v, null, live.get(v.id) ?? null)), nextCursor: rows.length === limit && last ? String(last.created_at) : null });
});

/** GET /v1/videos/{id} — status, sizes, kbps, segments and links. */
videos.get('/:id', access('read'), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  return c.json(videoView(video, await jobForVideo(c.env.DB, video.id), await liveFacts(c.env.DB, video.id)));
});

/** DELETE /v1/videos/{id} — the video, its source, bitstream and every artifact; later requests get 404. */
videos.delete('/:id', access('encode'), async (c) => {
  const video = await visibleVideo(c.env.DB, c.req.param('id'), c.get('principal'));
  await deleteVideo(c.env, video);
  return c.body(null, 204);
});

async function accepted(env: Env, videoId: string, jobId: string, replayed: boolean) {
  const [video, job] = await Promise.all([getVideo(env.DB, videoId), getJob(env.DB, jobId)]);
  if (!video || !job) throw notFound('video');
  return new Response(JSON.stringify({ video: videoView(video, job), job: jobView(job) }), {
    status: 202,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      Location: `/v1/videos/${videoId}`,
      ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    },
  });
}
