"""What train.py and fim/sft.py share: the config reader, checkpoint checksums and rotation, the
run's folder (checked before training, locked, partial saves cleaned up), the non-finite guard,
SIGTERM and Ctrl-C, the learning-rate schedule, the pace behind the ETA, and the choice of device,
dtype, compile and threads. Neither script imports the other; both import this."""

import ast
import errno
import inspect
import json
import math
import os
import re
import runpy
import shutil
import signal
import threading
import time
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import MISSING, fields
from typing import Any

import torch

from sqlcomplete.files import file_sha256
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
    """`value` as a field of type `hint` (an int is a float too, a list a tuple); SystemExit naming
    `name` otherwise, so a string given for a bool or a number is an error, not a truthy string."""
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
    literals; `--model.dim=256` sets one model field). Every value is checked against its field's
    type. The one config reader of train.py (cls=TrainConfig) and fim/sft.py (cls=SFTConfig;
    `values`: what its YAML reader made of `path`)."""
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


def field_comments(source: str) -> dict[str, str]:
    """A dataclass's field comments from its source: the comment on the field's line, else the
    `#` lines right above it (where a long comment goes to keep lines short)."""
    comments, above = {}, []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        field = re.match(r"\s+(\w+)\s*:[^#]*?(?:#\s*(.*))?$", line)
        if field and not stripped.startswith(("def ", "class ", "@", '"""')):
            comments[field.group(1)] = field.group(2) or " ".join(above)
        above = []
    return comments


def config_help(cls: type) -> str:
    """Every key of `cls` (and of ModelArgs as model.KEY, if cls has `model`), its default and
    its comment."""
    lines = []
    with_model = any(f.name == "model" for f in fields(cls))
    for c, prefix in ((cls, ""), (ModelArgs, "model.")) if with_model else ((cls, ""),):
        comments = field_comments(inspect.getsource(c))
        for f in fields(c):
            if f.name == "model" and c is cls:
                continue
            default = f.default_factory() if f.default is MISSING else f.default
            shown = f"--{prefix}{f.name}={default if isinstance(default, str) else repr(default)}"
            lines.append(f"  {shown:<34} {comments.get(f.name, '')}".rstrip())
    return "\n".join(lines)


def weight_checksums(ckpt_dir: str) -> dict[str, str]:
    """sha256 of each weights file (*.safetensors) in a checkpoint directory: safetensors has no
    checksum of its own, so flipped or overwritten bytes would otherwise load as weights."""
    names = sorted(n for n in os.listdir(ckpt_dir) if n.endswith(".safetensors"))
    return {n: file_sha256(os.path.join(ckpt_dir, n)) for n in names}


def checkpoint_problem(ckpt_dir: str) -> str | None:
    """Why a checkpoint directory cannot be trusted, or None: its state.json (if any:
    sqlcomplete/models/default has none) does not read, a weights file differs from the checksum
    recorded there, or its weights hold NaN/Inf."""
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
    """Rename the finished directory `tmp` to OUT_DIR/<name>. A `last` already there becomes
    `prev` only if it still verifies (checkpoint_problem), else it is discarded and `prev` kept.
    The one checkpoint rotation of train.py and fim/sft.py."""
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


# ---------------------------------------------------------------- the run's folder

CHECKPOINTS = ("last", "prev", "best")


class RunError(RuntimeError):
    """A problem with the run's folder the user can fix (a file given as out_dir, a second run on
    it, an earlier run it would overwrite, a full disk): said in one line, not a traceback."""


def check_out_dir(out_dir: str) -> None:
    """RunError before any training if out_dir cannot hold checkpoints: it is a file, it would be
    made under a file, or the folder it would be made in is read-only."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise RunError(f"out_dir {out_dir} is a file, not a folder: give another --out_dir")
    parent = os.path.abspath(out_dir)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise RunError(
            f"out_dir {out_dir}: {parent} is a file, not a folder: give another --out_dir"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"out_dir {out_dir}: {parent} is not writable: give another --out_dir")


@contextmanager
def out_dir_lock(out_dir: str, say=print) -> Iterator[None]:
    """Hold OUT_DIR/.lock while a run writes OUT_DIR: a second run is refused, naming the first's
    process id. The kernel drops the lock (flock) when its process dies, so a lock left by a killed
    run is taken over, and said; the file holds the pid only while held (empty: released)."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, ".lock")
    with open(path, "a+") as f:
        try:
            import fcntl

            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise RunError(
                f"{out_dir} is in use by another run (process {holder}): wait for it to end, stop "
                "it, or give another --out_dir"
            ) from None
        except (ImportError, OSError) as e:  # no flock here (Windows, some network disks)
            say(f"warning: cannot lock {path} ({e}): nothing stops a second run on {out_dir}")
        f.seek(0)
        left = f.read().strip()
        if left:
            say(f"note: {path} was left by process {left}, which is no longer running: taken over")
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)


