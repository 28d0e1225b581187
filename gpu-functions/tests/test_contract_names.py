"""GPU function names and modes are read from the exported schemas (``schemas/gpu``), not listed in
Python: a function added to the contract (its ``{name}.request.json`` and ``{name}.response.json``)
or a mode reaches metrics, the Modal dispatcher, ``/v1/info``, the engines' check and the mode checks
without a Python edit besides each engine's method for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cmvc_gpu import contract
from cmvc_gpu.engines.base import missing_functions
from cmvc_gpu.engines.model.engine import ModelEngine
from cmvc_gpu.engines.model.web import DispatchEngine
from cmvc_gpu.engines.reference import ReferenceEngine

ROOT = Path(__file__).resolve().parents[1]


def add_function(schemas: Path, name: str, gpu_classes: list[str], response: bool = True) -> None:
    """Adds contract function ``name`` to a copy of the schemas, shaped like ``interpolate``."""
    request = json.loads((schemas / "interpolate.request.json").read_text())
    request[contract.GPU_CLASSES_KEY] = gpu_classes
    (schemas / f"{name}.request.json").write_text(json.dumps(request))
    if response:
        shutil.copy(schemas / "interpolate.response.json", schemas / f"{name}.response.json")


def test_names_are_the_request_schemas_and_modes_the_generate_enum() -> None:
    files = sorted(p.name.removesuffix(".request.json") for p in contract.schemas_dir().glob("*.request.json"))
    assert contract.function_names() == tuple(files)
    assert {"assemble", "encode", "generate", "interpolate"} <= set(files)
    assert contract.modes() == tuple(contract.validator("generate.request").schema["properties"]["mode"]["enum"])
    classes = {fn: contract.gpu_classes(fn) for fn in files}
    assert (classes["encode"], classes["generate"], classes["interpolate"], classes["assemble"]) == (("Encoder",), ("Generator", "Bridge"), (), ())


@pytest.mark.parametrize("engine", [ReferenceEngine, ModelEngine, DispatchEngine(dispatcher=None, config=None)])
def test_every_engine_has_a_method_for_every_contract_function(engine) -> None:
    assert missing_functions(engine) == []


def test_a_function_and_a_mode_added_to_the_schemas_reach_every_list(tmp_path: Path) -> None:
    schemas = tmp_path / "gpu"
    shutil.copytree(contract.schemas_dir(), schemas)
    add_function(schemas, "sharpen", ["Generator"])
    probe = (
        "import json\n"
        "from cmvc_gpu import contract, metrics\n"
        "from cmvc_gpu.engines.base import missing_functions\n"
        "from cmvc_gpu.engines.model import dispatch\n"
        "from cmvc_gpu.engines.reference import ReferenceEngine\n"
        "print(json.dumps({'metrics': metrics.FUNCTIONS, 'dispatch': dispatch.FUNCTIONS,\n"
        "  'call_id': bool(dispatch.CALL_ID.match('sharpen~fc-abc')), 'modes': contract.modes(),\n"
        "  'classes': contract.gpu_classes('sharpen'), 'missing': missing_functions(ReferenceEngine)}))\n"
    )
    env = {**os.environ, "CMVC_SCHEMAS_DIR": str(schemas), "CMVC_NO_APP": "1"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout)
    assert "sharpen" in seen["metrics"] and seen["metrics"] == seen["dispatch"]
    assert seen["call_id"] is True
    assert seen["classes"] == ["Generator"]
    assert seen["missing"] == ["sharpen"]  # the engines must grow a method for it; the server refuses to start until then

    # A mode reaches contract.modes(); every place that does something per mode must then say what the new one does
    # (cmvc_gpu/modes.py): until it does, its module does not load, and the server does not start.
    generate = json.loads((schemas / "generate.request.json").read_text())
    generate["properties"]["mode"]["enum"].append("v2v")
    (schemas / "generate.request.json").write_text(json.dumps(generate))
    out = subprocess.run([sys.executable, "-c", "from cmvc_gpu import contract; print(','.join(contract.modes()))"], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ",".join([*contract.modes(), "v2v"])
    refused = subprocess.run([sys.executable, "-c", "from cmvc_gpu.engines.reference import ReferenceEngine"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert f"engines/reference generate must say what each reconstruction mode does ({', '.join([*contract.modes(), 'v2v'])}): missing ['v2v']" in refused.stderr


def test_a_function_needs_its_response_schema(tmp_path: Path, monkeypatch) -> None:
    schemas = tmp_path / "gpu"
    shutil.copytree(contract.schemas_dir(), schemas)
    add_function(schemas, "sharpen", [], response=False)
    monkeypatch.setenv("CMVC_SCHEMAS_DIR", str(schemas))
    contract.validator.cache_clear()
    try:
        assert {"sharpen.request", "sharpen.response"} <= set(contract.schema_names())
        with pytest.raises(RuntimeError, match="sharpen.response.json not found"):
            contract.load_all()
    finally:
        contract.validator.cache_clear()
