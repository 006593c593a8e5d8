"""Supervised fine-tuning of a Hugging Face Qwen3 (or Llama) checkpoint, on prompt/response or
chat data.

    python fim/sft.py configs/fim_qwen3_4b.py [--key=value ...] [--block_size=8192 ...]
    # an arctic_training YAML config (fim/arctic_yaml.py)
    python fim/sft.py config.yml [--key=value ...]
    torchrun --standalone --nproc_per_node=8 fim/sft.py configs/fim_qwen3_4b.py        # FSDP2

Reads top to bottom: config, data (fim/data.py), model and optimizer (FSDP2 under torchrun), the
loss of a packed batch, checkpoints, the loop. No transformers: the model is model.py's Transformer
loaded from (sharded) safetensors by model.from_pretrained, the tokenizer fim/bpe.py reading the
model's tokenizer.json.

- A step is batch_size rows x grad_accum x data-parallel ranks. Its loss is the mean
  over all its trained tokens (every micro-batch and rank together), so packing, accumulation and
  the number of GPUs do not change what is optimised.
- Non-finite guard: a step whose loss or gradient norm is NaN/Inf is skipped (gradients dropped,
  the optimizer not stepped, so its state is untouched), logged and counted; after
  nonfinite_patience such steps in a row the run stops with an error.
- Precision: the master weights and the optimizer state are fp32. Compute is bf16 on GPUs: autocast
  on one GPU, FSDP2's MixedPrecisionPolicy (bf16 parameters, fp32 gradient reduction) under
  torchrun.
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
- Under torchrun: data_parallel="fsdp" shards everything with FSDP2 (DeepSpeed's ZeRO 1-3 in a
  YAML config), "ddp" keeps whole replicas and averages gradients (ZeRO 0); cpu_offload keeps the
  shards, gradients and the AdamW step in host memory.
- eval_sources with eval_interval: the loss on their trained tokens every eval_interval steps,
  logged with the train loss; OUT_DIR/best keeps the model with the lowest.
- SIGTERM (a scheduler's preemption) and Ctrl-C save OUT_DIR/last at the next step and exit 130;
  any error saves it too before it is raised (one process). Under torchrun the ranks agree on a
  SIGTERM at each step, so they save together.
- Logging as arctic_training's logger section asks: lines below log_level are not shown, only
  print_ranks print, each rank of log_file_ranks writes LOG_DIR/logs/rank_N.log; with
  wandb_project set, wandb gets the losses (it must be installed and logged in: checked first).
"""

import json
import math
import os
import shutil
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F

from sqlcomplete.files import write_json_atomic
from sqlcomplete.fim import longseq
from sqlcomplete.fim.bpe import BPETokenizer
from sqlcomplete.fim.data import (
    DataStats,
    Settings,
    Tokenized,
    collate,
    columns,
    count_rows,
    detect_kind,
    epoch_rows,
    load_source,
    packed_attention_mask,
    parse_split,
    row_tokens,
    sample_rows,
    slice_rows,
)
from sqlcomplete.fim.hub import dataset_files, is_hub_id, model_dir, tokenizer_file
from sqlcomplete.model import from_pretrained, save_pretrained
from sqlcomplete.training import (
    TERMINATE,
    NonFiniteError,
    autocast_context,
    checkpoint_problem,
    choose_dtype,
    commit_checkpoint,
    config_help,
    cosine_lr,
    gpu_peak_flops,
    init_distributed,
    resolve_compile,
    skip_nonfinite,
    stop_if_diverging,
    stop_on_sigterm,
    weight_checksums,
)
from sqlcomplete.training import load_config as load_config_values

# ---------------------------------------------------------------- config


