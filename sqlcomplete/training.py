"""What train.py and fim/sft.py share: the config reader, checkpoint checksums and rotation, the
non-finite guard, SIGTERM and Ctrl-C, the learning-rate schedule, and the choice of device, dtype,
compile and threads. Neither script imports the other; both import this."""

import ast
import hashlib
import inspect
import json
import math
import os
import re
import runpy
import shutil
import signal
import threading
import types
import typing
from contextlib import nullcontext
from dataclasses import MISSING, fields
from typing import Any

import torch

from sqlcomplete.model import ModelArgs, weight_files

TERMINATE = (
    threading.Event()
)  # set by SIGTERM: the loop saves a checkpoint and exits 130 at its next step


def parse_value(text: str, hint: Any = Any) -> Any:
    """A `--key=value` text as a value for a field of type `hint`: a Python literal, as nanoGPT's
    configurator reads it (False, 1e-3, None, [1, 2], {"dim": 64}; JSON's false/null too), else
    the text itself (a path); a str field always takes the text as it is."""
    if hint is str:
        return text
    for parse in (ast.literal_eval, json.loads):
        try:
            return parse(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
    return text


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _type_name(hint: Any) -> str:
    if _is_union(hint):
        return " or ".join(_type_name(h) for h in typing.get_args(hint))
    return (
        "None"
        if hint is type(None)
        else getattr(typing.get_origin(hint) or hint, "__name__", str(hint))
    )


def check_value(name: str, value: Any, hint: Any) -> Any:
    """`value` as a field of type `hint` (an int is a float too, a list a tuple); SystemExit naming `name`
    otherwise, so a string given for a bool or a number is an error, not a truthy string."""
    for arm in typing.get_args(hint) if _is_union(hint) else (hint,):
        base = typing.get_origin(arm) or arm
        if (
            arm is Any
            or (base is bool and type(value) is bool)
            or (arm is type(None) and value is None)
        ):
            return value
        if base is float and type(value) in (int, float):
            return float(value)
        if base in (list, tuple) and isinstance(value, (list, tuple)):
            return base(value)
        if (
            base not in (bool, float, type(None))
            and isinstance(value, base)
            and type(value) is not bool
        ):
            return value
    raise SystemExit(f"{name}: expected {_type_name(hint)}, got {value!r}")


def split_override(arg: str) -> tuple[str, str]:
    """'--key=value' -> ('key', 'value')."""
    if not arg.startswith("--") or "=" not in arg:
        raise SystemExit(f"expected --key=value, got {arg!r} (--help lists the keys)")
    key, value = arg[2:].split("=", 1)
    return key, value


def _check_model(model: Any, where: str) -> dict:
    hints = typing.get_type_hints(ModelArgs)
    model = check_value(where, model, dict)
    unknown = sorted(set(model) - set(hints))
    if unknown:
        raise SystemExit(f"{where}: unknown model keys {unknown}")
    return {
        k: check_value(f"{where}.{k}" if where.startswith("--") else f"{where}[{k!r}]", v, hints[k])
        for k, v in model.items()
    }


def load_config(
    path: str | None, overrides: list[str] | None = None, *, cls: type, values: dict | None = None
) -> dict:
    """A config file sets module-level names (plain values); `--key=value` overrides them (Python
    literals; `--model.dim=256` sets one model field). Every value is checked against its field's type.
    The one config reader of train.py (cls=TrainConfig) and fim/sft.py (cls=SFTConfig; `values`: what
    its YAML reader made of `path`)."""
    hints = typing.get_type_hints(cls)
    cfg = {}
    if path:
        if values is None and not os.path.isfile(path):
            raise SystemExit(f"config file not found: {path} (--help lists the keys)")
        cfg = (
            values
            if values is not None
            else {k: v for k, v in runpy.run_path(path).items() if not k.startswith("_")}
        )
        unknown = set(cfg) - set(hints)
        if unknown:
            raise SystemExit(f"{path}: unknown config keys {sorted(unknown)}")
        cfg = {
            k: _check_model(v, f"{path}: model")
            if k == "model"
            else check_value(f"{path}: {k}", v, hints[k])
            for k, v in cfg.items()
        }
    for arg in overrides or []:
        key, text = split_override(arg)
        if key.startswith("model.") and "model" in hints:
            field_type = typing.get_type_hints(ModelArgs).get(key[6:], Any)
            cfg["model"] = {
                **cfg.get("model", {}),
                **_check_model({key[6:]: parse_value(text, field_type)}, "--model"),
            }
        elif key in hints:
            value = parse_value(text, hints[key])
            cfg[key] = (
                _check_model(value, f"--{key}")
                if key == "model"
                else check_value(f"--{key}", value, hints[key])
            )
        else:
            raise SystemExit(f"unknown config key {key!r} (--help lists them)")
    return cfg


def config_help(cls: type) -> str:
    """Every key of `cls` (and of ModelArgs as model.KEY, if cls has `model`) with its default and its comment."""
    lines = []
    with_model = any(f.name == "model" for f in fields(cls))
    for c, prefix in ((cls, ""), (ModelArgs, "model.")) if with_model else ((cls, ""),):
        comments = dict(re.findall(r"^\s+(\w+)\s*:[^#\n]*#\s*(.*)$", inspect.getsource(c), re.M))
        for f in fields(c):
            if f.name == "model" and c is cls:
                continue
            default = f.default_factory() if f.default is MISSING else f.default
            shown = f"--{prefix}{f.name}={default if isinstance(default, str) else repr(default)}"
            lines.append(f"  {shown:<34} {comments.get(f.name, '')}".rstrip())
    return "\n".join(lines)


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weight_checksums(ckpt_dir: str) -> dict[str, str]:
    """sha256 of each weights file (*.safetensors) in a checkpoint directory: safetensors has no
    checksum of its own, so flipped or overwritten bytes would otherwise load as weights."""
    names = sorted(n for n in os.listdir(ckpt_dir) if n.endswith(".safetensors"))
    return {n: file_sha256(os.path.join(ckpt_dir, n)) for n in names}


def checkpoint_problem(ckpt_dir: str) -> str | None:
    """Why a checkpoint directory cannot be trusted, or None: its state.json (if any: sqlcomplete/models/default
    has none) does not read, a weights file differs from the checksum recorded there, or its
    weights hold NaN/Inf."""
    from safetensors.torch import load_file

    try:
        recorded = None  # no state.json, or one written before checksums were recorded
        if os.path.exists(os.path.join(ckpt_dir, "state.json")):
            with open(os.path.join(ckpt_dir, "state.json")) as f:
                recorded = json.load(f).get("checksums")
        actual = weight_checksums(ckpt_dir)
        if recorded is not None and recorded != actual:
            bad = sorted(
                n for n in recorded.keys() | actual.keys() if recorded.get(n) != actual.get(n)
            )
            return f"checksum mismatch in {', '.join(bad)}"
        bad = []
        for file in weight_files(
            ckpt_dir
        ):  # model.safetensors, or the shards of a large model, one at a time
            weights = load_file(os.path.join(ckpt_dir, file))
            bad += [
                k
                for k, t in weights.items()
                if t.is_floating_point() and not torch.isfinite(t).all()
            ]
    except Exception as e:  # noqa: BLE001 -- anything unreadable: say what
        return f"{type(e).__name__}: {str(e)[:200]}"
    return f"non-finite weights in {', '.join(bad[:3])}" if bad else None


def weights_finite(model) -> bool:
    return bool(torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all())


def commit_checkpoint(tmp: str, out_dir: str, name: str) -> None:
    """Rename the finished directory `tmp` to OUT_DIR/<name>. A `last` already there becomes `prev` only
    if it still verifies (checkpoint_problem), else it is discarded and `prev` kept. The one checkpoint
    rotation of train.py and fim/sft.py."""
    final = os.path.join(out_dir, name)
    if name == "last" and os.path.exists(final):
        problem = checkpoint_problem(final)
        if problem:
            print(f"warning: {final} does not verify ({problem}): discarded, {out_dir}/prev kept")
            shutil.rmtree(final)
        else:
            prev = os.path.join(out_dir, "prev")
            shutil.rmtree(prev, ignore_errors=True)
            os.replace(final, prev)
    else:
        shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


class NonFiniteError(RuntimeError):
    """Too many steps in a row with a NaN/Inf loss or gradient norm, or non-finite weights to save."""


def skip_nonfinite(state: dict, loss: float, grad_norm: float, step: int, say=print) -> bool:
    """True if this step's loss or gradient norm is NaN/Inf: the caller must then not step the
    optimizer (weights and optimizer state stay as they were). Counted in state["skipped"] and
    state["nonfinite_in_a_row"], and said. Shared by train.py and fim/sft.py."""
    if math.isfinite(loss) and math.isfinite(grad_norm):
        state["nonfinite_in_a_row"] = 0
        return False
    state["skipped"] = state.get("skipped", 0) + 1
    state["nonfinite_in_a_row"] = state.get("nonfinite_in_a_row", 0) + 1
    say(
        f"step {step}: non-finite loss {loss} or gradient norm {grad_norm}: skipped "
        f"({state['nonfinite_in_a_row']} in a row, {state['skipped']} in all)",
        flush=True,
    )
    return True


def stop_if_diverging(state: dict, patience: int, step: int) -> None:
    """NonFiniteError once `patience` steps in a row were non-finite: the run has diverged."""
    if state.get("nonfinite_in_a_row", 0) >= patience:
        raise NonFiniteError(
            f"{state['nonfinite_in_a_row']} non-finite steps in a row at step {step}; "
            "the last checkpoint holds the last good weights"
        )


def cosine_lr(
    it: int,
    warmup_iters: int,
    max_iters: int,
    learning_rate: float,
    min_lr: float,
    time_fraction: float = 0.0,
) -> float:
    """Linear warmup, then cosine decay to min_lr at max_iters (or when time_fraction reaches 1).
    The one schedule of train.py and fim/sft.py."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    ratio = min(1.0, max(time_fraction, (it - warmup_iters) / max(1, max_iters - warmup_iters)))
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


def format_minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """AMX or AVX512-BF16: bf16 matmuls run ~10x faster than fp32 there; elsewhere bf16 is emulated and slower."""
    try:
        with open(cpuinfo) as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: keep fp32
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_dtype(dtype: str, device_type: str) -> str:
    """The autocast dtype for `dtype=auto`; master weights and checkpoints stay fp32 either way."""
    if dtype != "auto":
        return dtype
    if device_type == "cuda" or (device_type == "cpu" and cpu_has_native_bf16()):
        return "bfloat16"
    return "float32"


def autocast_context(device_type: str, dtype: str):
    return (
        nullcontext()
        if dtype == "float32"
        else torch.autocast(device_type, dtype=getattr(torch, dtype))
    )


# On 2 CPU cores torch.compile took 1-4 minutes (more under load) and saved ~10% a step (configs/quick.py's shape,
# 8x1536): it repays itself only on long runs
COMPILE_MIN_STEPS, COMPILE_MIN_MINUTES = 2000, 30.0


def resolve_compile(
    compile_model: bool | None, device_type: str, planned_steps: int, planned_minutes: float = 0.0
) -> bool:
    """`compile=None`: on CUDA, and on CPU for runs long enough to repay the compile time (a C++ compiler needed)."""
    if compile_model is not None:
        return compile_model
    if device_type == "cuda":
        return True
    long_run = (
        planned_minutes >= COMPILE_MIN_MINUTES
        if planned_minutes
        else planned_steps >= COMPILE_MIN_STEPS
    )
    return device_type == "cpu" and long_run and shutil.which("c++") is not None


def default_threads() -> int:
    """One torch thread per core this process may use."""
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def pick_device(name: str) -> str:
    if name != "auto":
        return name
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def init_distributed(device_name: str) -> tuple[bool, int, int, str]:
    """(distributed, rank, world size, device): a process group under torchrun (NCCL on GPUs, gloo on CPU)."""
    if int(os.environ.get("RANK", -1)) == -1:
        return False, 0, 1, pick_device(device_name)
    import torch.distributed as dist

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    device = f"cuda:{int(os.environ['LOCAL_RANK'])}" if backend == "nccl" else "cpu"
    if backend == "nccl":
        torch.cuda.set_device(device)
    return True, dist.get_rank(), dist.get_world_size(), device


def gpu_peak_flops(device: str) -> float:
    if device != "cuda":
        return 0.0
    name = torch.cuda.get_device_name()
    for key, flops in (
        ("H200", 989e12),
        ("H100", 989e12),
        ("A100", 312e12),
        ("L4", 121e12),
        ("A10", 125e12),
    ):
        if key in name:
            return flops
    return 0.0


def stop_on_sigterm() -> None:
    """A scheduler's SIGTERM (preemption, a Modal timeout, `kill`) saves a checkpoint as Ctrl-C does, at
    the next step: raised from the handler, the KeyboardInterrupt could land in a finalizer and be lost."""
    signal.signal(signal.SIGTERM, lambda signum, frame: TERMINATE.set())
