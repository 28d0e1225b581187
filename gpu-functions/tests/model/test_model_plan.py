"""The pipeline calls planned per segment, their time and memory model, ``npm run gpu:plan`` and
the tables generated from it. Torch-free."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cmvc_gpu import contract
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
            made = covered(calls, total) | set(keys)
            held = set(range(max(made) + 1, total))  # a tail too short for a call holds the last frame made
            assert len(held) < 5 and made | held == set(range(total)) or keys[0] > 0
            for i, c in enumerate(calls):
                for source in (c.first, c.last):
                    assert source is None or source.kind == "keyframe" or source.index < i

    @pytest.mark.parametrize("fps", [8.0, 10.0, 12.0, 12.5, 15.0, 24.0, 29.97, 60.0])
    def test_no_14b_call_is_spent_on_a_frame_or_two_at_the_end(self, fps):
        """Defect 11 of issue 24: a segment a native frame or two longer than a call (5.1 s), or a
        keyframe near its end, left a 2-frame image-to-video call of the 14B model: a whole call, a
        container and its idle window for 0.1 s. Those last frames hold the last frame made."""
        from cmvc_gpu.engines.model.segment_plan import min_call_frames, native_frame_count

        for count in range(1, int(12 * fps)):
            total = native_frame_count(count, fps, CLIP)
            keys = native_keyframes(sampling.keyframe_positions(0, count, fps, CLIP.max_keyframe_gap_seconds), fps, total, CLIP)
            for mode in ("tt2v", "it2v"):
                calls = plan_segment(mode, total, keys, CLIP)
                walked = [c for c in calls if c.model == "i2v"]
                assert all(c.frames >= min_call_frames(CLIP) for c in walked), (count, mode, calls)
                made = covered(calls, total) | set(keys)
                assert total - 1 - max(made) < min_call_frames(CLIP)  # only a short tail is held
        # A keyframe two frames before the end (the rate planner may put one there): no call after it.
        assert [c.model for c in plan_segment("it2v", 160, [0, 80, 158], CLIP)] == ["flf2v", "flf2v"]

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



class TestSegmentWallTime:
    """Defect 2 of issue 24: each call was checked against 600 s, never a segment's wall time (its
    calls as scheduled, cold starts included) against the Worker's generation deadline."""

    DEADLINE = contract.timing()["generationDeadlineSeconds"]

    def plan(self, segment_seconds: float, keyframes=None, schedules=None):
        return cost.plan_clip(
            60, 24, 832, 480, schedules or list(SCHEDULES.values()), "H100", cost.CALL_LIMIT_SECONDS,
            max_segment_seconds=segment_seconds, keyframes=keyframes,
        )

    def test_a_sequential_segment_adds_its_calls_and_one_cold_start(self):
        serving = cost.containers(DEFAULT_SCHEDULE)
        calls = plan_segment("tt2v", 160, [], CLIP)
        seconds = [100.0, 400.0]
        wall, cold, started, starting = cost.schedule_segment(calls, seconds, serving)
        generator = serving["i2v"].cold_start_seconds()
        assert started == 1 and starting == pytest.approx(generator)  # the I2V call reuses the T2V call's container
        assert wall == pytest.approx(cost.CONTAINER_START_SECONDS + generator + 500.0)
        assert cold == pytest.approx(cost.CONTAINER_START_SECONDS + generator)

    def test_calls_on_keyframes_run_side_by_side_each_on_its_own_container(self):
        serving = cost.containers(DEFAULT_SCHEDULE)
        calls = plan_segment("it2v", 160, [0, 50, 100], CLIP)  # two bridges and an extrapolation, all at once
        wall, _, started, _ = cost.schedule_segment(calls, [300.0, 300.0, 200.0], serving)
        assert started == 3
        assert wall == pytest.approx(cost.CONTAINER_START_SECONDS + serving["flf2v"].cold_start_seconds() + 300.0)

    def test_cold_starts_read_the_weights_as_stored_at_the_cited_rate(self):
        generator = cost.containers(DEFAULT_SCHEDULE)["i2v"]
        assert cost.VOLUME_READ_BYTES_PER_SECOND == 2.5e9  # Modal: Volumes "provide up to 2.5 GB/s"
        assert generator.stored_bytes() > 1.9 * generator.resident_bytes() * 0.95  # fp32 on the hub, bf16 loaded
        assert generator.cold_start_seconds() == pytest.approx(cost.CONTAINER_START_SECONDS + generator.stored_bytes() / 2.5e9)

    def test_ten_second_segments_of_a_minute_fit_the_deadline_in_both_schedules(self):
        for keyframes in (None, 1):
            plan = self.plan(10, keyframes)
            assert not plan.late() and not plan.too_long()
            assert {(s.mode, s.schedule) for s in plan.segments} == {(m, s) for m in ("tt2v", "it2v") for s in SCHEDULES}
            assert all(s.cold_start_seconds > cost.CONTAINER_START_SECONDS for s in plan.segments)

    def test_the_longest_segment_the_api_accepts_fits_with_headroom_and_the_next_does_not(self):
        longest = contract.timing()["maxSegmentSeconds"]
        schema = json.loads((contract.schemas_dir() / "encode.request.json").read_text())
        options = schema["properties"]["options"]["properties"]
        assert options["maxSegmentSeconds"]["maximum"] == longest
        for keyframes in (None, 1):  # one keyframe: image-to-video walks the segment call after call
            plan = self.plan(longest, keyframes)
            assert max(s.wall_seconds for s in plan.segments) <= cost.DEADLINE_HEADROOM * self.DEADLINE
        assert max(s.wall_seconds for s in self.plan(longest + 5, 1).segments) > cost.DEADLINE_HEADROOM * self.DEADLINE

    def test_a_minute_long_segment_is_late(self):
        plan = self.plan(60)
        late = {(s.mode, s.schedule) for s in plan.late()}
        assert ("tt2v", "default") in late  # 77 s + 11 image-to-video calls of ~414 s, one after another

    def test_the_cost_counts_cold_starts_and_idle_containers(self):
        plan = self.plan(10)
        rows = {(c.mode, c.schedule): c for c in plan.costs}
        assert set(rows) == {(m, s) for m in ("tt2v", "it2v") for s in SCHEDULES}
        it2v = rows[("it2v", "default")]
        assert it2v.cold_starts == 12  # 6 segments x (a bridge and an extrapolation side by side)
        assert it2v.idle_seconds == 12 * cost.SCALEDOWN_SECONDS
        calls = sum(c.seconds for c in plan.calls if c.mode == "it2v" and c.schedule == "default")
        assert it2v.gpu_seconds == pytest.approx(calls + 12 * cost.containers(DEFAULT_SCHEDULE)["flf2v"].cold_start_seconds(), rel=0.05)
        assert it2v.usd == pytest.approx((it2v.gpu_seconds + it2v.idle_seconds) / 3600 * cost.PRICE_PER_HOUR["H100"])


