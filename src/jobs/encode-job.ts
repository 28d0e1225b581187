import { BitstreamError, sha256Hex, writeBitstream } from '../bitstream';
import { payerByKeyId } from '../auth/gpu-budget';
import { meteredGpuCall } from '../auth/gpu-spend';
import { gpuClientFromEnv, type GpuClient } from '../gpu/client';
import type { EncodeOptions } from '../gpu/contract';
import { GpuError } from '../gpu/errors';
import { bytesToBase64 } from '../http/base64';
import { bitstreamKey } from '../cache/keys';
import { signSourceUrl } from '../storage/source-url';
import { bitstreamRateFacts } from '../videos/bitstream-facts';
import { getJob, getVideo, updateJob, updateVideo, type VideoRow } from '../videos/store';
import { MAX_ENCODE_ATTEMPTS } from './attempts';
import { bitstreamFromEncode } from './bitstream-from-encode';
import { estimateEncodeSeconds } from './encode-estimate';

/** Sources up to this size travel inline to the GPU function; larger ones by a signed URL it fetches. */
export const INLINE_SOURCE_MAX_BYTES = 8 * 1024 * 1024;
/** Lifetime of a signed source URL, in seconds. */
const SOURCE_URL_TTL_SECONDS = 3600;
const PROGRESS_WRITE_INTERVAL_MS = 1000;

export type EncodeOutcome = { kind: 'done' } | { kind: 'retry'; delaySeconds: number } | { kind: 'failed'; code: string };

/**
 * Runs one encode job: source → GPU encode (submit/poll) → bitstream v1 → R2 (content-addressed) → D1.
 * Returns what the queue should do with the message; never throws for a failure it can name.
 */
export async function runEncodeJob(env: Env, jobId: string, attempt: number, gpu: GpuClient = gpuClientFromEnv(env), chargeTo?: string): Promise<EncodeOutcome> {
  const job = await getJob(env.DB, jobId);
  if (!job || job.status === 'succeeded' || job.status === 'failed') return { kind: 'done' };
  const video = await getVideo(env.DB, job.video_id);
  if (!video || video.source_key === null) {
    await updateJob(env.DB, job.id, { status: 'failed', error_code: 'video_deleted', error_message: 'the video was deleted before it was encoded' });
    return { kind: 'done' };
  }
  await updateJob(env.DB, job.id, { status: 'running', attempts: attempt, error_code: null, error_message: null });
  await updateVideo(env.DB, video.id, { status: 'running' });

  try {
    const source = await sourceForGpu(env, video);
    let lastProgressWrite = 0;
    const payer = await payerByKeyId(env, chargeTo ?? video.owner);
    const estimateSeconds = estimateEncodeSeconds(env.GPU_ENGINE, video.source_bytes);
    let callId = job.gpu_call_id;
    const result = await meteredGpuCall(env, payer, { estimateSeconds, held: null, onReserved: async () => {}, generation: false, callId: () => callId }, () =>
      gpu.run(
        'encode',
        { video: source, options: JSON.parse(video.options) as EncodeOptions },
        {
          deadlineMs: Number(env.GPU_TIMEOUT_SECONDS) * 1000,
          callId: job.gpu_call_id ?? undefined,
          idempotencyKey: `enc.${job.id}.${attempt}`,
          onSubmitted: (submitted) => {
            callId = submitted;
            return updateJob(env.DB, job.id, { gpu_call_id: submitted });
          },
          onProgress: async (progress) => {
            if (progress === null || Date.now() - lastProgressWrite < PROGRESS_WRITE_INTERVAL_MS) return;
            lastProgressWrite = Date.now();
            await updateJob(env.DB, job.id, { progress: Math.min(0.95, progress) });
          },
        },
      ),
    );
    const content = bitstreamFromEncode(result);
    const bytes = writeBitstream(content);
    const hash = await sha256Hex(bytes);
    const key = bitstreamKey(hash);
    if ((await env.BUCKET.head(key)) === null) {
      await env.BUCKET.put(key, bytes, { httpMetadata: { contentType: 'application/vnd.cmvc' }, sha256: hash });
    }
    const deleteSource = video.keep_source === 0;
    await updateVideo(env.DB, video.id, {
      status: 'succeeded',
      bitstream_key: key,
      bitstream_hash: hash,
      bitstream_bytes: bytes.byteLength,
      ...bitstreamRateFacts(bytes, content),
      width: result.video.width,
      height: result.video.height,
      fps: result.video.fps,
      frame_count: result.video.frameCount,
      duration_seconds: result.video.durationSeconds,
      segment_count: result.segments.length,
      engine: `${result.engine.id}@${result.engine.version}`,
      error_code: null,
      error_message: null,
      ...(deleteSource ? { source_key: null } : {}),
    });
    // what the encode did not do as asked but that did not stop it (a source's sound that does not decode)
    await updateJob(env.DB, job.id, { status: 'succeeded', progress: 1, warnings: result.warnings.length > 0 ? JSON.stringify(result.warnings) : null });
    if (deleteSource) await env.BUCKET.delete(video.source_key);
    if ((await getVideo(env.DB, video.id)) === null) await dropUnreferencedBitstream(env, key, hash);
    return { kind: 'done' };
  } catch (err) {
    const failure = classify(err);
    if (failure.retryable && attempt < MAX_ENCODE_ATTEMPTS) {
      // A call that timed out or could not be polled may still finish: the next attempt resumes it.
      const resume = err instanceof GpuError && (err.code === 'gpu_timeout' || err.code === 'gpu_unreachable');
      await updateJob(env.DB, job.id, { status: 'queued', error_code: failure.code, error_message: failure.message, ...(resume ? {} : { gpu_call_id: null }) });
      await updateVideo(env.DB, video.id, { status: 'queued' });
      return { kind: 'retry', delaySeconds: Math.min(60, 2 ** attempt) };
    }
    await markFailed(env, job.id, video.id, failure.code, failure.message);
    return { kind: 'failed', code: failure.code };
  }
}

