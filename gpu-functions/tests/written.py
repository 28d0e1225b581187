"""What the Worker writes for an encode response: the CMVC bitstream, by the Worker's own writer
(``scripts/bitstream-size.ts``, which ``gpu-functions/scripts/quality_table.py`` runs too). Rates are judged on
these bytes, not on what the encoder estimated it spent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def written_bytes(encoded: dict) -> int:
    """Bytes of the whole bitstream the Worker writes for ``encoded`` (an encode.response)."""
    node, tsx = REPO / "node_modules" / ".bin" / "node", REPO / "node_modules" / "tsx" / "dist" / "cli.mjs"
    if not (node.exists() and tsx.exists()):
        raise RuntimeError("the Worker's writer needs the Node side: run `npm install` at the repository root")
    done = subprocess.run(
        [str(node), str(tsx), str(REPO / "scripts" / "bitstream-size.ts")],
        input=json.dumps(encoded).encode(), capture_output=True, cwd=REPO, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bitstream-size.ts failed: {done.stderr.decode()[-500:]}")
    return int(json.loads(done.stdout)["full"])
