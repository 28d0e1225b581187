import type { z } from 'zod';
import { MODES, type Mode } from '../gpu/contract';
import type { JobView, LiveView, VideoView } from './view-shapes';
import type { JobRow, VideoRow } from './store';

export function jobView(job: JobRow): z.infer<typeof JobView> {
  return {
    id: job.id,
    videoId: job.video_id,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    attempts: job.attempts,
    error: job.error_code ? { code: job.error_code, message: job.error_message ?? '' } : null,
    warnings: job.warnings ? (JSON.parse(job.warnings) as { code: string; message: string }[]) : [],
    createdAt: new Date(job.created_at).toISOString(),
    updatedAt: new Date(job.updated_at).toISOString(),
    links: { self: `/v1/jobs/${job.id}`, events: `/v1/jobs/${job.id}/events`, video: `/v1/videos/${job.video_id}` },
  };
}

/** How far (a fraction of it) an achieved rate may be from targetKbps for the view to report the target as honoured. */
export const TARGET_TOLERANCE = 0.2;

/** What a video's view shows of its live stream (the live capability's row and its chunks' counts). */
export interface LiveFacts {
  state: 'live' | 'ending' | 'ended';
  segments_coded: number;
  frames_coded: number;
  chunks_skipped: number;
  next_append: number;
  end_reason: 'ended' | 'idle' | null;
  chunksReceived: number;
  chunksCoding: number;
}

function liveView(video: VideoRow, live: LiveFacts | null): z.infer<typeof LiveView> {
  if (live === null) return null;
  return {
    state: live.state,
    segmentsCoded: live.segments_coded,
    secondsCoded: video.fps ? Math.round((live.frames_coded / video.fps) * 1000) / 1000 : 0,
    chunksReceived: live.chunksReceived,
    chunksCoding: live.chunksCoding,
    chunksSkipped: live.chunks_skipped,
    nextChunk: live.next_append,
    endReason: live.end_reason,
    ingest: live.state === 'live' ? `/v1/videos/${video.id}/live` : null,
  };
}

/** `live`: the video's live stream, for a video started live (its view then says `live` until the stream is coded). */
export function videoView(video: VideoRow, job: JobRow | null, live: LiveFacts | null = null): z.infer<typeof VideoView> {
  const streaming = live !== null && live.state !== 'ended';
  // a live video's bitstream is readable as it grows
  const ready = video.status === 'succeeded' || (streaming && video.bitstream_key !== null);
  const kbpsOf = (bytes: number | null) => (ready && bytes !== null && video.duration_seconds ? Math.round(((bytes * 8) / 1000 / video.duration_seconds) * 1000) / 1000 : null);
  const requestedTargetKbps = (JSON.parse(video.options) as { targetKbps?: number | null }).targetKbps ?? null;
  const rateFloorKbps = kbpsOf(video.rate_floor_bytes);
  const audio = video.audio ? (JSON.parse(video.audio) as { codec: 'opus'; channels: number; sampleRate: number; bytes: number }) : null;
  const kbps = kbpsOf(video.bitstream_bytes);
  // targetKbps is the video's rate: the sound, coded at its own audioKbps, is not part of it
  const videoKbps = kbpsOf(video.bitstream_bytes === null ? null : video.bitstream_bytes - (audio?.bytes ?? 0));
  // the target was below what the texts alone cost: the encoder coded texts only
  const textsOnly = requestedTargetKbps !== null && rateFloorKbps !== null && requestedTargetKbps < rateFloorKbps;
  // A target is reported only where the bitstream honours it: an engine that ignored it must not look as if it had.
  const honoured = requestedTargetKbps !== null && videoKbps !== null && (textsOnly || Math.abs(videoKbps - requestedTargetKbps) <= TARGET_TOLERANCE * requestedTargetKbps);
  return {
    id: video.id,
    status: streaming ? 'live' : video.status,
    progress: streaming ? 0 : (job?.progress ?? (ready ? 1 : 0)),
    createdAt: new Date(video.created_at).toISOString(),
    source: { bytes: video.source_bytes, contentType: video.source_type, filename: video.filename, kept: video.source_key !== null },
    video: ready
      ? {
          width: video.width,
          height: video.height,
          fps: video.fps,
          frameCount: video.frame_count,
          durationSeconds: video.duration_seconds,
          segmentCount: video.segment_count,
        }
      : null,
    bitstream: ready
      ? {
          bytes: video.bitstream_bytes,
          sha256: video.bitstream_hash,
          kbps,
          videoKbps,
          audio: audio && { codec: audio.codec, kbps: kbpsOf(audio.bytes) ?? 0, bytes: audio.bytes, channels: audio.channels, sampleRate: audio.sampleRate },
          engine: video.engine,
          targetKbps: honoured ? requestedTargetKbps : null,
          requestedTargetKbps,
          rateFloorKbps,
          textsOnly,
        }
      : null,
    error: video.error_code ? { code: video.error_code, message: video.error_message ?? '' } : null,
    live: liveView(video, live),
    links: {
      self: `/v1/videos/${video.id}`,
      job: job ? `/v1/jobs/${job.id}` : null,
      bitstream: ready ? `/v1/videos/${video.id}/bitstream` : null,
      // the whole video exists once the stream ends (its segments and HLS playlist are there while live)
      ...(Object.fromEntries(MODES.map((mode) => [mode, ready && !streaming ? `/v/${video.id}/${mode}.mp4` : null])) as Record<Mode, string | null>),
    },
  };
}
