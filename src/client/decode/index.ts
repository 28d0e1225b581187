/** The client-side decoder core: bitstream to frames, everywhere (browser, Node, CLI). */
export { decodeBitstream, decodeSegment, decodesKeyframes, geometryOf, parseForDecode, type DecodedSegment, type DecodeOptions, type Geometry } from './decoder';
export { pixelsOf, recipeSize, rowsOf, type FrameRecipe, type RecipeAt } from './frame-recipe';
export { DecodeError, type DecodeErrorCode } from './errors';
export { rgbFromRgba, type DecodeImage, type RgbImage } from './image';
export { inMotionGrammar, parseMotion, type Motion } from './motion-text';
export { lumaPsnr } from './psnr';
export type { RowRange, WarpPlan } from './warp';
