"""The Modal runtime as far as ``npm run gpu:container-check`` stands in for it: started by
``container_check.py`` in a folder laid out as the image lays out a container (``/root`` is the
working directory and the only entry on ``sys.path`` besides the packages), with the image's
environment and no other.

What it does as Modal's container entrypoint does: makes ``modal.is_local()`` False (Modal checks
its task lifecycle singleton, not an environment variable), imports the entry module, runs each
class's ``@modal.enter`` methods, calls functions and methods with a call id set. What it stands in
for: Modal's services — a ``modal.Dict`` is an in-memory dict, a ``modal.Volume`` the folder it is
mounted on (``commit``/``reload`` do nothing), ``.remote``/``.spawn`` of a class method or a
function run it in this process, on the instance whose ``@modal.enter`` ran — and the Hugging Face
hub, which ``download_weights`` reads from a folder of tiny repositories.

Prints one JSON object per step (``{"step", "ok", "seconds", "detail"}``); exits 1 when any failed.
Modal-internal names used: ``_TaskLifecycleManager._singleton``, ``_Function._raw_f``, ``_find_callables_for_obj``,
``_PartialFunctionFlags``, ``_set_current_context_ids`` (modal 1.6.4; a ``modal`` upgrade may move them).
"""

from __future__ import annotations

import base64
import importlib
import itertools
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

# The runtime's own folder is not in a container: /root (the working directory) is.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, os.getcwd())

PARAMS = json.loads(Path(sys.argv[1]).read_text())
RESULTS: list[dict] = []
CALL_IDS = itertools.count(1)


def step(name: str, run: Callable[[], Any], expect: Callable[[Any], str | None] = lambda _: None) -> Any:
    """Runs one step; records it ok when it returns and ``expect`` finds nothing wrong (a message)."""
    started = time.perf_counter()
    try:
        value = run()
        problem = expect(value)
    except BaseException as error:  # noqa: BLE001 (every failure is the check's finding)
        value, problem = None, "".join(traceback.format_exception(error))[-4000:]
    row = {"step": name, "ok": problem is None, "seconds": round(time.perf_counter() - started, 2), "detail": problem}
    RESULTS.append(row)
    print(json.dumps(row), flush=True)
    return value


def in_call(run: Callable[[], Any]) -> Any:
    """Runs ``run`` as Modal runs one input: with a function call id set."""
    from modal._runtime.execution_context import _set_current_context_ids

    n = next(CALL_IDS)
    reset = _set_current_context_ids([f"in-check{n}"], [f"fc-check{n}"], [f"at-check{n}"])
    try:
        return run()
    finally:
        reset()


class DictStandIn(dict):
    """A ``modal.Dict`` in memory."""

    def put(self, key: str, value: Any, *, skip_if_exists: bool = False) -> bool:
        if skip_if_exists and key in self:
            return False
        self[key] = value
        return True


class VolumeStandIn:
    """A ``modal.Volume``: its files are the folder it is mounted on."""

    def commit(self) -> None:
        pass

    def reload(self) -> None:
        pass


