/** Response shapes of the public API, as zod: the views are typed by them and the OpenAPI document renders them. */
import { z } from 'zod';
import { MODES } from '../gpu/contract';

export const ErrorBody = z
  .object({ error: z.object({ code: z.string().describe('stable, machine-readable'), message: z.string(), details: z.unknown().optional() }) });

export { ChunkAccepted, JobView, LiveStarted, Status, UploadAccepted, VideoList, VideoView } from '../videos/view-shapes';
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
/** What the internal artifact upload answers (internal-document.ts). */
export const StoredArtifact = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export const Pending = z.object({ status: z.literal('running'), progress: z.number().nullable(), artifact: z.string() });