def remove_partial_checkpoints(out_dir: str) -> None:
    """The temporary folders of a save that never finished (a run killed while saving)."""
    for name in CHECKPOINTS:
        shutil.rmtree(os.path.join(out_dir, f".{name}.tmp"), ignore_errors=True)


def checkpoint_summary(path: str) -> str:
    """'out/x/last (iter 400, val 1.2345)' from its state.json, as far as it says."""
    try:
        with open(os.path.join(path, "state.json")) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return path
    said = [f"iter {state['iter']}"] if "iter" in state else []
    if math.isfinite(state.get("best_val", math.inf)):
        said.append(f"val {state['best_val']:.4f}")
    return f"{path} ({', '.join(said)})" if said else path


def earlier_checkpoints(out_dir: str) -> list[str]:
    """The checkpoints in out_dir a fresh run would replace, summarized."""
    paths = [os.path.join(out_dir, n) for n in CHECKPOINTS]
    return [checkpoint_summary(p) for p in paths if os.path.exists(p)]


def good_checkpoint(out_dir: str, name: str) -> str | None:
    """After a failed save of OUT_DIR/<name>: the checkpoint still in charge (that name's earlier
    copy, else `last`, else `prev`) if it verifies, summarized; None if no good one is left."""
    for candidate in dict.fromkeys((name, "last", "prev")):
        path = os.path.join(out_dir, candidate)
        if os.path.isdir(path) and checkpoint_problem(path) is None:
            return checkpoint_summary(path)
    return None


def save_error_text(e: BaseException) -> str:
    """One line for a failed save; a full disk named as such (SafetensorError carries no errno)."""
    text = str(e).splitlines()[0][:200] if str(e) else ""
    full = getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left" in text
    return f"the disk is full: {text}" if full else f"{type(e).__name__}: {text}".rstrip(": ")


def check_free_space(out_dir: str, need_bytes: int) -> None:
    """RunError before training if out_dir's disk cannot take one more checkpoint beside the
    current ones (a save writes the new copy in full before the old one goes)."""
    free = shutil.disk_usage(out_dir).free
    if free < need_bytes:
        raise RunError(
            f"{out_dir}: {free / 1e6:,.0f} MB free on its disk, a checkpoint needs "
            f"{need_bytes / 1e6:,.0f} MB: free some space or give another --out_dir"
        )


class NonFiniteError(RuntimeError):
    """Too many steps in a row with a NaN/Inf loss or gradient norm, or NaN/Inf weights to save."""


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


class Pace:
    """Smoothed seconds per training step and per evaluation, for an ETA that neither swings with
    one slow window (an evaluation, a busy machine) nor leaves out the evaluations to come."""

    def __init__(self, smoothing: float = 0.2):
        self.smoothing = smoothing
        self.step: float | None = None
        self.eval: float | None = None

    def _mix(self, old: float | None, new: float) -> float:
        return new if old is None else old + self.smoothing * (new - old)

    def add_steps(self, seconds: float, steps: int) -> None:
        if steps > 0:
            self.step = self._mix(self.step, seconds / steps)

    def add_eval(self, seconds: float) -> None:
        self.eval = self._mix(self.eval, seconds)

    def eta(self, steps_left: int, evals_left: int, eval_guess: float = 0.0) -> float:
        """Seconds left; `eval_guess` stands in for an evaluation's time until one was timed."""
        per_eval = self.eval if self.eval is not None else eval_guess
        return steps_left * (self.step or 0.0) + evals_left * per_eval


