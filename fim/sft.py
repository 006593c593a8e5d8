"""Supervised fine-tuning of a Hugging Face Qwen3 (or Llama) checkpoint, on prompt/response or chat data.

    python fim/sft.py configs/fim_qwen3_4b.py [--key=value ...] [--block_size=8192 ...]
    python fim/sft.py config.yml [--key=value ...]     # an arctic_training YAML config (fim/arctic_yaml.py)
    torchrun --standalone --nproc_per_node=8 fim/sft.py configs/fim_qwen3_4b.py        # FSDP2

Reads top to bottom: config, data (fim/data.py), model and optimizer (FSDP2 under torchrun), the loss
of a packed batch, checkpoints, the loop. No transformers: the model is model.py's Transformer loaded
from (sharded) safetensors by model.from_pretrained, the tokenizer fim/bpe.py reading the model's tokenizer.json.

- A step is batch_size rows x grad_accum x data-parallel ranks. Its loss is the mean
  over all its trained tokens (every micro-batch and rank together), so packing, accumulation and
  the number of GPUs do not change what is optimised.
- Non-finite guard: a step whose loss or gradient norm is NaN/Inf is skipped (gradients dropped,
  the optimizer not stepped, so its state is untouched), logged and counted; after
  nonfinite_patience such steps in a row the run stops with an error.
- Precision: the master weights and the optimizer state are fp32. Compute is bf16 on GPUs: autocast
  on one GPU, FSDP2's MixedPrecisionPolicy (bf16 parameters, fp32 gradient reduction) under torchrun.
- Checkpoints: OUT_DIR/last (the one before it in OUT_DIR/prev), written to a temporary
  directory and renamed: the fp32 model in Hugging Face layout with its tokenizer files,
  optim.safetensors and state.json. init_from="resume" (or "auto") continues exactly where it
  stopped: same data order, same optimizer state, same schedule. The config reader, the cosine
  schedule, the non-finite guard, the checkpoint rotation and checksums are train.py's, and the
  settings both scripts have are spelled as in train.py (out_dir, grad_accum, learning_rate, ...).
- At the end, OUT_DIR/final holds the model in bf16 in the original's sharded layout, with its
  config, tokenizer and generation files: `vllm serve OUT_DIR/final`.
- Long sequences: tiled_loss, tiled_mlp, attention="flex", offload_activations and
  sequence_parallel hand the loss of a batch to fim/longseq.py (batch_loss below).
"""

import json
import math
import os
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from sqlcomplete.fim import longseq
from sqlcomplete.fim.bpe import BPETokenizer
from sqlcomplete.fim.data import (
    DataStats,
    Settings,
    Tokenized,
    collate,
    detect_kind,
    epoch_rows,
    load_source,
    packed_attention_mask,
    row_tokens,
)
from sqlcomplete.fim.hub import dataset_files, model_dir, tokenizer_file
from sqlcomplete.model import from_pretrained, save_pretrained, write_json_atomic
from sqlcomplete.training import (
    NonFiniteError,
    checkpoint_problem,
    commit_checkpoint,
    config_help,
    cosine_lr,
    gpu_peak_flops,
    init_distributed,
    skip_nonfinite,
    stop_if_diverging,
    weight_checksums,
)
from sqlcomplete.training import load_config as load_config_values

# ---------------------------------------------------------------- config


