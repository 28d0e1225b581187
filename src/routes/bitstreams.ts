import { Hono, type Context } from 'hono';
import { access } from '../auth/access';
import { BitstreamError, BITSTREAM_MIME, cutBitstreamWithPlan, inspectBitstream, kbpsOf, segmentSeconds, STREAM_LIMITS } from '../bitstream';
import { requestMaxKbps } from '../reconstruction/options';
import { responseBodySource, serveBody } from '../cache/serve';
import { ApiError, badRequest } from '../http/errors';
import { bitstreamApiError, importBitstream, readBoundedBitstream } from '../videos/import-bitstream';
import { visibleVideo } from '../videos/visibility';
import { isStreaming } from '../videos/store';
import { preferWaitSeconds } from '../reconstruction/serve';
import { liveCacheControl, liveHeaders, whenSegmentCoded } from '../live/read';

/** Largest bitstream accepted by import and inspect, in bytes. */
export const MAX_IMPORT_BYTES = STREAM_LIMITS.maxBytes;

export const bitstreams = new Hono<{ Bindings: Env }>();

/** POST /v1/bitstreams/inspect — a bitstream's structure as JSON; nothing is stored. */
bitstreams.post('/inspect', access('read'), async (c) => {
  const bytes = await readBoundedBitstream(c.req.raw, MAX_IMPORT_BYTES);
  c.header('Cache-Control', 'no-store');
  try {
    return c.json(inspectBitstream(bytes));
  } catch (err) {
    if (err instanceof BitstreamError) throw bitstreamApiError(err);
    throw err;
  }
});

/** POST /v1/bitstreams — import a bitstream made elsewhere; 201 with a video that reconstructs like an encoded one. */
bitstreams.post('/', access('encode'), async (c) => {
  const bytes = await readBoundedBitstream(c.req.raw, MAX_IMPORT_BYTES);
  const video = await importBitstream(c.env, bytes, c.get('principal'));
  c.header('Cache-Control', 'no-store');
  c.header('Location', `/v1/videos/${video.id}`);
  return c.json(video, 201);
});

export const videoBitstream = new Hono<{ Bindings: Env }>();

const SEGMENTS = /^(\d{1,5})(?:-(\d{1,5}))?$/;
const CUT_OPTIONS = ['segments', 'profile', 'maxKbps'];
/** Response header naming a cut's achieved rate (bytes × 8 / 1000 / seconds of its segments). */
export const ACHIEVED_KBPS_HEADER = 'CMVC-Kbps';
/** Response header of a `maxKbps` cut: how many keyframes it dropped. */
export const KEYFRAMES_DROPPED_HEADER = 'CMVC-Keyframes-Dropped';
/** Response header of a `maxKbps` cut: `kept`, `dropped` (every keyframe went and it still did not fit), or `none` (a silent stream). */
export const AUDIO_HEADER = 'CMVC-Audio';

/**
 * GET/HEAD /v1/videos/{id}/bitstream — the CMVC bitstream (`application/vnd.cmvc`) with Range and ETag;
 * `?segments=a-b` (0-based, inclusive), `?profile=tt2v` (keyframes removed) and `?maxKbps=N` (keyframes
 * dropped lowest priority first until it fits, then the audio; below the texts-only floor, the texts only) cut a
 * smaller valid stream. Every cut names its achieved rate in the CMVC-Kbps header; a maxKbps cut says what it dropped
 * in CMVC-Keyframes-Dropped and CMVC-Audio.
 */
videoBitstream.get('/:id/bitstream', access('read'), (c) => serveVideoBitstream(c, new URL(c.req.url)));

/**
 * The bitstream of video `:id` as the route above serves it, its cuts read from `url`'s query (the signed
 * `/v/{id}/bitstream.cmvc` route passes its URL without the signature). A live video's bitstream is served as it is
 * now, a second in caches, with the live edge in CMVC-Live-Segments; `segments=n` of a segment not coded yet waits
 * for it (`Prefer: wait=N`), then 404 `segment_not_ready` with Retry-After.
 */
