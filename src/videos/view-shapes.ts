/** The public API's views of a video and its encode job, as zod: `views.ts` builds them, the OpenAPI document renders them. */
import { z } from 'zod';
import { MODES, type Mode } from '../gpu/contract';

export const Status = z.enum(['queued', 'running', 'succeeded', 'failed']);

/** A link per reconstruction mode (`/v/{id}/{mode}.mp4`), null until the video is ready. */
const modeLinks = Object.fromEntries(MODES.map((mode) => [mode, z.string().nullable()])) as Record<Mode, z.ZodNullable<z.ZodString>>;

const ErrorRef = z.object({ code: z.string(), message: z.string() }).nullable();

export const JobView = z
  .object({
    id: z.string(),
    videoId: z.string(),
    kind: z.literal('encode'),
    status: Status,
    progress: z.number().min(0).max(1),
    attempts: z.number().int(),
    error: ErrorRef,
    createdAt: z.string(),
    updatedAt: z.string(),
    links: z.object({ self: z.string(), events: z.string(), video: z.string() }),
  });

export const VideoView = z
  .object({
    id: z.string(),
    status: Status,
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
        kbps: z.number().nullable().describe('achieved rate: bytes × 8 / 1000 / duration'),
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
    links: z.object({
      self: z.string(),
      job: z.string().nullable(),
      bitstream: z.string().nullable(),
      ...modeLinks,
    }),
  });

export const UploadAccepted = z.object({ video: VideoView, job: JobView });
export const VideoList = z.object({ videos: z.array(VideoView), nextCursor: z.string().nullable() });
