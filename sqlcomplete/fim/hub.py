"""Hugging Face hub ids as local paths, through huggingface_hub's cache.

A name that exists on disk is used as it is. Anything else of the form `owner/name` (or `name`)
is a hub repository, fetched with huggingface_hub.snapshot_download into the standard cache
(HF_HUB_CACHE, ~/.cache/huggingface/hub) where the network allows; under HF_HUB_OFFLINE=1 the
cached snapshot is used and a missing one is an error that names the id. Only the files this
project reads are fetched: weights, configs and tokenizer files for a model, data files for a
dataset.
"""

import os
import re
from pathlib import Path

MODEL_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt"]
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]
DATA_SUFFIXES = (".parquet", ".jsonl", ".ndjson")
_REPO_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_hub_id(name: str) -> bool:
    """Not a path on disk, and shaped like a hub repository id."""
    return (
        not os.path.exists(name) and bool(_REPO_ID.match(name)) and not name.startswith((".", "/"))
    )


def snapshot(
    repo_id: str, repo_type: str = "model", allow_patterns: list[str] | None = None, what: str = ""
) -> Path:
    """The local snapshot directory of a hub repository (downloaded, or from the cache when
    offline)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ValueError(
            f"{what or repo_id}: {repo_id!r} is not a local path, "
            "and reading it from the Hugging Face hub needs huggingface_hub "
            "(pip install huggingface_hub)"
        ) from e
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, repo_type=repo_type, allow_patterns=allow_patterns))
    except (LocalEntryNotFoundError, HFValidationError, OSError) as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")
        where = (
            "is not in the Hugging Face cache and HF_HUB_OFFLINE is set"
            if offline
            else "could not be read from the Hugging Face hub or its cache"
        )
        raise ValueError(
            f"{what or repo_id}: {repo_type} {repo_id!r} is not a local path and {where} "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        ) from e


def model_dir(name_or_path: str, what: str = "model.name_or_path") -> str:
    """A local model directory (config.json, safetensors, tokenizer.json) for a path or a hub
    model id."""
    return (
        str(snapshot(name_or_path, "model", MODEL_FILES, what))
        if is_hub_id(name_or_path)
        else name_or_path
    )


def tokenizer_file(name_or_path: str, what: str = "--tokenizer") -> Path:
    """The tokenizer.json of a file, a directory or a hub model id."""
    path = (
        snapshot(name_or_path, "model", TOKENIZER_FILES, what)
        if is_hub_id(name_or_path)
        else Path(name_or_path)
    )
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ValueError(f"{what} {name_or_path}: no tokenizer.json at {file}")
    return file


def dataset_files(name_or_path: str, split: str = "train", what: str = "data.sources") -> list[str]:
    """Local dataset paths: the path itself, or the split's data files of a hub dataset in the
    cache.

    In a hub dataset, a split's files are those named `<split>*` or inside a `<split>/` folder
    (the layouts the hub's Parquet conversion and `push_to_hub` write)."""
    if not is_hub_id(name_or_path):
        return [name_or_path]
    root = snapshot(name_or_path, "dataset", [f"*{s}" for s in DATA_SUFFIXES], what)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES)
    mine = [p for p in files if p.name.startswith(split) or split in p.relative_to(root).parts[:-1]]
    if not mine:
        found = [str(p.relative_to(root)) for p in files][:10]
        raise ValueError(
            f"{what}: hub dataset {name_or_path!r} has no {split!r} split files (found {found})"
        )
    return [str(p) for p in mine]
