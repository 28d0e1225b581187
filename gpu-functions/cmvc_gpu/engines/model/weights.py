"""Which weight files the loaders read, fetching exactly those, verifying them, and checking at
startup that they are all on the Volume. Torch-free; ``huggingface_hub`` only inside
:func:`download`.

``download_weights`` (modal_app.py) fetches each role's files by allow-pattern (safetensors only,
no ``.bin``/fp32/Flax/TF copies), checks each file's SHA-256 against the hub's record, and writes
``MANIFEST`` next to the cache with the resolved revisions and file lists. Serving runs offline
(``HF_HUB_OFFLINE=1``): :func:`check_present` reads the manifest at container start and names
any missing file, instead of a loader failing deep inside with a network error.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Optional

from .config import ModelEngineConfig, ModelRef

MANIFEST = "cmvc-weights.json"

_TRANSFORMER = (
    "model_index.json",
    "scheduler/scheduler_config.json",
    "transformer/config.json",
    "transformer/diffusion_pytorch_model.safetensors",
    "transformer/diffusion_pytorch_model-?????-of-?????.safetensors",
    "transformer/diffusion_pytorch_model.safetensors.index.json",
)
#: The components every Wan pipeline borrows from the image-to-video repository.
_SHARED = (
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "text_encoder/model-?????-of-?????.safetensors",
    "text_encoder/model.safetensors.index.json",
    "tokenizer/*",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "image_encoder/config.json",
    "image_encoder/model.safetensors",
    "image_processor/preprocessor_config.json",
)
_TRANSFORMERS_MODEL = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "model-?????-of-?????.safetensors",
    "model.safetensors.index.json",
    "preprocessor_config.json",
    "video_preprocessor_config.json",
    "chat_template.json",
    "chat_template.jinja",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
)
#: Weight files each role's loader needs whole: (folder, stem); either ``stem.safetensors`` or
#: ``stem.safetensors.index.json`` with every shard it names.
_REQUIRED = {
    "mllm": (("", "model"),),
    "embedder": (("", "model"),),
    "i2v": (
        ("transformer", "diffusion_pytorch_model"),
        ("text_encoder", "model"),
        ("vae", "diffusion_pytorch_model"),
        ("image_encoder", "model"),
    ),
    "t2v": (("transformer", "diffusion_pytorch_model"),),
    "flf2v": (("transformer", "diffusion_pytorch_model"),),
}

#: The roles each deployed class loads (the Generator and Bridge borrow the shared parts of i2v).
CLASS_ROLES = {
    "Encoder": ("mllm", "embedder"),
    "Generator": ("i2v", "t2v", "distill"),
    "Bridge": ("i2v", "flf2v", "distill"),
}


class MissingWeights(RuntimeError):
    """A weight file the loaders need is not on the Volume."""


def allow_patterns(role: str, config: ModelEngineConfig) -> tuple[str, ...]:
    """The files of ``role``'s repository that its loader reads."""
    if role in ("mllm", "embedder"):
        return _TRANSFORMERS_MODEL
    if role == "i2v":
        return _TRANSFORMER + _SHARED
    if role in ("t2v", "flf2v"):
        return _TRANSFORMER
    if role == "distill":
        file = config.generator.schedule.distill_lora_file
        assert file is not None
        return (file,)
    raise ValueError(f"unknown role {role!r}")


