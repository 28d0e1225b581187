/** The API key as the API shows it (never its secret, but once at creation): the key routes send it and the OpenAPI document renders it. */
import { z } from 'zod';
import { SCOPES } from './principal';

export const KeyView = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    prefix: z.string().describe('the first 12 characters of the secret'),
    scopes: z.array(z.enum(SCOPES)),
    limits: z.object({
      requestsPerMinute: z.number().nullable(),
      gpuSecondsPerDay: z.number().nullable(),
      storageBytes: z.number().nullable().describe("bytes the key's owner may store, checked on the key's uploads; null: STORAGE_BYTES_PER_OWNER"),
    }),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  });
export const CreatedKey = KeyView.extend({ secret: z.string().describe('shown once') });

