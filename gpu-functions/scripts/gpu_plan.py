"""``npm run gpu:plan -- --seconds S --fps F --width W --height H [--segment-seconds S] [--keyframes N]
[--gpu H100|H200|A100] [--steps default|few] [--json | --docs]``: every GPU call each mode makes for a
clip of that shape, with estimated seconds and peak memory (``cmvc_gpu.engines.model.cost``); each
segment's wall time as its calls are scheduled, cold starts included, against the generation deadline
(``schemas/gpu/timing.json``); and what each mode and schedule costs (calls, GPU-seconds with cold
starts, idle ``scaledown_window`` seconds, dollars). Exits 1 when any call exceeds the call limit or
its GPU's memory, or any segment its deadline; 2 on bad arguments.

``--docs`` prints the tables of gpu-functions/docs/model-engine.md and ``--cost-file`` the content
of schemas/gpu-cost.json with this engine's entry replaced (tests keep both equal to these outputs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
COST_FILE = Path(__file__).resolve().parents[2] / "schemas" / "gpu-cost.json"

from cmvc_gpu.engines.model import cost  # noqa: E402
from cmvc_gpu.engines.model.config import SCHEDULES, ClipConfig  # noqa: E402
from cmvc_gpu.engines.model.cost import (  # noqa: E402
    CALL_LIMIT_SECONDS,
    DEFAULT_GPU,
    GPUS,
    Plan,
    plan_clip,
)

#: The clips of the docs' table: (seconds, fps, width, height).
DOC_CLIPS = ((4, 24, 832, 480), (10, 24, 832, 480), (60, 24, 832, 480), (60, 30, 1920, 1080))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu:plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--fps", type=float)
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--segment-seconds", type=float, default=10.0, help="segment length (s): scene cuts only at this limit [10]")
    parser.add_argument("--keyframes", type=int, help="IT2V keyframes per segment (default: the encoder's, one at most every 5 s)")
    parser.add_argument("--gpu", choices=sorted(GPUS), default=DEFAULT_GPU)
    parser.add_argument("--steps", choices=sorted(SCHEDULES), help="one configuration (default: both)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument("--docs", action="store_true", help="the docs' markdown tables")
    parser.add_argument("--cost-file", action="store_true", help="schemas/gpu-cost.json with this engine's entry")
    args = parser.parse_args(argv)
    if not (args.docs or args.cost_file) and None in (args.seconds, args.fps, args.width, args.height):
        parser.error("--seconds, --fps, --width and --height are required")
    return args


def make_plan(args: argparse.Namespace) -> Plan:
    schedules = [SCHEDULES[args.steps]] if args.steps else list(SCHEDULES.values())
    return plan_clip(
        args.seconds,
        args.fps,
        args.width,
        args.height,
        schedules,
        args.gpu,
        CALL_LIMIT_SECONDS,
        max_segment_seconds=args.segment_seconds,
        keyframes=args.keyframes,
    )


def table(plan: Plan) -> str:
    head = f"{'mode':6} {'schedule':8} {'seg':>3} {'function':16} {'gpu':5} {'frames':>6} {'size':>9} {'steps':>5} {'seconds':>8} {'peak GB':>8}"
    rows = [head, "-" * len(head)]
    for c in plan.calls:
        size = f"{c.width}x{c.height}"
        rows.append(
            f"{c.mode:6} {c.schedule if c.mode != 'encode' else '-':8} {c.segment:>3} {c.function:16} {c.gpu:5} "
            f"{c.frames:>6} {size:>9} {c.steps:>5} {c.seconds:>8.1f} {c.peak_memory_bytes / 1e9:>8.1f}"
        )
    rows.append(f"call limit {plan.call_limit_seconds:.0f} s; {plan.gpu} memory {plan.gpu_memory_bytes / 1e9:.0f} GB")
    rows.append("")
    rows.append(f"{'mode':6} {'schedule':8} {'seg':>3} {'wall s':>8} {'cold s':>7} {'deadline s':>10}")
    for s in plan.segments:
        late = "  LATE" if s.late else ""
        rows.append(f"{s.mode:6} {s.schedule:8} {s.index:>3} {s.wall_seconds:>8.0f} {s.cold_start_seconds:>7.0f} {s.deadline_seconds:>10.0f}{late}")
    rows.append("")
    rows.append(f"{'mode':6} {'schedule':8} {'calls':>5} {'GPU s':>8} {'cold':>5} {'idle s':>7} {'USD':>7} {'USD/GPU-h':>9}")
    for c in plan.costs:
        rows.append(
            f"{c.mode:6} {c.schedule:8} {c.calls:>5} {c.gpu_seconds:>8.0f} {c.cold_starts:>5} {c.idle_seconds:>7.0f} {c.usd:>7.2f} {c.price_per_gpu_hour:>9.2f}"
        )
    return "\n".join(rows)


def containers_table() -> str:
    """Resident weights of each deployed GPU class and its peak in the longest call at 832x480."""
    rows = [
        "| class | GPU | schedule | resident weights (GB) | peak of an 81-frame 832x480 call (GB) | GPU memory (GB) |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    clip = ClipConfig()
    for schedule in SCHEDULES.values():
        for model, container in cost.containers(schedule, DEFAULT_GPU).items():
            if model == "t2v":
                continue  # the Generator, listed once (as i2v, its larger call)
            peak = cost.call_memory(model, clip.max_frames_per_call, 832, 480, container, clip)
            rows.append(
                f"| {container.name} ({', '.join(container.weights)}) | {container.gpu} | {schedule.name} | "
                f"{container.resident_bytes() / 1e9:.1f} | {peak / 1e9:.1f} | {GPUS[container.gpu][0] / 1e9:.0f} |"
            )
    encoder = cost.encode_calls(1, 24, 832, 480, 1.0)[0]
    rows.append(
        f"| Encoder (qwen25_vl_7b, clip_b32) | {cost.ENCODER_GPU[0]} | - | "
        f"{(cost.WEIGHTS['qwen25_vl_7b'] + cost.WEIGHTS['clip_b32']) / 1e9:.1f} | {encoder.peak_memory_bytes / 1e9:.1f} | "
        f"{cost.ENCODER_GPU[1] / 1e9:.0f} |"
    )
    return "\n".join(rows)


def docs_table() -> str:
    """Per clip, mode and schedule on the default GPU: the calls, the longest segment's wall time, and
    the cost as a user pays it (calls and cold starts, containers idling their scaledown window)."""
    rows = [
        "| clip | mode | schedule | GPU calls | longest call (s) | longest segment, wall (s) | peak memory (GB) "
        "| GPU-seconds (calls + cold starts) | cold starts | idle (s) | cost (USD) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for seconds, fps, width, height in DOC_CLIPS:
        for schedule in SCHEDULES.values():
            plan = plan_clip(seconds, fps, width, height, [schedule], DEFAULT_GPU, CALL_LIMIT_SECONDS)
            for row in plan.costs:
                calls = [c for c in plan.calls if c.mode == row.mode]
                wall = max(s.wall_seconds for s in plan.segments if s.mode == row.mode)
                rows.append(
                    f"| {seconds:g} s {width}x{height} @ {fps:g} | {row.mode} | {schedule.name} | {row.calls} | "
                    f"{max(c.seconds for c in calls):.0f} | {wall:.0f} | {max(c.peak_memory_bytes for c in calls) / 1e9:.1f} | "
                    f"{row.gpu_seconds:.0f} | {row.cold_starts} | {row.idle_seconds:.0f} | {row.usd:.2f} |"
                )
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.cost_file:
        # The file also holds other engines' entries (the reference engine's is measured by
        # measure_cost.py): replace this engine's entry only.
        cost_file = json.loads(COST_FILE.read_text()) if COST_FILE.exists() else {"version": 1, "engines": {}}
        cost_file["engines"]["model"] = cost.cost_entry(SCHEDULES["default"])
        print(json.dumps(cost_file, indent=2, sort_keys=True))
        return 0
    if args.docs:
        print(containers_table())
        print()
        print(docs_table())
        return 0
    try:
        plan = make_plan(args)
    except ValueError as error:
        print(f"gpu:plan: {error}", file=sys.stderr)
        return 2
    print(json.dumps(plan.as_json()) if args.json else table(plan))
    bad = plan.too_long() + plan.too_big()
    for call in bad:
        print(
            f"gpu:plan: {call.mode} {call.function} segment {call.segment} does not fit: {call.seconds:.0f} s "
            f"(limit {plan.call_limit_seconds:.0f}), {call.peak_memory_bytes / 1e9:.1f} GB on {call.gpu}",
            file=sys.stderr,
        )
    late = plan.late()
    for segment in late:
        print(
            f"gpu:plan: {segment.mode} ({segment.schedule}) segment {segment.index} takes {segment.wall_seconds:.0f} s "
            f"with {segment.cold_start_seconds:.0f} s of cold starts, past the {segment.deadline_seconds:.0f}-s generation deadline",
            file=sys.stderr,
        )
    return 1 if bad or late else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
