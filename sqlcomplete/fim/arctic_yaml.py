"""An arctic_training SFT config (YAML) read as fim/sft.py settings.

    python fim/sft.py config.yml        # the file `python -m arctic_training config.yml` reads

Key names, nesting and defaults are arctic_training's (its config classes: TrainerConfig,
ModelConfig, SFTDataConfig, DataSourceConfig, OptimizerConfig, HFSchedulerConfig,
CheckpointConfig, in snowflakedb/ArcticTraining). A key left out means what it means there
when it changes what is trained, so those defaults are set below where they differ from
fim/sft.py's (lr 5e-4, weight decay 0.1, betas (0.9, 0.999), a linear schedule with 10% warmup,
seed 42, max_length 8192, rows padded to 256 tokens, activation checkpointing on); speed knobs
(num_proc) and the output directory keep this project's defaults. Every key is either mapped
(MAPPED below) or refused with an error naming the key and the file (REFUSED): nothing is ignored. A key whose value is what
this project does anyway (e.g. `data.mask_inputs: true`) is accepted.
"""

import math

import yaml

# arctic_training key -> the fim/sft.py setting (SFTConfig, train.py's names where it has them) it sets
MAPPED = {
    "type": "type (only sft)",
    "model.type": "liger: tiled_loss + tiled_mlp (this project's tiled loss and MLP); huggingface or empty: neither",
    "model.name_or_path": "pretrained (a local directory or a hub id through the Hugging Face cache)",
    "model.dtype": "dtype (bf16/bfloat16 or fp32/float32; compute dtype, fp32 master weights)",
    "model.attn_implementation": "attention: sdpa/eager -> sdpa; flash_attention_2/3, flex_attention -> flex",
    "model.disable_activation_checkpoint": "checkpoint_activations = not it (arctic_training checkpoints by default)",
    "tokenizer.name_or_path": "tokenizer (default: the model's tokenizer.json)",
    "tokenizer.type": "huggingface or empty only: a tokenizer.json read by fim/bpe.py",
    "data.type": "sft or empty",
    "data.sources": "sources: a path (save_to_disk directory, .parquet, .jsonl) or a hub dataset id, "
    "as a string (name[:split]) or {name_or_path, type, split}",
    "data.sources[].type": "huggingface / huggingface_prompt_response (prompt + response), huggingface_instruct "
    "(messages), or empty: checked against the columns",
    "data.sources[].split": "the split of a hub dataset or a DatasetDict directory (default train)",
    "data.max_length": "block_size",
    "data.pack_samples": "pack_samples",
    "data.num_proc": "num_proc",
    "data.cache_dir": "cache_dir",
    "data.seed": "seed (one seed here: must equal the top-level seed when both are given)",
    "data.filter_samples": "true: too_long = drop",
    "data.div_length": "pad_to_multiple_of (with pad_to: div_length)",
    "data.pad_to": "div_length: pad_to_multiple_of = div_length; max_length: pad_to_multiple_of = block_size",
    "optimizer.type": "fused_adam or empty: optimizer = adamw (DeepSpeed's FusedAdam is AdamW)",
    "optimizer.learning_rate": "learning_rate (also spelled lr)",
    "optimizer.weight_decay": "weight_decay (norms excluded, as arctic_training excludes them)",
    "optimizer.betas": "beta1, beta2",
    "scheduler.type": "huggingface or empty",
    "scheduler.name": "lr_schedule: linear, cosine (also cosine_with_min_lr), constant (also constant_with_warmup)",
    "scheduler.warmup_ratio": "warmup_ratio",
    "scheduler.scheduler_specific_kwargs.min_lr_rate": "min_lr = min_lr_rate * learning_rate (cosine_with_min_lr)",
    "epochs": "epochs",
    "micro_batch_size": "batch_size (rows per micro-batch per data-parallel rank)",
    "gradient_accumulation_steps": "grad_accum",
    "seed": "seed",
    "sequence_parallel_size": "sequence_parallel (Ulysses)",
    "activation_checkpoint_cpu_offload": "offload_activations",
    "tiled_mlp_compute": "tiled_mlp",
    "exit_iteration": "stop_at (stop early; the schedule keeps its length)",
    "loss_log_interval": "log_interval",
    "checkpoint": "one entry (a list of one, or a mapping)",
    "checkpoint.type": "huggingface or deepspeed: both are OUT_DIR/last (HF layout + optimizer state)",
    "checkpoint.output_dir": "out_dir",
    "checkpoint.save_every_n_steps": "save_interval",
    "checkpoint.save_every_n_epochs": "1 (or 0): save_interval = 0, a checkpoint at the end of each epoch",
    "checkpoint.auto_resume": "init_from = auto",
    "checkpoint.save_end_of_training": "true (fim/sft.py always saves at the end)",
    "checkpoint.enabled": "true",
}
REFUSED = {
    "code": "custom trainer code is not supported: fim/sft.py is the trainer",
    "skip_validation": "the config is always validated",
    "deepspeed": "there is no DeepSpeed here: several GPUs run FSDP2 under torchrun (all parameters, gradients "
    "and optimizer state sharded, like ZeRO-3); remove the section",
    "logger": "logging is fixed: rank 0 prints, OUT_DIR/metrics.jsonl records every step",
    "wandb.enable": "Weights & Biases is not wired into fim/sft.py (OUT_DIR/metrics.jsonl holds the metrics)",
    "train_iters": "a fixed number of iterations is not supported: use epochs (exit_iteration stops early)",
    "eval_frequency": "evaluation during training is not implemented",
    "eval_interval": "evaluation during training is not implemented",
    "min_iterations": "repeating the data to reach an iteration count is not supported",
    "overfit_first_batch": "not supported",
    "mem_profiler": "not supported (see bench/sft_memory.py)",
    "mem_profiler_dir": "not supported (see bench/sft_memory.py)",
    "mem_profiler_max_entries": "not supported (see bench/sft_memory.py)",
    "kill_switch_path": "not supported: Ctrl-C saves a checkpoint on one process",
    "train_log_iter_interval": "not supported: loss_log_interval sets how often a step is printed",
    "model.save_name": "the final model is OUT_DIR/final",
    "model.peft_config": "PEFT/LoRA is not implemented: fim/sft.py trains every parameter",
    "data.eval_sources": "evaluation during training is not implemented",
    "data.train_eval_split": "evaluation during training is not implemented",
    "data.dl_num_workers": "batches are collated in the training loop, without DataLoader workers",
    "data.cache_fs_type": "the token cache is a plain directory (data.cache_dir)",
    "data.always_max_length": "rows are never filled by cutting a sample",
    "data.drop_last": "the last packed row is always trained",
    "data.fuse_positions_prob": "positions always restart at each packed sample",
    "data.repeat_to_pack_max_length": "samples are never repeated to fill a row",
    "data.ignore_empty_think": "no think-block masking: the FIM data has no think blocks",
    "data.mask_inputs": "prompts are always masked (only responses and assistant turns are trained)",
    "data.use_data_cache": "tokenized sources are always cached",
    "data.cache_processed_data": "tokenized sources are always cached",
    "data.sources[].sample_ratio": "sampling a source is not supported",
    "data.sources[].sample_count": "sampling a source is not supported",
    "data.sources[].sample_seed": "sampling a source is not supported",
    "data.sources[].process": "sources are always tokenized",
    "data.sources[].role_mapping": "messages must use the roles system, user and assistant",
    "scheduler.learning_rate": "set optimizer.learning_rate (arctic_training refuses it too)",
    "scheduler.lr": "set optimizer.learning_rate (arctic_training refuses it too)",
}
# accepted because the value is what fim/sft.py does anyway; any other value is refused with REFUSED's text
SAME_AS_HERE = {
    "skip_validation": False,
    "train_log_iter_interval": 1,
    "overfit_first_batch": False,
    "min_iterations": 0,
    "train_iters": 0,
    "eval_frequency": 0,
    "mem_profiler": None,
    "data.eval_sources": [],
    "data.train_eval_split": [1.0, 0.0],
    "data.always_max_length": False,
    "data.drop_last": False,
    "data.fuse_positions_prob": 0.0,
    "data.repeat_to_pack_max_length": False,
    "data.ignore_empty_think": False,
    "data.mask_inputs": True,
    "data.use_data_cache": True,
    "data.cache_processed_data": True,
    "data.cache_fs_type": "auto",
    "data.sources[].process": True,
    "wandb.enable": False,
    "data.sources[].sample_ratio": None,
    "data.sources[].sample_count": None,
    "data.sources[].sample_seed": 42,
}
SCHEDULES = {
    "linear": "linear",
    "cosine": "cosine",
    "cosine_with_min_lr": "cosine",
    "constant": "constant",
    "constant_with_warmup": "constant",
}
DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp32": "float32", "float32": "float32"}
ATTENTION = {
    "sdpa": "sdpa",
    "eager": "sdpa",
    "flash_attention_2": "flex",
    "flash_attention_3": "flex",
    "flex_attention": "flex",
}


