/** Response shapes of the public API, as zod: the views are typed by them and the OpenAPI document renders them. */
import { z } from 'zod';
import { MODES, type Mode } from '../gpu/contract';

export const Status = z.enum(['queued', 'running', 'succeeded', 'failed']);

export const ErrorBody = z
  .object({ error: z.object({ code: z.string().describe('stable, machine-readable'), message: z.string(), details: z.unknown().optional() }) });

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
        targetKbps: z.number().nullable().describe('the targetKbps asked for at upload, or null'),
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

export { CreatedKey, KeyView } from '../auth/key-view';

export const UsageReport = z.object({
  from: z.string(),
  to: z.string(),
  usage: z.array(z.object({ keyId: z.string(), day: z.string(), requests: z.number(), bytesServed: z.number(), gpuSeconds: z.number(), generations: z.number() })),
  /** GPU seconds not settled yet, when the report is about one key: a given-up call joins `gpuSeconds` once its follow-up learns what it spent. */
  inFlight: z
    .object({
      keyId: z.string(),
      reservedSeconds: z.number().describe('GPU seconds held by calls not settled yet, at their estimates'),
      reservations: z.number().int().nonnegative(),
      followUps: z
        .object({
          pending: z.number().int().nonnegative().describe('calls the Worker gave up on that may still be running; asked about until they end'),
          settled: z.number().int().nonnegative().describe('today: given-up calls settled to the seconds the GPU function reported'),
          unreported: z.number().int().nonnegative().describe('today: given-up calls whose seconds could not be learnt, charged their estimate or wall time'),
        })
        .describe("calls the Worker gave up on without learning what they spent, followed up by the key's meter"),
    })
    .optional(),
});

export const SignedUrls = z.object({
  expiresAt: z.string(),
  urls: z.array(z.object({ mode: z.enum(MODES), format: z.enum(['mp4', 'hls', 'bitstream']), segment: z.number().int().nullable(), url: z.string() })),
});
export const Health = z.object({ ok: z.boolean(), worker: z.object({ ok: z.boolean(), engine: z.string() }), gpu: z.record(z.string(), z.unknown()) });
export const Pending = z.object({ status: z.literal('running'), progress: z.number().nullable(), artifact: z.string() });
