"""``npm run gpu:container-check [-- --json] [--keep]``: the Modal app as a Modal container runs it,
with tiny models on the CPU. Exits 1 when anything fails (each failure printed), 0 otherwise.

1. Deploy side, in this process, as ``modal deploy`` runs the file: the tiny models are written as
   hub repositories; the deploying shell names them (``CMVC_MODEL_<ROLE>``), a default adapter and a
   local object store's origin (``CMVC_SOURCE_ORIGINS``); ``modal_app.py`` is imported and its own
   ``image`` object read through the SDK: every file its layers add (``add_local_python_source``,
   ``add_local_dir``, ``add_local_file``: the mounts' entries), its ``ENV`` lines and the requirements
   its ``uv_pip_install`` layer installs; and from the app's functions the Volumes they mount and the
   secrets they get. Adding a file to the image adds it here; a file read beside the entry file that
   the image does not add is missing here, as in a container.
2. The container's filesystem, in a temporary folder: the entry file alone at ``root/modal_app.py``
   (Modal's ``/root/<entry file>``), the image's files at their paths, each Volume an empty folder
   (the adapters Volume holding one tiny adapter, as one trained before the deploy).
3. Packages: the check runs the image's code on this machine's packages, so the image's pins must be
   what is installed here, and the image's Python the one running (a mismatch fails).
4. ``container_runtime.py`` started in ``root`` with the image's environment only (its container paths
   moved under the folder, and ``CMVC_DEVICE=cpu`` added, as this machine has no GPU): imports the app
   with ``modal.is_local()`` False, runs ``download_weights`` from the tiny hub, each class's
   ``@modal.enter``, and one call of each function (see its docstring for what it stands in for).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import inspect
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = HERE.parent  # gpu-functions/
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the in-process object store the tests use

ENTRY = ROOT / "modal_app.py"
#: The entry file's path in a container (Modal mounts the file it deploys at /root/<name>).
CONTAINER_ENTRY = PurePosixPath("/root") / ENTRY.name
#: The image builder version whose Dockerfile commands are read for ENV and package lines.
BUILDER_VERSION = "2025.06"
ADAPTER_ID = "interp-lora-check-r4"
#: The one variable the check adds to the image's environment: the machine it runs on has no GPU.
CHECK_ENV = {"CMVC_DEVICE": "cpu"}


class ImageLayout:
    """What the image puts in a container: files (local path → container path), environment, and
    the requirement files its package layer installs."""

    def __init__(self) -> None:
        self.files: dict[PurePosixPath, Path] = {}
        self.env: dict[str, str] = {}
        self.requirements: list[Path] = []
        self.pinned: dict[str, str] = {}  # packages named on a pip/uv install line itself
        self.python: str | None = None


def image_layout(image: object) -> ImageLayout:
    """Reads ``image`` (a ``modal.Image``) layer by layer, base first, without building it."""
    from modal._image import _Image
    from modal._utils.async_utils import synchronizer
    from modal.mount import _Mount

    layout = ImageLayout()
    seen: set[int] = set()

    def walk(obj: object) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        for dep in obj._deps_():  # type: ignore[attr-defined]
            walk(dep)
        if isinstance(obj, _Mount):
            for entry in obj._entries or []:
                for local, remote in entry.get_files_to_upload():
                    layout.files[PurePosixPath(remote)] = Path(local)
        elif isinstance(obj, _Image):
            closure = inspect.getclosurevars(obj._load).nonlocals
            dockerfile = closure.get("dockerfile_function")
            if dockerfile is None:
                return
            spec = dockerfile(BUILDER_VERSION)
            for command in spec.commands:
                if command.startswith("ENV "):
                    key, _, value = command[4:].partition("=")
                    layout.env[key] = shlex.split(value)[0] if value else ""
                elif command.startswith("RUN ") and " pip install " in command:
                    for word in shlex.split(command.split(" pip install ", 1)[1]):
                        if "==" in word and not word.startswith("-"):
                            name, version = word.split("==", 1)
                            layout.pinned[name.lower()] = version
                elif command.startswith("FROM python:"):
                    layout.python = command.split(":", 1)[1].split("-", 1)[0]
            layout.requirements += [Path(local) for context, local in spec.context_files.items() if context.endswith(".txt")]

    walk(synchronizer._translate_in(image))
    return layout


def pins(files: list[Path]) -> dict[str, str]:
    """``name → version`` of every ``name==version`` line of requirement files."""
    found: dict[str, str] = {}
    for file in files:
        for raw in file.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if "==" in line and not line.startswith("-"):
                name, version = line.split("==", 1)
                found[name.strip().lower()] = version.strip()
    return found


def package_problems(layout: ImageLayout) -> list[str]:
    problems = []
    running = ".".join(map(str, sys.version_info[:2]))
    if layout.python is None or not layout.python.startswith(running + "."):
        problems.append(f"the image runs Python {layout.python}, this check {running}")
    wanted = {**pins(layout.requirements), **layout.pinned}
    if not wanted:
        problems.append("the image installs no pinned package")
    for name, version in sorted(wanted.items()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            problems.append(f"the image installs {name}=={version}, this machine has {installed}")
    return problems


def secret_env(secret: object) -> dict[str, str]:
    """The variables a ``modal.Secret.from_dict`` puts in its functions' environment."""
    from modal._utils.async_utils import synchronizer

    raw = synchronizer._translate_in(secret)
    load = inspect.getclosurevars(raw._load).nonlocals.get("load_env_dict")
    return dict(load()) if load is not None else {}


