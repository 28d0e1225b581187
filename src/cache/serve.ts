import { ApiError } from '../http/errors';
import { parseRange } from './range';

/** Cache-Control of a copy kept in the Cache API: content-addressed, so it never changes. */
export const CACHED_COPY_CONTROL = 'public, max-age=31536000, immutable';

export interface BodySource {
  /** Total size in bytes. */
  size: number;
  /** Strong ETag, quoted. */
  etag: string;
  contentType: string;
  /** The whole body, or the bytes [offset, offset + length). */
  body(range?: { offset: number; length: number }): Promise<ReadableStream | ArrayBuffer | null>;
}

function etagMatches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

/**
 * Answers GET/HEAD for an immutable body the way a CDN origin should: 304 on a matching
 * If-None-Match, 206/416 for a single Range (honoured only while If-Range still matches), else 200.
 */
export async function serveBody(request: Request, source: BodySource, headers: Record<string, string>): Promise<Response> {
  const common = new Headers({ ...headers, ETag: source.etag, 'Accept-Ranges': 'bytes', 'Content-Type': source.contentType });
  if (etagMatches(request.headers.get('If-None-Match'), source.etag)) return new Response(null, { status: 304, headers: common });
  const ifRange = request.headers.get('If-Range');
  const range = ifRange === null || ifRange === source.etag ? parseRange(request.headers.get('Range'), source.size) : null;
  if (range === 'unsatisfiable') {
    throw new ApiError(416, 'range_not_satisfiable', `the range is outside the ${source.size}-byte body`, { headers: { 'Content-Range': `bytes */${source.size}` } });
  }
  const head = request.method === 'HEAD';
  if (range === null) {
    common.set('Content-Length', String(source.size));
    return new Response(head ? null : await source.body(), { status: 200, headers: common });
  }
  common.set('Content-Length', String(range.length));
  common.set('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${source.size}`);
  return new Response(head ? null : await source.body(range), { status: 206, headers: common });
}

/** What serving an R2 object needs to know of it: an R2Object, or what a generation reported. */
export type StoredObject = Pick<R2Object, 'key' | 'size' | 'httpEtag'>;

/** An R2 object as a body source (ranges are read from R2, never the whole object). */
export function r2BodySource(bucket: R2Bucket, object: StoredObject, contentType: string): BodySource {
  return {
    size: object.size,
    etag: object.httpEtag,
    contentType,
    async body(range) {
      const got = await bucket.get(object.key, range ? { range } : undefined);
      if (got === null) throw new ApiError(503, 'artifact_unavailable', 'the video could not be read back from storage; try again', { headers: { 'Retry-After': '1' } });
      return got.body;
    },
  };
}

/** A full cached 200 response as a body source: ranges are cut from it. */
export function responseBodySource(response: Response): BodySource {
  const size = Number(response.headers.get('Content-Length'));
  return {
    size,
    etag: response.headers.get('ETag') ?? '""',
    contentType: response.headers.get('Content-Type') ?? 'application/octet-stream',
    async body(range) {
      if (!range) return response.body;
      const buffer = await response.arrayBuffer();
      return buffer.slice(range.offset, range.offset + range.length);
    },
  };
}