class TestPlanCommandSegments:
    def test_json_has_segments_and_cost_and_exits_zero_for_the_done_when_clip(self):
        out = plan_cli("--seconds", "60", "--fps", "24", "--width", "832", "--height", "480", "--json")
        assert out.returncode == 0, out.stderr
        plan = json.loads(out.stdout)
        segment_keys = {"mode", "schedule", "index", "wallSeconds", "coldStartSeconds", "deadlineSeconds"}
        assert plan["segments"] and all(set(s) == segment_keys for s in plan["segments"])
        assert all(s["wallSeconds"] <= s["deadlineSeconds"] and s["coldStartSeconds"] > 0 for s in plan["segments"])
        assert {s["schedule"] for s in plan["segments"]} == {"default", "few"}
        cost_keys = {"mode", "schedule", "calls", "gpuSeconds", "coldStarts", "idleSeconds", "usd", "pricePerGpuHour"}
        assert len(plan["cost"]) == 4 and all(set(c) == cost_keys for c in plan["cost"])
        assert all(c["calls"] >= 12 for c in plan["cost"])

    def test_exits_one_when_a_segment_is_late(self):
        out = plan_cli("--seconds", "60", "--fps", "24", "--width", "832", "--height", "480", "--segment-seconds", "60", "--json")
        assert out.returncode == 1 and "past the 1800-s generation deadline" in out.stderr
        assert json.loads(out.stdout)["segments"][0]["wallSeconds"] > 1800

    def test_keyframes_set_the_bridges_per_segment(self):
        out = plan_cli("--seconds", "10", "--fps", "24", "--width", "832", "--height", "480", "--keyframes", "4", "--steps", "default", "--json")
        assert out.returncode == 0, out.stderr
        it2v = [c for c in json.loads(out.stdout)["calls"] if c["mode"] == "it2v"]
        assert [c["model"] for c in it2v] == ["flf2v", "flf2v", "flf2v", "i2v"]
        assert plan_cli("--seconds", "10", "--fps", "24", "--width", "832", "--height", "480", "--keyframes", "0").returncode == 2
