"""GPU function names and modes are read from the exported schema (``schemas/gpu``), not listed in
Python: a function or mode added to the contract reaches metrics, the Modal dispatcher, ``/v1/info``
and the mode checks without a Python edit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmvc_gpu import contract

ROOT = Path(__file__).resolve().parents[1]


def test_names_are_the_schemas_enums() -> None:
    info = contract.validator("info.response").schema["properties"]["functions"]["items"]["enum"]
    assert contract.function_names() == tuple(info)
    assert contract.modes() == tuple(contract.validator("generate.request").schema["properties"]["mode"]["enum"])


def test_a_function_and_a_mode_added_to_the_schema_reach_every_list(tmp_path: Path) -> None:
    schemas = tmp_path / "gpu"
    shutil.copytree(contract.schemas_dir(), schemas)
    info = json.loads((schemas / "info.response.json").read_text())
    info["properties"]["functions"]["items"]["enum"].append("upscale")
    (schemas / "info.response.json").write_text(json.dumps(info))
    generate = json.loads((schemas / "generate.request.json").read_text())
    generate["properties"]["mode"]["enum"].append("v2v")
    (schemas / "generate.request.json").write_text(json.dumps(generate))
    probe = (
        "import json\n"
        "from cmvc_gpu import metrics\n"
        "from cmvc_gpu.engines.model import dispatch, segment_plan\n"
        "print(json.dumps({'metrics': metrics.FUNCTIONS, 'dispatch': dispatch.FUNCTIONS,\n"
        "  'call_id': bool(dispatch.CALL_ID.match('upscale~fc-abc')), 'modes': segment_plan.modes()}))\n"
    )
    env = {**os.environ, "CMVC_SCHEMAS_DIR": str(schemas), "CMVC_NO_APP": "1"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert seen["metrics"][-1] == seen["dispatch"][-1] == "upscale"
    assert seen["call_id"] is True
    assert seen["modes"] == ["tt2v", "it2v", "v2v"]


def test_a_function_in_the_list_needs_its_request_and_response_schemas(tmp_path: Path, monkeypatch) -> None:
    schemas = tmp_path / "gpu"
    shutil.copytree(contract.schemas_dir(), schemas)
    info = json.loads((schemas / "info.response.json").read_text())
    info["properties"]["functions"]["items"]["enum"].append("upscale")
    (schemas / "info.response.json").write_text(json.dumps(info))
    monkeypatch.setenv("CMVC_SCHEMAS_DIR", str(schemas))
    contract.validator.cache_clear()
    try:
        assert contract.schema_names()[-7:-5] == ("upscale.request", "upscale.response")
        with pytest.raises(RuntimeError, match="upscale.request.json not found"):
            contract.load_all()
    finally:
        contract.validator.cache_clear()
