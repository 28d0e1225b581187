// Issue 24, defect 2: the Worker gave up on a generation after 10 minutes, its upload URL lived 15 and
// the Modal function waiting for it 60. One declaration now (GENERATION_TIMING, exported to
// schemas/gpu/timing.json, which modal_app.py's SEGMENT_TIMEOUT reads): everything else derives from it.
import exported from '../../schemas/gpu/timing.json';
import { describe, expect, it } from 'vitest';
import { RESERVATION_TTL_MS } from '../../src/auth/gpu-spend';
import { GENERATION_DEADLINE_MS, RESUME_WINDOW_MS } from '../../src/generation/coordinator';
import { GENERATION_CALL_LIFETIME_MS, GENERATION_TIMING } from '../../src/gpu/contract';
import { TRANSFER_TTL_SECONDS } from '../../src/storage/artifact-transfer';

describe('the generation timing, declared once', () => {
  it('is what schemas/gpu/timing.json exports to the Python side', () => {
    expect(exported).toEqual(GENERATION_TIMING);
  });

  it('bounds the Worker\'s wait, the upload URL and the reservation alike: each lives as long as the call may run', () => {
    const lifetime = (GENERATION_TIMING.generationDeadlineSeconds + GENERATION_TIMING.queueMarginSeconds) * 1000;
    expect(GENERATION_CALL_LIFETIME_MS).toBe(lifetime);
    expect(GENERATION_DEADLINE_MS).toBe(lifetime);
    expect(TRANSFER_TTL_SECONDS * 1000).toBe(lifetime);
    expect(RESERVATION_TTL_MS).toBe(lifetime);
    expect(RESUME_WINDOW_MS).toBeGreaterThan(lifetime);
  });
});