class ConfigError(SystemExit):
    """A key of the YAML file that cannot be honoured; the message names the file and the key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (arctic_training does the same)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


class _Reader:
    def __init__(self, path: str):
        self.path = path

    def fail(self, key: str, msg: str):
        raise ConfigError(f"{self.path}: {key}: {msg}")

    def number(self, key: str, v, kind=float, lo: float | None = None):
        # PyYAML reads 1e-5 (no dot) as a string; arctic_training's pydantic coerces it, so do the same
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            self.fail(key, f"expected a number, got {v!r}")
        try:
            x = float(v)
        except ValueError:
            self.fail(key, f"expected a number, got {v!r}")
        if kind is int:
            if not math.isfinite(x) or x != int(x):
                self.fail(key, f"expected an integer, got {v!r}")
            x = int(x)
        if lo is not None and x < lo:
            self.fail(key, f"must be >= {lo}, got {v!r}")
        return x

    def typed(self, key: str, v, kind: type, what: str):
        if not isinstance(v, kind):
            self.fail(key, f"expected {what}, got {v!r}")
        return v

    def flag(self, key: str, v) -> bool:
        return self.typed(key, v, bool, "true or false")

    def text(self, key: str, v) -> str:
        return self.typed(key, v, str, "a string")

    def section(self, key: str, v) -> dict:
        return self.typed(key, v, dict, "a mapping")

    def refused(self, key: str, rule: str, v):
        """None when v is what this project does anyway, else the error for the key."""
        if rule in SAME_AS_HERE and _same(v, SAME_AS_HERE[rule]):
            return
        self.fail(
            key,
            f"cannot be honoured: {REFUSED.get(rule, 'not a key arctic_training defines for sft')}",
        )


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def read_arctic_yaml(path: str) -> dict:
    """The settings of an arctic_training SFT YAML file, under fim/sft.py's names (sections as dicts)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_UniqueKeyLoader)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e})") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    r = _Reader(path)
    doc = r.section("(top level)", doc if doc is not None else {})
    # arctic_training's defaults where they differ from fim/sft.py's
    out = {
        "block_size": 8192,
        "pad_to_multiple_of": 256,
        "too_long": "drop",
        "optimizer": "adamw",
        "learning_rate": 5e-4,
        "weight_decay": 0.1,
        "beta1": 0.9,
        "beta2": 0.999,
        "grad_clip": 1.0,
        "lr_schedule": "linear",
        "warmup_ratio": 0.1,
        "min_lr": 0.0,
        "seed": 42,
        "checkpoint_activations": True,
    }
    for key, v in doc.items():
        key = str(key)
        if key == "type":
            if v != "sft":
                r.fail(key, f"only the sft trainer is implemented here, not {v!r}")
            out["type"] = "sft"
        elif key == "model":
            _model(r, r.section(key, v), out)
        elif key == "tokenizer":
            for k, x in r.section(key, v).items():
                if k == "name_or_path":
                    out["tokenizer"] = r.text(f"tokenizer.{k}", x)
                elif k == "type":
                    if x not in ("", "huggingface"):
                        r.fail(
                            f"tokenizer.{k}",
                            f"only huggingface tokenizers (tokenizer.json), not {x!r}",
                        )
                else:
                    r.refused(f"tokenizer.{k}", f"tokenizer.{k}", x)
        elif key == "data":
            _data(r, r.section(key, v), out)
        elif key == "optimizer":
            _optimizer(r, r.section(key, v), out)
        elif key == "scheduler":
            _scheduler(r, r.section(key, v), out)
        elif key == "checkpoint":
            _checkpoint(r, v, out)
        elif (
            key == "wandb"
        ):  # its other keys (project, name...) mean nothing while it is off, there as here
            r.refused("wandb.enable", "wandb.enable", r.section(key, v).get("enable", False))
        elif key in (
            "epochs",
            "micro_batch_size",
            "gradient_accumulation_steps",
            "sequence_parallel_size",
            "exit_iteration",
            "loss_log_interval",
            "seed",
        ):
            ours = {
                "micro_batch_size": "batch_size",
                "sequence_parallel_size": "sequence_parallel",
                "gradient_accumulation_steps": "grad_accum",
                "exit_iteration": "stop_at",
                "loss_log_interval": "log_interval",
            }.get(key, key)
            lo = 0 if key in ("epochs", "exit_iteration", "seed") else 1
            out[ours] = r.number(key, v, int, lo)
        elif key == "activation_checkpoint_cpu_offload":
            out["offload_activations"] = r.flag(key, v)
        elif key == "tiled_mlp_compute":
            out["tiled_mlp"] = r.flag(key, v) or out.get("tiled_mlp", False)
        else:
            r.refused(key, key, v)
    out["min_lr"] = out.pop("min_lr_rate", 0.0) * out["learning_rate"]
    data_seed = out.pop("data_seed", None)
    if data_seed is not None:
        if "seed" in doc and data_seed != out["seed"]:
            r.fail(
                "data.seed",
                f"{data_seed} differs from seed {out['seed']}: one seed orders the data here",
            )
        out["seed"] = data_seed
    if out.get("offload_activations") and not out.get("checkpoint_activations"):
        r.fail(
            "activation_checkpoint_cpu_offload",
            "needs activation checkpointing (remove model.disable_activation_checkpoint)",
        )
    return out


