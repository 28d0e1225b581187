/**
 * Text dictionaries: deflate preset dictionaries of caption and motion vocabulary (docs/bitstream.md, "Text coding").
 *
 * Version 1 is frozen: its bytes are part of the format. Changing a single byte means adding version 2 here
 * (and keeping version 1 so old bitstreams still decode). It was built from the train split of
 * test/corpus/texts.json: the word 1–4-grams seen in at least two texts, scored by (count − 1) × (length − 2),
 * half the budget for free-form MLLM captions and half for the reference engine's structured ones, deduplicated, and
 * ordered by rising score so the most useful strings sit nearest the data (shortest deflate distances).
 */

/** The dictionary version writers use. */
export const CURRENT_TEXT_DICTIONARY = 1;

/** Version 1: 3,999 bytes of ASCII. */
export const TEXT_DICTIONARY_V1 =
  "cat steams water, lights upward an open looking cyclist a rocky along a the dog as at a robotic " +
  "tall flower, rows of several hand into waiting pushing skyline lit lights, wide workers walk the " +
  "sky walking bowl bowl of in both friends visible ripples plays a pigeons a large hanging running " +
  "the wind assembly overhead an empty directly the boat concrete onto the crossing.near the at dawn, " +
  "crossing the ball tilts up a single slightly.steam crosses a a red at night, car backwards rides " +
  "crowd hands The drone in an empty shot; the frame.room with colourful slowly to fisherman shot from " +
  "while the still.fixed the water departure the shore.right and open in a green shot woman in a reflecting " +
  "soft in a white restaurant behind him.slowly and the window.and static.room over A group of in a " +
  "small from above.the ground.covered in beside orange behind.street camera pans bright towards the " +
  "drifts pedestrians between the in front of at the a dark board, buildings on on a kitchen skateboarder " +
  "their hands; to the right, a stone large waves red of a moves light.a white A woman a glass their " +
  "from right to while between to reveal the under a clear walks through at a window on the down the " +
  "children sits on a wooden parked leaves down blue with a from a window on across the frame sits " +
  "on a behind it.against the rocks walks through a rises; the camera glass light The camera slowly " +
  "The camera tracks hummingbird hovers camera slowly pans from left to right sits on shelves of kitchen " +
  "a small the camera does not away from the camera.camera does not move.on a windowsill, rain wooden " +
  "green of the against the woman around from a small from the shallow depth of field.The camera follows " +
  "the under a towards the camera is right A close-up of and a under through the forward the camera " +
  "stays and the of from left to camera stays people white through to the behind along the in a the " +
  "camera slowly in the background.purple; per second; moderate object low, contrast low, dominant " +
  "contrast very low, dominant top-left: dark top-left: deep yellow-green; bottom-right: mostly deep " +
  "the camera pans right bottom-left: dark muted brown-grey; green-grey; top-left: low, contrast high, " +
  "dominant rolls anticlockwise by about pale the height per second; moderate object motion centre: " +
  "light dominant hues cyan and dominant hues pink and contrast very low, brightness high, contrast " +
  "low, from camera slowly camera pans right about bottom: deep a scene 352x288, mostly a scene 854x480, " +
  "mostly little object motion on top-right: black; left: bottom-right: light orange; the camera tilts " +
  "up low, contrast very high, dominant hues yellow and in the slowly on the per second; little object " +
  "bottom-left: deep medium, contrast medium, dominant dominant hues magenta and top-left: muted camera " +
  "tilts up about the width per second; the camera is static; dominant hues red and on a brightness " +
  "medium, contrast medium, bottom-right: dark pans right about about mostly bright blue-grey; high, " +
  "contrast low, high, contrast low, dominant the camera pans with object motion on the very high, " +
  "dominant hues across the deep high, contrast medium, dominant brightness high, contrast high, brown-grey; " +
  "right: muted The camera top-right: white; left: a scene 640x480, mostly a scene 640x360, mostly " +
  "object motion at the and contrast very high, dominant the camera quickly top: moderate object motionmuted " +
  "object motion, mostly high, contrast high, dominant yellow-green; the camera tilts of the width " +
  "per green-grey; brightness medium, contrast of the height per brightness low, contrast very contrast " +
  "low, dominant hues little object motion moderate object brightness very low, contrast little object " +
  "object motion object contrast medium, dominant hues the the camera contrast high, dominant hues " +
  "brightness very high, contrast centre: contrast medium, dominant high, dominant hues bottom: brightness " +
  "low, contrast brightness high, contrast a scene mostly contrast top-left: dominant hues top-right: " +
  "brightness bottom-left: bottom-right: ";

const encoder = new TextEncoder();

/** Dictionary version → bytes. Version 0 means "no dictionary": only plain texts are allowed. */
export const TEXT_DICTIONARIES: ReadonlyMap<number, Uint8Array> = new Map([[1, encoder.encode(TEXT_DICTIONARY_V1)]]);

/** The bytes of a dictionary version, or undefined when this reader does not know it. */
export function textDictionary(version: number): Uint8Array | undefined {
  return TEXT_DICTIONARIES.get(version);
}
