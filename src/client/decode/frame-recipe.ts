/**
 * A frame as the decoder defines it, before any pixel is computed: a keyframe as it is, one image seen through a
 * camera warp (extrapolation, TT2V), or two warped images blended by weight (an in-between). `pixelsOf` computes
 * its pixels on the CPU (CLI, Node, 2D canvas); the WebGL2 renderer evaluates the same recipe in a fragment
 * shader, so per frame only the two warps' sampling tables cross to the GPU, and each keyframe once.
 */
import type { RgbImage } from './image';
import { warp, warpBlend, type RowRange, type WarpPlan } from './warp';

export type FrameRecipe =
  | { kind: 'still'; image: RgbImage }
  | { kind: 'warp'; image: RgbImage; plan: WarpPlan }
  /** `round(warpA(a) * weightA + warpB(b) * weightB)`, each warp rounded to 8 bits first. */
  | { kind: 'blend'; a: RgbImage; planA: WarpPlan; weightA: number; b: RgbImage; planB: WarpPlan; weightB: number };

/** Frame `i` of a segment, described on its own (any order: playback, seeking). */
export type RecipeAt = (i: number) => FrameRecipe;

/** The recipe's frame size. */
export function recipeSize(recipe: FrameRecipe): { width: number; height: number } {
  const { width, height } = recipe.kind === 'blend' ? recipe.a : recipe.image;
  return { width, height };
}

/** The frame's pixels, written into `out` when given (a still keyframe is returned as it is, never copied). */
export function pixelsOf(recipe: FrameRecipe, out?: Uint8Array): RgbImage {
  const { width, height } = recipeSize(recipe);
  if (recipe.kind === 'still') return recipe.image;
  return { width, height, data: rowsOf(recipe, { from: 0, to: height }, out ?? new Uint8Array(width * height * 3)) };
}

/**
 * Rows `[rows.from, rows.to)` of the frame's pixels, into `out` (which holds only those rows): the same bytes as
 * the rows of `pixelsOf`, so a frame may be computed in parts, in parallel.
 */
export function rowsOf(recipe: FrameRecipe, rows: RowRange, out: Uint8Array): Uint8Array {
  const { width, height } = recipeSize(recipe);
  switch (recipe.kind) {
    case 'still':
      out.set(recipe.image.data.subarray(rows.from * width * 3, rows.to * width * 3));
      return out;
    case 'warp':
      return warp(recipe.image.data, recipe.plan, width, height, out, rows);
    case 'blend':
      return warpBlend(recipe.a.data, recipe.planA, recipe.weightA, recipe.b.data, recipe.planB, recipe.weightB, width, height, out, rows);
  }
}
