"""The content text: a 3x3 colour layout in named colours, brightness, contrast and dominant hues.

``a scene 320x240; top-left: dark blue; top: grey; top-right: light grey; left: brown; centre:
white; right: light grey; bottom-left: dark brown; bottom: brown; bottom-right: dark grey;
brightness medium; contrast low; dominant hues orange and blue`` — words a text-to-video model
understands, and that :func:`parse_content` turns back into a colour grid the renderer paints.
The vocabulary (name → RGB) is ``PALETTE``; docs/content-grammar.md lists it.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

import numpy as np

CELLS = ["top-left", "top", "top-right", "left", "centre", "right", "bottom-left", "bottom", "bottom-right"]

#: Every colour word the grammar uses, with the RGB it stands for.
PALETTE: dict[str, tuple[int, int, int]] = {
    "black": (12, 12, 12),
    "dark grey": (64, 64, 64),
    "grey": (128, 128, 128),
    "light grey": (192, 192, 192),
    "white": (245, 245, 245),
}
_HUES = {"red": 0, "orange": 30, "yellow": 55, "olive": 70, "green": 120, "teal": 175, "blue": 220, "purple": 275, "pink": 330}
for _name, _hue in _HUES.items():
    for _prefix, (_l, _s) in {"dark ": (0.22, 0.55), "": (0.45, 0.6), "light ": (0.72, 0.55), "pale ": (0.6, 0.25), "deep ": (0.32, 0.85)}.items():
        r, g, b = colorsys.hls_to_rgb(_hue / 360, _l, _s)
        PALETTE[f"{_prefix}{_name}"] = (round(r * 255), round(g * 255), round(b * 255))
PALETTE.update(
    {
        "charcoal": (38, 38, 38),
        "off-white": (220, 218, 212),
        "brown": (120, 80, 45),
        "dark brown": (70, 45, 25),
        "beige": (215, 195, 160),
        "sky blue": (135, 190, 235),
    }
)

_NAMES = list(PALETTE)
_RGB = np.array([PALETTE[n] for n in _NAMES], dtype=np.float32)


@dataclass(frozen=True)
class Content:
    """What a content text says.

    width / height: the source geometry in pixels (0 when the text does not say).
    grid: 9 RGB colours, row by row from the top-left (cells the text omits get the mean of the others).
    brightness / contrast: ``low``, ``medium`` or ``high``.
    """

    width: int
    height: int
    grid: list[tuple[int, int, int]]
    brightness: str
    contrast: str


def nearest_colour(rgb: np.ndarray) -> str:
    """The palette word closest to an RGB colour (weighted RGB distance)."""
    weights = np.array([0.3, 0.59, 0.11], dtype=np.float32) ** 0.5
    distances = (((_RGB - rgb.astype(np.float32)) * weights) ** 2).sum(axis=1)
    return _NAMES[int(np.argmin(distances))]


def _hue_name(rgb: np.ndarray) -> str | None:
    h, lightness, s = colorsys.rgb_to_hls(*(rgb / 255.0))
    if s < 0.2 or lightness < 0.1 or lightness > 0.92:
        return None
    degrees = h * 360
    return min(_HUES, key=lambda name: min(abs(_HUES[name] - degrees), 360 - abs(_HUES[name] - degrees)))


def shorten(clauses: list[str], max_chars: int) -> str:
    """The clauses joined by ``"; "``, dropping whole clauses from the end to fit ``max_chars``
    (the first clause is cut hard only if it alone is too long)."""
    text = clauses[0][:max_chars]
    for clause in clauses[1:]:
        if len(text) + 2 + len(clause) > max_chars:
            break
        text += "; " + clause
    return text


def describe_content(frame: np.ndarray, width: int, height: int, max_chars: int = 600) -> str:
    """The content text of an RGB ``uint8`` frame (see the module docstring).

    width / height: the source geometry in pixels, stated in the text. max_chars: the text's
    maximum length; trailing clauses are dropped to fit (the colour cells come first).
    """
    h, w = frame.shape[:2]
    words = []
    for i, cell in enumerate(CELLS):
        gy, gx = divmod(i, 3)
        block = frame[gy * h // 3 : (gy + 1) * h // 3, gx * w // 3 : (gx + 1) * w // 3].reshape(-1, 3)
        words.append(f"{cell}: {nearest_colour(block.mean(axis=0))}")
    luma = frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    brightness = "low" if luma.mean() < 85 else "high" if luma.mean() > 170 else "medium"
    contrast = "low" if luma.std() < 35 else "high" if luma.std() > 70 else "medium"
    pixels = frame[:: max(1, h // 32), :: max(1, w // 32)].reshape(-1, 3).astype(np.float32)
    hues: dict[str, int] = {}
    for px in pixels:
        name = _hue_name(px)
        if name:
            hues[name] = hues.get(name, 0) + 1
    dominant = [n for n, c in sorted(hues.items(), key=lambda kv: -kv[1]) if c >= 0.05 * len(pixels)][:2]
    hue_text = f"dominant hues {' and '.join(dominant)}" if dominant else "no dominant hue"
    return shorten([f"a scene {width}x{height}", *words, f"brightness {brightness}", f"contrast {contrast}", hue_text], max_chars)


_CELL_RE = re.compile(r"(?<![a-z-])(top-left|top-right|bottom-left|bottom-right|top|bottom|left|right|centre): ([a-z -]+?)(?=;|$)")
_SIZE_RE = re.compile(r"a scene (\d+)x(\d+)")
_LEVEL_RE = re.compile(r"(brightness|contrast) (low|medium|high)")


def parse_content(text: str) -> Content:
    """The colour grid of a content text. Any text parses: colour words outside the palette are
    ignored, cells without a known colour get the mean of the named ones (grey if none)."""
    size = _SIZE_RE.search(text)
    cells = {cell: PALETTE[name.strip()] for cell, name in _CELL_RE.findall(text) if name.strip() in PALETTE}
    levels = dict(_LEVEL_RE.findall(text))
    fallback = tuple(int(round(v)) for v in np.mean(list(cells.values()), axis=0)) if cells else PALETTE["grey"]
    return Content(
        width=int(size.group(1)) if size else 0,
        height=int(size.group(2)) if size else 0,
        grid=[cells.get(cell, fallback) for cell in CELLS],
        brightness=levels.get("brightness", "medium"),
        contrast=levels.get("contrast", "medium"),
    )
