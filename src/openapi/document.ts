/**
 * The OpenAPI 3.1 document of the public API, rendered from the zod shapes the routes validate with. The routes the
 * GPU functions call (`/internal/…`) are described apart, in internal-document.ts.
 */
import { z } from 'zod';
import { MODES } from '../gpu/contract';
import { STREAM_LIMITS } from '../bitstream/stream-limits';
import { CreateKeyBody, MintUrlsBody } from '../auth/request-shapes';
import { UPLOAD_MEDIA_TYPES, UploadQuery } from '../uploads/upload-options';
import { LIVE_CHUNK_MAX_BYTES, LIVE_CHUNK_TYPES, LIVE_MAX_CHUNKS, LIVE_REORDER_WINDOW } from '../live/limits';
import * as shapes from '../openapi/shapes';

type Json = Record<string, unknown>;
export const schema = (s: z.ZodType, io: 'input' | 'output' = 'output'): Json => z.toJSONSchema(s, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
export const json = (s: z.ZodType) => ({ 'application/json': { schema: schema(s) } });

const ERROR = { description: 'error', content: json(shapes.ErrorBody) };
export const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [String(s), ERROR]));
const KEY = [{ apiKey: [] }];
const KEY_OR_SIGNED = [{ apiKey: [] }, { signedUrl: [] }];
/** The ingest routes of a live video: its ingest token (a bearer token for that video's ingest only) or an API key. */
const INGEST = [{ apiKey: [] }, { ingestToken: [] }];

export const pathParam = (name: string, description: string, extra: Json = {}) => ({ name, in: 'path', required: true, description, schema: { type: 'string', ...extra } });
export const queryParam = (name: string, description: string, s: Json) => ({ name, in: 'query', required: false, description, schema: s });
export const ID = pathParam('id', 'video id (vid_…)', { pattern: '^vid_[0-9a-z]{26}$' });
const MODE = pathParam('mode', 'tt2v (texts only) or it2v (keyframe + motion)', { enum: [...MODES] });
const N = pathParam('n', '0-based segment number', { pattern: '^[0-9]{1,5}$' });

const RECONSTRUCTION_OPTIONS = [
  queryParam('w', 'output width, even, 16..1920 (default: the source)', { type: 'integer' }),
  queryParam('h', 'output height, even, 16..1920 (default: the source)', { type: 'integer' }),
  queryParam('fps', 'generated frame rate, 1..60 (default: the source)', { type: 'number' }),
  queryParam('interp', 'frame-rate multiplier by interpolation', { type: 'integer', enum: [1, 2, 4] }),
  queryParam('seed', 'generation seed, 0..4294967295', { type: 'integer' }),
  queryParam('format', 'container', { type: 'string', enum: ['mp4'] }),
  queryParam('maxKbps', 'it2v only: reconstruct from the bitstream cut to at most this many kbps (keyframes dropped lowest priority first), 0.1..1000', { type: 'number' }),
  queryParam('exp', 'signed URLs: expiry, unix seconds', { type: 'integer' }),
  queryParam('kid', 'signed URLs: the key the URL is bound to', { type: 'string' }),
  queryParam('sig', 'signed URLs: base64url HMAC-SHA256 over the canonical path and query', { type: 'string' }),
];
const LIVE_WAIT = { name: 'Prefer', in: 'header', required: false, description: 'wait=N: for a live video, wait up to N seconds (≤ 20) for a segment not coded yet before answering 404 segment_not_ready', schema: { type: 'string' } };
/** One server-sent event of a job's stream (OpenAPI 3.1 states an event stream's schema per event): the job view as JSON. */
const JOB_EVENT = {
  type: 'object',
  required: ['event', 'data'],
  properties: {
    event: { const: 'job' },
    data: { type: 'string', contentMediaType: 'application/json', contentSchema: schema(shapes.JobView) },
    id: { type: 'string', description: "the job's last change, Unix ms" },
  },
};
const PREFER = { name: 'Prefer', in: 'header', required: false, description: 'wait=N: wait up to N seconds (≤ 60) for a generation before answering 202', schema: { type: 'string' } };