class Handle:
    """What ``.spawn`` returns: ``get()`` answers the call's result (run when spawned)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, timeout: float | None = None) -> Any:
        return self.value


class Callee:
    """A method or function reached with ``.remote`` / ``.spawn``, run here."""

    def __init__(self, run: Callable[..., Any]) -> None:
        self.run = run

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        return in_call(lambda: self.run(*args, **kwargs))

    def spawn(self, *args: Any, **kwargs: Any) -> Handle:
        return Handle(self.remote(*args, **kwargs))


class ClsStandIn:
    """A ``modal.Cls``: ``Cls()`` is its one entered instance; its methods are :class:`Callee`."""

    def __init__(self, methods: dict[str, Callable[..., Any]]) -> None:
        self.methods = methods

    def __call__(self) -> "ClsStandIn":
        return self

    def __getattr__(self, name: str) -> Callee:
        if name not in self.methods:
            raise AttributeError(name)
        return Callee(self.methods[name])


def fake_hub(hub_dir: Path) -> None:
    """``huggingface_hub.HfApi.model_info`` and ``snapshot_download`` over a folder of repositories
    (``hub_dir/<id>/``), writing the cache layout ``models--<org>--<name>/snapshots/<revision>/``."""
    import hashlib

    import huggingface_hub

    def model_info(self: Any, repo_id: str, revision: str | None = None, files_metadata: bool = False) -> Any:
        root = hub_dir / repo_id
        if not root.is_dir():
            raise huggingface_hub.errors.RepositoryNotFoundError(f"no repository {repo_id}")
        siblings = []
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            siblings.append(SimpleNamespace(rfilename=path.relative_to(root).as_posix(), lfs=SimpleNamespace(sha256=digest)))
        return SimpleNamespace(sha=revision, siblings=siblings)

    def snapshot_download(repo_id: str, revision: str, cache_dir: str, allow_patterns: list[str], **_: Any) -> str:
        target = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision
        for name in allow_patterns:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(hub_dir / repo_id / name, target / name)
        return str(target)

    huggingface_hub.HfApi.model_info = model_info
    huggingface_hub.snapshot_download = snapshot_download


def moved(value: str) -> str:
    """``value`` with a container path (``/root``, a Volume's mount path) moved under the check's folder."""
    for root, folder in PARAMS["roots"].items():
        if value == root or value.startswith(root + "/"):
            return folder + value[len(root) :]
    return value


def video_bytes(seconds: float, fps: float, width: int, height: int) -> bytes:
    from cmvc_gpu.media import video_io
    from cmvc_gpu.smoke import moving_square_video

    return video_io.encode(list(moving_square_video(int(round(seconds * fps)), width, height)), fps)


def raw_function(function: Any) -> Callable[..., Any]:
    """The Python function behind a ``modal.Function``, as the container entrypoint calls it."""
    from modal._utils.async_utils import synchronizer

    return synchronizer._translate_in(function)._raw_f


def envelope_ok(answer: Any) -> str | None:
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        return f"the call answered {str(answer)[:1000]}"
    return None


def main() -> int:
    from modal._runtime.task_lifecycle_manager import _TaskLifecycleManager

    _TaskLifecycleManager._singleton = object()  # what a running Modal function has
    import modal

    step("modal.is_local() is False", lambda: modal.is_local(), lambda local: "modal.is_local() is True" if local else None)
    app_module = step("import the entry module", lambda: importlib.import_module(PARAMS["module"]))
    if app_module is None:
        return 1

    # Container paths in the module's own constants (a Volume's mount path and what lies under it)
    # are moved under the check's folder, as its environment's are.
    for name, value in list(vars(app_module).items()):
        if isinstance(value, str):
            setattr(app_module, name, moved(value))

    # Modal's services, stood in for.
    for name, value in list(vars(app_module).items()):
        if isinstance(value, modal.Dict):
            setattr(app_module, name, DictStandIn())
        elif isinstance(value, modal.Volume):
            setattr(app_module, name, VolumeStandIn())
    functions = {name: value for name, value in vars(app_module).items() if isinstance(value, modal.Function)}
    classes = {name: value for name, value in vars(app_module).items() if isinstance(value, modal.Cls)}
    raw = {name: raw_function(function) for name, function in functions.items()}
    for name, contract_function in list(getattr(app_module, "CONTRACT_FUNCTIONS", {}).items()):
        app_module.CONTRACT_FUNCTIONS[name] = Callee(raw_function(contract_function))

    def with_env(extra: dict[str, str], run: Callable[[], Any]) -> Callable[[], Any]:
        def wrapped() -> Any:
            saved = {key: os.environ.get(key) for key in extra}
            os.environ.update(extra)
            try:
                return run()
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

        return wrapped

    # 1. The weights onto the Volume, from the (tiny) hub, as a first deployment does.
    fake_hub(Path(PARAMS["hub"]))
    step(
        "download_weights",
        with_env(PARAMS["secrets"].get("download_weights", {}), lambda: in_call(lambda: raw["download_weights"]())),
        lambda manifest: None if set(manifest.get("roles", {})) >= {"mllm", "embedder", "t2v", "i2v", "flf2v"} else f"manifest {manifest}",
    )

    # 2. Each class entered as a container of it starts.
    from modal._partial_function import _find_callables_for_obj, _PartialFunctionFlags

    def entered(name: str) -> ClsStandIn:
        instance = classes[name]._get_user_cls()()
        for pre in _find_callables_for_obj(instance, _PartialFunctionFlags.ENTER_PRE_SNAPSHOT).values():
            pre()
        for post in _find_callables_for_obj(instance, _PartialFunctionFlags.ENTER_POST_SNAPSHOT).values():
            post()
        return ClsStandIn(_find_callables_for_obj(instance, _PartialFunctionFlags.CALLABLE_INTERFACE))

    def fails_without_cuda() -> str:
        """Entering a GPU class as a container whose CUDA does not work: it must fail, naming CUDA."""
        device = os.environ.pop("CMVC_DEVICE", None)
        try:
            entered("Generator")
        except RuntimeError as error:
            if "CUDA" in str(error):
                return str(error)
            raise
        finally:
            if device is not None:
                os.environ["CMVC_DEVICE"] = device
        raise AssertionError("Generator entered without CUDA: it would serve on the CPU")

    import torch

    if "Generator" in classes and not torch.cuda.is_available():
        step("a GPU class without CUDA fails at @modal.enter", fails_without_cuda)
    for name in classes:
        stand_in = step(f"enter {name}", lambda name=name: entered(name))
        if stand_in is not None:
            setattr(app_module, name, stand_in)

    # 3. One call of each function.
    store = PARAMS["store"]
    outputs = itertools.count(1)

    def output() -> dict:
        return {"url": f"{store}/out-{next(outputs)}", "headers": {}}

    source = video_bytes(2.0, 8.0, 64, 48)
    encoded = step(
        "encode",
        # At a target rate: the rate planner reads the bitstream's text dictionary, which the image must add.
        lambda: in_call(lambda: raw["encode"]({"video": {"data": base64.b64encode(source).decode()}, "options": {"maxSegmentSeconds": 2, "targetKbps": 20}})),
        envelope_ok,
    )
    segment = encoded["result"]["segments"][0] if encoded and encoded.get("ok") else None
    made: dict[str, str] = {}
    if segment is not None:
        keyframes = [min(segment["keyframes"], key=lambda k: k["frameIndex"])]
        last = dict(keyframes[0], frameIndex=segment["frameCount"] - 1, priority=1)
        base = {"width": 64, "height": 48, "fps": 8.0, "frameCount": segment["frameCount"], "seed": 1, "container": "mp4"}
        for mode, keys in (("tt2v", []), ("it2v", [keyframes[0], last])):
            target = output()
            texts = {"contentText": segment["contentText"], "motionText": segment["motionText"], "keyframes": keys}
            answer = step(
                f"generate {mode}",
                lambda: in_call(lambda: raw["generate"]({**base, "mode": mode, "segment": texts, "output": target})),
                lambda answer: envelope_ok(answer) or (None if answer["result"]["seconds"]["gpu"] > 0 else "seconds.gpu is 0: its GPU calls go unbilled"),
            )
            if answer and answer.get("ok"):
                made[mode] = target["url"]
    if "tt2v" in made:
        step("interpolate", lambda: in_call(lambda: raw["interpolate"]({"video": {"url": made["tt2v"]}, "factor": 2, "container": "mp4", "output": output()})), envelope_ok)
    if len(made) == 2:
        parts = [{"url": made[m]} for m in ("tt2v", "it2v")]
        step("assemble", lambda: in_call(lambda: raw["assemble"]({"parts": parts, "container": "mp4", "timeOffsetSeconds": 0, "output": output()})), envelope_ok)

    def web() -> list[int]:
        from fastapi.testclient import TestClient

        client = TestClient(raw["web"]())
        answers = [client.get("/healthz"), client.get("/v1/info")]
        if len(made) == 2:
            parts = [{"url": made[m]} for m in ("tt2v", "it2v")]
            answers.append(client.post("/v1/assemble", json={"parts": parts, "output": output()}))
        return [a.status_code for a in answers]

    step("web", web, lambda codes: None if codes and all(c == 200 for c in codes) else f"statuses {codes}")

    dataset = Path(PARAMS["volumes"]["/vol"]) / "datasets" / "interpolation"
    dataset.mkdir(parents=True, exist_ok=True)
    (dataset / "clip.mp4").write_bytes(video_bytes(14.0, 24.0, 64, 48))
    step(
        "train_interpolation_lora",
        lambda: in_call(lambda: raw["train_interpolation_lora"](rank=4, alpha=8, steps=2, width=64, height=48, eval_clips=1)),
        lambda adapter: None if isinstance(adapter, str) and (Path(PARAMS["volumes"]["/adapters"]) / adapter).is_dir() else f"answered {adapter!r}",
    )
    if "smoke" in raw:
        step("smoke", lambda: in_call(lambda: raw["smoke"](seconds=2.0, width=64, height=48, fps=8.0)), lambda rows: None if rows else "no rows")
    return 0 if all(r["ok"] for r in RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
