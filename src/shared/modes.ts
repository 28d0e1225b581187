/**
 * The reconstruction modes, declared once. The GPU contract's `Mode`, route patterns, OpenAPI enums, view links, the
 * client decoder and Python's mode checks (through the exported schema) derive from this list. A place that does
 * something per mode says it for every mode (a `Record<Mode, …>`, or a switch whose default is `unhandledMode`), so
 * a mode added here fails the typecheck at each such place until it says what the new mode does there.
 */
export const MODES = ['tt2v', 'it2v'] as const;

/** `tt2v`: texts only (content + motion text to video); `it2v`: keyframes + motion text to video. */
export type Mode = (typeof MODES)[number];

/** The default of a switch over modes: reached only by a mode the switch does not handle, which the typecheck refuses. */
export function unhandledMode(mode: never): never {
  throw new Error(`mode ${String(mode)} is not handled here`);
}