/** A bitstream upload: `application/vnd.cmvc`, or any binary type (the bytes say what they are). */
const BITSTREAM_BODY = {
  'application/vnd.cmvc': { schema: { type: 'string', contentMediaType: 'application/vnd.cmvc', minLength: 1 } },
  'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream', minLength: 1 } },
};
export const binary = (type: string, description: string) => ({ description, content: { [type]: { schema: { type: 'string', contentMediaType: type } } } });
const reconstructionResponses = (type: string) => ({
  '200': { ...binary(type, 'the artifact'), headers: { ETag: { schema: { type: 'string' } } } },
  '202': { description: 'still generating; ask again after Retry-After', content: json(shapes.Pending) },
  '206': binary(type, 'a byte range of the artifact'),
  '304': { description: 'not modified' },
  ...errors(400, 401, 403, 404, 409, 416, 422, 429, 503),
});

export function op(summary: string, tag: string, security: unknown, rest: Json): Json {
  return { summary, tags: [tag], security, ...rest };
}

/** Every path the Worker routes, as OpenAPI paths (Hono's `:param` becomes `{param}`). */
/** The inspect report's bounded parts (the rest is described in docs/bitstream.md): its chunk and segment lists are capped. */
const INSPECT_REPORT = {
  type: 'object',
  required: ['valid', 'chunks', 'chunkCount', 'segments', 'segmentCount', 'truncated'],
  properties: {
    valid: { type: 'boolean' },
    chunks: { type: 'array', maxItems: STREAM_LIMITS.maxListedChunks, items: { type: 'object' }, description: 'the first chunks, in order' },
    chunkCount: { type: 'integer', minimum: 0, description: 'every chunk the walk found' },
    segments: { type: 'array', maxItems: STREAM_LIMITS.maxSegments, items: { type: 'object' }, description: 'the first segments of a valid stream, in order' },
    segmentCount: { type: 'integer', minimum: 0, description: 'every segment of a valid stream (0 when it is not valid)' },
    truncated: { type: 'boolean', description: 'true when `chunks` lists fewer than `chunkCount` or `segments` fewer than `segmentCount`' },
    kbps: { type: ['number', 'null'], description: "the whole stream's rate, as the video view's `bitstream.kbps`" },
    videoKbps: { type: ['number', 'null'], description: 'the rate of all but the sound' },
    audio: { type: ['object', 'null'], description: "the stream's sound (`{codec, kbps, bytes, channels, sampleRate}`), or null when it has none" },
  },
};