@dataclass
class SFTConfig:
    """fim/sft.py's settings; those train.py also has are spelled as there (nanoGPT's names)."""

    type: str = "sft"
    pretrained: str = ""  # the model: a directory (config.json, safetensors) or a hub id
    tokenizer: str = ""  # a tokenizer.json, a directory or a hub id; "": the model's own
    sources: list = field(default_factory=list)  # paths, hub ids ("id:split"), SOURCE_KEYS maps
    eval_sources: list = field(default_factory=list)  # like sources, evaluated every eval_interval
    eval_interval: int = 0  # steps between eval losses (0: none)
    block_size: int = 4096  # tokens per row (0: the model's context); a longer sample: too_long
    pack_samples: bool = True  # whole samples packed into rows, each attending only to itself
    too_long: str = "drop"  # "drop", "truncate" (first block_size tokens), "keep" (own row)
    ignore_empty_think: bool = False  # an empty <think></think> opening a reply is not trained
    fim_loss_masking: bool = False  # a reply trains only what follows <|fim_middle|>
    end_token: str = "<|im_end|>"  # trained after each response; closes Qwen's assistant turn
    pad_to_multiple_of: int = 1  # row length rounding (e.g. 128 for flex attention blocks)
    num_proc: int = 1  # tokenizer processes
    cache_dir: str = ""  # tokenized sources; "" means OUT_DIR/tokens
    # optimizer and schedule
    optimizer: str = "adamw"  # "adamw" or "adafactor" (factored moments; lr is relative)
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # max gradient norm; 0: no clipping (the norm is still checked)
    lr_schedule: str = "cosine"  # after warmup: "cosine", "linear" to min_lr, or "constant"
    warmup_iters: int = 0  # > 0: warmup steps; 0: warmup_ratio of all steps
    warmup_ratio: float = 0.03
    min_lr: float = 1e-6
    epochs: int = 1
    min_iterations: int = 0  # an epoch's rows repeated until there are enough for this many steps
    batch_size: int = 1  # rows per micro-batch, per data-parallel rank
    grad_accum: int = 1
    out_dir: str = "out/sft"
    # precision, memory and ranks
    dtype: str = "auto"  # compute dtype; "auto": train.py's pick (training.choose_dtype)
    compile: bool | None = False  # torch.compile each block; None: training.resolve_compile
    checkpoint_activations: bool = False  # recompute each block in backward
    data_parallel: str = "fsdp"  # torchrun: "fsdp" (FSDP2) or "ddp" (whole replicas)
    cpu_offload: bool = False  # FSDP2 CPU offload: shards, grads, AdamW step on host
    # long sequences: fim/longseq.py
    attention: str = "sdpa"  # "sdpa", "flex" (CUDA), "flash" (flex on CUDA, else sdpa)
    tiled_loss: bool = False
    tiled_mlp: bool = False
    offload_activations: bool = False
    sequence_parallel: int = 1  # Ulysses degree: ranks sharing one row
    # the loop
    init_from: str = "pretrained"  # "pretrained", "resume" (last, else prev), "auto"
    stop_at: int = 0  # > 0: stop after this step (the schedule still spans all epochs)
    save_interval: int = 0  # steps between checkpoints; 0: at the end of each epoch
    log_interval: int = 10
    nonfinite_patience: int = 3  # stop after this many non-finite steps in a row
    export_dtype: str = "bfloat16"  # OUT_DIR/final
    seed: int = 1337
    device: str = "auto"
    threads: int = 0  # torch CPU threads, 0: torch's default
    # logging (arctic_training's logger and wandb sections)
    log_level: str = "INFO"  # lines below it are not shown: DEBUG, INFO, WARNING, ERROR
    log_dir: str = ""  # each rank of log_file_ranks writes LOG_DIR/logs/rank_N.log; "": no files
    print_ranks: list | str = field(default_factory=lambda: [0])  # ranks that print ("*": all)
    log_file_ranks: list | str = "*"  # ranks that write a log file under log_dir
    wandb_project: str = ""  # set: losses logged to Weights & Biases (installed and logged in)
    wandb_name: str = ""
    wandb_entity: str = ""


# fields a resumed run may change without changing what it computes
RESUME_MAY_CHANGE = {
    "init_from",
    "stop_at",
    "save_interval",
    "log_interval",
    "device",
    "threads",
    "nonfinite_patience",
    "compile",
    "log_level",
    "log_dir",
    "print_ranks",
    "log_file_ranks",
    "wandb_project",
    "wandb_name",
    "wandb_entity",
    "eval_interval",
    "eval_sources",
}
SOURCE_KEYS = {
    "name_or_path",
    "split",  # a split, split slices and sums: train, train[:5000], train[10%:]+test
    "kind",  # prompt_response or messages; checked against the columns
    "split_mapping",  # {train: train_sft}: split names renamed before reading
    "role_mapping",  # {user: messages.role.user, ...}: messages built from other columns
    "content_key",
    "sample_count",  # rows drawn with random.Random(sample_seed).sample (arctic_training's)
    "sample_ratio",
    "sample_seed",
}
LOG_LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}


