"""An arctic_training SFT config (YAML) read as fim/sft.py settings.

    python fim/sft.py config.yml        # the file `python -m arctic_training config.yml` reads

Key names, nesting and defaults are arctic_training's (its config classes: TrainerConfig,
ModelConfig, SFTDataConfig, DataSourceConfig, HFDataSourceConfigInstruct, OptimizerConfig,
HFSchedulerConfig, CheckpointConfig, LoggerConfig, WandBConfig, in snowflakedb/ArcticTraining;
`data.fim_loss_masking` from its ac-sft-debug branch, where ac_sql_sft.yml lives). A key left out
means what it means there when it changes what is trained, so those defaults are set below where
they differ from fim/sft.py's (lr 5e-4, weight decay 0.1, betas (0.9, 0.999), a linear schedule
with 10% warmup, seed 42, max_length the model's context, no packing, rows padded to 256 tokens,
activation checkpointing on); speed knobs (num_proc) and the output directory keep this
project's defaults. Every key is mapped (MAPPED), accepted as tuning with an info line saying
what stands in its place (TUNING), or refused with an error naming the key and the file
(REFUSED): nothing is ignored. A refused key whose value is what this project does anyway (e.g.
`data.mask_inputs: true`) is accepted.

DeepSpeed's ZeRO runs on this project's torch-native parallelism under torchrun: stage 0 is
data parallel with whole replicas (gradients all-reduced, as DDP), stages 1-3 FSDP2 with
parameters, gradients and optimizer states all sharded; `offload_optimizer`/`offload_param`
`device: cpu` is FSDP2's CPU offload (sharded parameters, gradients and the AdamW step in host
memory), which is what `optimizer.type: cpu_adam` steps there.
"""

import json
import math
import re

import yaml

