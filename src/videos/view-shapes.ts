/** The public API's views of a video and its encode job, as zod: `views.ts` builds them, the OpenAPI document renders them. */
import { z } from 'zod';
import { MODES, type Mode } from '../gpu/contract';

export const Status = z.enum(['queued', 'running', 'succeeded', 'failed']);
/** A video's status: a job's, or `live` while a live video takes chunks or codes the last of them. */
export const VideoStatus = z.enum([...Status.options, 'live']);

/** A live video's stream (null for an uploaded one): ended, it is an ordinary video that remembers it was live. */
export const LiveView = z
  .object({
    state: z.enum(['live', 'ending', 'ended']).describe('live: taking chunks; ending: ended, coding what was received; ended: an ordinary video'),
    segmentsCoded: z.number().int().describe('segments in the bitstream so far'),
    secondsCoded: z.number().describe('seconds of video in the bitstream so far'),
    chunksReceived: z.number().int(),
    chunksCoding: z.number().int().describe('received and not yet in the bitstream'),
    chunksSkipped: z.number().int().describe('chunks passed over: failed to code, or never arrived (see the job\'s warnings)'),
    nextChunk: z.number().int().describe('the lowest chunk number not yet in the bitstream nor passed over'),
    endReason: z.enum(['ended', 'idle']).nullable().describe('ended: POST …/live/end; idle: no chunk for LIVE_IDLE_SECONDS'),
    ingest: z.string().nullable().describe('the ingest URL while the stream takes chunks'),
  })
  .nullable();

/** A link per reconstruction mode (`/v/{id}/{mode}.mp4`), null until the video is ready. */
const modeLinks = Object.fromEntries(MODES.map((mode) => [mode, z.string().nullable()])) as Record<Mode, z.ZodNullable<z.ZodString>>;

const ErrorRef = z.object({ code: z.string(), message: z.string() }).nullable();

/** The bitstream's sound (v1.2): codec, its share of the rate, its bytes (audo chunks with framing), channels and sample rate. */
export const AudioView = z
  .object({
    codec: z.literal('opus'),
    kbps: z.number().describe('the audio\'s rate: its bytes × 8 / 1000 / duration'),
    bytes: z.number().int(),
    channels: z.number().int().min(1).max(2),
    sampleRate: z.number().int().describe('samples per second the audio decodes to (48000 for Opus)'),
  })
  .nullable()
  .describe('null: no sound (audioKbps 0, a source without audio, or one whose audio did not decode: see the job\'s warnings)');

export const JobView = z
  .object({
    id: z.string(),
    videoId: z.string(),
    kind: z.literal('encode'),
    status: Status,
    progress: z.number().min(0).max(1),
    attempts: z.number().int(),
    error: ErrorRef,
    warnings: z
      .array(z.object({ code: z.string(), message: z.string() }))
      .describe('what the encode did not do as asked but that did not stop it: audio_undecodable, audio_damaged, audio_short, audio_stream_missing'),
    createdAt: z.string(),
    updatedAt: z.string(),
    links: z.object({ self: z.string(), events: z.string(), video: z.string() }),
  });

export const VideoView = z
  .object({
    id: z.string(),
    status: VideoStatus,
    progress: z.number().min(0).max(1),
    createdAt: z.string(),
    source: z.object({ bytes: z.number().int(), contentType: z.string(), filename: z.string().nullable(), kept: z.boolean() }),
    video: z
      .object({
        width: z.number().int().nullable(),
        height: z.number().int().nullable(),
        fps: z.number().nullable(),
        frameCount: z.number().int().nullable(),
        durationSeconds: z.number().nullable(),
        segmentCount: z.number().int().nullable(),
      })
      .nullable(),
    bitstream: z
      .object({
        bytes: z.number().int().nullable(),
        sha256: z.string().nullable(),
        kbps: z.number().nullable().describe('achieved rate of the whole stream, video and audio: bytes × 8 / 1000 / duration'),
        videoKbps: z.number().nullable().describe('the rate of all but the audio (what targetKbps aims at)'),
        audio: AudioView,
        engine: z.string().nullable(),
        targetKbps: z
          .number()
          .nullable()
          .describe('the targetKbps asked for at upload when the encode honoured it (kbps within a fifth of it, or texts only below the floor); otherwise null'),
        requestedTargetKbps: z.number().nullable().describe('the targetKbps asked for at upload, honoured or not; null when none was'),
        rateFloorKbps: z.number().nullable().describe('the texts-only rate: every keyframe dropped'),
        textsOnly: z.boolean().describe('targetKbps was below the texts-only floor, so no keyframe was coded'),
      })
      .nullable(),
    error: ErrorRef,
    live: LiveView,
    links: z.object({
      self: z.string(),
      job: z.string().nullable(),
      bitstream: z.string().nullable(),
      ...modeLinks,
    }),
  });

export const UploadAccepted = z.object({ video: VideoView, job: JobView });
export const LiveStarted = z.object({
  video: VideoView,
  ingest: z.object({
    url: z.string().describe('PUT {url}/{n} each chunk n = 0, 1, …; POST {url}/end to finish'),
    token: z.string().describe("a bearer token for this video's ingest only, shown once"),
  }),
});
export const ChunkAccepted = z.object({
  video: VideoView,
  chunk: z.object({ n: z.number().int(), bytes: z.number().int(), sha256: z.string(), status: z.enum(['received', 'coding', 'coded', 'failed', 'appended', 'skipped']) }),
});
export const VideoList = z.object({ videos: z.array(VideoView), nextCursor: z.string().nullable() });