def _model(r: _Reader, sec: dict, out: dict):
    for k, v in sec.items():
        key = f"model.{k}"
        if k == "type":
            if (
                v == "liger"
            ):  # Liger's fused linear cross-entropy and MLP: here, the tiled loss and tiled MLP
                out["tiled_loss"], out["tiled_mlp"] = True, True
            elif v not in ("", "huggingface"):
                r.fail(key, f"{v!r} is not a model type here (liger, huggingface)")
        elif k == "name_or_path":
            out["pretrained"] = r.text(key, str(v) if v is not None else v)
        elif k == "dtype":
            if str(v) not in DTYPES:
                r.fail(key, f"{v!r} is not supported (bf16 or fp32; fp16 would need loss scaling)")
            out["dtype"] = DTYPES[str(v)]
        elif k == "attn_implementation":
            if v not in ATTENTION:
                r.fail(key, f"{v!r} is not supported ({', '.join(ATTENTION)})")
            out["attention"] = ATTENTION[v]
        elif k == "disable_activation_checkpoint":
            out["checkpoint_activations"] = not r.flag(key, v)
        else:
            r.refused(key, key, v)


def _source(r: _Reader, i: int, src) -> dict:
    key = f"data.sources[{i}]"
    if isinstance(src, str):  # arctic_training's shorthand: "name_or_path[:split]"
        name, _, split = src.partition(":")
        return {"name_or_path": name, "split": split or "train"}
    src = r.section(key, src)
    out = {"split": "train"}
    for k, v in src.items():
        if k == "name_or_path":
            out["name_or_path"] = r.text(f"{key}.{k}", str(v))
        elif k == "type":
            kinds = {
                "": None,
                "huggingface": None,
                "huggingface_prompt_response": "prompt_response",
                "huggingface_instruct": "messages",
            }
            if v not in kinds:
                r.fail(
                    f"{key}.{k}",
                    f"{v!r} is not a source type here ({', '.join(t for t in kinds if t)})",
                )
            if kinds[v]:
                out["kind"] = kinds[v]
        elif k == "split":
            split = r.text(f"{key}.{k}", v)
            if "[" in split or "+" in split:
                r.fail(
                    f"{key}.{k}", f"slice splits ({split!r}) are not supported: give a split name"
                )
            out["split"] = split
        else:
            r.refused(f"{key}.{k}", f"data.sources[].{k}", v)
    if "name_or_path" not in out:
        r.fail(key, "has no name_or_path")
    return out


