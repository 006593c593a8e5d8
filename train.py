"""Train a tiny LLaMA on the token shards written by prepare.py.

    python train.py configs/15M.py [--key=value ...]
    torchrun --standalone --nproc_per_node=8 train.py configs/42M.py     # DDP

Reads top to bottom: config, data loader, model and optimizer, checkpoints, the loop.
Checkpoints are directories in Hugging Face layout (config.json + model.safetensors,
plus tok.model and, for resuming, optim.safetensors, by parameter name as fim/sft.py writes it,
and state.json): OUT_DIR/last, OUT_DIR/prev (the one before, used if last is unreadable) and
OUT_DIR/best. state.json holds the sha256 of each weights file, verified on resume; a last that
fails it never becomes prev. A run holds OUT_DIR/.lock, and a fresh run never replaces an earlier
run's checkpoints unless told to (--overwrite=True).
"""

import hashlib
import json
import math
import os
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
import torch

from sqlcomplete import training
from sqlcomplete.files import write_json_atomic
from sqlcomplete.model import (
    ModelArgs,
    Transformer,
    args_from_hf_config,
    from_pretrained,
    read_hf_config,
    save_pretrained,
)
from sqlcomplete.training import (
    CHECKPOINTS,
    TERMINATE,
    NonFiniteError,
    Pace,
    RunError,
    autocast_context,
    check_free_space,
    check_out_dir,
    checkpoint_problem,
    choose_dtype,
    commit_checkpoint,
    config_help,
    cosine_lr,
    default_threads,
    earlier_checkpoints,
    every,
    format_minutes,
    good_checkpoint,
    gpu_peak_flops,
    init_distributed,
    out_dir_lock,
    remove_partial_checkpoints,
    resolve_compile,
    save_error_text,
    skip_nonfinite,
    stop_if_diverging,
    stop_on_sigterm,
    weight_checksums,
    weights_finite,
)


@dataclass
class TrainConfig:
    data_dir: str = "data/sql"
    out_dir: str = "out/default"
    model: dict = field(default_factory=dict)  # ModelArgs fields
    batch_size: int = 16
    block_size: int = 1024  # row length; rows pack whole examples
    grad_accum: int = 1
    max_iters: int = 2000
    # >0: checkpoint and stop at this iteration, schedule unchanged (split a run into sessions)
    stop_at: int = 0
    # >0: a wall-clock budget; the schedule follows elapsed time (resume is then not exact)
    max_minutes: float = 0.0
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    # "statement": loss on statement tokens (and EOS) only; "all": every token
    loss_on: str = "statement"
    eval_interval: int = 250
    eval_iters: int = 20
    log_interval: int = 10
    # "scratch", "resume" (from out_dir/last, else out_dir/prev), or a checkpoint dir to fine-tune
    init_from: str = "scratch"
    overwrite: bool = False  # True: a fresh run may replace an earlier run's checkpoints in out_dir
    device: str = "auto"  # auto: cuda, then mps, then cpu
    dtype: str = "auto"  # auto: bf16 on CUDA and CPUs with native bf16 (with AMX: dim >= 128)
    compile: bool | None = None  # None: compile where it pays for itself (see resolve_compile)
    threads: int = 0  # torch CPU threads, 0: one per core
    seed: int = 1337
    peak_flops: float = 0.0  # for MFU; 0: guess from the GPU name, none on CPU
    # a step with a NaN/Inf loss or gradient norm is skipped; stop after this many in a row
    nonfinite_patience: int = 3
    wandb_project: str = "sqlcomplete"


# configs/*.py and --key=value as a TrainConfig dict
load_config = partial(training.load_config, cls=TrainConfig)


USAGE = """usage: python train.py [CONFIG.py] [--key=value ...]

Trains on the shards prepare.py writes (`make data`). CONFIG.py (configs/*.py) sets any of the keys
below as plain Python names; --key=value overrides them. Values are Python literals, as in nanoGPT:
--compile=False, --learning_rate=1e-3, --model.dim=256, --model={"dim": 64, "n_layers": 2}; a value
of the wrong type is an error naming its key. Keys, with their defaults:
"""