def deploy_side(env: dict[str, str]) -> tuple[ImageLayout, dict[str, list[str]], dict[str, dict[str, str]]]:
    """Imports the entry module as ``modal deploy`` does, under ``env``; returns the image's layout,
    each Volume's mount path → names of the functions mounting it, and each function's secrets."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        sys.modules.pop(ENTRY.stem, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(ENTRY.stem)
            functions = dict(module.app._local_state.functions)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    volumes: dict[str, list[str]] = {}
    secrets: dict[str, dict[str, str]] = {}
    for name, function in functions.items():
        for path in function._spec_.volumes:
            volumes.setdefault(str(path), []).append(name)
        extra: dict[str, str] = {}
        for secret in function._spec_.secrets:
            extra.update(secret_env(secret))
        if extra:
            secrets[name] = extra
    return image_layout(module.image), volumes, secrets


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gpu:container-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per step")
    parser.add_argument("--keep", action="store_true", help="keep the container folder (its path is printed)")
    args = parser.parse_args(argv)

    from artifact_store import ArtifactStore

    from cmvc_gpu.engines.model.tiny import save_tiny_adapter, save_tiny_hub

    def report(row: dict) -> None:
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            mark = "ok  " if row["ok"] else "FAIL"
            print(f"{mark} {row['step']:<48} {row['seconds']:>7.2f} s", flush=True)
            if row.get("detail"):
                print("     " + str(row["detail"]).replace("\n", "\n     "), flush=True)

    work = Path(tempfile.mkdtemp(prefix="cmvc-container-"))
    store = ArtifactStore()
    rows: list[dict] = []
    try:
        # 1. Deploy side.
        deploy_env = {**save_tiny_hub(work / "hub"), "CMVC_DEFAULT_ADAPTER": ADAPTER_ID, "CMVC_SOURCE_ORIGINS": store.base}
        layout, volumes, secrets = deploy_side(deploy_env)
        # 2. The container's filesystem.
        fs = work / "fs"
        place = {CONTAINER_ENTRY: ENTRY, **layout.files}
        for remote, local in place.items():
            target = fs / remote.relative_to("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        roots = ["/root", *volumes]
        mounted = {path: str(fs / path.lstrip("/")) for path in volumes}
        for folder in mounted.values():
            Path(folder).mkdir(parents=True, exist_ok=True)
        adapters = layout.env.get("CMVC_ADAPTERS_DIR")
        if adapters in mounted:
            save_tiny_adapter(mounted[adapters], ADAPTER_ID, rank=4, alpha=8)
        rows.append({"step": f"lay out the container ({len(place)} files, volumes {sorted(volumes)})", "ok": True, "seconds": 0.0, "detail": None})
        # 3. Packages.
        problems = package_problems(layout)
        rows.append({"step": "the image's packages are this machine's", "ok": not problems, "seconds": 0.0, "detail": "\n".join(problems) or None})
        for row in rows:
            report(row)
        # 4. The container.
        def moved(value: str) -> str:
            hit = next((r for r in roots if value == r or value.startswith(r + "/")), None)
            return value if hit is None else str(fs / value.lstrip("/"))

        env = {key: moved(value) for key, value in layout.env.items()}
        env.update(CHECK_ENV)
        env.update({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work / "home"), "MODAL_CONFIG_PATH": str(work / "home" / "absent.toml")})
        params = {
            "module": ENTRY.stem,
            "hub": str(work / "hub"),
            "store": store.base,
            "volumes": mounted,
            "roots": {root: str(fs / root.lstrip("/")) for root in roots},
            "secrets": {name: {k: moved(v) for k, v in extra.items()} for name, extra in secrets.items()},
        }
        (work / "params.json").write_text(json.dumps(params))
        out = subprocess.run(
            [sys.executable, str(HERE / "container_runtime.py"), str(work / "params.json")],
            cwd=fs / "root",
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        runtime_rows = []
        for line in out.stdout.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "step" in row:
                runtime_rows.append(row)
                report(row)
        rows += runtime_rows
        if out.returncode != 0 and all(r["ok"] for r in runtime_rows):
            row = {"step": "container runtime", "ok": False, "seconds": 0.0, "detail": out.stderr[-4000:]}
            rows.append(row)
            report(row)
    finally:
        store.close()
        if args.keep:
            print(f"container folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = [r["step"] for r in rows if not r["ok"]]
    if failed:
        print(f"gpu:container-check: FAILED ({', '.join(failed)})", file=sys.stderr)
        return 1
    print(f"gpu:container-check: {len(rows)} steps ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
