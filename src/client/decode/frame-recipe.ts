/**
 * A frame as the decoder defines it, before any pixel is computed: a keyframe as it is, one image seen through a
 * camera warp (extrapolation, TT2V), or two warped images blended by weight (an in-between). `pixelsOf` computes
 * its pixels on the CPU (CLI, Node, 2D canvas); the WebGL2 renderer evaluates the same recipe in a fragment
 * shader, so per frame only the two warps' sampling tables cross to the GPU, and each keyframe once.
 */
import type { RgbImage } from './image';
import { warp, warpBlend, type WarpPlan } from './warp';

export type FrameRecipe =
  | { kind: 'still'; image: RgbImage }
  | { kind: 'warp'; image: RgbImage; plan: WarpPlan }
  /** `round(warpA(a) * weightA + warpB(b) * weightB)`, each warp rounded to 8 bits first. */
  | { kind: 'blend'; a: RgbImage; planA: WarpPlan; weightA: number; b: RgbImage; planB: WarpPlan; weightB: number };

/** Frame `i` of a segment, described on its own (any order: playback, seeking). */
export type RecipeAt = (i: number) => FrameRecipe;

/** The frame's pixels, written into `out` when given (a still keyframe is returned as it is, never copied). */
export function pixelsOf(recipe: FrameRecipe, out?: Uint8Array): RgbImage {
  switch (recipe.kind) {
    case 'still':
      return recipe.image;
    case 'warp': {
      const { width, height, data } = recipe.image;
      return { width, height, data: warp(data, recipe.plan, width, height, out ?? new Uint8Array(data.length)) };
    }
    case 'blend': {
      const { width, height } = recipe.a;
      const data = warpBlend(recipe.a.data, recipe.planA, recipe.weightA, recipe.b.data, recipe.planB, recipe.weightB, width, height, out ?? new Uint8Array(recipe.a.data.length));
      return { width, height, data };
    }
  }
}
