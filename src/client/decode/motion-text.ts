/**
 * The motion text grammar (gpu-functions/docs/motion-grammar.md): mirrors `parse_motion` in
 * gpu-functions/cmvc_gpu/engines/reference/motion.py, plus a strict check that the whole text is in the grammar.
 */
import { DecodeError } from './errors';

/** Camera motion of a segment (units as the reference engine's `Motion`). */
export interface Motion {
  /** Camera pan, fraction of the frame width per second (positive: to the right). */
  panX: number;
  /** Camera tilt, fraction of the frame height per second (positive: down). */
  panY: number;
  /** Scale change per second as a fraction (positive: in); after t seconds the scale is `(1 + zoom) ** t`. */
  zoom: number;
  /** Object motion 0..1. */
  objects: number;
  /** Seconds from the segment's start where the keyframe / content text was taken (v1.0 streams). */
  keyframeSeconds: number;
}

const NUM = String.raw`(\d+(?:\.\d+)?)`;
const PAN = new RegExp(`pan(?:s|ning) (left|right) about ${NUM}% of the width per second`);
const TILT = new RegExp(`tilt(?:s|ing) (up|down) about ${NUM}% of the height per second`);
const ZOOM = new RegExp(`zoom(?:s|ing) (in|out) about ${NUM}% per second`);
const OBJECTS = /\b(no|little|moderate|strong) object motion/;
const KEYFRAME = new RegExp(`keyframe at ${NUM} s`);
const OBJECT_LEVELS: Record<string, number> = { no: 0.0, little: 0.2, moderate: 0.45, strong: 0.8 };

const SPEED = '(?:(?:slowly|quickly) )?';
const MOVE = [
  `${SPEED}pans (?:left|right) about ${NUM}% of the width per second`,
  `${SPEED}tilts (?:up|down) about ${NUM}% of the height per second`,
  `moves diagonally, panning (?:left|right) about ${NUM}% of the width per second and tilting (?:up|down) about ${NUM}% of the height per second`,
].join('|');
const ZOOM_MOVE = `${SPEED}zooms (?:in|out) about ${NUM}% per second`;
const CAMERA = `the camera (?:is static|(?:${MOVE})(?: and ${ZOOM_MOVE})?|${ZOOM_MOVE})`;
/** The whole grammar. The objects clause is optional because encoders drop trailing clauses to fit a length limit. */
const GRAMMAR = new RegExp(`^${CAMERA}(?:; (?:no|little|moderate|strong) object motion)?(?:; keyframe at ${NUM} s)?$`);

/** Whether `text` is a sentence of the motion grammar. */
export function inMotionGrammar(text: string): boolean {
  return GRAMMAR.test(text);
}

/**
 * The numbers of a motion text. `strict` (the default): a text outside the grammar is a `bad_motion_text`
 * DecodeError. Lenient: as the reference engine, phrases it does not know count as no motion.
 */
export function parseMotion(text: string, options: { strict?: boolean; segment?: number } = {}): Motion {
  if (options.strict !== false && !inMotionGrammar(text)) {
    throw new DecodeError('bad_motion_text', `the motion text ${JSON.stringify(text.slice(0, 120))} is outside the motion grammar`, { segment: options.segment });
  }
  const pan = PAN.exec(text);
  const tilt = TILT.exec(text);
  const zoom = ZOOM.exec(text);
  const objects = OBJECTS.exec(text);
  const keyframe = KEYFRAME.exec(text);
  return {
    panX: pan ? ((pan[1] === 'right' ? 1 : -1) * Number(pan[2])) / 100 : 0,
    panY: tilt ? ((tilt[1] === 'down' ? 1 : -1) * Number(tilt[2])) / 100 : 0,
    zoom: zoom ? ((zoom[1] === 'in' ? 1 : -1) * Number(zoom[2])) / 100 : 0,
    objects: objects ? (OBJECT_LEVELS[objects[1] as string] as number) : 0,
    keyframeSeconds: keyframe ? Number(keyframe[1]) : 0,
  };
}

/** The scale `t` seconds along `motion` ((1 + zoom) ** t, or 1 for a zoom of -100 % or less). */
export function scaleAt(motion: Motion, t: number): number {
  return motion.zoom > -1 ? (1 + motion.zoom) ** t : 1;
}
