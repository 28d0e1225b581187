/** Request bodies of the access routes, as zod: validation and the OpenAPI document both use them. */
import { z } from 'zod';
import { Mode } from '../gpu/contract';
import { SCOPES } from './principal';
import { MAX_SIGNED_URL_SECONDS } from './signed-url';

export const CreateKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
    owner: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/).optional().describe('whose videos the key sees; defaults to the key itself'),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    limits: z
      .object({
        requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
        gpuSecondsPerDay: z.number().min(0).max(10_000_000).optional(),
        storageBytes: z.number().int().min(0).max(2 ** 50).optional().describe("bytes the key's owner may store (sources not deleted yet plus bitstreams), checked on the key's uploads; default STORAGE_BYTES_PER_OWNER"),
      })
      .strict()
      .optional(),
  })
  .strict();

export const MintUrlsBody = z
  .object({
    modes: z.array(Mode).min(1).max(2),
    expiresIn: z.number().int().min(1).max(MAX_SIGNED_URL_SECONDS).describe('seconds'),
    options: z
      .object({
        w: z.union([z.int(), z.string()]).optional().describe('output width, even, 16..1920'),
        h: z.union([z.int(), z.string()]).optional().describe('output height, even, 16..1920'),
        fps: z.union([z.number(), z.string()]).optional().describe('generated frame rate, 1..60'),
        interp: z.union([z.literal(1), z.literal(2), z.literal(4), z.string()]).optional().describe('frame-rate multiplier by interpolation'),
        seed: z.union([z.int(), z.string()]).optional().describe('generation seed, 0..4294967295'),
        format: z.literal('mp4').optional(),
        maxKbps: z.union([z.number(), z.string()]).optional().describe('it2v only: reconstruct from the bitstream cut to at most this many kbps, 0.1..1000'),
        audio: z.union([z.literal(0), z.literal(1), z.string()]).optional().describe('0: a silent reconstruction; 1 (default): with the bitstream\'s sound'),
      })
      .strict()
      .optional()
      .describe('reconstruction options, as in the URL; values are checked as the URL would be'),
    segments: z.array(z.number().int().min(0).max(99_999)).max(1000).optional().describe('segment numbers; omitted: the whole video'),
    formats: z
      .array(z.enum(['mp4', 'hls', 'bitstream']))
      .min(1)
      .max(3)
      .default(['mp4'])
      .describe('mp4: the reconstruction itself; hls: its HLS playlist (every URI inside comes signed); bitstream: the bitstream (tt2v: its texts-only cut) for the client decoder, no reconstruction options; hls and bitstream not with segments'),
    bindToKey: z.boolean().default(true).describe("the URL is for the key's own players: no per-viewer limit on top of the key's. Either way the minting key pays for the URL's GPU time, its limits apply, and revoking it ends the URL"),
  })
  .strict();