def read_config(
    path: str | None = None, overrides: list[str] | None = None
) -> tuple[SFTConfig, list[str]]:
    """(the settings, info lines about the config to log): training.load_config for SFTConfig, a
    config file setting module-level names and `--key=value` overriding them. A .yml/.yaml file is
    an arctic_training config, read under its own key names (fim/arctic_yaml.py)."""
    values, notes = None, []
    if path and path.endswith((".yml", ".yaml")):
        from sqlcomplete.fim.arctic_yaml import read_arctic_yaml

        values, notes = read_arctic_yaml(path)
    elif path and not path.endswith(".py"):
        raise SystemExit(
            f"{path}: a config is a .py file (Python assignments) or a .yml/.yaml arctic_training "
            "file; this one is neither (--help lists the keys)"
        )
    cfg = SFTConfig(**load_config_values(path, overrides, cls=SFTConfig, values=values))
    ranks_ok = all(
        v == "*" or (isinstance(v, list) and all(type(r) is int for r in v))
        for v in (cfg.print_ranks, cfg.log_file_ranks)
    )
    checks = [
        (cfg.type == "sft", f"type must be 'sft', not {cfg.type!r}"),
        (
            cfg.too_long in ("drop", "truncate", "keep"),
            "too_long must be 'drop', 'truncate' or 'keep'",
        ),
        (cfg.attention in ("sdpa", "flex", "flash"), "attention must be 'sdpa', 'flex' or 'flash'"),
        (cfg.optimizer in ("adamw", "adafactor"), "optimizer must be 'adamw' or 'adafactor'"),
        (cfg.data_parallel in ("fsdp", "ddp"), "data_parallel must be 'fsdp' or 'ddp'"),
        (cfg.log_level.upper() in LOG_LEVELS, f"log_level must be one of {', '.join(LOG_LEVELS)}"),
        (ranks_ok, 'print_ranks and log_file_ranks are "*" or lists of ranks'),
        (cfg.block_size >= 0 and cfg.min_iterations >= 0, "block_size and min_iterations are >= 0"),
        (cfg.eval_interval >= 0, "eval_interval is >= 0"),
        (
            bool(cfg.eval_sources) == bool(cfg.eval_interval),
            "eval_sources and eval_interval go together",
        ),
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
    return cfg, notes


def load_config(path: str | None = None, overrides: list[str] | None = None) -> SFTConfig:
    """read_config without its notes."""
    return read_config(path, overrides)[0]


# ---------------------------------------------------------------- data


@dataclass
class Source:
    """One entry of sources: the dataset paths read one after the other as one table, the rows of it
    to read (split slices, sampling; None: all), its kind and its role mapping."""

    name: str
    paths: list[str]
    rows: list[int] | None
    kind: str
    role_mapping: dict | None = None
    content_key: str | None = None
    warning: str | None = None


def split_paths(name: str, split: str, what: str) -> list[str]:
    """The dataset paths of one split: a hub dataset's split files, a DatasetDict folder's split, or
    the path itself (a single dataset has no splits: arctic_training's load_from_disk ignores
    it)."""
    if is_hub_id(name):
        try:
            return dataset_files(name, split, what=what)
        except ValueError as e:
            raise SystemExit(str(e)) from None
    if not os.path.exists(name):
        raise SystemExit(f"{what}: {name}: no such file or folder, and not a hub dataset id")
    if os.path.isfile(os.path.join(name, "dataset_dict.json")):  # a DatasetDict's save_to_disk
        with open(os.path.join(name, "dataset_dict.json")) as f:
            splits = json.load(f).get("splits", [])
        if split not in splits:
            raise SystemExit(f"{what}: {name} has no split {split!r} (it has {splits})")
        return [os.path.join(name, split)]
    return [name]


def resolve_source(src, what: str, default_split: str = "train") -> Source:
    """A Source from an entry of sources: a path or hub id ("id:split"), or a mapping of
    SOURCE_KEYS, read as arctic_training reads a data source (split slices as `datasets` resolves
    them, then its random sample)."""
    src = {"name_or_path": src} if isinstance(src, str) else dict(src)
    name = src.get("name_or_path")
    if not isinstance(name, str) or set(src) - SOURCE_KEYS:
        raise SystemExit(
            f"{what}: expected a path or a mapping of {sorted(SOURCE_KEYS)}, got {src!r}"
        )
    split = src.get("split") or default_split
    if ":" in name and not os.path.exists(name):
        name, split = name.split(":", 1)
    mapping = src.get("split_mapping") or {}
    try:
        parts = parse_split(split)
    except ValueError as e:
        raise SystemExit(f"{what}: {e}") from None
    paths, rows, sliced = [], [], False
    for split_name, slc in parts:
        if split_name not in mapping.values():  # HFDataSource.pre_load_callback
            split_name = mapping.get(split_name, split_name)
        part = split_paths(name, split_name, what)
        try:
            if (
                slc
                or len(parts) > 1
                or src.get("sample_count") is not None
                or src.get("sample_ratio") is not None
            ):
                offset = sum(count_rows(p) for p in paths)
                n = sum(count_rows(p) for p in part)
                rows += [offset + i for i in slice_rows(slc, n)]
                sliced = True
        except ValueError as e:
            raise SystemExit(f"{what}: {e}") from None
        paths += part
    picked, warning = sample_rows(
        len(rows), src.get("sample_count"), src.get("sample_ratio"), src.get("sample_seed", 42)
    )
    if picked is not None:
        rows = [rows[i] for i in picked]
    role_mapping = src.get("role_mapping")
    try:
        if role_mapping:
            found = columns(paths[0])
            missing = [
                c
                for c in dict.fromkeys(p.split(".")[0] for p in role_mapping.values())
                if c not in found
            ]
            if missing:
                raise ValueError(
                    f"{paths[0]}: role_mapping reads columns {missing}, not among {found}"
                )
            kind = "messages"
        else:
            kind = detect_kind(paths[0])
    except ValueError as e:
        raise SystemExit(f"{what}: {e}") from None
    if src.get("kind") and src["kind"] != kind:
        raise SystemExit(f"{what}: {paths[0]} has {kind} columns, not {src['kind']}")
    shown = name if split == default_split else f"{name}:{split}"
    return Source(
        shown, paths, rows if sliced else None, kind, role_mapping, src.get("content_key"), warning
    )


def load_data(
    cfg: SFTConfig, sources: list[Source], tok_path: str, rank: int, barrier
) -> tuple[Tokenized, list[tuple[str, DataStats]]]:
    """All sources tokenized (rank 0 tokenizes and caches, the other ranks then read the cache)."""
    cache_dir = cfg.cache_dir or os.path.join(cfg.out_dir, "tokens")
    parts, report = [], []
    for src in sources:
        s = Settings(
            src.kind,
            cfg.block_size,
            cfg.too_long,
            cfg.end_token,
            tuple(src.role_mapping.items()) if src.role_mapping else (),
            src.content_key,
            cfg.ignore_empty_think,
            cfg.fim_loss_masking,
        )
        if rank == 0:
            data, stats = load_source(
                src.paths, tok_path, s, cache_dir, cfg.num_proc, rows=src.rows
            )
        barrier()
        if rank != 0:
            data, stats = load_source(src.paths, tok_path, s, cache_dir, build=False, rows=src.rows)
        parts.append(data)
        report.append((f"{src.name} ({s.kind})", stats))
    data = Tokenized.concat(parts)
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
    attends only to itself. With a long-sequence option set, fim/longseq.py's batch_loss computes
    the same two numbers (under sequence parallelism: this rank's share of them).
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
    """train.cosine_lr over all epochs' steps (warmup_iters, or warmup_ratio of them); or after the
    same warmup a linear decay to min_lr, or a constant rate (arctic_training's schedules)."""
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


def average_gradients(model, world: int) -> None:
    """Whole replicas (data_parallel="ddp", ZeRO stage 0): each gradient averaged over the ranks, as
    DDP does; by hand, because fim/longseq.py runs the blocks outside the model's forward."""
    import torch.distributed as dist

    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def resolve_attention(attention: str, device_type: str) -> tuple[str, str | None]:
    """(the attention that runs, a warning or None). There are no FlashAttention kernels here:
    "flash" is the same document-masked attention through flex_attention on CUDA, SDPA elsewhere;
    flex_attention's backward needs CUDA, so "flex" runs as SDPA elsewhere too."""
    if attention == "flash":
        use = "flex" if device_type == "cuda" else "sdpa"
        how = "flex_attention" if use == "flex" else "SDPA, one call per packed sample"
        return use, (
            "warning: attention flash (flash_attention_2/3): no FlashAttention kernels here; "
            f"the same document-masked attention runs through {how}"
        )
    if attention == "flex" and device_type != "cuda":
        return "sdpa", (
            "warning: attention flex: flex_attention's backward needs CUDA; the same "
            "document-masked attention runs through SDPA, one call per packed sample"
        )
    return attention, None


def repeat_rows(rows: list, need: int) -> list:
    """arctic_training's min_iterations: rows repeated in order until there are `need`, then cut."""
    if not rows or need <= len(rows):
        return rows
    return (rows * (need // len(rows) + 1))[:need]


def stop_requested(distributed: bool, device) -> bool:
    """A SIGTERM arrived (training.TERMINATE). Under torchrun the ranks agree on it at each step
    (a 1-element all-reduce), so they all stop at the same step and save together."""
    if not distributed:
        return TERMINATE.is_set()
    import torch.distributed as dist

    flag = torch.tensor([float(TERMINATE.is_set())], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item():
        TERMINATE.set()
    return bool(flag.item())


# ---------------------------------------------------------------- logging


class RunLog:
    """arctic_training's logger section: lines below `log_level` are dropped; ranks in print_ranks
    print them, ranks in log_file_ranks (with log_dir set) append them to LOG_DIR/logs/rank_N.log.
    Level "PRINT" is what arctic_training prints whatever the level (step and eval losses, data
    and model summaries)."""

    def __init__(self, cfg: SFTConfig, rank: int, world: int):
        def ranks(v):
            return range(world) if v == "*" else v

        self.level = LOG_LEVELS[cfg.log_level.upper()]
        self.rank = rank
        self.console = rank in ranks(cfg.print_ranks)
        self.file = None
        if cfg.log_dir and rank in ranks(cfg.log_file_ranks):
            os.makedirs(os.path.join(cfg.log_dir, "logs"), exist_ok=True)
            path = os.path.join(cfg.log_dir, "logs", f"rank_{rank}.log")
            self.file = open(path, "a", encoding="utf-8", buffering=1)

    def __call__(self, msg: str, level: str = "INFO", **_) -> None:
        if level != "PRINT" and LOG_LEVELS[level] < self.level:
            return
        if self.console:
            print(
                msg, file=sys.stderr if level in ("ERROR", "CRITICAL") else sys.stdout, flush=True
            )
        if self.file:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            shown = "INFO" if level == "PRINT" else level
            self.file.write(f"{stamp} | {shown:<8} | Rank {self.rank} | {msg}\n")

    def warning(self, msg: str, **_) -> None:
        self(msg, "WARNING")

    def close(self) -> None:
        if self.file:
            self.file.close()


def wandb_logged_in() -> bool:
    """WANDB_API_KEY, WANDB_MODE offline/disabled, or the key `wandb login` writes to ~/.netrc for
    the W&B host (WANDB_BASE_URL): checked without a network call."""
    import netrc
    from urllib.parse import urlparse

    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE") in ("offline", "disabled"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_wandb(cfg: SFTConfig):
    """The wandb module when wandb_project is set; on every rank before any work, an error if wandb
    is not installed or not logged in (WANDB_API_KEY, `wandb login`, or WANDB_MODE offline or
    disabled)."""
    if not cfg.wandb_project:
        return None
    try:
        import wandb
    except ImportError:
        raise SystemExit(
            "wandb_project is set (YAML: wandb.enable: true) but wandb is not installed: "
            "pip install wandb, or turn it off"
        ) from None
    if not wandb_logged_in():
        raise SystemExit(
            "wandb_project is set (YAML: wandb.enable: true) but wandb is not logged in: run "
            "`wandb login`, set WANDB_API_KEY, or WANDB_MODE=offline"
        )
    return wandb


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
    """Every rank gathers (FSDP); rank 0 writes OUT_DIR/<name> via a temp dir, with the checksums of
    its weights files in state.json, and train.commit_checkpoint renames it (a verified `last`
    becomes `prev`)."""
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


def find_checkpoint(cfg: SFTConfig, say=print) -> str | None:
    """OUT_DIR/last, else OUT_DIR/prev, if complete and verified (train.checkpoint_problem); a
    partial or corrupt one is reported and skipped."""
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
        say(f"warning: checkpoint {path} is unreadable ({problem}); trying the previous one")
    if cfg.init_from == "resume":
        raise SystemExit(f"no checkpoint to resume in {cfg.out_dir}")
    return None


def load_training_state(path: str, model, optimizer, rank: int, distributed: bool) -> dict:
    """Optimizer state (broadcast from rank 0 when `distributed`: FSDP) and the loop's state from a
    checkpoint."""
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


def check_model_dir(path: str, what: str = "pretrained") -> None:
    """A one-line error unless path is a model directory (config.json beside the weights)."""
    if not os.path.isdir(path):
        raise SystemExit(
            f"{what} {path}: no such directory (expected a model directory holding config.json, "
            "*.safetensors and tokenizer.json, or a hub model id)"
        )
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise SystemExit(f"{what} {path}: no config.json there: not a Hugging Face model directory")


def evaluate(
    model, data: Tokenized, rows: list, cfg: SFTConfig, ctx, pad_id, device, ranks
) -> float:
    """Mean loss over the trained tokens of the eval rows (each data-parallel rank takes its share
    of every group of rows; sequence-parallel ranks share rows as in training)."""
    dp_rank, dp_world, distributed = ranks
    per = cfg.batch_size * dp_world
    total = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, trained tokens
    with torch.no_grad():
        for k in range(0, max(len(rows), 1), per):
            group = rows[k : k + per]
            group += [[]] * (per - len(group))  # the ranks stay in step
            mine = group[dp_rank * cfg.batch_size : (dp_rank + 1) * cfg.batch_size]
            batch = collate(data, mine, pad_id, cfg.pad_to_multiple_of)
            batch = {key: v.to(device, non_blocking=True) for key, v in batch.items()}
            with ctx:
                loss_sum, n = batch_loss(model, batch, cfg)
            total += torch.stack([loss_sum.detach().double(), n.double()])
    if distributed:
        import torch.distributed as dist

        dist.all_reduce(total)
    return float(total[0] / total[1].clamp(min=1))


def train(cfg: SFTConfig, notes: list[str] = ()) -> dict:
    """Fine-tune as cfg says; `notes`: info lines from reading the config, logged first."""
    wandb = check_wandb(cfg)  # before any work
    distributed, rank, world, device = init_distributed(cfg.device)
    if distributed:
        import torch.distributed as dist

        barrier = dist.barrier
    else:
        barrier = lambda: None
    master = rank == 0
    log = RunLog(cfg, rank, world)
    for note in notes:
        log(note)
    if world % cfg.sequence_parallel:
        raise SystemExit(f"sequence_parallel {cfg.sequence_parallel} does not divide {world} ranks")
    dp_rank, dp_world = rank // cfg.sequence_parallel, world // cfg.sequence_parallel
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device_type = "cuda" if str(device).startswith("cuda") else str(device)
    sharded = distributed and cfg.data_parallel == "fsdp"
    if cfg.cpu_offload and not sharded:
        if device_type != "cpu":
            raise SystemExit(
                "cpu_offload is FSDP2's: run under torchrun with data_parallel=fsdp "
                "(torchrun --standalone --nproc_per_node=1 fim/sft.py ...)"
            )
        log("info: cpu_offload: this run is on the CPU, where everything is in host memory already")
    attention, warning = resolve_attention(cfg.attention, device_type)
    if warning:
        log.warning(warning)
    torch.manual_seed(cfg.seed)
    os.makedirs(cfg.out_dir, exist_ok=True)

    resume = find_checkpoint(cfg, log.warning) if cfg.init_from in ("resume", "auto") else None
    try:  # hub ids become directories of the Hugging Face cache
        base_dir = model_dir(cfg.pretrained)
        check_model_dir(base_dir)
        tok_path = (
            str(tokenizer_file(cfg.tokenizer, "tokenizer"))
            if cfg.tokenizer
            else os.path.join(resume or base_dir, "tokenizer.json")
        )
    except ValueError as e:
        raise SystemExit(str(e)) from None
    if not os.path.isfile(tok_path):
        raise SystemExit(f"pretrained {base_dir}: no tokenizer.json there (set tokenizer)")
    if not cfg.block_size:  # arctic_training: max_length defaults to the model's context
        with open(os.path.join(base_dir, "config.json")) as f:
            cfg = replace(cfg, block_size=int(json.load(f)["max_position_embeddings"]))
    weights_dir = resume or base_dir
    pad_id = BPETokenizer.from_file(tok_path).token_to_id(
        cfg.end_token
    )  # any id: padding has no targets
    if pad_id is None:
        raise SystemExit(f"end_token {cfg.end_token!r} is not in {tok_path}")
    sources = [resolve_source(src, f"sources[{i}]") for i, src in enumerate(cfg.sources)]
    eval_sources = [
        resolve_source(src, f"eval_sources[{i}]", "eval") for i, src in enumerate(cfg.eval_sources)
    ]
    for src in sources + eval_sources:
        if src.warning:
            log.warning(f"warning: {src.name}: {src.warning}")
    data, report = load_data(cfg, sources, tok_path, rank, barrier)
    for name, stats in report:
        log(f"data {name}: {stats.summary()}", "PRINT")
    if len(data) == 0:
        raise SystemExit("no usable samples in sources")
    eval_data, eval_rows = None, []
    if eval_sources:
        eval_data, eval_report = load_data(cfg, eval_sources, tok_path, rank, barrier)
        for name, stats in eval_report:
            log(f"eval data {name}: {stats.summary()}", "PRINT")
        if len(eval_data) == 0:
            raise SystemExit("no usable samples in eval_sources")
        eval_rows = epoch_rows(eval_data, 0, cfg.seed, cfg.block_size, cfg.pack_samples)
    per_step = cfg.batch_size * cfg.grad_accum * dp_world  # rows
    plans = [
        repeat_rows(
            epoch_rows(data, e, cfg.seed, cfg.block_size, cfg.pack_samples),
            cfg.min_iterations * per_step,
        )
        for e in range(cfg.epochs)
    ]
    epoch_steps = [math.ceil(len(rows) / per_step) for rows in plans]
    total_steps = sum(epoch_steps)
    fill = data.lengths.sum() / (len(plans[0]) * cfg.block_size)
    log(
        f"{len(data)} samples -> {len(plans[0])} rows of <= {cfg.block_size} tokens per epoch "
        f"({100 * fill:.1f}% full), {per_step} rows per step, {epoch_steps[0]} steps per epoch, "
        f"{total_steps} steps in all",
        "PRINT",
    )

    model = from_pretrained(weights_dir, device=device, dtype=torch.float32)
    longest = max(int(data.lengths.max()), int(eval_data.lengths.max()) if eval_data else 0)
    if max(cfg.block_size, longest) > model.args.max_seq_len:
        raise SystemExit(
            f"block_size {cfg.block_size} (longest sample {longest}) exceeds the model's "
            f"{model.args.max_seq_len}"
        )
    model.checkpoint_activations = cfg.checkpoint_activations
    model.train()
    dtype_name, why = choose_dtype(cfg.dtype, device_type, model.args.dim)  # train.py's rule
    dtype = getattr(torch, dtype_name)
    n_params = model.num_params()
    flops_per_token = model.flops_per_token(int(data.lengths.mean()))
    compiled = resolve_compile(cfg.compile, device_type, total_steps)
    if compiled:  # block by block: fim/longseq.py calls the blocks itself, and FSDP2 wraps them
        for layer in model.layers:
            layer.compile()
    # FSDP2: each block, then the root (embedding, tied head, final norm), over all ranks
    if sharded:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy

        longseq.shard_model(
            model,
            init_device_mesh(device_type, (world,)),
            cpu_offload=cfg.cpu_offload,
            mp_policy=MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32),
        )
    optimizer = make_optimizer(model, cfg, fused=device_type == "cuda" and not sharded)
    mode = {"fsdp": "FSDP2", "ddp": "replicas"}[cfg.data_parallel] if distributed else "one process"
    offload = ", CPU offload" if cfg.cpu_offload and sharded else ""
    log(
        f"model: {n_params:,} parameters, {model.args}; {world} rank(s), {mode}{offload}, "
        f"compute {dtype_name} ({why}), "
        f"attention {attention}, compile {compiled}",
        "PRINT",
    )
    state = {
        "step": 0,
        "skipped": 0,
        "nonfinite_in_a_row": 0,
        "tokens": 0,
        "trained_tokens": 0,
        "best_eval": None,
        "data": {name: s.to_dict() for name, s in report},
    }
    if resume:
        state = load_training_state(resume, model, optimizer, rank, sharded)
        old = state.pop("config")
        changed = sorted(
            k
            for k, v in asdict(cfg).items()
            if k not in RESUME_MAY_CHANGE and json.loads(json.dumps(v)) != old.get(k)
        )
        if changed:
            log.warning(
                f"warning: resuming with a different {', '.join(changed)}: "
                "the run is no longer exact"
            )
        state.pop("param_groups")
        state.setdefault("best_eval", None)
        log(f"resumed from {resume} at step {state['step']}", "PRINT")
    ctx = autocast_context(device_type, dtype_name) if not sharded else nullcontext()
    run_cfg = replace(cfg, attention=attention)  # what batch_loss runs
    peak = gpu_peak_flops(device_type)
    metrics = open(os.path.join(cfg.out_dir, "metrics.jsonl"), "a") if master else None
    run = None
    if wandb is not None and master:
        run = wandb.init(
            project=cfg.wandb_project,
            name=cfg.wandb_name or None,
            entity=cfg.wandb_entity or None,
            config=asdict(cfg),
            **({"dir": os.path.join(cfg.log_dir, "wandb")} if cfg.log_dir else {}),
        )

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
            if stop_requested(distributed, device):
                raise KeyboardInterrupt
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
                    loss_sum, _ = batch_loss(model, batch, run_cfg)
                # mean over the step's trained tokens; FSDP (or average_gradients) averages over
                # ranks, hence * world
                (loss_sum * (world / max(n_trained, 1))).backward()
                total += loss_sum.detach().float()
            if distributed:
                dist.all_reduce(total)
                if not sharded:
                    average_gradients(model, world)
            loss = total.item() / max(n_trained, 1)
            norm = clip_gradients(model, cfg.grad_clip)
            finite = not skip_nonfinite(state, loss, norm, step + 1, log.warning)
            if finite:
                optimizer.step()
                losses.append(loss)
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["tokens"] += n_tokens
            state["trained_tokens"] += n_trained
            tokens_since_log += n_tokens
            record = {
                "step": state["step"],
                "epoch": epoch,
                "loss": loss,
                "grad_norm": norm,
                "lr": lr,
                "tokens": n_tokens,
                "trained_tokens": n_trained,
                "skipped": not finite,
            }
            if cfg.eval_interval and state["step"] % cfg.eval_interval == 0:
                ranks = (dp_rank, dp_world, distributed)
                record["eval_loss"] = evaluate(
                    model, eval_data, eval_rows, run_cfg, ctx, pad_id, device, ranks
                )
                best = state["best_eval"]
                log(
                    f"eval step {state['step']}: loss {record['eval_loss']:.4f} (train {loss:.4f})"
                    + (f", best {best:.4f}" if best is not None else ""),
                    "PRINT",
                )
                if best is None or record["eval_loss"] < best:
                    state["best_eval"] = record["eval_loss"]
                    checkpoint("best")
            if metrics:
                metrics.write(json.dumps(record) + "\n")
                metrics.flush()
            if run is not None:
                shown = {"train/loss": loss, "train/lr": lr, "train/grad_norm": norm}
                if "eval_loss" in record:
                    shown["loss/eval"] = record["eval_loss"]
                run.log(shown, step=state["step"])
            stop_if_diverging(state, cfg.nonfinite_patience, state["step"])
            if state["step"] % cfg.log_interval == 0:
                tps = tokens_since_log / (time.time() - t0)
                t0, tokens_since_log = time.time(), 0
                mfu = f", mfu {100 * flops_per_token * tps / world / peak:.1f}%" if peak else ""
                log(
                    f"step {state['step']}/{total_steps} (epoch {epoch + 1}): loss {loss:.4f}, "
                    f"grad norm {norm:.3f}, lr {lr:.2e}, {tps:,.0f} tok/s{mfu}, "
                    f"{state['skipped']} skipped",
                    "PRINT",
                )
            epoch_end = state["step"] == sum(epoch_steps[: epoch + 1])
            if (cfg.save_interval and state["step"] % cfg.save_interval == 0) or (
                not cfg.save_interval and epoch_end
            ):
                if state["step"] < stop:
                    checkpoint("last")
    except (KeyboardInterrupt, Exception) as e:  # SIGTERM, Ctrl-C or any error: save first
        interrupted = isinstance(e, KeyboardInterrupt)
        if distributed and not (interrupted and TERMINATE.is_set()):
            raise  # the other ranks may be anywhere: no collective save
        log.warning(
            ("interrupted" if interrupted else f"{type(e).__name__} at step {state['step']}")
            + f": saving {cfg.out_dir}/last before exit"
        )
        try:
            checkpoint("last")
        except Exception as save_error:  # the first error is the one to raise
            log(f"could not save a checkpoint: {type(save_error).__name__}: {save_error}", "ERROR")
        if interrupted:
            raise SystemExit(130) from None
        raise
    finally:
        if metrics:
            metrics.close()
        if run is not None:
            run.finish()
    checkpoint("last")
    if state["step"] == total_steps:
        checkpoint("final", dtype=getattr(torch, cfg.export_dtype))
        log(
            f"done: {state['step']} steps, {state['skipped']} skipped; "
            f"model in {cfg.out_dir}/final",
            "PRINT",
        )
    log.close()
    if distributed:
        dist.destroy_process_group()
    return {"losses": losses, "state": state, "total_steps": total_steps, "model": model}


USAGE = """usage: python fim/sft.py [CONFIG.py | CONFIG.yml] [--key=value ...]

Fine-tunes a Hugging Face Qwen3/Llama checkpoint on prompt/response or messages data (docs/sft.md).
CONFIG.py sets any of the keys below; CONFIG.yml is an arctic_training config (fim/arctic_yaml.py);
--key=value overrides either, as Python literals. SIGTERM or Ctrl-C saves OUT_DIR/last, exits 130.
Keys, with their defaults:
"""


def main(argv: list[str]) -> None:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE + config_help(SFTConfig))
        return
    config_path = argv.pop(0) if argv and not argv[0].startswith("--") else None
    cfg, notes = read_config(config_path, argv)
    stop_on_sigterm()
    try:
        train(cfg, notes)
    except NonFiniteError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main(sys.argv[1:])