export function openApiDocument(serverUrl = '/'): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'CMVC Edge',
      version: '1',
      description: 'Cross-modality video coding: upload a video, get a bitstream of texts and keyframes, and reconstructions regenerated on demand.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'API key: the bootstrap ADMIN_API_KEY or a cmvc_sk_… key' },
        signedUrl: { type: 'apiKey', in: 'query', name: 'sig', description: 'a signed reconstruction URL (with exp and optionally kid)' },
        ingestToken: { type: 'http', scheme: 'bearer', description: "a live video's ingest token (cmvc_it_…): that video's ingest routes only" },
      },
    },
    paths: {
      '/healthz': { get: op('Health of the Worker and the GPU backend', 'meta', [], { responses: { '200': { description: 'healthy', content: json(shapes.Health) }, '503': { description: 'GPU backend down', content: json(shapes.Health) } } }) },
      '/openapi.json': { get: op('This document', 'meta', [], { responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } }) },
      '/docs': { get: op('Documentation page (works offline)', 'meta', [], { responses: { '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } } }) },
      '/v1/videos': {
        post: op('Upload a video', 'videos', KEY, {
          description:
            'The video as the raw body (its container is read from its bytes; any `video/*` type is taken, those listed are the containers recognised) or as the multipart field `file`; streamed into storage. Options are query parameters. `live=true` (no body) starts a live video instead: 201 with its ingest URL and a token for its ingest only.',
          parameters: [
            queryParam('live', 'true: start a live video (no body); its chunks are PUT to the ingest URL of the answer', { type: 'string', enum: ['true', 'false'] }),
            ...Object.entries((schema(UploadQuery, 'input').properties ?? {}) as Record<string, Json>).map(([name, s]) => queryParam(name, String(s.description ?? name), s)),
            { name: 'Idempotency-Key', in: 'header', required: false, description: 'the same key with the same file, options and content type replays the first upload; with another, 422 idempotency_key_reused', schema: { type: 'string', maxLength: 255 } },
          ],
          requestBody: {
            required: false,
            content: {
              ...Object.fromEntries(UPLOAD_MEDIA_TYPES.map((type) => [type, { schema: { type: 'string', contentMediaType: type, minLength: 1 } }])),
              'multipart/form-data': {
                schema: { type: 'object', properties: { file: { type: 'string', contentMediaType: 'application/octet-stream', minLength: 1 } }, required: ['file'] },
                encoding: { file: { contentType: UPLOAD_MEDIA_TYPES.join(', ') } },
              },
            },
          },
          responses: {
            '201': { description: 'live=true: the live video, and its ingest URL and token', content: json(shapes.LiveStarted) },
            '202': {
              description: 'accepted: the video and its encode job',
              content: json(shapes.UploadAccepted),
              links: {
                video: { operationId: 'getVideo', parameters: { id: '$response.body#/video/id' } },
                job: { operationId: 'getJob', parameters: { id: '$response.body#/job/id' } },
                jobEvents: { operationId: 'getJobEvents', parameters: { id: '$response.body#/job/id' } },
              },
            }, ...errors(400, 401, 403, 413, 415, 422, 429) },
        }),
        get: op('List videos (newest first)', 'videos', KEY, {
          parameters: [queryParam('limit', '1..100', { type: 'integer', minimum: 1, maximum: 100 }), queryParam('cursor', 'nextCursor of the previous page', { type: 'string', pattern: '^[0-9]{1,15}$' })],
          responses: { '200': { description: 'a page of videos', content: json(shapes.VideoList) }, ...errors(400, 401, 403, 429) },
        }),
      },
      '/v1/videos/{id}': {
        get: op('Describe a video', 'videos', KEY, { operationId: 'getVideo', parameters: [ID], responses: { '200': { description: 'the video', content: json(shapes.VideoView) }, ...errors(401, 403, 404, 429) } }),
        delete: op('Delete a video with every derived artifact', 'videos', KEY, { parameters: [ID], responses: { '204': { description: 'deleted' }, ...errors(401, 403, 404, 429) } }),
      },
      '/v1/videos/{id}/live/{n}': {
        put: op("A chunk of a live video (its ingest token, or an encode key)", 'live', INGEST, {
          description: `A self-contained ${LIVE_CHUNK_TYPES.join(', ')} file of about 2 s, at most ${LIVE_CHUNK_MAX_BYTES} bytes; chunks n = 0, 1, … may arrive up to ${LIVE_REORDER_WINDOW} out of order. Coded at once and appended in order.`,
          parameters: [ID, pathParam('n', `chunk number, 0..${LIVE_MAX_CHUNKS}`, { pattern: '^[0-9]{1,6}$' })],
          requestBody: { required: true, content: Object.fromEntries(LIVE_CHUNK_TYPES.map((t) => [t, { schema: { type: 'string', contentMediaType: t, minLength: 1 } }])) },
          responses: {
            '200': { description: 'the same bytes again: nothing changes', content: json(shapes.ChunkAccepted) },
            '202': { description: 'received and queued for coding', content: json(shapes.ChunkAccepted) },
            ...errors(400, 401, 403, 404, 409, 413, 415, 429),
          },
        }),
      },
      '/v1/videos/{id}/live/end': {
        post: op('End a live video: what was received is coded, then it is an ordinary video', 'live', INGEST, {
          parameters: [ID],
          responses: { '202': { description: 'ending (or ended)', content: json(z.object({ video: shapes.VideoView })) }, ...errors(401, 403, 404, 429) },
        }),
      },
      '/v1/videos/{id}/bitstream': {
        get: op('The CMVC bitstream, whole or cut', 'bitstreams', KEY, {
          parameters: [ID, LIVE_WAIT, queryParam('segments', 'a or a-b (0-based, inclusive)', { type: 'string', pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' }), queryParam('profile', 'tt2v removes keyframes', { type: 'string', enum: ['full', 'tt2v'] }),
            queryParam('maxKbps', 'cap the whole stream (video and audio): drop keyframes, lowest priority first, then the audio, until it is at or under this rate (0.1..1000); the CMVC-Kbps response header names the rate reached, CMVC-Keyframes-Dropped how many keyframes went and CMVC-Audio whether the audio was kept, dropped or absent (none)', { type: 'number', minimum: 0.1, maximum: 1000 }),
          ],
          responses: { '200': binary('application/vnd.cmvc', 'the bitstream'), '206': binary('application/vnd.cmvc', 'a byte range'), '304': { description: 'not modified' }, ...errors(400, 401, 403, 404, 409, 416, 429) },
        }),
      },
      '/v1/videos/{id}/urls': {
        post: op('Mint signed reconstruction URLs', 'access', KEY, {
          parameters: [ID],
          requestBody: { required: true, content: { 'application/json': { schema: schema(MintUrlsBody, 'input') } } },
          responses: { '200': { description: 'signed URLs', content: json(shapes.SignedUrls) }, ...errors(400, 401, 403, 404, 415, 429) },
        }),
      },
      '/v1/bitstreams': {
        post: op('Import a bitstream made elsewhere', 'bitstreams', KEY, {
          requestBody: { required: true, content: BITSTREAM_BODY },
          responses: { '201': { description: 'the new video', content: json(shapes.VideoView) }, ...errors(400, 401, 403, 413, 422, 429) },
        }),
      },
      '/v1/bitstreams/inspect': {
        post: op("A bitstream's structure, storing nothing", 'bitstreams', KEY, {
          requestBody: { required: true, content: BITSTREAM_BODY },
          responses: { '200': { description: 'the structure: chunks, segments (their keyframes and audio), sizes, and kbps, videoKbps and audio as the video view has them', content: { 'application/json': { schema: INSPECT_REPORT } } }, ...errors(400, 401, 403, 413, 422, 429) },
        }),
      },
      '/v1/jobs/{id}': { get: op('Job state and progress', 'jobs', KEY, { operationId: 'getJob', parameters: [pathParam('id', 'job id')], responses: { '200': { description: 'the job', content: json(shapes.JobView) }, ...errors(401, 403, 404, 429) } }) },
      '/v1/jobs/{id}/events': {
        get: op('Job state as server-sent events (`event: job`)', 'jobs', KEY, { operationId: 'getJobEvents', parameters: [pathParam('id', 'job id')], responses: { '200': { description: 'event stream', content: { 'text/event-stream': { schema: JOB_EVENT } } }, ...errors(401, 403, 404, 429) } }),
      },
      '/v1/keys': {
        post: op('Create an API key (admin)', 'access', KEY, {
          requestBody: { required: true, content: { 'application/json': { schema: schema(CreateKeyBody, 'input') } } },
          responses: { '201': { description: 'the key, with its secret shown once', content: json(shapes.CreatedKey) }, ...errors(400, 401, 403, 415, 429) },
        }),
        get: op('List API keys, without secrets (admin)', 'access', KEY, { responses: { '200': { description: 'keys', content: json(z.object({ keys: z.array(shapes.KeyView) })) }, ...errors(401, 403, 429) } }),
      },
      '/v1/keys/{id}': { delete: op('Revoke an API key at once (admin)', 'access', KEY, { parameters: [pathParam('id', 'key id')], responses: { '204': { description: 'revoked' }, ...errors(401, 403, 404, 429) } }) },
      '/v1/usage': {
        get: op('Usage per key and UTC day', 'access', KEY, {
          parameters: [queryParam('from', 'UTC date YYYY-MM-DD', { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }), queryParam('to', 'UTC date YYYY-MM-DD', { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }), queryParam('keyId', 'admin only: one key', { type: 'string' })],
          responses: { '200': { description: 'usage rows', content: json(shapes.UsageReport) }, ...errors(400, 401, 403, 429) },
        }),
      },
      '/v1/admin/consistency': {
        get: op('Storage audit: nothing lost, nothing orphaned (admin)', 'access', KEY, {
          responses: { '200': { description: 'the audit', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(401, 403, 429) },
        }),
      },
      '/v/{id}/{mode}.mp4': { get: op('Reconstruction of the whole video', 'reconstruction', KEY_OR_SIGNED, { parameters: [ID, MODE, PREFER, ...RECONSTRUCTION_OPTIONS], responses: reconstructionResponses('video/mp4') }) },
      '/v/{id}/{mode}/{n}.mp4': { get: op('Reconstruction of one segment', 'reconstruction', KEY_OR_SIGNED, { parameters: [ID, MODE, N, PREFER, ...RECONSTRUCTION_OPTIONS], responses: reconstructionResponses('video/mp4') }) },
      '/v/{id}/{mode}.m3u8': { get: op('HLS master playlist', 'streaming', KEY_OR_SIGNED, { parameters: [ID, MODE, ...RECONSTRUCTION_OPTIONS], responses: { '200': binary('application/vnd.apple.mpegurl', 'playlist'), ...errors(400, 401, 403, 404, 409, 429) } }) },
      '/v/{id}/{mode}/media.m3u8': { get: op('HLS media playlist', 'streaming', KEY_OR_SIGNED, { parameters: [ID, MODE, ...RECONSTRUCTION_OPTIONS], responses: { '200': binary('application/vnd.apple.mpegurl', 'playlist'), ...errors(400, 401, 403, 404, 409, 429) } }) },
      '/v/{id}/{mode}/{n}.ts': { get: op('HLS segment (MPEG-TS), generated lazily', 'streaming', KEY_OR_SIGNED, { parameters: [ID, MODE, N, PREFER, ...RECONSTRUCTION_OPTIONS], responses: reconstructionResponses('video/mp2t') }) },
      '/v/{id}/poster.webp': { get: op('The first keyframe, from the bitstream', 'streaming', KEY_OR_SIGNED, { parameters: [ID], responses: { '200': binary('image/webp', 'the keyframe'), ...errors(401, 403, 404, 409, 429) } }) },
      '/v/{id}/bitstream.cmvc': {
        get: op('The CMVC bitstream for public players (the client decoder plays it with no GPU)', 'streaming', KEY_OR_SIGNED, {
          parameters: [
            ID,
            LIVE_WAIT,
            queryParam('segments', 'a or a-b (0-based, inclusive); the holder of a bitstream URL may choose it (adj)', { type: 'string', pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' }),
            queryParam('profile', 'tt2v removes keyframes', { type: 'string', enum: ['full', 'tt2v'] }),
            queryParam('maxKbps', 'cap the stream to this rate (as on /v1); the holder of a bitstream URL may choose it (adj)', { type: 'number', minimum: 0.1, maximum: 1000 }),
            queryParam('adj', 'signed URLs: the parameters its holder may set without a new signature (maxKbps, segments)', { type: 'string' }),
          ],
          responses: { '200': binary('application/vnd.cmvc', 'the bitstream'), '206': binary('application/vnd.cmvc', 'a byte range'), '304': { description: 'not modified' }, ...errors(400, 401, 403, 404, 409, 416, 429) },
        }),
      },
      '/v/{id}/captions.vtt': { get: op('The texts as WebVTT, from the bitstream', 'streaming', KEY_OR_SIGNED, { parameters: [ID], responses: { '200': binary('text/vtt', 'captions'), ...errors(401, 403, 404, 409, 429) } }) },
    },
  };
}
