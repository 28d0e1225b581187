"""``npm run gpu:smoke [-- --json]``: the model engine's whole path (encode, TT2V, IT2V,
interpolate, assemble) through its production classes with tiny random models, guidance on; on
CUDA in bf16 with float32 VAE and image encoder (as served) when a GPU is present, else on the CPU
in float32. One row per stage (a JSON object per line with ``--json``); exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ("stage", "seconds", "peakMemoryBytes", "device", "frames", "width", "height", "guidanceScale")


def tiny_engine(adapters_dir: str, adapter_id: str):
    from cmvc_gpu.engines.model.tiny import tiny_engine as build

    return build(adapters_dir, adapter_id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gpu:smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per stage and line")
    args = parser.parse_args(argv)

    from cmvc_gpu.smoke import STAGES, run_stages

    def report(row: dict) -> None:
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print("  ".join(f"{row[c]!s:>{max(len(c), 11)}}" for c in COLUMNS), flush=True)

    if not args.json:
        print("  ".join(f"{c:>{max(len(c), 11)}}" for c in COLUMNS))
    try:
        with tempfile.TemporaryDirectory() as adapters:
            adapter_id = "interp-lora-smoke-r4"
            rows = run_stages(tiny_engine(adapters, adapter_id), adapter_id=adapter_id, report=report)
    except Exception:
        traceback.print_exc()
        print("gpu:smoke: FAILED", file=sys.stderr)
        return 1
    if tuple(r["stage"] for r in rows) != STAGES:
        print(f"gpu:smoke: stages {[r['stage'] for r in rows]} incomplete", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