def selected(files: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The repository files matching any pattern (``fnmatch``, as ``huggingface_hub`` does)."""
    patterns = tuple(patterns)
    return sorted(f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns))


def check_complete(role: str, files: Iterable[str], read_index: Callable[[str], dict]) -> None:
    """Raises :class:`MissingWeights` when ``files`` lack a weight file ``role`` needs (a single
    ``.safetensors``, or an index and every shard it names)."""
    have = set(files)
    for folder, stem in _REQUIRED.get(role, ()):
        prefix = f"{folder}/" if folder else ""
        single, index = f"{prefix}{stem}.safetensors", f"{prefix}{stem}.safetensors.index.json"
        if single in have:
            continue
        if index not in have:
            raise MissingWeights(f"{role}: neither {single} nor {index}")
        shards = {prefix + name for name in read_index(index).get("weight_map", {}).values()}
        missing = sorted(shards - have)
        if missing:
            raise MissingWeights(f"{role}: {index} names shards that are missing: {missing[:3]}")


def sha256(path: Path, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def snapshot_dir(cache_dir: str | Path, ref: ModelRef) -> Path:
    """Where ``huggingface_hub`` keeps ``ref``'s files in ``cache_dir``."""
    return Path(cache_dir) / f"models--{ref.id.replace('/', '--')}" / "snapshots" / ref.revision


def local_folder(ref: ModelRef, cache_dir: Optional[str]) -> str:
    """The folder holding ``ref``'s downloaded files (``cache_dir``, else the library's default
    cache): loaders read from it as from a local checkout, so nothing asks the hub about a file the
    allow-patterns left out (offline, ``AutoTokenizer`` would fail on the ``config.json`` a
    tokenizer subfolder does not have, looking for it in the cache). An id that is a local folder is
    that folder, as ``from_pretrained`` reads it."""
    if Path(ref.id).is_dir():
        return ref.id
    if cache_dir is None:
        from huggingface_hub.constants import HF_HUB_CACHE

        cache_dir = HF_HUB_CACHE
    return str(snapshot_dir(cache_dir, ref))


def download(config: ModelEngineConfig, cache_dir: str, roles: Optional[Iterable[str]] = None,
             log: Callable[[str], None] = print) -> dict:
    """Fetches exactly the files the loaders read, verifies their SHA-256 against the hub, writes
    and returns the manifest. Raises when a revision does not exist or a file is wrong."""
    from huggingface_hub import HfApi, snapshot_download

    api = HfApi()
    refs = config.refs()
    wanted = list(refs) if roles is None else list(roles)
    unknown = sorted(set(wanted) - set(refs))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; known: {sorted(refs)}")
    manifest_path = Path(cache_dir) / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {"roles": {}}
    listed: dict[str, dict[str, Optional[str]]] = {}
    for role in wanted:
        ref = refs[role]
        info = api.model_info(ref.id, revision=ref.revision, files_metadata=True)
        hashes = {s.rfilename: (s.lfs.sha256 if s.lfs else None) for s in info.siblings or []}
        listed[role] = hashes
        files = selected(hashes, allow_patterns(role, config))
        if not files:
            raise MissingWeights(f"{role}: {ref.pinned()} has no file matching {allow_patterns(role, config)}")
        folder = Path(snapshot_download(ref.id, revision=ref.revision, cache_dir=cache_dir, allow_patterns=files))
        check_complete(role, files, lambda name: json.loads((folder / name).read_text()))
        size = 0
        for name in files:
            path = folder / name
            size += path.stat().st_size
            expected = hashes[name]
            if expected is not None and sha256(path) != expected:
                raise MissingWeights(f"{role}: {name} does not match the hub's SHA-256 {expected}")
        log(f"{role}: {ref.pinned()} ({info.sha}), {len(files)} files, {size / 1e9:.1f} GB, verified")
        manifest["roles"][role] = {"id": ref.id, "revision": ref.revision, "resolved": info.sha, "files": files, "bytes": size}
    if "i2v" in listed:
        for role in ("t2v", "flf2v"):
            if role in listed:
                compared = shared_components(listed["i2v"], listed[role])
                manifest.setdefault("shared", {})[role] = compared
                if compared["different"]:
                    log(f"{role}: its own {', '.join(compared['different'])} differ from i2v's; the pipelines load i2v's (one copy)")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def shared_components(i2v: Mapping[str, Optional[str]], other: Mapping[str, Optional[str]]) -> dict[str, list[str]]:
    """Of the components every pipeline borrows from the image-to-video repository (text encoder, VAE,
    image encoder), which ``other`` repository's own copy is byte for byte i2v's (every file the same
    hub SHA-256) and which differs: read from the hub's file list, nothing downloaded."""
    out: dict[str, list[str]] = {"identical": [], "different": []}
    for component in ("text_encoder", "vae", "image_encoder"):
        mine = {name: sha for name, sha in other.items() if name.startswith(component + "/")}
        if not mine:
            continue
        theirs = {name: sha for name, sha in i2v.items() if name.startswith(component + "/")}
        out["identical" if mine == theirs else "different"].append(component)
    return out


def check_present(config: ModelEngineConfig, cache_dir: Optional[str], roles: Iterable[str]) -> None:
    """Raises :class:`MissingWeights` naming what is missing: ``roles``' pinned revisions must be
    in the manifest and every listed file on disk (a container start check, offline)."""
    if cache_dir is None:
        raise MissingWeights("HF_HUB_CACHE is not set: serving reads weights only from the Volume")
    manifest_path = Path(cache_dir) / MANIFEST
    hint = "run `modal run gpu-functions/modal_app.py::download_weights`"
    if not manifest_path.is_file():
        raise MissingWeights(f"no {MANIFEST} in {cache_dir}: the weights were never downloaded; {hint}")
    entries: Mapping[str, dict] = json.loads(manifest_path.read_text()).get("roles", {})
    refs = config.refs()
    for role in roles:
        if role not in refs:
            continue  # e.g. the few-step LoRA under the default schedule
        ref, entry = refs[role], entries.get(role)
        if entry is None or (entry.get("id"), entry.get("revision")) != (ref.id, ref.revision):
            raise MissingWeights(f"{role}: {ref.pinned()} is not on the Volume; {hint}")
        folder = snapshot_dir(cache_dir, ref)
        missing = [name for name in entry["files"] if not (folder / name).is_file()]
        if missing:
            raise MissingWeights(f"{role}: {len(missing)} files of {ref.pinned()} missing, e.g. {missing[0]}; {hint}")