def _data(r: _Reader, sec: dict, out: dict):
    div, pad_to = 256, "div_length"
    for k, v in sec.items():
        key = f"data.{k}"
        if k == "type":
            if v not in ("", "sft"):
                r.fail(key, f"only the sft data factory is implemented here, not {v!r}")
        elif k == "sources":
            if not isinstance(v, list) or not v:
                r.fail(key, "expected a non-empty list of sources")
            out["sources"] = [_source(r, i, s) for i, s in enumerate(v)]
        elif k in ("max_length", "num_proc"):
            out["block_size" if k == "max_length" else k] = r.number(key, v, int, 1)
        elif k == "pack_samples":
            out[k] = r.flag(key, v)
        elif k == "cache_dir":
            out[k] = r.text(key, str(v))
        elif k == "seed":
            out["data_seed"] = r.number(key, v, int, 0)
        elif k == "filter_samples":
            if not r.flag(key, v):
                r.fail(
                    key,
                    "false cannot be honoured: a sample over max_length is dropped here (or cut, with "
                    "--too_long=truncate), never kept whole",
                )
        elif k == "div_length":
            div = r.number(key, v, int, 1)
        elif k == "pad_to":
            if v not in ("div_length", "max_length"):
                r.fail(key, f"{v!r}: expected div_length or max_length")
            pad_to = v
        else:
            r.refused(key, f"data.{k}", v)
    out["pad_to_multiple_of"] = out["block_size"] if pad_to == "max_length" else div


