import { estimateCallSeconds, GPU_COST_MODEL, type GpuCostModel } from '../gpu/cost-model';

/**
 * Source bytes per megapixel-frame assumed before the source is decoded (about 0.08 bits a pixel:
 * the sample clip, 320x240x108 frames of H.264, is 9,700 bytes per megapixel-frame). A source coded
 * at a higher rate is over-estimated, which only reserves more than it will spend.
 */
export const SOURCE_BYTES_PER_MEGAPIXEL_FRAME = 10_000;

/** Estimated seconds of encoding a source of `sourceBytes` on `engine`, from its size alone. */
export function estimateEncodeSeconds(engine: string, sourceBytes: number, model: GpuCostModel = GPU_COST_MODEL): number {
  return estimateCallSeconds(model, engine, 'encode', { frames: sourceBytes / SOURCE_BYTES_PER_MEGAPIXEL_FRAME, width: 1000, height: 1000 });
}