@dataclass
class SFTConfig:
    """fim/sft.py's settings; those train.py also has are spelled as there (nanoGPT's names)."""

    type: str = "sft"
    pretrained: str = ""  # the model to fine-tune: a directory (config.json, safetensors, tokenizer.json) or a hub id
    tokenizer: str = ""  # a tokenizer.json, a directory or a hub id; "": the model's own
    sources: list = field(
        default_factory=list
    )  # paths, hub dataset ids or {name_or_path, split, kind} (fim/hub.py)
    block_size: int = 4096  # tokens per row; a longer sample is dropped or truncated (too_long)
    pack_samples: bool = True  # whole samples packed into rows, each attending only to itself
    too_long: str = "drop"  # "drop" or "truncate" (keeps the first block_size tokens)
    end_token: str = "<|im_end|>"  # trained after each response; closes Qwen's assistant turn
    pad_to_multiple_of: int = 1  # row length rounding (e.g. 128 for flex attention blocks)
    num_proc: int = 1  # tokenizer processes
    cache_dir: str = ""  # tokenized sources; "" means OUT_DIR/tokens
    # optimizer and schedule
    optimizer: str = (
        "adamw"  # "adamw", or "adafactor" (factored second moments: ~no state; lr is relative)
    )
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max gradient norm; 0: no clipping (the norm is still checked)
    lr_schedule: str = "cosine"  # after linear warmup: "cosine" (train.cosine_lr) or "linear" to min_lr, "constant"
    warmup_iters: int = 0  # > 0: warmup steps; 0: warmup_ratio of all steps
    warmup_ratio: float = 0.03
    min_lr: float = 1e-6
    epochs: int = 1
    batch_size: int = 1  # rows per micro-batch, per data-parallel rank
    grad_accum: int = 1
    out_dir: str = "out/sft"
    # precision and memory
    dtype: str = "auto"  # compute dtype: "auto" is bfloat16 on CUDA, float32 elsewhere
    checkpoint_activations: bool = False  # recompute each block in backward
    # long sequences: fim/longseq.py
    attention: str = (
        "sdpa"  # "sdpa" (a block-diagonal mask) or "flex" (document-masked flex attention)
    )
    tiled_loss: bool = False
    tiled_mlp: bool = False
    offload_activations: bool = False
    sequence_parallel: int = 1  # Ulysses degree: ranks sharing one row
    # the loop
    init_from: str = (
        "pretrained"  # "pretrained", "resume" (OUT_DIR/last, else prev) or "auto" (resume if any)
    )
    stop_at: int = 0  # > 0: stop after this step (the schedule still spans all epochs)
    save_interval: int = 0  # steps between checkpoints; 0: at the end of each epoch
    log_interval: int = 10
    nonfinite_patience: int = 3  # stop after this many non-finite steps in a row
    export_dtype: str = "bfloat16"  # OUT_DIR/final
    seed: int = 1337
    device: str = "auto"
    threads: int = 0  # torch CPU threads, 0: torch's default


# fields a resumed run may change without changing what it computes
RESUME_MAY_CHANGE = {
    "init_from",
    "stop_at",
    "save_interval",
    "log_interval",
    "device",
    "threads",
    "nonfinite_patience",
}


def load_config(path: str | None = None, overrides: list[str] | None = None) -> SFTConfig:
    """train.load_config for SFTConfig: a config file sets module-level names, `--key=value` overrides them.

    A .yml/.yaml file is an arctic_training config, read under its own key names (fim/arctic_yaml.py)."""
    values = None
    if path and path.endswith((".yml", ".yaml")):
        from sqlcomplete.fim.arctic_yaml import read_arctic_yaml

        values = read_arctic_yaml(path)
    cfg = SFTConfig(**load_config_values(path, overrides, cls=SFTConfig, values=values))
    checks = [
        (cfg.type == "sft", f"type must be 'sft', not {cfg.type!r}"),
        (cfg.too_long in ("drop", "truncate"), "too_long must be 'drop' or 'truncate'"),
        (cfg.attention in ("sdpa", "flex"), "attention must be 'sdpa' or 'flex'"),
        (cfg.optimizer in ("adamw", "adafactor"), "optimizer must be 'adamw' or 'adafactor'"),
        (
            cfg.lr_schedule in ("cosine", "linear", "constant"),
            "lr_schedule must be 'cosine', 'linear' or 'constant'",
        ),
        (
            cfg.init_from in ("pretrained", "resume", "auto"),
            "init_from must be pretrained, resume or auto",
        ),
        (bool(cfg.sources), "sources is empty"),
        (bool(cfg.pretrained), "pretrained (the model to fine-tune) is not set"),
    ]
    for ok, msg in checks:
        if not ok:
            raise SystemExit(msg)
    return cfg


# ---------------------------------------------------------------- data