export async function serveVideoBitstream(c: Context<{ Bindings: Env }>, url: URL): Promise<Response> {
  let video = await visibleVideo(c.env.DB, c.req.param('id') as string, c.get('principal'), { remembered: true });
  const segmentsParam = url.searchParams.get('segments');
  const asked = segmentsParam === null ? null : SEGMENTS.exec(segmentsParam);
  const lastAsked = asked ? Number(asked[2] ?? asked[1]) : null;
  let waited: Record<string, string> = {};
  // the next segment of a live video (or, for a whole read, its first): answered when it is coded, within the wait
  // the player asked for
  const awaited = isStreaming(video) ? (lastAsked ?? (video.bitstream_key === null ? 0 : null)) : null;
  if (awaited !== null && awaited >= (video.segment_count ?? 0)) {
    const since = Date.now();
    video = await whenSegmentCoded(c.env.DB, video, awaited, c.req.header('Prefer') === undefined ? 0 : preferWaitSeconds(c.req.header('Prefer')));
    // a player measuring the network leaves out the time spent waiting for the segment
    waited = { 'Server-Timing': `wait;dur=${Date.now() - since}` };
    if (lastAsked !== null && isStreaming(video) && lastAsked >= (video.segment_count ?? 0)) {
      throw new ApiError(404, 'segment_not_ready', `segment ${lastAsked} is not coded yet; the live video has ${video.segment_count ?? 0} so far`, {
        headers: { 'Retry-After': '1', ...waited, ...(await liveHeaders(c.env.DB, video, null)) },
        details: { segmentsCoded: video.segment_count ?? 0 },
      });
    }
  }
  if (video.artifact_root !== null && !isStreaming(video) && lastAsked !== null && lastAsked >= (video.segment_count ?? 0)) {
    // the stream ended before this segment: a follower learns it from CMVC-Live: ended
    throw new ApiError(404, 'segment_not_found', `the live video ended with ${video.segment_count ?? 0} segments`, { headers: { ...waited, ...(await liveHeaders(c.env.DB, video, null)) } });
  }
  const live = isStreaming(video);
  if ((video.status !== 'succeeded' && !live) || !video.bitstream_key || !video.bitstream_hash) {
    const status = live ? 'live' : video.status;
    throw new ApiError(409, 'video_not_ready', live ? 'the video is live and no segment of it is coded yet' : `the video is ${status}; its bitstream exists once it is encoded`, {
      headers: { 'Retry-After': live ? '1' : '5', ...waited, ...(await liveHeaders(c.env.DB, video, null)) },
    });
  }
  const seen = new Set<string>();
  for (const name of url.searchParams.keys()) {
    if (!CUT_OPTIONS.includes(name)) throw badRequest('unknown_option', `unknown option "${name}"; known: ${CUT_OPTIONS.join(', ')}`, { option: name });
    if (seen.has(name)) throw badRequest('invalid_option', `option "${name}" is given more than once`, { option: name });
    seen.add(name);
  }
  const maxKbpsParam = url.searchParams.get('maxKbps');
  const maxKbps = maxKbpsParam === null ? undefined : requestMaxKbps(maxKbpsParam);
  const profile = url.searchParams.get('profile') ?? 'full';
  if (profile !== 'full' && profile !== 'tt2v') throw badRequest('invalid_option', 'option "profile" must be "full" or "tt2v"', { option: 'profile' });
  let segments: [number, number] | undefined;
  if (segmentsParam !== null) {
    const match = SEGMENTS.exec(segmentsParam);
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (!match || last < first || last >= (video.segment_count ?? 0)) {
      throw badRequest('invalid_option', `option "segments" must be a or a-b within 0-${(video.segment_count ?? 1) - 1}`, { option: 'segments' });
    }
    segments = [first, last];
  }
  const object = await c.env.BUCKET.get(video.bitstream_key);
  if (object === null) throw new ApiError(404, 'not_found', 'video not found');
  const headers = {
    'Cache-Control': live ? liveCacheControl(c.get('principal').via === 'signed-url') : 'private, max-age=31536000, immutable',
    'Content-Disposition': `attachment; filename="${video.id}.cmvc"`,
    ...(await liveHeaders(c.env.DB, video, segments !== undefined && segments[0] === segments[1] ? segments[0] : null)),
    ...waited,
  };
  if (profile === 'full' && segments === undefined && maxKbps === undefined) {
    const response = new Response(object.body, { headers: { 'Content-Length': String(object.size), ETag: `"${video.bitstream_hash}"`, 'Content-Type': BITSTREAM_MIME } });
    return serveBody(c.req.raw, responseBodySource(response), headers);
  }
  const { bytes: cut, rate, parsed } = cutBitstreamWithPlan(new Uint8Array(await object.arrayBuffer()), { segments, profile, maxKbps });
  // rates that keep the same keyframes make the same bytes: the ETag names the cut, not the rate
  const etag = `"${video.bitstream_hash}.${profile}.${segments ? segments.join('-') : 'all'}${rate ? `.d${rate.dropped}${rate.audioDropped ? '.a0' : ''}` : ''}"`;
  const seconds = segmentSeconds(parsed, parsed.segments.slice(segments?.[0] ?? 0, (segments?.[1] ?? parsed.segments.length - 1) + 1));
  const response = new Response(cut, { headers: { 'Content-Length': String(cut.byteLength), ETag: etag, 'Content-Type': BITSTREAM_MIME } });
  const dropped: Record<string, string> = rate
    ? { [KEYFRAMES_DROPPED_HEADER]: String(rate.dropped), [AUDIO_HEADER]: rate.audioDropped ? 'dropped' : parsed.segments.some((s) => s.audio !== undefined) ? 'kept' : 'none' }
    : {};
  return serveBody(c.req.raw, responseBodySource(response), { ...headers, [ACHIEVED_KBPS_HEADER]: kbpsOf(cut.byteLength, seconds).toFixed(3), ...dropped });
}