def _optimizer(r: _Reader, sec: dict, out: dict):
    for k, v in sec.items():
        key = f"optimizer.{k}"
        if k == "type":
            if v not in ("", "fused_adam"):
                r.fail(
                    key,
                    f"{v!r} cannot be honoured: AdamW on the GPU (fused_adam) is the optimizer here"
                    + (" (no CPU-offloaded Adam)" if v == "cpu_adam" else ""),
                )
        elif k in ("lr", "learning_rate"):
            out["learning_rate"] = r.number(key, v, float, 0)
        elif k == "weight_decay":
            out["weight_decay"] = r.number(key, v, float, 0)
        elif k == "betas":
            if not isinstance(v, (list, tuple)) or len(v) != 2:
                r.fail(key, f"expected [beta1, beta2], got {v!r}")
            out["beta1"], out["beta2"] = (r.number(key, b, float, 0) for b in v)
        else:
            r.refused(key, key, v)


def _scheduler(r: _Reader, sec: dict, out: dict):
    name = "linear"
    for k, v in sec.items():
        key = f"scheduler.{k}"
        if k in ("type", "name"):  # type: huggingface (transformers' schedules), name: which one
            allowed = ("", "huggingface") if k == "type" else tuple(SCHEDULES)
            if v not in allowed:
                r.fail(
                    key,
                    f"{v!r} is not supported: huggingface schedules only ({', '.join(SCHEDULES)})",
                )
            name = v if k == "name" else name
        elif k == "warmup_ratio":
            out["warmup_ratio"] = r.number(key, v, float, 0)
        elif k == "scheduler_specific_kwargs":
            for kk, vv in r.section(key, v).items():
                if kk != "min_lr_rate":
                    r.fail(
                        f"{key}.{kk}",
                        "cannot be honoured: min_lr_rate is the only scheduler argument here",
                    )
                out["min_lr_rate"] = r.number(f"{key}.{kk}", vv, float, 0)
        else:
            r.refused(key, key, v)
    out["lr_schedule"] = SCHEDULES[name]
    if name == "constant":
        out["warmup_ratio"] = 0.0  # transformers' constant schedule has no warmup
    if name != "cosine_with_min_lr":  # transformers' linear and cosine decay to 0
        out.pop("min_lr_rate", None)
        if "scheduler_specific_kwargs" in sec:
            r.fail(
                "scheduler.scheduler_specific_kwargs",
                f"min_lr_rate needs name: cosine_with_min_lr, not {name}",
            )


def _checkpoint(r: _Reader, v, out: dict):
    entries = v if isinstance(v, list) else [v]
    if len(entries) != 1:
        r.fail(
            "checkpoint",
            f"{len(entries)} checkpoint engines: one output directory is written here "
            "(OUT_DIR/last, HF layout with optimizer state, and OUT_DIR/final)",
        )
    for k, x in r.section("checkpoint[0]", entries[0]).items():
        key = f"checkpoint.{k}"
        if k == "type":
            if x not in ("", "huggingface", "deepspeed"):
                r.fail(key, f"{x!r} is not a checkpoint type here (huggingface, deepspeed)")
        elif k == "output_dir":
            out["out_dir"] = r.text(key, str(x))
        elif k == "save_every_n_steps":
            out["save_interval"] = r.number(key, x, int, 0)
        elif k == "save_every_n_epochs":
            if r.number(key, x, int, 0) not in (0, 1):
                r.fail(key, "only every epoch (1) is supported")
        elif k == "auto_resume":
            if r.flag(key, x):
                out["init_from"] = "auto"
        elif k in ("save_end_of_training", "enabled"):
            if not r.flag(key, x):
                r.fail(
                    key,
                    "false cannot be honoured: fim/sft.py always writes checkpoints and saves at the end",
                )
        else:
            r.refused(key, key, x)