# arctic_training key -> the fim/sft.py setting it sets (SFTConfig, train.py's names where it has
# them)
MAPPED = {
    "type": "type (only sft)",
    "model.type": "liger: tiled_loss + tiled_mlp (this project's tiled loss and MLP); huggingface "
    "or empty: neither",
    "model.name_or_path": "pretrained (a local directory or a hub id through the Hugging Face "
    "cache)",
    "model.dtype": "dtype (bf16/bfloat16 or fp32/float32; compute dtype, fp32 master weights)",
    "model.attn_implementation": "attention: sdpa/eager -> sdpa; flex_attention -> flex; "
    "flash_attention_2/3 -> flash (no FlashAttention kernels here: the same document-masked "
    "attention "
    "through flex_attention on CUDA, SDPA elsewhere, said in one warning line)",
    "model.disable_activation_checkpoint": "checkpoint_activations = not it (arctic_training "
    "checkpoints by default)",
    "tokenizer.name_or_path": "tokenizer (default: the model's tokenizer.json)",
    "tokenizer.type": "huggingface or empty only: a tokenizer.json read by fim/bpe.py",
    "data.type": "sft or empty",
    "data.sources": "sources: a path (save_to_disk folder, folder of .parquet files, Parquet or "
    "JSONL "
    "file, told apart by content) or a hub dataset id, as a string (name[:split]) or a mapping",
    "data.eval_sources": "eval_sources: as data.sources, default split eval (needs eval_interval)",
    "data.sources[].type": "huggingface / huggingface_prompt_response (prompt + response), "
    "huggingface_instruct "
    "(messages), or empty: checked against the columns",
    "data.sources[].name_or_path": "the source's path or hub id (name:split also sets split)",
    "data.sources[].split": "a split, split slices and sums as `datasets` reads them "
    "(train[:5000], "
    "train[10%:]+test); default train (eval for eval_sources)",
    "data.sources[].split_mapping": "split names renamed before reading ({train: train_sft}; known "
    "datasets "
    "such as HuggingFaceH4/ultrachat_200k get arctic_training's)",
    "data.sources[].role_mapping": "role_mapping: messages built from columns (user: question) or "
    "from "
    "the items of a list column (user: messages.role.user), zipped turn by turn as arctic_training "
    "does",
    "data.sources[].content_key": "the item field holding the text (default: content, text, "
    "message, value)",
    "data.sources[].sample_count": "that many rows drawn with random.Random(sample_seed).sample, "
    "as arctic_training draws them",
    "data.sources[].sample_ratio": "int(rows * ratio) rows drawn the same way",
    "data.sources[].sample_seed": "the seed of the draw (default 42)",
    "data.max_length": "block_size (default: the model's context, max_position_embeddings)",
    "data.pack_samples": "pack_samples (arctic_training's default: false)",
    "data.num_proc": "num_proc",
    "data.cache_dir": "cache_dir",
    "data.seed": "seed (one seed here: must equal the top-level seed when both are given)",
    "data.filter_samples": "true: too_long = drop; false: too_long = keep (a longer sample trained "
    "whole, "
    "in a row of its own, as arctic_training packs it)",
    "data.div_length": "pad_to_multiple_of (with pad_to: div_length)",
    "data.pad_to": "div_length: pad_to_multiple_of = div_length; max_length: pad_to_multiple_of = "
    "block_size",
    "data.ignore_empty_think": "ignore_empty_think: an empty <think></think> block opening an "
    "assistant turn is not trained",
    "data.fim_loss_masking": "fim_loss_masking: only what follows <|fim_middle|> in an assistant "
    "turn is "
    "trained, with its <|im_end|>; a turn without it is not (ArcticTraining's ac-sft-debug branch)",
    "optimizer.type": "fused_adam or empty: optimizer = adamw (FusedAdam is AdamW); cpu_adam: "
    "adamw, "
    "stepping on CPU with the offloaded states under offload_optimizer (DeepSpeedCPUAdam is AdamW)",
    "optimizer.learning_rate": "learning_rate (also spelled lr)",
    "optimizer.weight_decay": "weight_decay (norms excluded, as arctic_training excludes them)",
    "optimizer.betas": "beta1, beta2",
    "scheduler.type": "huggingface or empty",
    "scheduler.name": "lr_schedule: linear, cosine (also cosine_with_min_lr), constant (also "
    "constant_with_warmup)",
    "scheduler.warmup_ratio": "warmup_ratio",
    "scheduler.scheduler_specific_kwargs.min_lr_rate": "min_lr = min_lr_rate * learning_rate "
    "(cosine_with_min_lr)",
    "deepspeed.zero_optimization.stage": "under torchrun: 0 -> data_parallel = ddp (whole "
    "replicas, "
    "gradients all-reduced); 1, 2, 3 -> data_parallel = fsdp (FSDP2, everything sharded)",
    "deepspeed.zero_optimization.offload_optimizer.device": "cpu: cpu_offload (FSDP2's "
    "CPUOffloadPolicy: "
    "sharded parameters, gradients, optimizer states and the AdamW step in host memory); none: no "
    "offload",
    "deepspeed.zero_optimization.offload_param.device": "cpu: cpu_offload (FSDP2 offloads the "
    "parameters "
    "with the optimizer states); none: no offload",
    "deepspeed.gradient_clipping": "grad_clip",
    "epochs": "epochs",
    "micro_batch_size": "batch_size (rows per micro-batch per data-parallel rank)",
    "gradient_accumulation_steps": "grad_accum",
    "seed": "seed",
    "sequence_parallel_size": "sequence_parallel (Ulysses)",
    "activation_checkpoint_cpu_offload": "offload_activations",
    "tiled_mlp_compute": "tiled_mlp",
    "exit_iteration": "stop_at (stop early; the schedule keeps its length)",
    "min_iterations": "min_iterations: an epoch's rows repeated until there are enough for this "
    "many steps",
    "eval_interval": "eval_interval: every N steps the loss on eval_sources' trained tokens, "
    "logged "
    "with the train loss; OUT_DIR/best keeps the model with the lowest",
    "loss_log_interval": "log_interval",
    "logger.level": "log_level (DEBUG, INFO, WARNING, ERROR, ...): lines below it are not shown",
    "logger.output_dir": "log_dir: each rank in file_output_ranks writes LOG_DIR/logs/rank_N.log",
    "logger.print_output_ranks": 'print_ranks: only these ranks print to the console ("*": all)',
    "logger.file_output_ranks": 'log_file_ranks ("*": all, the default)',
    "wandb.enable": "true: wandb_project set (logs through wandb when installed and logged in, "
    "else one "
    "error before any work starts)",
    "wandb.project": "wandb_project (default arctic-training)",
    "wandb.name": "wandb_name",
    "wandb.entity": "wandb_entity",
    "checkpoint": "one entry (a list of one, or a mapping)",
    "checkpoint.type": "huggingface or deepspeed: both are OUT_DIR/last (HF layout + optimizer "
    "state)",
    "checkpoint.output_dir": "out_dir",
    "checkpoint.save_every_n_steps": "save_interval",
    "checkpoint.save_every_n_epochs": "1 (or 0): save_interval = 0, a checkpoint at the end of "
    "each epoch",
    "checkpoint.auto_resume": "init_from = auto",
    "checkpoint.save_end_of_training": "true (fim/sft.py always saves at the end)",
    "checkpoint.enabled": "true",
}
# accepted with an info line: DeepSpeed and DataLoader tuning that does not change what is computed
TUNING = {
    "data.dl_num_workers": "batches are collated in the training loop, no DataLoader workers",
    "deepspeed.zero_optimization.allgather_bucket_size": "FSDP2 all-gathers one block's parameters "
    "at a time",
    "deepspeed.zero_optimization.reduce_bucket_size": "FSDP2 reduce-scatters one block's gradients "
    "at a time",
    "deepspeed.zero_optimization.memory_efficient_linear": "FSDP2 frees each block's gathered "
    "weights after use",
    "deepspeed.zero_optimization.overlap_comm": "FSDP2 prefetches the next block's parameters",
    "deepspeed.zero_optimization.contiguous_gradients": "FSDP2 keeps each block's gradient shards "
    "in one buffer",
    "deepspeed.zero_optimization.reduce_scatter": "FSDP2 reduce-scatters gradients",
    "deepspeed.zero_optimization.allgather_partitions": "FSDP2 all-gathers parameters",
    "deepspeed.zero_optimization.round_robin_gradients": "FSDP2 shards every parameter evenly",
    "deepspeed.zero_optimization.sub_group_size": "the optimizer steps each sharded parameter",
    "deepspeed.zero_optimization.stage3_prefetch_bucket_size": "FSDP2 prefetches one block",
    "deepspeed.zero_optimization.stage3_param_persistence_threshold": "every block is sharded (the "
    "root too)",
    "deepspeed.zero_optimization.stage3_max_live_parameters": "at most the current and the next "
    "block are gathered",
    "deepspeed.zero_optimization.stage3_max_reuse_distance": "gathered blocks are freed after use",
    "deepspeed.zero_optimization.stage3_gather_16bit_weights_on_model_save": "checkpoints gather "
    "the full weights",
    "deepspeed.zero_optimization.offload_optimizer.pin_memory": "pinned when CUDA is there",
    "deepspeed.zero_optimization.offload_param.pin_memory": "pinned when CUDA is there",
    "deepspeed.seq_parallel_communication_data_type": "the Ulysses all-to-alls carry the compute "
    "dtype",
    "deepspeed.steps_per_print": "log_interval sets how often a step is printed",
    "deepspeed.wall_clock_breakdown": "each step line gives tokens/s",
    "deepspeed.train_micro_batch_size_per_gpu": "arctic_training overwrites it with "
    "micro_batch_size",
    "deepspeed.train_batch_size": "arctic_training overwrites it from micro_batch_size x "
    "gradient_accumulation_steps x ranks",
    "deepspeed.gradient_accumulation_steps": "arctic_training overwrites it with "
    "gradient_accumulation_steps",
}
REFUSED = {
    "code": "custom trainer code is not supported: fim/sft.py is the trainer",
    "skip_validation": "the config is always validated",
    "deepspeed": "a DeepSpeed setting with no counterpart here (see docs/sft.md for the deepspeed "
    "keys read)",
    "wandb": "not a wandb key arctic_training defines",
    "logger": "not a logger key arctic_training defines",
    "train_iters": "a fixed number of iterations is not supported: use epochs (exit_iteration "
    "stops early)",
    "eval_frequency": "not an arctic_training key: eval_interval sets how often the eval loss is "
    "computed",
    "eval_log_iter_interval": "every eval loss is logged",
    "overfit_first_batch": "not supported",
    "mem_profiler": "not supported (see bench/sft_memory.py)",
    "mem_profiler_dir": "not supported (see bench/sft_memory.py)",
    "mem_profiler_max_entries": "not supported (see bench/sft_memory.py)",
    "kill_switch_path": "not supported: SIGTERM or Ctrl-C saves a checkpoint and stops",
    "train_log_iter_interval": "not supported: loss_log_interval sets how often a step is printed",
    "model.save_name": "the final model is OUT_DIR/final",
    "model.peft_config": "PEFT/LoRA is not implemented: fim/sft.py trains every parameter",
    "model.hf_config_kwargs": "the model's config.json is used as it is",
    "data.train_eval_split": "no eval split is cut from the training data: give data.eval_sources",
    "data.cache_fs_type": "the token cache is a plain directory (data.cache_dir)",
    "data.fail_on_missing_cache": "a missing token cache is built",
    "data.always_max_length": "rows are never filled by cutting a sample",
    "data.drop_last": "the last packed row is always trained",
    "data.fuse_positions_prob": "positions always restart at each packed sample",
    "data.repeat_to_pack_max_length": "samples are never repeated to fill a row",
    "data.mask_inputs": "prompts are always masked (only responses and assistant turns are "
    "trained)",
    "data.use_data_cache": "tokenized sources are always cached",
    "data.cache_processed_data": "tokenized sources are always cached",
    "data.sources[].process": "sources are always tokenized",
    "data.sources[].kwargs": "load_dataset arguments are not read: give a path or a hub id",
    "scheduler.learning_rate": "set optimizer.learning_rate (arctic_training refuses it too)",
    "scheduler.lr": "set optimizer.learning_rate (arctic_training refuses it too)",
}
# accepted because the value is what fim/sft.py does anyway; any other value is refused with
# REFUSED's text
SAME_AS_HERE = {
    "skip_validation": False,
    "train_log_iter_interval": 1,
    "eval_log_iter_interval": 1,
    "overfit_first_batch": False,
    "train_iters": 0,
    "eval_frequency": 0,
    "mem_profiler": None,
    "data.train_eval_split": [1.0, 0.0],
    "data.always_max_length": False,
    "data.drop_last": False,
    "data.fuse_positions_prob": 0.0,
    "data.repeat_to_pack_max_length": False,
    "data.mask_inputs": True,
    "data.use_data_cache": True,
    "data.cache_processed_data": True,
    "data.cache_fs_type": "auto",
    "data.fail_on_missing_cache": False,
    "data.sources[].process": True,
    "data.sources[].kwargs": {},
    "model.hf_config_kwargs": {},
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
    "flash_attention_2": "flash",
    "flash_attention_3": "flash",
    "flex_attention": "flex",
}
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
# arctic_training's tables of known hub datasets (data/hf_source.py, data/hf_instruct_source.py)
KNOWN_SPLITS = {
    "HuggingFaceH4/ultrachat_200k": {"train": "train_sft", "eval": "test_sft"},
    "HuggingFaceH4/ultrafeedback_binarized": {"train": "train_prefs", "eval": "test_prefs"},
    "nvidia/AceMath-Instruct-Training-Data": {"train": "general_sft_stage2"},
}
_CHAT = {"user": "messages.role.user", "assistant": "messages.role.assistant"}
KNOWN_ROLES = {
    "nvidia/AceMath-Instruct-Training-Data": _CHAT,
    "HuggingFaceH4/ultrachat_200k": _CHAT,
    "Open-Orca/OpenOrca": {"system": "system_prompt", "user": "question", "assistant": "response"},
    "THUDM/LongAlign-10k": _CHAT,
    "Yukang/LongAlpaca-12k": {"user": "instruction", "assistant": "output"},
    "Open-Orca/SlimOrca": {
        "system": "conversations.from.system",
        "user": "conversations.from.human",
        "assistant": "conversations.from.gpt",
    },
    "meta-math/MetaMathQA": {"user": "query", "assistant": "response"},
    "ise-uiuc/Magicoder-OSS-Instruct-75K": {"user": "problem", "assistant": "solution"},
    "lmsys/lmsys-chat-1m": {
        "user": "conversation.role.user",
        "assistant": "conversation.role.assistant",
    },
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


def human_number(v):
    """arctic_training's parse_human_val: 1_000, 5e8, 2k, 4Mi, 10% as numbers; other text "
    "unchanged."""
    if not isinstance(v, str):
        return v
    t = v.replace("_", "").lower().strip()
    if t.endswith("%"):
        return float(t[:-1]) / 100
    m = re.match(r"^(-?\d+\.?\d?)\^(-?\d+\.?\d?)$", t)
    if m:
        base, exp = map(float, m.groups())
        return (-1 if base < 0 else 1) * abs(base) ** exp
    m = re.match(r"^(-?\d+\.?\d?)e(-?\d+\.?\d?)$", t)
    if m:
        base, exp = map(float, m.groups())
        return base * 10**exp
    suffixes = {s: 10 ** (3 * i) for i, s in enumerate(("k", "m", "b", "t"), 1)}
    suffixes.update({s: 2 ** (10 * i) for i, s in enumerate(("ki", "mi", "gi", "ti"), 1)})
    m = re.match(rf"^(-?\d+\.?\d?)({'|'.join(suffixes)})$", t)
    if m:
        return float(m[1]) * suffixes[m[2]]
    try:
        return float(t)
    except ValueError:
        return v


class _Reader:
    def __init__(self, path: str):
        self.path = path
        self.notes: list[str] = []  # info lines for the run's log

    def fail(self, key: str, msg: str):
        raise ConfigError(f"{self.path}: {key}: {msg}")

    def number(self, key: str, v, kind=float, lo: float | None = None):
        # arctic_training's pydantic (HumanInt/HumanFloat) coerces text such as 1e-5 or 36_000
        x = human_number(v)
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            self.fail(key, f"expected a number, got {v!r}")
        if kind is int:
            if not math.isfinite(x) or x != int(x):
                self.fail(key, f"expected an integer, got {v!r}")
            x = int(x)
        else:
            x = float(x)
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

    def ranks(self, key: str, v):
        if v == "*":
            return "*"
        if not isinstance(v, list) or not all(type(r) is int and r >= 0 for r in v):
            self.fail(key, f'expected "*" or a list of ranks, got {v!r}')
        return v

    def tuning(self, key: str, v):
        if key.endswith(("_size", "_threshold", "_parameters", "_distance")):
            self.number(key, v)  # still checked: DeepSpeed would refuse a size that is not a number
        shown = json.dumps(v)  # as YAML writes it: true, 500000000, "bf16"
        self.notes.append(
            f"info: {self.path}: {key}: {shown} accepted as tuning; here, {TUNING[key]}"
        )

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


def read_arctic_yaml(path: str) -> tuple[dict, list[str]]:
    """(the settings of an arctic_training SFT YAML file under fim/sft.py's names, info lines about
    the keys accepted as tuning)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_UniqueKeyLoader)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e})") from None
    except yaml.YAMLError as e:  # its message spans lines (where, what): one line here
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(e).split())})") from None
    r = _Reader(path)
    doc = r.section("(top level)", doc if doc is not None else {})
    # arctic_training's defaults where they differ from fim/sft.py's
    out = {
        "block_size": 0,  # 0: the model's max_position_embeddings (TrainerConfig.set_max_length)
        "pack_samples": False,
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
        "log_level": "WARNING",  # arctic_training's LOG_LEVEL_DEFAULT (AT_LOG_LEVEL unset)
        "log_interval": 1,  # loss_log_interval: every step, as arctic_training prints
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
        elif key == "deepspeed":
            _deepspeed(r, r.section(key, v), out)
        elif key == "logger":
            _logger(r, r.section(key, v), out)
        elif key == "wandb":
            _wandb(r, r.section(key, v), out)
        elif key in (
            "epochs",
            "micro_batch_size",
            "gradient_accumulation_steps",
            "sequence_parallel_size",
            "exit_iteration",
            "min_iterations",
            "eval_interval",
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
            lo = (
                0
                if key in ("epochs", "exit_iteration", "min_iterations", "eval_interval", "seed")
                else 1
            )
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
    # TrainerConfig.validate_eval_interval
    if out.get("eval_sources") and not out.get("eval_interval"):
        r.fail(
            "eval_interval",
            "must be set when data.eval_sources is given (arctic_training requires it)",
        )
    if out.get("eval_interval") and not out.get("eval_sources"):
        r.fail(
            "eval_interval",
            "is set but data.eval_sources is empty (arctic_training refuses it too)",
        )
    return out, r.notes


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


SOURCE_TYPES = {
    "": None,
    "huggingface": None,
    "huggingface_prompt_response": "prompt_response",
    "huggingface_instruct": "messages",
}


def _source(r: _Reader, key: str, src, default_split: str) -> dict:
    """One entry of data.sources / data.eval_sources, as DataConfig.init_source_configs and
    HFDataSourceConfig(Instruct) read it: "name[:split]" or a mapping, known datasets' split and
    role mappings filled in."""
    if isinstance(src, str):  # arctic_training's shorthand: "name_or_path[:split]"
        src = {"name_or_path": src}
    src = r.section(key, src)
    out = {"split": default_split}
    kind, source_type = None, ""
    for k, v in src.items():
        if k == "name_or_path":
            out["name_or_path"] = r.text(f"{key}.{k}", str(v))
        elif k == "type":
            if v not in SOURCE_TYPES:
                r.fail(
                    f"{key}.{k}",
                    f"{v!r} is not a source type here ({', '.join(t for t in SOURCE_TYPES if t)})",
                )
            kind, source_type = SOURCE_TYPES[v], v
        elif k == "split":
            out["split"] = r.text(f"{key}.{k}", v) or default_split
        elif k in ("role_mapping", "split_mapping"):
            m = r.section(f"{key}.{k}", v)
            for role, p in m.items():
                r.text(f"{key}.{k}.{role}", p)
                if k == "role_mapping" and "." in p and len(p.split(".")) != 3:
                    r.fail(f"{key}.{k}.{role}", f"{p!r}: expected a column or array.field.value")
            out[k] = dict(m)
        elif k == "content_key":
            out[k] = r.text(f"{key}.{k}", v) if v is not None else None
        elif k == "sample_count":
            out[k] = None if v is None else r.number(f"{key}.{k}", v, int, 0)
        elif k == "sample_ratio":
            out[k] = None if v is None else r.number(f"{key}.{k}", v, float, 0)
        elif k == "sample_seed":
            out[k] = r.number(f"{key}.{k}", v, int, 0)
        else:
            r.refused(f"{key}.{k}", f"data.sources[].{k}", v)
    if "name_or_path" not in out:
        r.fail(key, "has no name_or_path")
    if out.get("sample_count") is not None and out.get("sample_ratio") is not None:
        r.fail(
            key, "sample_ratio and sample_count cannot both be set (arctic_training refuses it too)"
        )
    name = out["name_or_path"]
    if ":" in name:  # HFDataSourceConfig.get_split_from_name_or_path
        out["name_or_path"], out["split"] = name.split(":", 1)
    known = out["name_or_path"]
    if known in KNOWN_SPLITS and not out.get("split_mapping"):
        out["split_mapping"] = dict(KNOWN_SPLITS[known])
    # the sft factory's default source is huggingface_instruct, whose known datasets get roles
    instruct = source_type in ("", "huggingface_instruct")
    if instruct and known in KNOWN_ROLES and "role_mapping" not in out:
        out["role_mapping"] = dict(KNOWN_ROLES[known])
    if "role_mapping" in out:
        if kind == "prompt_response":
            r.fail(f"{key}.role_mapping", "is for huggingface_instruct sources (messages)")
        kind = "messages"
    if kind:
        out["kind"] = kind
    return {k: v for k, v in out.items() if v is not None}


def _sources(r: _Reader, key: str, v, default_split: str) -> list:
    if not isinstance(v, list):
        r.fail(key, "expected a list of sources")
    return [_source(r, f"{key}[{i}]", s, default_split) for i, s in enumerate(v)]


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
            out["sources"] = _sources(r, key, v, "train")
        elif k == "eval_sources":
            out["eval_sources"] = _sources(r, key, v, "eval")
        elif k in ("max_length", "num_proc"):
            out["block_size" if k == "max_length" else k] = r.number(key, v, int, 1)
        elif k in ("pack_samples", "ignore_empty_think", "fim_loss_masking"):
            out[k] = r.flag(key, v)
        elif k == "cache_dir":
            out[k] = r.text(key, str(v))
        elif k == "seed":
            out["data_seed"] = r.number(key, v, int, 0)
        elif k == "filter_samples":
            out["too_long"] = "drop" if r.flag(key, v) else "keep"
        elif k == "div_length":
            div = r.number(key, v, int, 1)
        elif k == "pad_to":
            if v not in ("div_length", "max_length"):
                r.fail(key, f"{v!r}: expected div_length or max_length")
            pad_to = v
        elif k == "dl_num_workers":
            r.number(key, v, int, 0)
            r.tuning(key, v)
        else:
            r.refused(key, f"data.{k}", v)
    if pad_to == "max_length":
        if "max_length" not in sec:
            r.fail("data.pad_to", "max_length needs data.max_length here")
        out["pad_to_multiple_of"] = out["block_size"]
    else:
        out["pad_to_multiple_of"] = div


def _optimizer(r: _Reader, sec: dict, out: dict):
    for k, v in sec.items():
        key = f"optimizer.{k}"
        if k == "type":
            if v not in ("", "fused_adam", "cpu_adam"):
                r.fail(
                    key,
                    f"{v!r} cannot be honoured: AdamW (fused_adam, or cpu_adam with offloaded "
                    "states) is the optimizer here",
                )
            out["optimizer"] = "adamw"
            if v == "cpu_adam":
                out["cpu_adam"] = True
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
    if out.pop("cpu_adam", False):
        r.notes.append(
            f"info: {r.path}: optimizer.type: cpu_adam is AdamW here; its step runs on CPU where "
            "offload_optimizer puts the optimizer states there, on the training device otherwise"
        )


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
                    "false cannot be honoured: "
                    "fim/sft.py always writes checkpoints and saves at the end",
                )
        else:
            r.refused(key, key, x)


def _offload(r: _Reader, key: str, sec: dict, out: dict):
    for k, v in r.section(key, sec).items():
        if k == "device":
            if v == "cpu":
                out["cpu_offload"] = True
            elif v not in ("none", None):
                r.fail(
                    f"{key}.device", f"{v!r} cannot be honoured: only cpu offload (FSDP2's) is here"
                )
        elif f"{key}.{k}" in TUNING:
            r.tuning(f"{key}.{k}", v)
        else:
            r.refused(f"{key}.{k}", "deepspeed", v)


def _deepspeed(r: _Reader, sec: dict, out: dict):
    """DeepSpeed's config dict (TrainerConfig.deepspeed) on this project's FSDP2/DDP."""
    for k, v in sec.items():
        key = f"deepspeed.{k}"
        if k == "zero_optimization":
            for kk, vv in r.section(key, v).items():
                zkey = f"{key}.{kk}"
                if kk == "stage":
                    stage = r.number(zkey, vv, int, 0)
                    if stage > 3:
                        r.fail(zkey, f"{stage}: ZeRO stages are 0 to 3")
                    out["data_parallel"] = "ddp" if stage == 0 else "fsdp"
                elif kk in ("offload_optimizer", "offload_param"):
                    _offload(r, zkey, vv, out)
                elif zkey in TUNING:
                    r.tuning(zkey, vv)
                else:
                    r.refused(zkey, "deepspeed", vv)
        elif k == "gradient_clipping":
            out["grad_clip"] = r.number(key, v, float, 0)
        elif key in TUNING:
            r.tuning(key, v)
        else:
            r.refused(key, "deepspeed", v)
    if out.get("cpu_offload") and out.get("data_parallel") == "ddp":
        r.fail(
            "deepspeed.zero_optimization",
            "offload needs ZeRO stage 1-3 (DeepSpeed refuses offload at stage 0 too)",
        )


def _logger(r: _Reader, sec: dict, out: dict):
    for k, v in sec.items():
        key = f"logger.{k}"
        if k == "level":
            level = r.text(key, v).upper()
            if level not in LOG_LEVELS:
                r.fail(key, f"{v!r}: expected one of {', '.join(LOG_LEVELS)}")
            out["log_level"] = level
        elif k == "output_dir":
            out["log_dir"] = "" if str(v) == "/dev/null" else r.text(key, str(v))
        elif k == "print_output_ranks":
            out["print_ranks"] = r.ranks(key, v)
        elif k == "file_output_ranks":
            out["log_file_ranks"] = r.ranks(key, v)
        else:
            r.refused(key, "logger", v)


def _wandb(r: _Reader, sec: dict, out: dict):
    """WandBConfig: its other keys mean nothing while enable is false, there as here."""
    names = {}
    for k, v in sec.items():
        key = f"wandb.{k}"
        if k == "enable":
            r.flag(key, v)
        elif k in ("project", "name", "entity"):
            names[k] = None if v is None else r.text(key, v)
        else:
            r.refused(key, "wandb", v)
    if sec.get("enable"):
        out["wandb_project"] = names.get("project") or "arctic-training"
        out["wandb_name"] = names.get("name") or ""
        out["wandb_entity"] = names.get("entity") or ""