# ---------------------------------------------------------------- data


class DataError(ValueError):
    """The prepared data is missing or does not match its meta.json: a one-line error, not a
    traceback."""


def read_meta(data_dir: str) -> dict:
    path = os.path.join(data_dir, "meta.json")
    if not os.path.isfile(path):
        raise DataError(
            f"{path} not found: run `make data` to prepare the data, or pass --data_dir=DIR"
        )
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is unreadable ({e}): run `make data` again") from None


def read_tokenizer(data_dir: str, meta: dict, say=print) -> bytes:
    """tok.model's bytes, checked against the sha256 prepare.py records in meta.json: a tokenizer
    replaced after the shards were written (an interrupted prepare.py) would read them as gibberish,
    and ship in every checkpoint. Data prepared before the hash was recorded is taken as it is."""
    path = os.path.join(data_dir, "tok.model")
    if not os.path.isfile(path):
        raise DataError(f"{path} not found: run `make data` again")
    with open(path, "rb") as f:
        tokenizer = f.read()
    recorded, actual = meta.get("tokenizer_sha256"), hashlib.sha256(tokenizer).hexdigest()
    if recorded is None:
        say(f"note: {data_dir}/meta.json has no tokenizer hash (older data): tok.model unchecked")
    elif recorded != actual:
        raise DataError(
            f"{path} is not the tokenizer the shards were written with (sha256 {actual[:12]}, "
            f"meta.json says {recorded[:12]}): run `make data` again"
        )
    return tokenizer


