"""``npm run gpu:plan -- --seconds S --fps F --width W --height H [--gpu H100|H200|A100]
[--steps default|few] [--json | --docs]``: every GPU call each mode makes for a clip of that shape,
with estimated seconds and peak memory (``cmvc_gpu.engines.model.cost``). Exits 1 when any call
exceeds the call limit or its GPU's memory, 2 on bad arguments.

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
    PRICE_PER_HOUR,
    Plan,
    plan_clip,
    segment_gpu_seconds,
)

#: The clips of the docs' table: (seconds, fps, width, height).
DOC_CLIPS = ((4, 24, 832, 480), (10, 24, 832, 480), (10, 30, 1280, 720), (60, 30, 1920, 1080))


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gpu:plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--fps", type=float)
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
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
    return plan_clip(args.seconds, args.fps, args.width, args.height, schedules, args.gpu, CALL_LIMIT_SECONDS)


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
    """GPU-seconds and cost per reconstruction of each clip, mode and schedule, on the default GPU."""
    rows = [
        "| clip | mode | schedule | GPU calls | longest call (s) | peak memory (GB) | GPU-seconds | cost (USD) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for seconds, fps, width, height in DOC_CLIPS:
        for schedule in SCHEDULES.values():
            plan = plan_clip(seconds, fps, width, height, [schedule], DEFAULT_GPU, CALL_LIMIT_SECONDS)
            for mode in ("tt2v", "it2v"):
                calls = [c for c in plan.calls if c.mode == mode]
                total = segment_gpu_seconds(plan, mode, schedule.name)
                cost = total / 3600 * PRICE_PER_HOUR[DEFAULT_GPU]
                rows.append(
                    f"| {seconds:g} s {width}x{height} @ {fps:g} | {mode} | {schedule.name} | {len(calls)} | "
                    f"{max(c.seconds for c in calls):.0f} | {max(c.peak_memory_bytes for c in calls) / 1e9:.1f} | "
                    f"{total:.0f} | {cost:.2f} |"
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
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
