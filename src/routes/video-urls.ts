import { Hono } from 'hono';
import { access } from '../auth/access';
import { MintUrlsBody } from '../auth/request-shapes';
import { signUrl } from '../auth/signed-url';
import { ADJUSTABLE_PARAMS } from '../shared/signed-url-params';
import { checkModeOptions, requestOptions, sendsKeyframes } from '../reconstruction/options';
import { badRequest } from '../http/errors';
import { jsonBody } from '../http/json-body';
import { visibleVideo } from '../videos/visibility';

export const videoUrls = new Hono<{ Bindings: Env }>();

/** POST /v1/videos/{id}/urls — signed reconstruction URLs that need no key, valid for `expiresIn` seconds. */
videoUrls.post('/:id/urls', access('reconstruct'), async (c) => {
  const principal = c.get('principal');
  const video = await visibleVideo(c.env.DB, c.req.param('id'), principal);
  const body = await jsonBody(c.req.raw, MintUrlsBody);
  const options = Object.fromEntries(Object.entries(body.options ?? {}).map(([k, v]) => [k, String(v)]));
  // Refuse options a viewer would get a 400 for, now rather than at playback.
  const parsed = requestOptions(new URLSearchParams(options), { width: video.width ?? 320, height: video.height ?? 240, fps: video.fps ?? 24, seed: 0 });
  for (const mode of body.modes) checkModeOptions(mode, parsed);
  if (body.segments && video.segment_count !== null && body.segments.some((n) => n >= (video.segment_count as number))) {
    throw badRequest('invalid_body', `segments: the video has ${video.segment_count} segments`, { field: 'segments' });
  }
  if (body.segments && body.formats.includes('hls')) {
    throw badRequest('invalid_body', 'formats: an HLS playlist covers the whole video; ask for it without segments', { field: 'formats' });
  }
  if (body.formats.includes('bitstream') && (body.segments || Object.keys(options).length > 0)) {
    throw badRequest('invalid_body', 'formats: the bitstream is the whole video, read by Range, and takes no reconstruction options', { field: 'formats' });
  }
  const expiresAt = Math.floor(Date.now() / 1000) + body.expiresIn;
  const keyExpiresAt = principal.keyExpiresAt ?? null;
  if (keyExpiresAt !== null && !principal.scopes.has('admin') && expiresAt * 1000 > keyExpiresAt) {
    throw badRequest('invalid_body', `expiresIn: a URL cannot outlive the key that mints it, which expires at ${new Date(keyExpiresAt).toISOString()}`, { field: 'expiresIn' });
  }
  // The minting key pays for the URL and revoking it ends the URL; bindToKey only waives the per-viewer limit.
  const binding = { mintedBy: principal.keyId, keyId: body.bindToKey ? principal.keyId : undefined };
  const origin = new URL(c.req.url).origin;
  const urls = [];
  for (const mode of body.modes) {
    for (const format of body.formats) {
      if (format === 'bitstream') {
        // a mode that reads keyframes plays from the whole stream; one that does not needs only its texts-only cut. The
        // player picks each segment and (where keyframes are read) its rate (`segments`, `maxKbps`) without a new
        // signature: a bitstream read costs no GPU.
        const query: Record<string, string> = sendsKeyframes(mode) ? {} : { profile: 'tt2v' };
        const adjustable = sendsKeyframes(mode) ? ADJUSTABLE_PARAMS : (['segments'] as const);
        urls.push({ mode, format, segment: null, url: origin + (await signUrl(c.env.URL_SIGNING_SECRET, `/v/${video.id}/bitstream.cmvc`, query, expiresAt, { ...binding, adjustable })) });
        continue;
      }
      const targets: [number | null, string][] =
        format === 'hls'
          ? [[null, `/v/${video.id}/${mode}.m3u8`]]
          : body.segments
            ? body.segments.map((n) => [n, `/v/${video.id}/${mode}/${n}.mp4`])
            : [[null, `/v/${video.id}/${mode}.mp4`]];
      for (const [segment, path] of targets) urls.push({ mode, format, segment, url: origin + (await signUrl(c.env.URL_SIGNING_SECRET, path, options, expiresAt, binding)) });
    }
  }
  c.header('Cache-Control', 'no-store');
  return c.json({ expiresAt: new Date(expiresAt * 1000).toISOString(), urls });
});