def every(seconds: float, say) -> "typing.Callable[..., None]":
    """`say`, at most once every `seconds` (progress lines)."""
    last = time.monotonic()

    def maybe_say(*args, **kw) -> None:
        nonlocal last
        if time.monotonic() - last >= seconds:
            last = time.monotonic()
            say(*args, **kw)

    return maybe_say


def cpu_bf16_flag(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """'amx_bf16' or 'avx512_bf16' where this CPU has native bf16 matmuls, else None (bf16 is
    emulated there, and slower)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: keep fp32
        return None
    return next((flag for flag in ("amx_bf16", "avx512_bf16") if flag in flags), None)


def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    return cpu_bf16_flag(cpuinfo) is not None


# bf16 autocast against fp32, tokens/s on 2 cores, batch 8 x 512 (bench/train_speed.py):
# - AVX512-BF16 without AMX (an AMD EPYC): bf16 faster at every width, eager 1.44x at dim 64 (260K),
#   1.55x at 128, 1.80x at 192, 1.95x at 288 (15M), 3.19x at 512 (42M); compiled 1.31x to 2.23x;
# - AMX (the machine of issue 29): bf16 slower at dim 64 (260K: 0.86x of fp32), 2-3x faster at
#   288 and 512. Its tiles, set up per matmul, cost more than narrow matmuls save; the widths
#   between were not measured there, so bf16 starts at 128, the smallest shape after 260K.
AMX_BF16_MIN_DIM = 128


def choose_dtype(dtype: str, device_type: str, dim: int | None = None) -> tuple[str, str]:
    """(autocast dtype, why) for `dtype`; "auto" picks by device, CPU flags and the model's width
    `dim` (None: unknown, taken as wide). Master weights and checkpoints stay fp32 either way."""
    if dtype != "auto":
        return dtype, f"dtype={dtype}"
    if device_type == "cuda":
        return "bfloat16", "auto: CUDA"
    if device_type != "cpu":
        return "float32", f"auto: {device_type}"
    if not cpu_has_native_bf16():
        return "float32", "auto: this CPU has no native bf16 (AMX or AVX512-BF16)"
    flag = cpu_bf16_flag() or "native bf16"
    if flag == "amx_bf16" and dim is not None and dim < AMX_BF16_MIN_DIM:
        return "float32", (
            f"auto: the CPU has amx_bf16, but at dim {dim} < {AMX_BF16_MIN_DIM} AMX's bf16 was "
            "slower than fp32"
        )
    wide = f" and dim {dim} >= {AMX_BF16_MIN_DIM}" if flag == "amx_bf16" and dim else ""
    return "bfloat16", f"auto: the CPU has {flag}{wide}"


def resolve_dtype(dtype: str, device_type: str, dim: int | None = None) -> str:
    """The autocast dtype choose_dtype picks, without its reason."""
    return choose_dtype(dtype, device_type, dim)[0]


def autocast_context(device_type: str, dtype: str):
    return (
        nullcontext()
        if dtype == "float32"
        else torch.autocast(device_type, dtype=getattr(torch, dtype))
    )


# On 2 CPU cores torch.compile took 1-4 minutes (more under load) and saved ~10% a step
# (configs/quick.py's shape, 8x1536): it repays itself only on long runs
COMPILE_MIN_STEPS, COMPILE_MIN_MINUTES = 2000, 30.0


def resolve_compile(
    compile_model: bool | None, device_type: str, planned_steps: int, planned_minutes: float = 0.0
) -> bool:
    """`compile=None`: on CUDA, and on CPU for runs long enough to repay the compile time (a C++
    compiler needed)."""
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
    """(distributed, rank, world size, device): a process group under torchrun (NCCL on GPUs,
    gloo on CPU)."""
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
    """A scheduler's SIGTERM (preemption, a Modal timeout, `kill`) saves a checkpoint as Ctrl-C
    does, at the next step: raised from the handler, the KeyboardInterrupt could land in a
    finalizer and be lost. A forked child (a multiprocessing worker) inherits the handler but not
    the loop that reads the flag: there SIGTERM ends the process, as without the handler, so that
    Pool.terminate() does not wait on it forever."""
    trainer = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() == trainer:
            TERMINATE.set()
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
