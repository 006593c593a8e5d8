"""The model behind the completion engine, in one small interface with two implementations.

The engine (engine.py) asks a backend three things:
  feed(keep, ids)            the batch-1 cache keeps its first `keep` tokens and goes on with `ids`
                             (keep=0: a schema prefill); returns the logits after the last id (V,)
  rows(batch, steps)         rows that share that cache, decoded a step at a time: Rows.step(tokens)
                             returns each row's logits after its token (B, V)
  score_tree(tokens, parents) logits (T, V) of a token tree after the cache: node i follows node
                             parents[i] (-1: the cache itself)
and set_threads(n) before a pass of many tokens (torch; onnxruntime keeps its session's count).
Logits are float32 numpy arrays, so the engine needs no torch. backend_torch.py runs model.py;
backend_onnx.py runs the graph web/export.py writes (`make export`), the one the page runs.
"""

import hashlib
import json
import os
from typing import Protocol

import numpy as np

from sqlcomplete.files import file_sha256

ONNX_FILE = "model.onnx"  # beside model.safetensors in a checkpoint directory (`make export`)
GRAPH_FORMAT = "kv-cache-v1"  # web/export.py's graph inputs and outputs, as its docstring describes
BACKENDS = ("auto", "onnx", "torch")


class BackendError(ValueError):
    """A model file a backend cannot run (missing, corrupt, or exported for another model)."""


class Rows(Protocol):
    def step(self, tokens: list[int]) -> np.ndarray:
        """Each row's next token in; each row's logits (B, V) out."""


class ModelBackend(Protocol):
    name: str  # "torch" or "onnx"
    max_seq_len: int
    num_params: int

    def feed(self, keep: int, ids: list[int]) -> np.ndarray: ...

    def rows(self, batch: int, steps: int) -> Rows: ...

    def score_tree(self, tokens: list[int], parents: list[int]) -> np.ndarray: ...

    def set_threads(self, n: int) -> None: ...


# ---------------------------------------------------------------- what an export must match


def model_shape(ckpt: str) -> dict:
    """The shape config.json gives the model (read without torch): what an ONNX file must have."""
    path = os.path.join(ckpt, "config.json")
    try:
        with open(path) as f:
            cfg = json.load(f)
        heads = cfg["num_attention_heads"]
        return {
            "dim": cfg["hidden_size"],
            "n_layers": cfg["num_hidden_layers"],
            "n_heads": heads,
            "n_kv_heads": cfg.get("num_key_value_heads") or heads,
            "head_dim": cfg.get("head_dim") or cfg["hidden_size"] // heads,
            "hidden_dim": cfg["intermediate_size"],
            "vocab_size": cfg["vocab_size"],
            "max_seq_len": cfg.get("max_position_embeddings", 2048),
        }
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise BackendError(f"{path}: not a readable model config ({e})") from e


def weights_sha256(ckpt: str) -> str:
    """One hash over the checkpoint's safetensors files (one file or shards)."""
    h = hashlib.sha256()
    for name in sorted(n for n in os.listdir(ckpt) if n.endswith(".safetensors")):
        h.update(name.encode() + bytes.fromhex(file_sha256(os.path.join(ckpt, name))))
    return h.hexdigest()


def export_metadata(ckpt: str) -> dict[str, str]:
    """What web/export.py records in the ONNX file's metadata, and what backend_onnx.py checks it
    against: an export is run only beside the tokenizer, shape and weights it was made from."""
    return {
        "sqlcomplete.format": GRAPH_FORMAT,
        "sqlcomplete.tokenizer_sha256": file_sha256(os.path.join(ckpt, "tok.model")),
        "sqlcomplete.shape": json.dumps(model_shape(ckpt), sort_keys=True),
        "sqlcomplete.weights_sha256": weights_sha256(ckpt),
    }


def safetensors_params(ckpt: str) -> int:
    """Parameters stored in the checkpoint (a tied head counts once), read from the file headers."""
    total = 0
    for name in os.listdir(ckpt):
        if name.endswith(".safetensors"):
            with open(os.path.join(ckpt, name), "rb") as f:
                header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
            total += sum(int(np.prod(t["shape"])) for k, t in header.items() if k != "__metadata__")
    return total


# ---------------------------------------------------------------- choosing one


def installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked or half-removed install
        return False


def load_backend(
    ckpt: str, kind: str = "auto", device: str = "cpu", threads: int | None = None
) -> ModelBackend:
    """The backend `kind` for a checkpoint. auto: onnxruntime when the checkpoint has its ONNX
    export (and the device is the CPU), else torch when it is installed, else the ONNX error."""
    if kind not in BACKENDS:
        raise BackendError(f"unknown backend {kind!r} (one of {', '.join(BACKENDS)})")
    onnx_path = os.path.join(ckpt, ONNX_FILE)
    if kind == "auto":
        usable = os.path.exists(onnx_path) and device == "cpu" and installed("onnxruntime")
        kind = "onnx" if usable or not installed("torch") else "torch"
    if kind == "torch":
        from sqlcomplete.completion.backend_torch import TorchBackend

        return TorchBackend(ckpt, device)
    if device != "cpu":
        raise BackendError(f"the onnx backend runs on the CPU only (asked for {device})")
    from sqlcomplete.completion.backend_onnx import OnnxBackend

    return OnnxBackend(ckpt, threads or 1)