def source_paths(sources: list) -> list[tuple[str, str]]:
    """(local path, kind) of each data file of data.sources: paths, hub dataset ids, DatasetDict splits."""
    out = []
    for i, src in enumerate(sources):
        src = {"name_or_path": src} if isinstance(src, str) else dict(src)
        name, split, kind = (
            src.pop("name_or_path", None),
            src.pop("split", "train"),
            src.pop("kind", None),
        )
        if not isinstance(name, str) or src:
            raise SystemExit(
                f"data.sources[{i}]: expected a path or {{name_or_path, split, kind}}, got "
                f"{sources[i]!r}"
            )
        try:
            paths = dataset_files(name, split, what=f"data.sources[{i}]")
        except ValueError as e:
            raise SystemExit(str(e)) from None
        for path in paths:
            if os.path.isfile(
                os.path.join(path, "dataset_dict.json")
            ):  # a DatasetDict's save_to_disk
                path = os.path.join(path, split)
            found = detect_kind(path)
            if kind and kind != found:
                raise SystemExit(f"data.sources[{i}]: {path} has {found} columns, not {kind}")
            out.append((path, found))
    return out


def load_data(
    cfg: SFTConfig, tok_path: str, rank: int, barrier
) -> tuple[Tokenized, list[tuple[str, DataStats]]]:
    """All sources tokenized (rank 0 tokenizes and caches, the other ranks then read the cache)."""
    cache_dir = cfg.cache_dir or os.path.join(cfg.out_dir, "tokens")
    parts, report = [], []
    for path, kind in source_paths(cfg.sources):
        s = Settings(kind, cfg.block_size, cfg.too_long, cfg.end_token)
        if rank == 0:
            data, stats = load_source(path, tok_path, s, cache_dir, cfg.num_proc)
        barrier()
        if rank != 0:
            data, stats = load_source(path, tok_path, s, cache_dir, build=False)
        parts.append(data)
        report.append((f"{path} ({s.kind})", stats))
    data = Tokenized.concat(parts)
    if len(data) == 0:
        raise SystemExit("no usable samples in data.sources")
    return data, report


# ---------------------------------------------------------------- model, optimizer, the loss


def uses_longseq(cfg: SFTConfig) -> bool:
    return (
        cfg.tiled_loss
        or cfg.tiled_mlp
        or cfg.attention != "sdpa"
        or cfg.offload_activations
        or cfg.sequence_parallel > 1
    )


def batch_loss(
    model, batch: dict[str, torch.Tensor], cfg: SFTConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of the token losses, number of trained tokens) of a packed batch.

    batch (see fim/data.py collate): input_ids, labels (shifted, -100 where untrained),
    position_ids (restarting per sample) and sample_ids (-1 for padding), all (B, T). Each sample
    attends only to itself. With a long-sequence option set, fim/longseq.py's batch_loss computes the
    same two numbers (under sequence parallelism: this rank's share of them).
    """
    if uses_longseq(cfg):
        return longseq.batch_loss(model, batch, cfg)
    labels = batch["labels"]
    logits = model(
        batch["input_ids"],
        positions=batch["position_ids"],
        attn_mask=packed_attention_mask(batch["sample_ids"]),
    )
    loss = F.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100, reduction="sum"
    )
    return loss, (labels != -100).sum()


def make_optimizer(model, cfg: SFTConfig, fused: bool) -> torch.optim.Optimizer:
    groups = model.param_groups(cfg.weight_decay)  # train.py's groups: norms are not decayed
    if cfg.optimizer == "adafactor":
        return torch.optim.Adafactor(groups, lr=cfg.learning_rate)
    return torch.optim.AdamW(
        groups, lr=cfg.learning_rate, betas=(cfg.beta1, cfg.beta2), fused=fused
    )


def get_lr(step: int, total: int, cfg: SFTConfig) -> float:
    """train.cosine_lr over all epochs' steps (warmup_iters, or warmup_ratio of them); or after the same
    warmup a linear decay to min_lr, or a constant rate (arctic_training's schedules)."""
    warmup = cfg.warmup_iters or round(cfg.warmup_ratio * total)
    if cfg.lr_schedule == "cosine" or step < warmup:
        return cosine_lr(step, warmup, total, cfg.learning_rate, cfg.min_lr)
    if cfg.lr_schedule == "constant":
        return cfg.learning_rate
    ratio = min(1.0, (step - warmup) / max(1, total - warmup))
    return cfg.min_lr + (1.0 - ratio) * (cfg.learning_rate - cfg.min_lr)


def clip_gradients(model, max_norm: float) -> float:
    """Total gradient norm before clipping (global under FSDP); clips to max_norm when > 0."""
    grads = [p for p in model.parameters() if p.grad is not None]
    norm = torch.nn.utils.clip_grad_norm_(grads, max_norm if max_norm > 0 else float("inf"))
    return float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)


# ---------------------------------------------------------------- checkpoints


def save_checkpoint(
    cfg: SFTConfig,
    model,
    optimizer,
    state: dict,
    rank: int,
    barrier,
    name: str = "last",
    dtype: torch.dtype | None = None,
    base_dir: str | None = None,
):
    """Every rank gathers (FSDP); rank 0 writes OUT_DIR/<name> via a temp dir, with the checksums of its
    weights files in state.json, and train.commit_checkpoint renames it (a verified `last` becomes `prev`)."""
    from safetensors.torch import save_file
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_optimizer_state_dict,
    )

    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
    weights = get_model_state_dict(model, options=opts)
    optim = (
        get_optimizer_state_dict(model, optimizer, options=opts) if optimizer is not None else None
    )
    if rank == 0:
        tmp = os.path.join(cfg.out_dir, f".{name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        save_pretrained(
            weights, tmp, dtype=dtype, args=model.args, base_dir=base_dir or cfg.pretrained
        )
        if optim is not None:  # optimizer state by parameter name, whatever the sharding
            save_file(
                {
                    f"{fqn}.{k}": (v if torch.is_tensor(v) else torch.tensor(v)).contiguous()
                    for fqn, st in optim["state"].items()
                    for k, v in st.items()
                },
                os.path.join(tmp, "optim.safetensors"),
            )
            write_json_atomic(
                os.path.join(tmp, "state.json"),
                {
                    **state,
                    "config": asdict(cfg),
                    "param_groups": optim["param_groups"],
                    "checksums": weight_checksums(tmp),
                },
            )
        commit_checkpoint(tmp, cfg.out_dir, name)
    barrier()


