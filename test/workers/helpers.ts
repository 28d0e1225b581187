import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const ORIGIN = 'http://cmvc.test';

/** A few bytes that sniff as an MP4 (an `ftyp` box); the fake GPU never decodes them. */
export function fakeMp4(bytes = 4096): Uint8Array {
  const out = new Uint8Array(bytes);
  out.set([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]); // size 24, 'ftyp', 'isom'
  return out;
}

export function call(path: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? ADMIN_KEY : init.key;
  if (key !== null) headers.set('Authorization', `Bearer ${key}`);
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { ...init, headers }));
}

export async function upload(body: BodyInit = fakeMp4(), headers: Record<string, string> = { 'Content-Type': 'video/mp4' }) {
  const response = await call('/v1/videos', { method: 'POST', body, headers });
  return { response, json: (await response.json()) as any };
}

export { env };
