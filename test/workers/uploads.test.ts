// Upload limits (the video upload, the bitstream import, JSON bodies), each on both sides of its
// limit, with the R2 multipart upload aborted when a streamed upload crosses it; Idempotency-Key.
import { beforeEach, describe, expect, it } from 'vitest';
import { GENERATION_TIMING } from '../../src/gpu/contract';
import { MAX_IMPORT_BYTES } from '../../src/routes/bitstreams';
import { MULTIPART_PART_BYTES } from '../../src/uploads/store-upload';
import { installFakeGpu } from './fake-gpu';
import { call, callSettled, env, fakeMp4, recordingQueue } from './helpers';
import { CreatedKey, UploadAccepted } from '../../src/openapi/shapes';
import { json } from '../json';

beforeEach(() => {
  installFakeGpu();
});

const LIMIT = 64 * 1024;
const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; details?: unknown } }).error;
const sources = async () => (await env.BUCKET.list({ prefix: 'sources/' })).objects;
const videoRows = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM videos').first<{ n: number }>())?.n;

/** A body with no declared length, sent in chunks of `chunk` bytes; it starts like an MP4. */
function streamed(bytes: number, chunk = 16 * 1024): ReadableStream<Uint8Array> {
  const whole = fakeMp4(bytes);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= whole.byteLength) return controller.close();
      controller.enqueue(whole.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** The bucket, recording what happens to the multipart uploads made through it. */
function recordingBucket(events: string[]): R2Bucket {
  const bucket = env.BUCKET;
  return new Proxy(bucket, {
    get(target, prop) {
      if (prop === 'createMultipartUpload') {
        return async (key: string, options?: R2MultipartOptions) => {
          const upload = await target.createMultipartUpload(key, options);
          events.push('create');
          return {
            uploadPart: async (n: number, part: Uint8Array) => {
              events.push(`part ${n}`);
              return upload.uploadPart(n, part);
            },
            complete: async (parts: R2UploadedPart[]) => {
              events.push('complete');
              return upload.complete(parts);
            },
            abort: async () => {
              events.push('abort');
              return upload.abort();
            },
          };
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const post = (body: BodyInit, headers: Record<string, string>, overrides: Partial<Env>, key?: string) =>
  callSettled('/v1/videos', { method: 'POST', body, headers, ...(key ? { key } : {}) }, { ENCODE_QUEUE: recordingQueue(), ...overrides });

describe('MAX_UPLOAD_BYTES', () => {
  it('takes a declared-length upload at the limit and refuses one byte more with 413 before storing anything', async () => {
    const events: string[] = [];
    const limit = { MAX_UPLOAD_BYTES: String(LIMIT), BUCKET: recordingBucket(events) };
    const declared = (bytes: number) => ({ 'Content-Type': 'video/mp4', 'Content-Length': String(bytes) });
    expect((await post(fakeMp4(LIMIT), declared(LIMIT), limit)).status).toBe(202);
    expect(events).toEqual([]); // a declared length is stored with one fixed-length put, not a multipart upload
    const over = await post(fakeMp4(LIMIT + 1), declared(LIMIT + 1), limit);
    expect(over.status).toBe(413);
    expect(over.headers.get('Cache-Control')).toBe('no-store');
    expect(await errorOf(over)).toMatchObject({ code: 'payload_too_large', details: { maxBytes: LIMIT } });
    expect(await sources()).toHaveLength(1);
    expect(await videoRows()).toBe(1);
  });

  it('aborts the multipart upload of a streamed upload that crosses the limit, after a part or before any', async () => {
    for (const [limit, size] of [
      [LIMIT, LIMIT + 1],
      [MULTIPART_PART_BYTES + LIMIT, MULTIPART_PART_BYTES + LIMIT + 1],
    ] as const) {
      const events: string[] = [];
      const response = await post(streamed(size), { 'Content-Type': 'video/mp4' }, { MAX_UPLOAD_BYTES: String(limit), BUCKET: recordingBucket(events) });
      expect(response.status).toBe(413);
      expect(events).toEqual(size > MULTIPART_PART_BYTES ? ['create', 'part 1', 'abort'] : ['create', 'abort']);
    }
    expect(await sources()).toHaveLength(0);
    expect(await videoRows()).toBe(0);
  });

  it('stores a streamed upload at the limit through a completed multipart upload', async () => {
    const events: string[] = [];
    const response = await post(streamed(LIMIT), { 'Content-Type': 'video/mp4' }, { MAX_UPLOAD_BYTES: String(LIMIT), BUCKET: recordingBucket(events) });
    expect(response.status).toBe(202);
    expect(events).toEqual(['create', 'part 1', 'complete']);
    expect((await sources())[0]?.size).toBe(LIMIT);
  });

  it('refuses a multipart/form-data file over the limit', async () => {
    const form = new FormData();
    form.set('file', new File([fakeMp4(LIMIT + 1)], 'clip.mp4', { type: 'video/mp4' }));
    const events: string[] = [];
    const response = await post(form, {}, { MAX_UPLOAD_BYTES: String(LIMIT), BUCKET: recordingBucket(events) });
    expect(response.status).toBe(413);
    expect(events).toEqual(['create', 'abort']);
    expect(await sources()).toHaveLength(0);
  });
});

describe('the bitstream import limit', () => {
  it('reads a body at the limit (refused as a bitstream, not for its size) and refuses one byte more with 413', async () => {
    const at = await call('/v1/bitstreams', { method: 'POST', body: streamed(MAX_IMPORT_BYTES, 1024 * 1024) });
    expect(at.status).toBe(422);
    expect((await errorOf(at)).code).toMatch(/^bitstream_/);
    const over = await call('/v1/bitstreams', { method: 'POST', body: streamed(MAX_IMPORT_BYTES + 1, 1024 * 1024) });
    expect(over.status).toBe(413);
    expect(await errorOf(over)).toMatchObject({ code: 'payload_too_large', details: { maxBytes: MAX_IMPORT_BYTES } });
  });
});

describe('the JSON body limit', () => {
  const JSON_LIMIT = 64 * 1024;
  /** A key-creation body of exactly `bytes` bytes whose name is padded with `pad` (1 or 3 UTF-8 bytes). */
  const keyBody = (bytes: number, pad: string) => {
    const shell = JSON.stringify({ name: '', scopes: ['read'] });
    const padBytes = new TextEncoder().encode(pad).byteLength;
    return shell.replace('""', `"${pad.repeat(Math.floor((bytes - shell.length) / padBytes))}${'x'.repeat((bytes - shell.length) % padBytes)}"`);
  };
  const postKey = (body: string | ReadableStream) => call('/v1/keys', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } });

  it('reads a body at the limit and refuses one byte more with 413', async () => {
    const at = await postKey(keyBody(JSON_LIMIT, 'x'));
    expect(at.status).toBe(400); // read, then refused for its 65 000-character name
    expect((await errorOf(at)).code).toBe('invalid_body');
    expect((await postKey(keyBody(JSON_LIMIT + 1, 'x'))).status).toBe(413);
  });

  it('counts bytes, not characters, when the length is not declared', async () => {
    const body = new TextEncoder().encode(keyBody(JSON_LIMIT + 3, '€')); // about 21 800 characters, over 64 KiB of UTF-8
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    const response = await postKey(stream);
    expect(response.status).toBe(413);
    expect((await errorOf(response)).code).toBe('payload_too_large');
  });
});

describe('Idempotency-Key on upload', () => {
  const withKey = (key: string, apiKey?: string) => post(fakeMp4(), { 'Content-Type': 'video/mp4', 'Idempotency-Key': key }, {}, apiKey);

  it('answers a repeated upload with the first one’s video and job, storing nothing twice', async () => {
    const first = await withKey('upload-1');
    const again = await withKey('upload-1');
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    const [a, b] = await Promise.all([json(first, UploadAccepted), json(again, UploadAccepted)]);
    expect(b.video.id).toBe(a.video.id);
    expect(b.job.id).toBe(a.job.id);
    expect(await sources()).toHaveLength(1);
    expect(await videoRows()).toBe(1);
  });

  it('makes one video of concurrent uploads with one key', async () => {
    const responses = await Promise.all([withKey('race'), withKey('race'), withKey('race')]);
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202]);
    const ids = await Promise.all(responses.map(async (r) => (await json(r, UploadAccepted)).video.id));
    expect(new Set(ids).size).toBe(1);
    expect(await sources()).toHaveLength(1);
    expect(await videoRows()).toBe(1);
  });

  it('refuses the same key with another body, options or content type (422 naming what differs), storing nothing', async () => {
    const first = await post(fakeMp4(), { 'Content-Type': 'video/mp4', 'Idempotency-Key': 'bound' }, {});
    expect(first.status).toBe(202);
    const other = fakeMp4();
    other[4000] = 1;
    const cases: [string, Promise<Response>, string[]][] = [
      ['other bytes', post(other, { 'Content-Type': 'video/mp4', 'Idempotency-Key': 'bound' }, {}), ['body']],
      ['other options', callSettled('/v1/videos?targetKbps=5', { method: 'POST', body: fakeMp4(), headers: { 'Content-Type': 'video/mp4', 'Idempotency-Key': 'bound' } }, { ENCODE_QUEUE: recordingQueue() }), ['options']],
      ['other content type', post(fakeMp4(), { 'Content-Type': 'video/quicktime', 'Idempotency-Key': 'bound' }, {}), ['contentType']],
      ['all three', callSettled('/v1/videos?targetKbps=5', { method: 'POST', body: other, headers: { 'Content-Type': 'video/webm', 'Idempotency-Key': 'bound' } }, { ENCODE_QUEUE: recordingQueue() }), ['body', 'options', 'contentType']],
    ];
    for (const [name, response, mismatch] of cases) {
      const refused = await response;
      expect(refused.headers.get('Idempotent-Replayed'), name).toBeNull();
      expect(refused.status, name).toBe(422);
      expect(await errorOf(refused), name).toMatchObject({ code: 'idempotency_key_reused', details: { mismatch } });
    }
    // the same upload again, its options in another order and its type in another case, is a replay
    const again = await post(fakeMp4(), { 'Content-Type': 'Video/MP4; codecs="avc1"', 'Idempotency-Key': 'bound' }, {});
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await sources()).toHaveLength(1);
    expect(await videoRows()).toBe(1);
  });

  it('binds a multipart upload to its file, not to its boundary', async () => {
    const form = (boundary: string) => {
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
      const tail = `\r\n--${boundary}--\r\n`;
      const bytes = fakeMp4();
      const out = new Uint8Array(head.length + bytes.length + tail.length);
      out.set(new TextEncoder().encode(head));
      out.set(bytes, head.length);
      out.set(new TextEncoder().encode(tail), head.length + bytes.length);
      return post(out, { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Idempotency-Key': 'form' }, {});
    };
    expect((await form('aaaa')).status).toBe(202);
    const again = await form('bbbbbb');
    expect(again.status).toBe(202);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await videoRows()).toBe(1);
  });

  it('keeps keys apart per owner, and refuses a malformed key', async () => {
    const created = await call('/v1/keys', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'other', scopes: ['encode', 'read'] }) });
    const other = (await json(created, CreatedKey)).secret;
    const mine = await json(await withKey('shared'), UploadAccepted);
    const theirs = await json(await withKey('shared', other), UploadAccepted);
    expect(theirs.video.id).not.toBe(mine.video.id);
    expect((await withKey('k'.repeat(255))).status).toBe(202);
    for (const bad of ['k'.repeat(256), 'has space']) {
      const refused = await withKey(bad);
      expect(refused.status).toBe(400);
      expect((await errorOf(refused)).code).toBe('invalid_idempotency_key');
    }
    expect(await videoRows()).toBe(3);
  });
});

describe('segment length', () => {
  const upload = (query: string) => call(`/v1/videos?${query}`, { method: 'POST', headers: { 'Content-Type': 'video/mp4' }, body: fakeMp4(4096) });

  it('refuses segments longer than a generation finishes inside its deadline, naming the option, and stores nothing', async () => {
    const longest = GENERATION_TIMING.maxSegmentSeconds;
    for (const query of [`maxSegmentSeconds=${longest + 1}`, 'maxSegmentSeconds=600', `minSegmentSeconds=${longest + 1}`]) {
      const refused = await upload(query);
      expect(refused.status, query).toBe(400);
      const error = await errorOf(refused);
      expect(error.code).toBe('invalid_option');
      expect(error.details).toEqual({ option: query.split('=')[0] });
    }
    expect(await videoRows()).toBe(0);
    expect((await sources()).length).toBe(0);
    expect((await upload(`maxSegmentSeconds=${longest}`)).status).toBe(202);
  });
});