def find_checkpoint(cfg: SFTConfig) -> str | None:
    """OUT_DIR/last, else OUT_DIR/prev, if complete and verified (train.checkpoint_problem); a partial or
    corrupt one is reported and skipped."""
    for name in ("last", "prev"):
        path = os.path.join(cfg.out_dir, name)
        if not os.path.isdir(path):
            continue
        missing = [
            f
            for f in ("state.json", "optim.safetensors")
            if not os.path.isfile(os.path.join(path, f))
        ]
        problem = f"no {', '.join(missing)}" if missing else checkpoint_problem(path)
        if not problem:
            return path
        print(f"warning: checkpoint {path} is unreadable ({problem}); trying the previous one")
    if cfg.init_from == "resume":
        raise SystemExit(f"no checkpoint to resume in {cfg.out_dir}")
    return None


def load_training_state(path: str, model, optimizer, rank: int, distributed: bool) -> dict:
    """Optimizer state (broadcast from rank 0 under FSDP) and the loop's state from a checkpoint."""
    from safetensors.torch import load_file
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    with open(os.path.join(path, "state.json")) as f:
        state = json.load(f)
    state.pop("checksums", None)
    optim = {}
    if rank == 0 or not distributed:
        optim = {"state": {}, "param_groups": state["param_groups"]}
        for key, v in load_file(os.path.join(path, "optim.safetensors")).items():
            fqn, k = key.rsplit(".", 1)
            optim["state"].setdefault(fqn, {})[k] = v
    set_optimizer_state_dict(
        model,
        optimizer,
        optim_state_dict=optim,
        options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=distributed),
    )
    return state


# ---------------------------------------------------------------- training


