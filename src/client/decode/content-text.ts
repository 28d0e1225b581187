/**
 * The content text's colour layout (gpu-functions/docs/content-grammar.md): mirrors `PALETTE` and
 * `parse_content` in gpu-functions/cmvc_gpu/engines/reference/content.py.
 */

export const CELLS = ['top-left', 'top', 'top-right', 'left', 'centre', 'right', 'bottom-left', 'bottom', 'bottom-right'] as const;

export type Rgb = [number, number, number];

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** colorsys.hls_to_rgb. */
function hlsToRgb(h: number, l: number, s: number): Rgb {
  if (s === 0) return [l, l, l];
  const m2 = l <= 0.5 ? l * (1 + s) : l + s - l * s;
  const m1 = 2 * l - m2;
  const v = (hue: number) => {
    const x = hue - Math.floor(hue);
    if (x < 1 / 6) return m1 + (m2 - m1) * x * 6;
    if (x < 0.5) return m2;
    if (x < 2 / 3) return m1 + (m2 - m1) * (2 / 3 - x) * 6;
    return m1;
  };
  return [v(h + 1 / 3), v(h), v(h - 1 / 3)];
}

function buildPalette(): Map<string, Rgb> {
  const palette = new Map<string, Rgb>([
    ['black', [12, 12, 12]],
    ['dark grey', [64, 64, 64]],
    ['grey', [128, 128, 128]],
    ['light grey', [192, 192, 192]],
    ['white', [245, 245, 245]],
  ]);
  const hues: [string, number][] = [['red', 0], ['orange', 30], ['yellow', 55], ['olive', 70], ['green', 120], ['teal', 175], ['blue', 220], ['purple', 275], ['pink', 330]];
  const shades: [string, number, number][] = [['dark ', 0.22, 0.55], ['', 0.45, 0.6], ['light ', 0.72, 0.55], ['pale ', 0.6, 0.25], ['deep ', 0.32, 0.85]];
  for (const [name, hue] of hues) {
    for (const [prefix, l, s] of shades) palette.set(`${prefix}${name}`, hlsToRgb(hue / 360, l, s).map((c) => roundHalfEven(c * 255)) as Rgb);
  }
  for (const [name, rgb] of [
    ['charcoal', [38, 38, 38]],
    ['off-white', [220, 218, 212]],
    ['brown', [120, 80, 45]],
    ['dark brown', [70, 45, 25]],
    ['beige', [215, 195, 160]],
    ['sky blue', [135, 190, 235]],
  ] as [string, Rgb][])
    palette.set(name, rgb);
  return palette;
}

/** Every colour word of the grammar and the RGB it stands for. */
export const PALETTE: ReadonlyMap<string, Rgb> = buildPalette();

export interface Content {
  /** 9 RGB colours, row by row from the top-left (cells the text omits get the mean of the named ones). */
  grid: Rgb[];
  /** `low`, `medium` or `high`. */
  contrast: string;
}

const CELL = /(?<![a-z-])(top-left|top-right|bottom-left|bottom-right|top|bottom|left|right|centre): ([a-z -]+?)(?=;|$)/g;
const LEVEL = /(brightness|contrast) (low|medium|high)/g;

/** The colour grid of a content text. Any text parses (as in the reference engine): unknown words are ignored. */
export function parseContent(text: string): Content {
  const cells = new Map<string, Rgb>();
  for (const [, cell, name] of text.matchAll(CELL)) {
    const rgb = PALETTE.get((name as string).trim());
    if (rgb) cells.set(cell as string, rgb);
  }
  const levels = new Map<string, string>();
  for (const [, key, value] of text.matchAll(LEVEL)) levels.set(key as string, value as string);
  const named = [...cells.values()];
  const fallback: Rgb = named.length
    ? ([0, 1, 2].map((c) => roundHalfEven(named.reduce((sum, rgb) => sum + rgb[c]!, 0) / named.length)) as Rgb)
    : (PALETTE.get('grey') as Rgb);
  return { grid: CELLS.map((cell) => cells.get(cell) ?? fallback), contrast: levels.get('contrast') ?? 'medium' };
}
