import { payerByKeyId } from '../auth/gpu-budget';
import { meteredGpuCall } from '../auth/gpu-spend';
import { BitstreamError, writeBitstream } from '../bitstream';
import { liveChunkKey, liveCodedKey } from '../cache/keys';
import { gpuClientFromEnv, type GpuClient } from '../gpu/client';
import type { EncodeOptions } from '../gpu/contract';
import { GpuError } from '../gpu/errors';
import { bytesToBase64 } from '../http/base64';
import { MAX_ENCODE_ATTEMPTS } from '../jobs/attempts';
import { bitstreamFromEncode } from '../jobs/bitstream-from-encode';
import { estimateEncodeSeconds } from '../jobs/encode-estimate';
import { getVideo } from '../videos/store';
import { appendReady } from './append';
import { getChunk, getLive, updateChunk } from './store';

export type ChunkOutcome = { kind: 'done' } | { kind: 'retry'; delaySeconds: number };

/**
 * Codes chunk `n` of a live video as any upload is coded (its encode reserved from the stream's payer, its sound
 * kept), at the stream's frame rate, into a small bitstream of its own (`live/{id}/coded/{n}.cmvc`); then appends
 * what can be appended. A chunk that cannot be coded (undecodable, or failing every attempt) is marked failed and
 * passed over in order: the stream goes on.
 */
export async function encodeChunk(env: Env, videoId: string, n: number, attempt: number, gpu: GpuClient = gpuClientFromEnv(env)): Promise<ChunkOutcome> {
  const [chunk, live, video] = await Promise.all([getChunk(env.DB, videoId, n), getLive(env.DB, videoId), getVideo(env.DB, videoId)]);
  if (chunk === null || live === null || video === null || (chunk.status !== 'received' && chunk.status !== 'coding')) return { kind: 'done' };
  chunk.started_at = Date.now();
  await updateChunk(env.DB, videoId, n, { status: 'coding', attempts: attempt, started_at: chunk.started_at });
  try {
    const source = await env.BUCKET.get(liveChunkKey(videoId, n));
    if (source === null) throw new GpuError('source_missing', 'the chunk is no longer stored', null, false);
    const data = bytesToBase64(new Uint8Array(await source.arrayBuffer()));
    const payer = await payerByKeyId(env, live.charge_to);
    let callId = chunk.gpu_call_id;
    const result = await meteredGpuCall(env, payer, { estimateSeconds: estimateEncodeSeconds(env.GPU_ENGINE, chunk.bytes), held: null, onReserved: async () => {}, generation: false, callId: () => callId }, () =>
      gpu.run(
        'encode',
        { video: { data }, options: JSON.parse(video.options) as EncodeOptions },
        {
          deadlineMs: Number(env.GPU_TIMEOUT_SECONDS) * 1000,
          callId: chunk.gpu_call_id ?? undefined,
          idempotencyKey: `live.${videoId}.${n}.${attempt}`,
          onSubmitted: (submitted) => {
            callId = submitted;
            return updateChunk(env.DB, videoId, n, { gpu_call_id: submitted });
          },
        },
      ),
    );
    const coded = writeBitstream(bitstreamFromEncode(result));
    await env.BUCKET.put(liveCodedKey(videoId, n), coded, { httpMetadata: { contentType: 'application/vnd.cmvc' } });
    const codedAt = Date.now();
    await updateChunk(env.DB, videoId, n, { status: 'coded', coded_at: codedAt, width: result.video.width, height: result.video.height, error_code: null, error_message: null });
    await appendReady(env, videoId);
    // where a chunk's time went, for operators: waiting in the queue, coding, appending
    const started = chunk.started_at ?? codedAt;
    console.log(`live ${videoId} chunk ${n}: queued ${started - chunk.received_at} ms, coded ${codedAt - started} ms, appended ${Date.now() - codedAt} ms`);
    return { kind: 'done' };
  } catch (err) {
    const failure = classify(err);
    if (failure.retryable && attempt < MAX_ENCODE_ATTEMPTS) {
      const resume = err instanceof GpuError && (err.code === 'gpu_timeout' || err.code === 'gpu_unreachable');
      await updateChunk(env.DB, videoId, n, { status: 'received', error_code: failure.code, error_message: failure.message, ...(resume ? {} : { gpu_call_id: null }) });
      return { kind: 'retry', delaySeconds: Math.min(8, 2 ** (attempt - 1)) };
    }
    await updateChunk(env.DB, videoId, n, { status: 'failed', error_code: failure.code, error_message: failure.message });
  }
  await appendReady(env, videoId);
  return { kind: 'done' };
}

/** Marks a chunk whose messages were dead-lettered as failed, so the stream passes over it. */
export async function failChunk(env: Env, videoId: string, n: number, code: string, message: string): Promise<void> {
  const chunk = await getChunk(env.DB, videoId, n);
  if (chunk === null || (chunk.status !== 'received' && chunk.status !== 'coding')) return;
  await updateChunk(env.DB, videoId, n, { status: 'failed', error_code: code, error_message: message });
  await appendReady(env, videoId);
}

function classify(err: unknown): { code: string; message: string; retryable: boolean } {
  if (err instanceof GpuError) return { code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof BitstreamError) return { code: 'encode_invalid_result', message: `the encoder's result cannot be stored: ${err.message}`, retryable: false };
  console.error('live chunk encode failed unexpectedly:', err);
  return { code: 'internal_error', message: 'the chunk encode failed unexpectedly; it has been logged', retryable: true };
}
