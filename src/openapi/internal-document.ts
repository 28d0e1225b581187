/**
 * The OpenAPI 3.1 document of the internal routes: what the GPU functions call, by short-lived URLs the Worker signs
 * (storage/), and this document itself. Served at `GET /internal/openapi.json` to an admin key; the public document
 * (`/openapi.json`) does not list them.
 */
import { UPLOAD_MEDIA_TYPES } from '../uploads/upload-options';
import { binary, errors, ID, json, op, pathParam, queryParam } from './document';
import * as shapes from './shapes';

type Json = Record<string, unknown>;

/** What a GPU function uploads and reads back: the containers of artifact keys (`artifacts/…/{sha256}.{mp4|webm|ts}`). */
const ARTIFACT_MEDIA_TYPES = ['video/mp4', 'video/webm', 'video/mp2t'] as const;

const SIGNED = [{ transferSignature: [] }];
const ADMIN = [{ apiKey: [] }];
const bodyOf = (types: readonly string[], minLength?: number) =>
  Object.fromEntries(types.map((type) => [type, { schema: { type: 'string', contentMediaType: type, ...(minLength === undefined ? {} : { minLength }) } }]));
const signature = (what: string) => [queryParam('exp', 'unix seconds', { type: 'integer' }), queryParam('sig', what, { type: 'string', pattern: '^[0-9a-f]{64}$' })];

/** `/internal/artifacts/{bitstream}/{file}`: the R2 key `artifacts/{bitstream}/{file}`, signed for one method. */
const ARTIFACT_TRANSFER_PARAMS = [
  pathParam('bitstream', 'SHA-256 of the bitstream (hex)', { pattern: '^[0-9a-f]{64}$' }),
  pathParam('file', 'the artifact: its SHA-256 (hex) and extension', { pattern: '^[0-9a-f]{64}\\.(mp4|webm|ts)$' }),
  ...signature('hex HMAC-SHA256 over the method, the R2 key and exp'),
];

export function internalOpenApiDocument(serverUrl = '/'): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'CMVC Edge internal routes',
      version: '1',
      description: 'What the GPU functions call: uploaded sources, stored bitstreams and artifacts, by URLs the Worker signs for one object, one method and a short time.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'an admin API key (this document only)' },
        transferSignature: { type: 'apiKey', in: 'query', name: 'sig', description: 'a transfer URL the Worker signed (with exp), for one object and one method' },
      },
    },
    paths: {
      '/internal/openapi.json': {
        get: op('This document (admin)', 'meta', ADMIN, { responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, ...errors(401, 403, 429) } }),
      },
      '/internal/sources/{id}': {
        get: op('An uploaded source, for the GPU function that encodes it (signed, short-lived)', 'internal', SIGNED, {
          parameters: [ID, ...signature('hex HMAC-SHA256 over the video id and exp')],
          responses: { '200': { description: 'the source, with the type it was uploaded with', content: bodyOf(UPLOAD_MEDIA_TYPES) }, ...errors(403, 404) },
        }),
      },
      '/internal/artifacts/{bitstream}/{file}': {
        put: op('A GPU function uploads its output (signed, short-lived, write-once; checked against x-amz-checksum-sha256)', 'internal', SIGNED, {
          parameters: ARTIFACT_TRANSFER_PARAMS,
          requestBody: { required: true, content: bodyOf(ARTIFACT_MEDIA_TYPES, 1) },
          responses: {
            '201': { description: 'stored', content: json(shapes.StoredArtifact) },
            '200': { description: 'the same bytes were already stored (a retried upload)', content: json(shapes.StoredArtifact) },
            ...errors(400, 403, 409, 411, 413, 503),
          },
        }),
        get: op('An artifact, for a GPU function that derives another from it (signed, short-lived)', 'internal', SIGNED, {
          parameters: ARTIFACT_TRANSFER_PARAMS,
          responses: { '200': { description: 'the artifact', content: bodyOf(ARTIFACT_MEDIA_TYPES) }, ...errors(403, 404) },
        }),
      },
      '/internal/bitstreams/{file}': {
        get: op('A stored bitstream, whole or one byte range, for a GPU function reading a large keyframe image (signed, short-lived)', 'internal', SIGNED, {
          parameters: [pathParam('file', 'the bitstream: its SHA-256 (hex) and .cmvc', { pattern: '^[0-9a-f]{64}\\.cmvc$' }), ...signature('hex HMAC-SHA256 over the method, the R2 key and exp')],
          responses: { '200': binary('application/vnd.cmvc', 'the bitstream'), '206': binary('application/vnd.cmvc', 'a byte range'), ...errors(403, 404, 416) },
        }),
      },
    },
  };
}
