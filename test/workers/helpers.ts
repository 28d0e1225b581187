import { createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import worker from '../../src/index';
import type { EncodeMessage } from '../../src/jobs/messages';
import { loadBitstream } from '../../src/cache/bitstreams';
import { parseReconstructionOptions } from '../../src/shared/reconstruction-options';
import { planReconstruction, type GenerationSpec } from '../../src/generation/plan';
import type { Mode } from '../../src/gpu/contract';
import { UploadAccepted, VideoView } from '../../src/openapi/shapes';
import type { FakeGpu } from './fake-gpu';
import { errorBody, json } from '../json';

export const ADMIN_KEY = 'test-admin-key-0123456789';
export const ORIGIN = 'http://cmvc.test';

/** A few bytes that sniff as an MP4 (an `ftyp` box); the fake GPU never decodes them. */
export function fakeMp4(bytes = 4096): Uint8Array {
  const out = new Uint8Array(bytes);
  out.set([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]); // size 24, 'ftyp', 'isom'
  return out;
}

type CallInit = RequestInit & { key?: string | null };

function request(path: string, init: CallInit): Request {
  const headers = new Headers(init.headers);
  const key = init.key === undefined ? ADMIN_KEY : init.key;
  if (key !== null) headers.set('Authorization', `Bearer ${key}`);
  return new Request(`${ORIGIN}${path}`, { ...init, headers });
}

export function call(path: string, init: CallInit = {}): Promise<Response> {
  return exports.default.fetch(request(path, init));
}

/**
 * Calls the Worker with its real bindings (some overridden) and waits for everything the request
 * scheduled with `waitUntil` (edge-cache writes, prefetches) before answering: no sleeping.
 */
export async function callSettled(path: string, init: CallInit = {}, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request(path, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/**
 * An encode queue that only records what is sent to it. Miniflare would deliver a real queue's
 * messages to the consumer in the background, on its own schedule; tests that use this one deliver
 * them by hand (`deliverEncode`), so they know when an encode runs and with which GPU behaviour.
 */
export function recordingQueue(sent: EncodeMessage[] = []): Queue<EncodeMessage> {
  return {
    send: async (message: EncodeMessage) => void sent.push(message),
    sendBatch: async (messages: Iterable<MessageSendRequest<EncodeMessage>>) => void sent.push(...[...messages].map((m) => m.body)),
  } as unknown as Queue<EncodeMessage>;
}

function postVideo(body: BodyInit, headers: Record<string, string>, init: CallInit): Promise<Response> {
  return callSettled('/v1/videos', { method: 'POST', body, headers, ...init }, { ENCODE_QUEUE: recordingQueue() });
}

/** Uploads a video; its encode message is recorded, not delivered (see `recordingQueue`). */
export async function upload(body: BodyInit = fakeMp4(), headers: Record<string, string> = { 'Content-Type': 'video/mp4' }, init: CallInit = {}) {
  const response = await postVideo(body, headers, init);
  return { response, json: await json(response, UploadAccepted) };
}

/** An upload the API refuses: its response and the error it answered with. */
export async function refusedUpload(body: BodyInit, headers: Record<string, string> = { 'Content-Type': 'video/mp4' }, init: CallInit = {}) {
  const response = await postVideo(body, headers, init);
  return { response, error: await errorBody(response) };
}

/** Delivers one encode message (attempt `attempts`, 1-based) to the queue consumer, as the queue would. */
export async function deliverEncode(message: EncodeMessage, attempts = 1, { queue = 'cmvc-encode', overrides = {} as Partial<Env> } = {}) {
  const batch = createMessageBatch(queue, [{ id: `m-${message.jobId}-${attempts}`, timestamp: new Date(), attempts, body: message }]);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<EncodeMessage>, { ...env, ...overrides }, ctx);
  return getQueueResult(batch, ctx);
}

/** Uploads a fake clip and runs its encode job on the fake GPU; the id of the encoded video. */
export async function encodedVideo(gpu: FakeGpu, segments = 1): Promise<string> {
  gpu.segments = segments;
  const { json } = await upload();
  await deliverEncode({ jobId: json.job.id, videoId: json.video.id });
  return json.video.id;
}

/** The generation a default request for the whole video in `mode` plans (its artifact key names its coordinator). */
export async function plannedSpec(videoId: string, mode: Mode): Promise<GenerationSpec> {
  const video = await json(await call(`/v1/videos/${videoId}`), VideoView);
  const sha256 = video.bitstream?.sha256 as string;
  const bitstream = await loadBitstream(env.BUCKET, `bitstreams/${sha256}.cmvc`, sha256);
  const options = parseReconstructionOptions(new URLSearchParams(), { width: 320, height: 240, fps: 24, seed: 0 });
  return planReconstruction({ bitstream, bitstreamHash: sha256, mode, segment: null, options, engine: env.GPU_ENGINE });
}

export { env };