/** The video was deleted while it was being encoded: leave nothing behind that no video uses. */
async function dropUnreferencedBitstream(env: Env, key: string, hash: string): Promise<void> {
  const used = await env.DB.prepare('SELECT 1 FROM videos WHERE bitstream_hash = ? LIMIT 1').bind(hash).first();
  if (!used) await env.BUCKET.delete(key);
}

export async function markFailed(env: Env, jobId: string, videoId: string, code: string, message: string) {
  await updateJob(env.DB, jobId, { status: 'failed', error_code: code, error_message: message });
  await updateVideo(env.DB, videoId, { status: 'failed', error_code: code, error_message: message });
}

async function sourceForGpu(env: Env, video: VideoRow): Promise<{ data: string } | { url: string }> {
  if (video.source_bytes > INLINE_SOURCE_MAX_BYTES) {
    return { url: await signSourceUrl(env.PUBLIC_ORIGIN, env.URL_SIGNING_SECRET, video.id, SOURCE_URL_TTL_SECONDS) };
  }
  const object = await env.BUCKET.get(video.source_key as string);
  if (object === null) throw new GpuError('source_missing', 'the uploaded source is no longer stored', null, false);
  return { data: bytesToBase64(new Uint8Array(await object.arrayBuffer())) };
}

function classify(err: unknown): { code: string; message: string; retryable: boolean } {
  if (err instanceof GpuError) return { code: err.code, message: err.message, retryable: err.retryable };
  if (err instanceof BitstreamError) return { code: 'encode_invalid_result', message: `the encoder's result cannot be stored: ${err.message}`, retryable: false };
  console.error('encode job failed unexpectedly:', err);
  return { code: 'internal_error', message: 'the encode failed unexpectedly; it has been logged', retryable: true };
}
