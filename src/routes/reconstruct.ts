import { Hono, type Context } from 'hono';
import { reconstructionAccess as accessFor } from '../auth/access';
import { SIGNATURE_PARAMS } from '../shared/signed-url-params';
import { signUrl } from '../auth/signed-url';
import { captionsVtt, hlsVariants, masterPlaylist, mediaPlaylist } from '../reconstruction/hls';
import { readyFor, readyVideo } from '../reconstruction/ready';
import { serveHlsSegment, serveReconstruction } from '../reconstruction/serve';
import { responseBodySource, serveBody } from '../cache/serve';
import { Mode, MODES } from '../gpu/contract';
import { ApiError } from '../http/errors';
import { serveVideoBitstream } from './bitstreams';
import { visibleVideo } from '../videos/visibility';
import { LIVE_CACHE_SECONDS } from '../live/limits';
import { getVideoRemembered } from '../videos/encoded-videos';
import { ID_PATTERN } from '../http/ids';

/** Ready artifacts for API-key requests: private (per key). */
const KEYED_CACHE_CONTROL = 'private, max-age=86400';
/** Signed URLs name a content-addressed artifact: a CDN may keep them for a year. */
const SIGNED_CACHE_CONTROL = 'public, max-age=31536000, immutable';
const M3U8 = 'application/vnd.apple.mpegurl';
const IMAGE_TYPES = { webp: 'image/webp', jpeg: 'image/jpeg', avif: 'image/avif', png: 'image/png' } as const;

type AppContext = Context<{ Bindings: Env }>;

/** The reconstruction routes' access check; a URL signed before URLs named a key is charged to the video's uploader. */
const reconstructionAccess = () =>
  accessFor({ uploaderOf: async (env, videoId) => (ID_PATTERN.test(videoId) ? ((await getVideoRemembered(env.DB, videoId))?.owner ?? null) : null) });

/** `tt2v|it2v`: the modes in a route pattern. */
const MODE = MODES.join('|');

export const reconstruct = new Hono<{ Bindings: Env }>();

/** The mode a file name starts with (`it2v.mp4` → `it2v`); the route pattern admitted only known modes. */
const modeOf = (file: string): Mode => Mode.parse(file.slice(0, file.indexOf('.')));

const cacheControl = (c: AppContext) => (c.get('principal').via === 'signed-url' ? SIGNED_CACHE_CONTROL : KEYED_CACHE_CONTROL);
/** What changes while a video is live (its playlists, captions, poster) lives seconds in a cache, never `immutable`; its coded segments do not change. */
const growingCacheControl = (c: AppContext, live: boolean) =>
  live ? `${c.get('principal').via === 'signed-url' ? 'public' : 'private'}, max-age=${LIVE_CACHE_SECONDS}` : cacheControl(c);
const video = (c: AppContext) => visibleVideo(c.env.DB, c.req.param('id') as string, c.get('principal'), { remembered: true });

/** Options the client gave explicitly (not the signature), to carry into child URLs. */
function explicitOptions(c: AppContext): Record<string, string> {
  return Object.fromEntries([...new URL(c.req.url).searchParams].filter(([k]) => !SIGNATURE_PARAMS.has(k)));
}

/**
 * URIs inside a playlist: relative for key holders (their player sends the key again), or, when the
 * playlist itself came by signed URL, signed with the same expiry and key binding.
 */
async function signAll(c: AppContext, relatives: string[]): Promise<(relative: string) => string> {
  const principal = c.get('principal');
  if (principal.via !== 'signed-url') return (relative) => relative;
  const base = new URL(c.req.url);
  // The same minting key and binding as the playlist's own URL (an old URL carries neither).
  const binding = principal.urlBinding ?? {};
  const signed = new Map<string, string>();
  for (const relative of relatives) {
    const url = new URL(relative, base);
    signed.set(relative, await signUrl(c.env.URL_SIGNING_SECRET, url.pathname, Object.fromEntries(url.searchParams), principal.signedUntil as number, binding));
  }
  return (relative) => signed.get(relative) ?? relative;
}

function text(c: AppContext, body: string, contentType: string, etag: string, live = false): Promise<Response> {
  const response = new Response(body, { headers: { 'Content-Type': contentType, 'Content-Length': String(new TextEncoder().encode(body).byteLength), ETag: etag } });
  return serveBody(c.req.raw, responseBodySource(response), { 'Cache-Control': growingCacheControl(c, live) });
}

/** GET/HEAD /v/{id}/{mode}.mp4 — the whole video reconstructed in `tt2v` or `it2v` mode. */
reconstruct.get(`/:id/:file{(${MODE})\\.mp4}`, reconstructionAccess(), async (c) => {
  const mode = modeOf(c.req.param('file'));
  return serveReconstruction(c, { video: await video(c), mode, segment: null, cacheControl: cacheControl(c) });
});

