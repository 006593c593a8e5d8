"""Atomic file writes: the new text goes to a temporary file beside the target, then a rename puts
it in place, so a reader, a crash or a full disk leaves the old file or the new one, never half of
one. The one place the project writes small files this way (model.py, train.py, prepare.py,
fim/sft.py, web/export.py, evaluate.py)."""

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from typing import IO, Any


def write_atomic(path: str, write: Callable[[IO], Any], mode: str = "w") -> None:
    """Call `write(f)` on a temporary file beside `path`, then rename it to `path`. On any error
    (a full disk, Ctrl-C) the temporary file is removed and `path` is left as it was."""
    tmp = f"{path}.{os.getpid()}.tmp"  # one per process: two writers never share a temp file
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # a full disk shows here, not later as an empty file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(path: str, text: str) -> None:
    write_atomic(path, lambda f: f.write(text))


def write_bytes_atomic(path: str, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data), "wb")


def write_json_atomic(path: str, obj: Any, indent: int | None = 2) -> None:
    write_text_atomic(path, json.dumps(obj, indent=indent))


def copy_file_atomic(src: str, dst: str) -> None:
    with open(src, "rb") as source:
        write_atomic(dst, lambda f: shutil.copyfileobj(source, f), "wb")


def file_sha256(path: str) -> str:
    """The sha256 of a file, read 1 MiB at a time: weights, tokenizers and exports."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