def train(cfg: SFTConfig) -> dict:
    distributed, rank, world, device = init_distributed(cfg.device)
    if distributed:
        import torch.distributed as dist

        barrier = dist.barrier
    else:
        barrier = lambda: None  # noqa: E731
    master = rank == 0
    say = print if master else (lambda *a, **k: None)
    if world % cfg.sequence_parallel:
        raise SystemExit(f"sequence_parallel {cfg.sequence_parallel} does not divide {world} ranks")
    dp_rank, dp_world = rank // cfg.sequence_parallel, world // cfg.sequence_parallel
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device_type = "cuda" if str(device).startswith("cuda") else str(device)
    dtype = getattr(
        torch,
        cfg.dtype if cfg.dtype != "auto" else ("bfloat16" if device_type == "cuda" else "float32"),
    )
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)

    resume = find_checkpoint(cfg) if cfg.init_from in ("resume", "auto") else None
    try:  # hub ids become directories of the Hugging Face cache
        base_dir = model_dir(cfg.pretrained)
        tok_path = (
            str(tokenizer_file(cfg.tokenizer, "tokenizer"))
            if cfg.tokenizer
            else os.path.join(resume or base_dir, "tokenizer.json")
        )
    except ValueError as e:
        raise SystemExit(str(e)) from None
    weights_dir = resume or base_dir
    pad_id = BPETokenizer.from_file(tok_path).token_to_id(
        cfg.end_token
    )  # any id: padding has no targets
    if pad_id is None:
        raise SystemExit(f"end_token {cfg.end_token!r} is not in {tok_path}")
    data, report = load_data(cfg, tok_path, rank, barrier)
    for name, stats in report:
        say(f"data {name}: {stats.summary()}")
    plans = [
        epoch_rows(data, e, cfg.seed, cfg.block_size, cfg.pack_samples) for e in range(cfg.epochs)
    ]
    per_step = cfg.batch_size * cfg.grad_accum * dp_world  # rows
    epoch_steps = [math.ceil(len(rows) / per_step) for rows in plans]
    total_steps = sum(epoch_steps)
    fill = data.lengths.sum() / (len(plans[0]) * cfg.block_size)
    say(
        f"{len(data)} samples -> {len(plans[0])} rows of <= {cfg.block_size} tokens per epoch "
        f"({100 * fill:.1f}% full), {per_step} rows per step, {epoch_steps[0]} steps per epoch, "
        f"{total_steps} steps in all"
    )

    model = from_pretrained(weights_dir, device=device, dtype=torch.float32)
    if cfg.block_size > model.args.max_seq_len:
        raise SystemExit(
            f"block_size {cfg.block_size} exceeds the model's {model.args.max_seq_len}"
        )
    model.checkpoint_activations = cfg.checkpoint_activations
    model.train()
    n_params = model.num_params()
    flops_per_token = model.flops_per_token(int(data.lengths.mean()))
    if (
        distributed
    ):  # FSDP2: each block, then the root (embedding, tied head, final norm), over all ranks
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy

        longseq.shard_model(
            model,
            init_device_mesh(device_type, (world,)),
            mp_policy=MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32),
        )
    optimizer = make_optimizer(model, cfg, fused=device_type == "cuda" and not distributed)
    say(f"model: {n_params:,} parameters, {model.args}; {world} rank(s), compute {dtype}")
    state = {
        "step": 0,
        "skipped": 0,
        "nonfinite_in_a_row": 0,
        "tokens": 0,
        "trained_tokens": 0,
        "data": {name: s.to_dict() for name, s in report},
    }
    if resume:
        state = load_training_state(resume, model, optimizer, rank, distributed)
        old = state.pop("config")
        changed = sorted(
            k
            for k, v in asdict(cfg).items()
            if k not in RESUME_MAY_CHANGE and json.loads(json.dumps(v)) != old.get(k)
        )
        if changed:
            say(
                f"warning: resuming with a different {', '.join(changed)}: the run is no longer exact"
            )
        state.pop("param_groups")
        say(f"resumed from {resume} at step {state['step']}")
    ctx = (
        torch.autocast(device_type, dtype=dtype)
        if not distributed and dtype != torch.float32
        else nullcontext()
    )
    peak = gpu_peak_flops(device_type)
    metrics = open(os.path.join(cfg.out_dir, "metrics.jsonl"), "a") if master else None

    def checkpoint(name="last", dtype=None):
        save_checkpoint(
            cfg,
            model,
            optimizer if name == "last" else None,
            state,
            rank,
            barrier,
            name,
            dtype,
            base_dir,
        )

    losses = []
    stop = min(total_steps, cfg.stop_at or total_steps)
    t0, tokens_since_log = time.time(), 0
    try:
        while state["step"] < stop:
            step = state["step"]
            epoch = next(e for e in range(cfg.epochs) if step < sum(epoch_steps[: e + 1]))
            k = step - sum(epoch_steps[:epoch])
            rows = plans[epoch][k * per_step : (k + 1) * per_step]
            rows += [[]] * (
                per_step - len(rows)
            )  # an epoch's last step: empty rows keep the ranks in step
            n_tokens, n_trained = row_tokens(data, rows)
            lr = get_lr(step, total_steps, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            total = torch.zeros((), device=device)
            for micro in range(cfg.grad_accum):
                start = (micro * dp_world + dp_rank) * cfg.batch_size
                batch = collate(
                    data, rows[start : start + cfg.batch_size], pad_id, cfg.pad_to_multiple_of
                )
                batch = {key: v.to(device, non_blocking=True) for key, v in batch.items()}
                with ctx:
                    loss_sum, _ = batch_loss(model, batch, cfg)
                # mean over the step's trained tokens; FSDP averages gradients over ranks, hence * world
                (loss_sum * (world / max(n_trained, 1))).backward()
                total += loss_sum.detach().float()
            if distributed:
                dist.all_reduce(total)
            loss = total.item() / max(n_trained, 1)
            norm = clip_gradients(model, cfg.grad_clip)
            finite = not skip_nonfinite(state, loss, norm, step + 1, say)
            if finite:
                optimizer.step()
                losses.append(loss)
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["tokens"] += n_tokens
            state["trained_tokens"] += n_trained
            tokens_since_log += n_tokens
            if metrics:
                metrics.write(
                    json.dumps(
                        {
                            "step": state["step"],
                            "epoch": epoch,
                            "loss": loss,
                            "grad_norm": norm,
                            "lr": lr,
                            "tokens": n_tokens,
                            "trained_tokens": n_trained,
                            "skipped": not finite,
                        }
                    )
                    + "\n"
                )
                metrics.flush()
            stop_if_diverging(state, cfg.nonfinite_patience, state["step"])
            if state["step"] % cfg.log_interval == 0 and master:
                tps = tokens_since_log / (time.time() - t0)
                t0, tokens_since_log = time.time(), 0
                mfu = f", mfu {100 * flops_per_token * tps / world / peak:.1f}%" if peak else ""
                print(
                    f"step {state['step']}/{total_steps} (epoch {epoch + 1}): loss {loss:.4f}, grad norm "
                    f"{norm:.3f}, lr {lr:.2e}, {tps:,.0f} tok/s{mfu}, {state['skipped']} skipped",
                    flush=True,
                )
            epoch_end = state["step"] == sum(epoch_steps[: epoch + 1])
            if (cfg.save_interval and state["step"] % cfg.save_interval == 0) or (
                not cfg.save_interval and epoch_end
            ):
                if state["step"] < stop:
                    checkpoint("last")
    except KeyboardInterrupt:
        if distributed:
            raise  # the other ranks may be anywhere: no collective save
        print("interrupted: saving a checkpoint before exit")
        checkpoint("last")
        raise SystemExit(130)
    finally:
        if metrics:
            metrics.close()
    checkpoint("last")
    if state["step"] == total_steps:
        checkpoint("final", dtype=getattr(torch, cfg.export_dtype))
        say(
            f"done: {state['step']} steps, {state['skipped']} skipped; model in {cfg.out_dir}/final"
        )
    if distributed:
        dist.destroy_process_group()
    return {"losses": losses, "state": state, "total_steps": total_steps, "model": model}


USAGE = """usage: python fim/sft.py [CONFIG.py | CONFIG.yml] [--key=value ...]

Fine-tunes a Hugging Face Qwen3/Llama checkpoint on prompt/response or messages data (docs/sft.md).
CONFIG.py sets any of the keys below; CONFIG.yml is an arctic_training config (fim/arctic_yaml.py);
--key=value overrides either, as Python literals. Keys, with their defaults:
"""


if __name__ == "__main__":
    argv = sys.argv[1:]
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE + config_help(SFTConfig))
        sys.exit(0)
    config_path = argv.pop(0) if argv and not argv[0].startswith("--") else None
    try:
        train(load_config(config_path, argv))
    except NonFiniteError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
