"""The pipeline calls planned per segment, their time and memory model, ``npm run gpu:plan`` and
the tables generated from it. Torch-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmvc_gpu.engines.model import cost, sampling
from cmvc_gpu.engines.model.config import DEFAULT_SCHEDULE, FEW_STEP_SCHEDULE, SCHEDULES, ClipConfig
from cmvc_gpu.engines.model.segment_plan import ModelCall, Source, native_keyframes, plan_segment

ROOT = Path(__file__).resolve().parents[2]
CLIP = ClipConfig()  # 16 frames/s, at most 81 frames per call


def covered(calls: list[ModelCall], total: int) -> set[int]:
    return {f for c in calls for f in range(c.start, c.start + c.frames)}


class TestSegmentPlan:
    def test_it2v_bridges_each_keyframe_pair_then_extrapolates(self):
        calls = plan_segment("it2v", 160, [0, 80], CLIP)
        assert calls == [
            ModelCall("flf2v", 0, 81, 81, Source("keyframe", 0), Source("keyframe", 1)),
            ModelCall("i2v", 80, 80, 81, Source("keyframe", 1)),
        ]
        assert covered(calls, 160) == set(range(160))

    def test_one_keyframe_is_image_to_video_from_it(self):
        assert plan_segment("it2v", 64, [0], CLIP) == [ModelCall("i2v", 0, 64, 65, Source("keyframe", 0))]
        held = plan_segment("it2v", 64, [10], CLIP)  # frames before it hold it
        assert held == [ModelCall("i2v", 10, 54, 57, Source("keyframe", 0))]

    def test_a_gap_longer_than_a_call_is_walked_then_closed(self):
        calls = plan_segment("it2v", 201, [0, 200], CLIP)
        assert [c.model for c in calls] == ["i2v", "i2v", "flf2v"]
        assert calls[-1].first == Source("call", 1) and calls[-1].last == Source("keyframe", 1)
        for before, after in zip(calls, calls[1:]):
            assert after.start == before.start + before.frames - 1
        assert calls[-1].start + calls[-1].frames - 1 == 200
        assert all(c.num_frames <= CLIP.max_frames_per_call for c in calls)

    def test_tt2v_is_text_to_video_then_continued(self):
        calls = plan_segment("tt2v", 160, [], CLIP)
        assert [(c.model, c.start, c.frames, c.num_frames) for c in calls] == [("t2v", 0, 81, 81), ("i2v", 80, 80, 81)]
        assert calls[1].first == Source("call", 0)

    @pytest.mark.parametrize("total", [1, 2, 5, 81, 82, 161, 500])
    def test_every_call_fits_and_every_frame_is_made(self, total):
        for keys in ([0], [0, total - 1], list(range(0, total, 37))):
            keys = sorted(set(keys))
            calls = plan_segment("it2v", total, keys, CLIP)
            assert all(c.num_frames <= CLIP.max_frames_per_call and (c.num_frames - 1) % 4 == 0 for c in calls)
            assert covered(calls, total) | set(keys) == set(range(total)) or keys[0] > 0
            for i, c in enumerate(calls):
                for source in (c.first, c.last):
                    assert source is None or source.kind == "keyframe" or source.index < i

    def test_keyframes_are_mapped_onto_the_native_grid(self):
        assert native_keyframes([0, 48, 95], 24.0, 64, CLIP) == [0, 32, 63]
        assert native_keyframes([0, 1], 24.0, 64, CLIP) == [0, 1]
        assert native_keyframes([0, 0], 24.0, 64, CLIP) == [0]

    def test_bad_keyframes_are_refused(self):
        with pytest.raises(ValueError, match="at least one keyframe"):
            plan_segment("it2v", 10, [], CLIP)
        with pytest.raises(ValueError, match="sorted, unique and in \\[0, 10\\)"):
            plan_segment("it2v", 10, [3, 10], CLIP)

    def test_the_encoder_never_leaves_a_gap_one_call_cannot_bridge(self):
        for count, fps in ((240, 24.0), (300, 30.0), (97, 24.0), (1, 24.0), (1000, 60.0)):
            positions = sampling.keyframe_positions(0, count, fps, CLIP.max_keyframe_gap_seconds)
            gaps = [b - a for a, b in zip(positions, positions[1:])]
            assert positions[0] == 0 and all(g / fps <= CLIP.max_keyframe_gap_seconds for g in gaps)


class TestCostModel:
    def test_the_fit_reproduces_its_public_figures(self):
        for width, height, seconds in ((832, 480, 366.0), (1280, 720, 974.0)):
            clip = ClipConfig(max_area=width * height)
            estimate = cost.call_seconds("i2v", 81, width, height, DEFAULT_SCHEDULE, "H200", clip)
            assert estimate == pytest.approx(seconds + cost.CALL_OVERHEAD_SECONDS, rel=1e-6)
        few = cost.call_seconds("i2v", 81, 832, 480, FEW_STEP_SCHEDULE, "H200", CLIP)
        assert 14.0 <= few <= 40.0  # LightX2V's measured 14 s, estimated long

    def test_four_seconds_at_480p_fits_in_both_configurations(self):
        plan = cost.plan_clip(4, 24, 832, 480, list(SCHEDULES.values()), cost.DEFAULT_GPU, cost.CALL_LIMIT_SECONDS)
        assert not plan.too_long() and not plan.too_big()
        modes = {(c.mode, c.schedule) for c in plan.calls}
        assert {("tt2v", "default"), ("it2v", "default"), ("tt2v", "few"), ("it2v", "few")} <= modes

    def test_long_clips_are_split_so_every_generation_call_fits(self):
        plan = cost.plan_clip(60, 30, 1920, 1080, list(SCHEDULES.values()), "H100", cost.CALL_LIMIT_SECONDS)
        generation = [c for c in plan.calls if c.function.startswith("generate")]
        assert len(generation) >= 24 and all(c.seconds <= cost.CALL_LIMIT_SECONDS for c in generation)
        assert all(c.peak_memory_bytes <= plan.gpu_memory_bytes for c in generation)

    def test_long_encodes_are_split_into_calls_that_fit(self):
        plan = cost.plan_clip(600, 30, 1920, 1080, [FEW_STEP_SCHEDULE], "H100", cost.CALL_LIMIT_SECONDS)
        encode = [c for c in plan.calls if c.mode == "encode"]
        assert [c.function for c in encode[:2]] == ["encode.analyse", "encode.describe"] and len(encode) > 10
        assert all(c.seconds <= cost.CALL_LIMIT_SECONDS for c in encode)
        groups = cost.encode_groups(600, 18000)
        assert sorted(i for g in groups for i in g) == list(range(600))

    def test_a_smaller_gpu_or_a_slower_one_is_reported(self):
        plan = cost.plan_clip(4, 24, 832, 480, [DEFAULT_SCHEDULE], "A100", cost.CALL_LIMIT_SECONDS)
        assert plan.too_long()

    def test_cost_file_holds_this_engines_entry(self):
        cost_file = json.loads((ROOT.parent / "schemas" / "gpu-cost.json").read_text())
        assert cost_file["version"] == 1
        assert cost_file["engines"]["model"] == cost.cost_entry(DEFAULT_SCHEDULE)


def plan_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_plan.py"), *args], capture_output=True, text=True, timeout=60
    )


class TestPlanCommand:
    def test_json_lists_every_call_and_exits_zero_when_all_fit(self):
        out = plan_cli("--seconds", "4", "--fps", "24", "--width", "832", "--height", "480", "--json")
        assert out.returncode == 0, out.stderr
        plan = json.loads(out.stdout)
        assert (plan["gpu"], plan["callLimitSeconds"]) == ("H100", 600)
        keys = {"mode", "function", "frames", "width", "height", "steps", "seconds", "peakMemoryBytes"}
        assert plan["calls"] and all(keys <= call.keys() for call in plan["calls"])
        assert {c["steps"] for c in plan["calls"] if c["mode"] == "it2v"} == {40, 4}

    def test_exits_one_when_a_call_does_not_fit(self):
        out = plan_cli("--seconds", "4", "--fps", "24", "--width", "832", "--height", "480", "--gpu", "A100")
        assert out.returncode == 1 and "does not fit" in out.stderr

    def test_the_cost_file_is_generated_from_the_model(self):
        out = plan_cli("--cost-file")
        assert json.loads(out.stdout) == json.loads((ROOT.parent / "schemas" / "gpu-cost.json").read_text())

    def test_usage_errors_exit_two(self):
        assert plan_cli("--seconds", "4").returncode == 2

    def test_the_docs_table_is_generated_from_the_model(self):
        out = plan_cli("--docs")
        assert out.returncode == 0
        docs = (ROOT / "docs" / "model-engine.md").read_text()
        assert out.stdout.strip() in docs, "regenerate it: npm run gpu:plan -- --docs"

