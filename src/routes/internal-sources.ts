import { Hono } from 'hono';
import { ApiError } from '../http/errors';
import { ID_PATTERN } from '../http/ids';
import { verifySourceUrl } from '../storage/source-url';
import { getVideo } from '../videos/store';

export const internalSources = new Hono<{ Bindings: Env }>();

/** GET /internal/sources/{videoId}?exp&sig — an uploaded source, for the GPU function, by short-lived signed URL. */
internalSources.get('/:id', async (c) => {
  const id = c.req.param('id');
  const valid = ID_PATTERN.test(id) && (await verifySourceUrl(c.env.URL_SIGNING_SECRET, id, c.req.query('exp'), c.req.query('sig')));
  if (!valid) throw new ApiError(403, 'invalid_signature', 'the source URL is invalid or expired');
  const video = await getVideo(c.env.DB, id);
  const object = video?.source_key ? await c.env.BUCKET.get(video.source_key) : null;
  if (object === null) throw new ApiError(404, 'not_found', 'source not found');
  return new Response(object.body, {
    headers: { 'Content-Type': video?.source_type ?? 'application/octet-stream', 'Content-Length': String(object.size), 'Cache-Control': 'no-store' },
  });
});