def open_shard(data_dir: str, split: str, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    """(tokens memmap, example index) of one split, checked against meta.json before any training:
    a truncated or swapped shard fails here, not mid-run in get_batch."""
    bin_path, idx_path = (
        os.path.join(data_dir, f"{split}.bin"),
        os.path.join(data_dir, f"{split}.idx.npy"),
    )
    for path in (bin_path, idx_path):
        if not os.path.isfile(path):
            raise DataError(f"{path} not found: run `make data` again")
    size = os.path.getsize(bin_path)
    expected = meta.get(split, {}).get(
        "tokens", size // 2
    )  # older meta.json: the index check below still holds
    if size != 2 * expected:
        raise DataError(
            f"{bin_path}: {size:,} bytes, but meta.json says {expected:,} uint16 tokens "
            f"({2 * expected:,} bytes): truncated or from another run; run `make data` again"
        )
    try:
        index = np.load(idx_path)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{idx_path} is unreadable ({e}): run `make data` again") from None
    if index.ndim != 2 or index.shape[1] != 3 or len(index) == 0:
        raise DataError(f"{idx_path}: no examples (shape {index.shape})")
    if (
        index[-1, 2] != size // 2
        or (index[:, 0] > index[:, 1]).any()
        or (index[:, 1] > index[:, 2]).any()
    ):
        raise DataError(
            f"{idx_path}: examples end at token {index[-1, 2]:,} "
            f"but {bin_path} holds {size // 2:,}: "
            "run `make data` again"
        )
    return np.memmap(bin_path, dtype=np.uint16, mode="r"), index


class Loader:
    """Random rows from a memmap, each starting at an example and packing whole examples.

    Examples never straddle rows, so a statement is always seen with its schema. The
    row is padded (targets -100) where the next whole example does not fit.
    """

    def __init__(
        self, data_dir: str, split: str, block_size: int, batch_size: int, seed: int, loss_on: str
    ):
        meta = read_meta(data_dir)
        self.tokens, self.index = open_shard(
            data_dir, split, meta
        )  # index rows: [start, statement start, end]
        self.eos = meta["eos_id"]
        too_long = int((self.index[:, 2] - self.index[:, 0] > block_size + 1).sum())
        if too_long:
            raise DataError(
                f"{data_dir}/{split}: {too_long} examples longer than block_size {block_size}; "
                "prepare with a smaller --block-size or train with a larger one"
            )
        self.block_size, self.batch_size, self.loss_on = block_size, batch_size, loss_on
        self.rng = np.random.default_rng(seed)

    def get_batch(self):
        T = self.block_size
        x = np.full((self.batch_size, T), self.eos, dtype=np.int64)
        y = np.full((self.batch_size, T), -100, dtype=np.int64)
        starts, ends = self.index[:, 0], self.index[:, 2]
        for b, i in enumerate(self.rng.integers(0, len(self.index), self.batch_size)):
            s = starts[i]
            j = (
                np.searchsorted(ends, s + T + 1, side="right") - 1
            )  # last example ending within the row
            n = ends[j] - s
            row = np.asarray(self.tokens[s : s + n], dtype=np.int64)
            x[b, : n - 1], y[b, : n - 1] = row[:-1], row[1:]
            if self.loss_on == "statement":
                keep = np.zeros(n - 1, dtype=bool)
                for _, st, en in self.index[i : j + 1]:
                    keep[st - s - 1 : en - s - 1] = True  # targets are the statement tokens and EOS
                y[b, : n - 1][~keep] = -100
        return torch.from_numpy(x), torch.from_numpy(y)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(
    out_dir: str, model, optimizer, state: dict, tokenizer: bytes | None, name: str = "last"
):
    """Write OUT_DIR/<name> atomically (temp dir + rename), with the checksum of each weights file
    in its state.json. The previous `last` becomes `prev` only if it still verifies (checksums,
    finite weights), so a bad `last` never pushes out the good `prev`. Non-finite weights are never
    written; a failed save (a full disk) removes its temp dir and leaves the earlier checkpoints."""
    from safetensors.torch import save_file

    if not weights_finite(model):
        raise NonFiniteError(
            f"the weights hold NaN/Inf: {out_dir}/{name} not written; "
            f"{out_dir}/last holds the last good weights"
        )
    tmp = os.path.join(out_dir, f".{name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        save_pretrained(model, tmp)
        if tokenizer is not None:
            with open(os.path.join(tmp, "tok.model"), "wb") as f:
                f.write(tokenizer)
        if optimizer is not None:
            # by parameter name, as fim/sft.py writes it: "<name>.<exp_avg|exp_avg_sq|step>"
            opt = optimizer.state_dict()
            names = optimizer_param_names(model, optimizer)
            tensors = {}
            for pid, st in opt["state"].items():
                for k, v in st.items():
                    tensors[f"{names[pid]}.{k}"] = (
                        v.detach().cpu().contiguous() if torch.is_tensor(v) else torch.tensor(v)
                    )
            save_file(tensors, os.path.join(tmp, "optim.safetensors"))
            state = {
                **state,
                "param_groups": [
                    {**g, "params": [names[i] for i in g["params"]]} for g in opt["param_groups"]
                ],
            }
            torch_rng = torch.get_rng_state()
            save_file({"torch_rng": torch_rng}, os.path.join(tmp, "rng.safetensors"))
        write_json_atomic(
            os.path.join(tmp, "state.json"), {**state, "checksums": weight_checksums(tmp)}
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    commit_checkpoint(tmp, out_dir, name)


def optimizer_param_names(model, optimizer) -> list[str]:
    """The name of each of the optimizer's parameters, in its order (the index its state_dict
    uses)."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [names[id(p)] for g in optimizer.param_groups for p in g["params"]]


def optimizer_state_by_index(opt_state: dict, model, optimizer) -> dict:
    """An optimizer state dict keyed by parameter name (optim.safetensors) keyed by index, for
    load_state_dict."""
    index = {n: i for i, n in enumerate(optimizer_param_names(model, optimizer))}

    def at(key):
        return key if isinstance(key, int) else index[key]

    return {
        "state": {at(k): v for k, v in opt_state["state"].items()},
        "param_groups": [
            {**g, "params": [at(p) for p in g["params"]]} for g in opt_state["param_groups"]
        ],
    }


def load_checkpoint(out_dir: str, device):
    """(model, optimizer state dict, state) from OUT_DIR/last, falling back to OUT_DIR/prev."""
    from safetensors.torch import load_file

    errors = []
    for name in ("last", "prev"):
        path = os.path.join(out_dir, name)
        if not os.path.isdir(path):
            continue
        try:
            problem = checkpoint_problem(path)
            if problem:
                raise ValueError(problem)
            model = from_pretrained(path, device="cpu")
            with open(os.path.join(path, "state.json")) as f:
                state = json.load(f)
            flat = load_file(os.path.join(path, "optim.safetensors"))
            opt_state = {}
            for key, v in flat.items():
                pid, k = key.rsplit(
                    ".", 1
                )  # a parameter name (an index in checkpoints written before names)
                opt_state.setdefault(int(pid) if pid.isdigit() else pid, {})[k] = v
            state["torch_rng"] = load_file(os.path.join(path, "rng.safetensors"))["torch_rng"]
            state.pop("checksums", None)
            if name == "prev":
                print(
                    f"warning: {errors[-1] if errors else 'no last checkpoint'}; "
                    f"resuming from {path}"
                )
            return model, {"state": opt_state, "param_groups": state.pop("param_groups")}, state
        except Exception as e:  # corrupt or partial checkpoint: say so, try the previous one
            errors.append(f"checkpoint {path} is unreadable ({type(e).__name__}: {str(e)[:200]})")
    raise FileNotFoundError(
        "; ".join(errors) or f"no checkpoint to resume in {out_dir} (no last, no prev)"
    )


def claim_fresh_out_dir(cfg: TrainConfig, say=print) -> None:
    """A run from scratch or from another checkpoint never silently replaces an earlier run's
    checkpoints: refused unless --overwrite=True, which removes them first (a new `last` would
    otherwise rotate the old run's into `prev`)."""
    earlier = earlier_checkpoints(cfg.out_dir)
    if not earlier:
        return
    flag = "make train TRAIN_ARGS=--{}" if os.environ.get("MAKELEVEL") else "--{}"
    if not cfg.overwrite:
        raise RunError(
            f"{cfg.out_dir} holds an earlier run ({'; '.join(earlier)}): go on with it with "
            f"{flag.format('init_from=resume')}, replace it with {flag.format('overwrite=True')}, "
            "or give another --out_dir"
        )
    say(f"overwrite=True: removing the earlier run in {cfg.out_dir} ({'; '.join(earlier)})")
    for name in CHECKPOINTS:
        shutil.rmtree(os.path.join(cfg.out_dir, name), ignore_errors=True)


# ---------------------------------------------------------------- training


def init_from_checkpoint(
    path: str, tokenizer: bytes, data_dir: str, vocab_size: int
) -> Transformer:
    """Weights of a checkpoint directory (sqlcomplete/models/default, out/x/best) to fine-tune on
    data_dir's shards."""
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise SystemExit(
            f"init_from={path}: not 'scratch', 'resume' or a checkpoint directory (config.json)"
        )
    ckpt_tok = os.path.join(path, "tok.model")
    if os.path.exists(ckpt_tok):
        with open(ckpt_tok, "rb") as f:
            if f.read() != tokenizer:
                raise SystemExit(
                    f"init_from={path}: its tok.model differs from {data_dir}/tok.model; prepare "
                    f"the data with --tokenizer {ckpt_tok}"
                )
    problem = checkpoint_problem(path)
    if problem:
        raise SystemExit(f"init_from={path}: {problem}")
    model = from_pretrained(path)
    if model.args.vocab_size != vocab_size:
        raise SystemExit(
            f"init_from={path}: vocab_size {model.args.vocab_size}, the data has {vocab_size}"
        )
    return model


def planned_args(cfg: TrainConfig, vocab_size: int) -> ModelArgs:
    """The shape this run trains: the checkpoint's it starts from (its config.json), else the
    config's. Known before any weights load, for the first log line's dtype choice."""
    starts = {"scratch": [], "resume": [os.path.join(cfg.out_dir, n) for n in ("last", "prev")]}
    for start in starts.get(cfg.init_from, [cfg.init_from]):
        try:
            if os.path.isfile(os.path.join(start, "config.json")):
                return args_from_hf_config(read_hf_config(start))
        except (ValueError, KeyError):
            pass  # loading it says what is wrong
    return ModelArgs(**{"vocab_size": vocab_size, "max_seq_len": cfg.block_size, **cfg.model})


def get_lr(it: int, cfg: TrainConfig, time_fraction: float = 0.0) -> float:
    """cosine_lr to min_lr at max_iters (or at the end of max_minutes)."""
    return cosine_lr(
        it, cfg.warmup_iters, cfg.max_iters, cfg.learning_rate, cfg.min_lr, time_fraction
    )


def evals_left(it: int, cfg: TrainConfig) -> int:
    """Evaluations still to come after iteration `it`: the periodic ones, and the final one."""
    end = min(cfg.max_iters, cfg.stop_at or cfg.max_iters)
    return len(range((it // cfg.eval_interval + 1) * cfg.eval_interval, end, cfg.eval_interval)) + 1


def eta_seconds(it: int, cfg: TrainConfig, elapsed: float, pace: Pace, eval_guess: float) -> float:
    """Time left at the smoothed pace, evaluations included (or to the end of max_minutes)."""
    end = min(cfg.max_iters, cfg.stop_at or cfg.max_iters)
    left = pace.eta(end - it, evals_left(it, cfg), eval_guess)
    return min(left, max(0.0, cfg.max_minutes * 60 - elapsed)) if cfg.max_minutes else left


@torch.no_grad()
def estimate_loss(model, loaders: dict, iters: int, ctx, progress=None) -> dict:
    """Mean loss on train and val over `iters` batches, on statement tokens and on all tokens.
    `progress(done, total)` is called after each batch."""
    model.eval()
    out = {}
    done, total = 0, 2 * iters * len(loaders)
    for split, loader in loaders.items():
        rng_state = loader.rng.bit_generator.state  # evaluation must not move the training stream
        mode = loader.loss_on
        for loss_on in ("statement", "all"):
            loader.loss_on = loss_on
            losses = []
            for _ in range(iters):
                x, y = loader.get_batch()
                with ctx:
                    _, loss = model(
                        x.to(model.embed_tokens.weight.device),
                        y.to(model.embed_tokens.weight.device),
                    )
                losses.append(loss.item())
                done += 1
                if progress:
                    progress(done, total)
            out[f"{split}/{loss_on}"] = float(np.mean(losses))
        loader.loss_on = mode
        loader.rng.bit_generator.state = rng_state
    model.train()
    return out


PROGRESS_SECONDS = 10.0  # a line at most this often during a long evaluation


def train(cfg: TrainConfig) -> dict:
    ddp, rank, world, device = init_distributed(cfg.device)
    if ddp:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP
    master = rank == 0
    say = print if master else (lambda *a, **k: None)
    device_type = "cuda" if str(device).startswith("cuda") else str(device)
    if device_type == "cpu":
        torch.set_num_threads(cfg.threads or max(1, default_threads() // world))
    if master:
        check_out_dir(cfg.out_dir)  # a file given as out_dir fails now, not at the first save
    meta = read_meta(cfg.data_dir)
    margs = planned_args(cfg, meta["vocab_size"])
    dtype, why = choose_dtype(cfg.dtype, device_type, margs.dim)
    where = f"cpu, {torch.get_num_threads()} threads" if device_type == "cpu" else str(device)
    say(f"device {where}, autocast {dtype} ({why})", flush=True)
    ctx = autocast_context(device_type, dtype)
    torch.manual_seed(cfg.seed + rank)

    tokenizer = read_tokenizer(cfg.data_dir, meta, say)
    loaders = {
        s: Loader(
            cfg.data_dir, s, cfg.block_size, cfg.batch_size, cfg.seed + 1000 * rank + i, cfg.loss_on
        )
        for i, s in enumerate(("train", "val"))
    }
    # rank 0 holds out_dir from here to the end: a second run on it is refused
    with out_dir_lock(cfg.out_dir, say) if master else nullcontext():
        if master:
            remove_partial_checkpoints(cfg.out_dir)  # of a run killed while saving
            if cfg.init_from != "resume":
                claim_fresh_out_dir(cfg, say)
        state = {
            "iter": 0,
            "best_val": float("inf"),
            "tokens": 0,
            "skipped": 0,
            "nonfinite_in_a_row": 0,
        }
        if cfg.init_from == "resume":
            try:
                model, opt_state, state = load_checkpoint(cfg.out_dir, device)
            except FileNotFoundError as e:
                raise RunError(f"init_from=resume: {e}; leave it out to start a new run") from None
            torch.set_rng_state(state.pop("torch_rng"))
            for split, rng_state in state.pop("loader_rng").items():
                loaders[split].rng.bit_generator.state = rng_state
            say(f"resumed from {cfg.out_dir} at iter {state['iter']}")
        elif cfg.init_from != "scratch":
            # fine-tune: a checkpoint's weights, a fresh optimizer and schedule
            model = init_from_checkpoint(cfg.init_from, tokenizer, cfg.data_dir, meta["vocab_size"])
            opt_state = None
            if any(getattr(model.args, k, v) != v for k, v in cfg.model.items()):
                say(
                    f"warning: init_from={cfg.init_from} keeps that checkpoint's shape; "
                    f"ignoring model={cfg.model}"
                )
            say(f"initialized from {cfg.init_from}")
        else:
            model, opt_state = Transformer(margs), None
        if model.args.max_seq_len < cfg.block_size:
            raise SystemExit(
                f"block_size {cfg.block_size} exceeds the model's max_seq_len "
                f"{model.args.max_seq_len}"
            )
        model.to(device)
        optimizer = model.configure_optimizers(
            cfg.weight_decay, cfg.learning_rate, (cfg.beta1, cfg.beta2), device_type
        )
        if opt_state is not None:
            optimizer.load_state_dict(optimizer_state_by_index(opt_state, model, optimizer))
        say(
            f"model: {model.num_params():,} parameters "
            f"({model.num_params(non_embedding=True):,} non-embedding), {model.args}"
        )
        if master:  # fp32 weights, and for `last` AdamW's two moments: the new copy beside the old
            check_free_space(cfg.out_dir, 16 * model.num_params() + len(tokenizer) + 2**20)
        raw_model = model
        planned_steps = min(cfg.max_iters, cfg.stop_at or cfg.max_iters) - state["iter"]
        compiled = resolve_compile(cfg.compile, device_type, planned_steps, cfg.max_minutes)
        if compiled:
            model = torch.compile(model)
        if ddp:
            model = DDP(
                model, device_ids=[int(os.environ["LOCAL_RANK"])] if device_type == "cuda" else None
            )
        peak = cfg.peak_flops or gpu_peak_flops(device_type)
        if master and cfg.wandb_project and os.environ.get("WANDB_API_KEY"):
            try:
                import wandb

                wandb.init(project=cfg.wandb_project, config=asdict(cfg))
            except ImportError:
                wandb = None
        else:
            wandb = None

        def checkpoint(name: str = "last", then: str = "go on") -> bool:
            """Save OUT_DIR/<name> (rank 0). A failed save says which checkpoint is still good, then
            training goes on (then="go on", and one is left), or ends anyway ("end"), or stops
            with RunError ("stop"). True if saved."""
            if not master:
                return True
            # the train loader's state before the batch prefetched for the next step: resume
            # redraws it
            rngs = {"train": resume_rng, "val": loaders["val"].rng.bit_generator.state}
            st = {**state, "config": asdict(cfg), "loader_rng": rngs}
            optim = optimizer if name == "last" else None
            try:
                save_checkpoint(cfg.out_dir, raw_model, optim, st, tokenizer, name)
                return True
            except NonFiniteError:
                raise
            except Exception as e:  # noqa: BLE001 -- a full disk, a folder removed under the run
                failed = (
                    f"could not save {cfg.out_dir}/{name} at iter {state['iter']} "
                    f"({save_error_text(e)})"
                )
                good = good_checkpoint(cfg.out_dir, name)
                if good is None and then != "end":
                    raise RunError(f"{failed}; no earlier checkpoint is left: stopped") from None
                if then == "stop":
                    raise RunError(
                        f"{failed}; {good} is still good: free some space, then go on from it with "
                        "--init_from=resume"
                    ) from None
                if then == "end":
                    say(
                        f"warning: {failed}; "
                        + (f"{good} is still good" if good else "no earlier one")
                    )
                else:
                    say(
                        f"warning: {failed}; {good} is still good, so training goes on and saves "
                        "again at the next evaluation"
                    )
                return False

        def evaluate(label: str) -> dict:
            """estimate_loss with a progress line every PROGRESS_SECONDS, timed into the pace."""
            t = time.time()
            tick = every(PROGRESS_SECONDS, say)
            ev = estimate_loss(
                raw_model,
                loaders,
                cfg.eval_iters,
                ctx,
                lambda done, total: (
                    done < total
                    and tick(
                        f"{label}: evaluating, {done}/{total} batches, "
                        f"{format_minutes(time.time() - t)}",
                        flush=True,
                    )
                ),
            )
            say(
                f"{label}: "
                + ", ".join(f"{k} {v:.4f}" for k, v in ev.items())
                + f" ({format_minutes(time.time() - t)})",
                flush=True,
            )
            if wandb:
                wandb.log({"iter": state["iter"], **ev})
            return ev

        def save_if_best(ev: dict, then: str = "go on") -> None:
            if ev["val/statement"] < state["best_val"]:
                before, state["best_val"] = state["best_val"], ev["val/statement"]
                if not checkpoint("best", then):
                    state["best_val"] = before  # a later evaluation tries again

        tokens_per_iter = cfg.batch_size * cfg.block_size * cfg.grad_accum * world
        # the pace of training steps alone: evaluations and saves timed apart, compiling left out
        pace, losses = Pace(), []
        resume_rng = loaders["train"].rng.bit_generator.state
        x, y = loaders["train"].get_batch()
        t_start = window_start = time.time()
        window_steps, paused = 0, 0.0
        time_fraction = 0.0
        it, step_rng = state["iter"], resume_rng
        compiling = compiled and planned_steps > 0
        if compiling:
            say(
                "compiling the model (torch.compile, in the first step; on a CPU 1-4 minutes)",
                flush=True,
            )
        try:
            while (
                state["iter"] < min(cfg.max_iters, cfg.stop_at or cfg.max_iters)
                and time_fraction < 1.0
            ):
                if TERMINATE.is_set():
                    raise KeyboardInterrupt
                # the loader's state before this step's batches
                it, step_rng = state["iter"], resume_rng
                if cfg.max_minutes:
                    time_fraction = (time.time() - t_start) / 60 / cfg.max_minutes
                lr = get_lr(it, cfg, time_fraction)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                if it % cfg.eval_interval == 0 and it > 0 and master:
                    t_eval = time.time()
                    save_if_best(evaluate(f"eval iter {it}"))
                    checkpoint("last")
                    pace.add_eval(time.time() - t_eval)
                    paused += time.time() - t_eval
                for micro in range(cfg.grad_accum):
                    if ddp:
                        model.require_backward_grad_sync = micro == cfg.grad_accum - 1
                    with ctx:
                        _, loss = model(
                            x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                        )
                        loss = loss / cfg.grad_accum
                    if micro == cfg.grad_accum - 1:
                        resume_rng = loaders["train"].rng.bit_generator.state
                    # prefetch the next batch while the GPU works
                    x, y = loaders["train"].get_batch()
                    loss.backward()
                # the norm even without clipping: a step with a NaN/Inf loss or gradient is
                # skipped, not applied
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip or math.inf)
                step_loss = loss.item() * cfg.grad_accum
                if not skip_nonfinite(state, step_loss, float(norm), it + 1, say):
                    optimizer.step()
                    losses.append(step_loss)
                optimizer.zero_grad(set_to_none=True)
                state["iter"] += 1
                state["tokens"] += tokens_per_iter
                window_steps += 1
                stop_if_diverging(state, cfg.nonfinite_patience, state["iter"])
                if compiling:  # its time is not a step's: the pace starts after it
                    say(
                        f"compiled in {format_minutes(time.time() - window_start)} (the first step)"
                    )
                    window_start, window_steps, paused, compiling = time.time(), 0, 0.0, False
                if state["iter"] % cfg.log_interval == 0 and window_steps and master:
                    seconds = max(1e-9, time.time() - window_start - paused)
                    pace.add_steps(seconds, window_steps)
                    tps = window_steps * tokens_per_iter / seconds
                    mfu = (
                        raw_model.estimate_mfu(tps / world, cfg.block_size, peak) if peak else None
                    )
                    elapsed = time.time() - t_start
                    # until one is timed: an evaluation's forward passes (eager), half a step each
                    eval_guess = 4 * cfg.eval_iters * (pace.step or 0) / (2 * cfg.grad_accum)
                    eta = eta_seconds(state["iter"], cfg, elapsed, pace, eval_guess)
                    loss_mean = np.mean(losses[-cfg.log_interval :])
                    say(
                        f"iter {state['iter']}: loss {loss_mean:.4f}, lr {lr:.2e}, {tps:,.0f} tok/s"
                        + (f", mfu {100 * mfu:.1f}%" if mfu is not None else "")
                        + f", {format_minutes(elapsed)} elapsed, eta {format_minutes(eta)}",
                        flush=True,
                    )
                    if wandb:
                        wandb.log(
                            {"iter": state["iter"], "loss": losses[-1], "lr": lr, "tok_per_s": tps}
                        )
                    window_start, window_steps, paused = time.time(), 0, 0.0
        except RunError:
            raise  # a failed save that left nothing good: said in full, nothing more to save
        except (KeyboardInterrupt, Exception) as e:
            # Ctrl-C or any error: save first, so a rerun resumes here
            if state["iter"] == it:
                resume_rng = step_rng  # stopped inside a step: resume redraws its batches
            interrupted = isinstance(e, KeyboardInterrupt)
            say(
                "interrupted" if interrupted else f"{type(e).__name__} at iter {state['iter']}",
                end="",
            )
            say(f": saving {cfg.out_dir}/last before exit", flush=True)
            try:
                checkpoint("last", then="stop")
            except Exception as save_error:  # noqa: BLE001 -- the first error is the one to raise
                say(f"error: {save_error}")
            if interrupted:
                raise SystemExit(130) from None
            raise
        if master:
            save_if_best(evaluate(f"final iter {state['iter']}"), then="end")
            checkpoint("last", then="stop")
            say(
                f"done in {format_minutes(time.time() - t_start)}: {state['tokens']:,} tokens "
                f"seen; checkpoints in {cfg.out_dir}/last and {cfg.out_dir}/best (val statement "
                f"loss {state['best_val']:.4f}); to see what it learned beside the shipped model: "
                f"make sample CKPT={cfg.out_dir}/best"
            )
        if ddp:
            dist.destroy_process_group()
        return {"losses": losses, "state": state}


def main(argv: list[str]) -> None:
    """The command line: `python train.py [CONFIG.py] [--key=value ...]`, or --help."""
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE + config_help(TrainConfig))
        return
    path = argv[0] if argv and not argv[0].startswith("-") else None
    cfg = TrainConfig(**load_config(path, argv[1:] if path else argv))
    stop_on_sigterm()
    try:
        train(cfg)
    except (DataError, NonFiniteError, RunError) as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
