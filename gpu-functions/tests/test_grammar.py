"""The motion and content grammars: texts read back into the numbers they were written from."""

import numpy as np
import pytest

from cmvc_gpu.engines.reference.content import CELLS, PALETTE, describe_content, parse_content, shorten
from cmvc_gpu.engines.reference.motion import Motion, describe_motion, parse_motion


@pytest.mark.parametrize(
    "m",
    [
        Motion(pan_x=0.021, zoom=0.03, objects=0.2),
        Motion(pan_x=-0.045, pan_y=-0.02, objects=0.45),
        Motion(pan_x=0.3, pan_y=0.12, zoom=-0.12, objects=0.8, keyframe_seconds=1.25),
        Motion(pan_y=0.07),
        Motion(zoom=-0.25),
        Motion(),
    ],
)
def test_motion_text_round_trips(m):
    text = describe_motion(m)
    back = parse_motion(text)
    for field in ("pan_x", "pan_y", "zoom"):
        assert abs(getattr(back, field) - getattr(m, field)) <= 0.0005 + 1e-9, (text, back)
    assert back.objects == m.objects
    assert abs(back.keyframe_seconds - m.keyframe_seconds) <= 0.005


def test_motion_texts_read_as_english():
    assert describe_motion(Motion()) == "the camera is static; no object motion"
    assert describe_motion(Motion(objects=0.45)) == "the camera is static; moderate object motion"
    assert describe_motion(Motion(pan_x=0.021, zoom=0.03, objects=0.2)) == (
        "the camera slowly pans right about 2.1% of the width per second and slowly zooms in about 3.0% per second; little object motion"
    )
    diagonal = describe_motion(Motion(pan_x=-0.1, pan_y=0.08))
    assert diagonal.startswith("the camera moves diagonally, panning left about 10.0% of the width per second and tilting down about 8.0% of the height")
    assert "tilts up" in describe_motion(Motion(pan_y=-0.1)) and "zooms out" in describe_motion(Motion(zoom=-0.1))
    assert describe_motion(Motion(pan_x=0.004)) .startswith("the camera is static")  # below the threshold


def test_motion_random_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = Motion(*(float(v) for v in rng.uniform(-0.6, 0.6, 3)), objects=float(rng.choice([0.0, 0.2, 0.45, 0.8])))
        back = parse_motion(describe_motion(m))
        for field in ("pan_x", "pan_y", "zoom"):
            expected = getattr(m, field) if abs(getattr(m, field)) >= 0.005 else 0.0
            assert abs(getattr(back, field) - expected) <= 0.0005 + 1e-9


def test_any_text_parses():
    assert parse_motion("a cat jumps over the fence") == Motion()
    assert parse_content("").grid == [PALETTE["grey"]] * 9
    partial = parse_content("a scene 64x48; top-left: blue; centre: mauve-ish; bottom: white")
    assert partial.grid[0] == PALETTE["blue"] and partial.grid[7] == PALETTE["white"]
    assert partial.grid[4] == tuple(round(v) for v in np.mean([PALETTE["blue"], PALETTE["white"]], axis=0))


def test_content_text_names_the_colours_it_saw():
    frame = np.zeros((90, 90, 3), dtype=np.uint8)
    frame[:30, :30] = PALETTE["blue"]
    frame[30:60, 30:60] = PALETTE["white"]
    frame[60:, 60:] = PALETTE["dark green"]
    text = describe_content(frame, 90, 90)
    assert "top-left: blue" in text and "centre: white" in text and "bottom-right: dark green" in text
    assert "brightness low" in text
    parsed = parse_content(text)
    assert parsed.grid[0] == PALETTE["blue"] and parsed.grid[4] == PALETTE["white"] and parsed.grid[8] == PALETTE["dark green"]
    assert (parsed.width, parsed.height) == (90, 90)


def test_content_round_trips_every_palette_colour():
    for name, rgb in PALETTE.items():
        frame = np.full((30, 30, 3), rgb, dtype=np.uint8)
        text = describe_content(frame, 30, 30)
        assert all(f"{cell}: {name}" in text for cell in CELLS), (name, text)
        assert parse_content(text).grid == [rgb] * 9


def test_content_text_fits_max_chars_by_dropping_clauses():
    frame = np.full((30, 30, 3), PALETTE["teal"], dtype=np.uint8)
    full = describe_content(frame, 30, 30)
    short = describe_content(frame, 30, 30, max_chars=60)
    assert len(short) <= 60 and full.startswith(short) and not short.endswith(";")
    assert shorten(["abcdefghijklmnopqrstuvwxyz", "x"], 16) == "abcdefghijklmnop"