/** GET/HEAD /v/{id}/{mode}/{n}.mp4 — segment `n` (0-based) only. */
reconstruct.get(`/:id/:mode{${MODE}}/:file{[0-9]{1,5}\\.mp4}`, reconstructionAccess(), async (c) => {
  const segment = Number(c.req.param('file').slice(0, -4));
  return serveReconstruction(c, { video: await video(c), mode: Mode.parse(c.req.param('mode')), segment, cacheControl: cacheControl(c) });
});

/** GET /v/{id}/{mode}.m3u8 — HLS master playlist: variants by size and (IT2V) interpolated frame rate. */
reconstruct.get(`/:id/:file{(${MODE})\\.m3u8}`, reconstructionAccess(), async (c) => {
  const mode = modeOf(c.req.param('file'));
  const ready = await readyFor(c, await video(c), mode);
  const variants = hlsVariants(mode, ready.options, explicitOptions(c));
  const sign = await signAll(c, variants.map((v) => `${mode}/media.m3u8${v.query ? `?${v.query}` : ''}`));
  return text(c, masterPlaylist(mode, variants, sign, ready.bitstream), M3U8, `"${ready.video.bitstream_hash}.${mode}.m3u8.${new URLSearchParams(explicitOptions(c))}"`, ready.live);
});

/**
 * GET /v/{id}/{mode}/media.m3u8 — HLS media playlist; its MPEG-TS segments are generated lazily. While the video is
 * live, an EVENT playlist of the segments coded so far (no ENDLIST, a second in caches); ended, a VOD playlist.
 */
reconstruct.get(`/:id/:mode{${MODE}}/media.m3u8`, reconstructionAccess(), async (c) => {
  const ready = await readyFor(c, await video(c), Mode.parse(c.req.param('mode')));
  const query = new URLSearchParams(explicitOptions(c)).toString();
  const relatives = ready.bitstream.segments.map((_, n) => `${n}.ts${query ? `?${query}` : ''}`);
  const sign = await signAll(c, relatives);
  return text(c, mediaPlaylist(ready.bitstream, query, sign, ready.live), M3U8, `"${ready.video.bitstream_hash}.media.${query}"`, ready.live);
});

/** GET/HEAD /v/{id}/{mode}/{n}.ts — HLS segment `n`, derived from the cached MP4 segment; the next ones are prefetched. */
reconstruct.get(`/:id/:mode{${MODE}}/:file{[0-9]{1,5}\\.ts}`, reconstructionAccess(), async (c) => {
  const segment = Number(c.req.param('file').slice(0, -3));
  return serveHlsSegment(c, { video: await video(c), mode: Mode.parse(c.req.param('mode')), segment, cacheControl: cacheControl(c) });
});

/** GET/HEAD /v/{id}/poster.webp — the first keyframe, straight from the bitstream (no GPU call). */
reconstruct.get('/:id/poster.webp', reconstructionAccess(), async (c) => {
  const ready = await readyVideo(c, await video(c), new URLSearchParams());
  const keyframe = ready.bitstream.segments.find((s) => s.keyframes.length > 0)?.keyframes[0];
  if (!keyframe) throw new ApiError(404, 'no_keyframe', 'this bitstream carries no keyframe (a tt2v-only profile)');
  const response = new Response(keyframe.data, { headers: { 'Content-Type': IMAGE_TYPES[keyframe.codec], 'Content-Length': String(keyframe.data.byteLength), ETag: `"${ready.video.bitstream_hash}.poster"` } });
  return serveBody(c.req.raw, responseBodySource(response), { 'Cache-Control': growingCacheControl(c, ready.live) });
});

/**
 * GET/HEAD /v/{id}/bitstream.cmvc — the bitstream itself for public players (a signed URL, no key): Range,
 * ETag and the same cuts (`segments`, `profile`, …) as GET /v1/videos/{id}/bitstream.
 */
reconstruct.get('/:id/bitstream.cmvc', reconstructionAccess(), async (c) => {
  const url = new URL(c.req.url);
  for (const name of SIGNATURE_PARAMS) url.searchParams.delete(name);
  return serveVideoBitstream(c, url);
});

/** GET/HEAD /v/{id}/captions.vtt — the content and motion texts as WebVTT cues, one per segment. */
reconstruct.get('/:id/captions.vtt', reconstructionAccess(), async (c) => {
  const ready = await readyVideo(c, await video(c), new URLSearchParams());
  return text(c, captionsVtt(ready.bitstream), 'text/vtt; charset=utf-8', `"${ready.video.bitstream_hash}.vtt"`, ready.live);
});
