"""The original FIM pipeline's commands and YAML config, and arctic_training's own recipes, run as
written (issues 18 and 27).

A temporary HF_HUB_CACHE holds a tiny Qwen3 and a byte-level tokenizer under the hub id
Qwen/Qwen3-4B-Instruct-2507, a tiny prompt/response dataset and a tiny chat dataset under
HuggingFaceH4/ultrachat_200k's id and layout, in the hub's cache layout; HF_HUB_OFFLINE=1.
"""

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from test_fim_convert import ORIGINAL_INPUT, tokenizer_spec

from fim.sft import load_config, read_config
from sqlcomplete.fim.arctic_yaml import MAPPED, REFUSED, TUNING, read_arctic_yaml
from sqlcomplete.model import ModelArgs, Transformer, from_pretrained, save_pretrained

pytest.importorskip("huggingface_hub")
pytest.importorskip("yaml")
ROOT = Path(__file__).resolve().parent.parent
HUB_ID = "Qwen/Qwen3-4B-Instruct-2507"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# the original's documented config, exactly (the data path is the user's, here the converter's
# output)
ORIGINAL_YAML = """type: sft
model:
  type: liger
  name_or_path: Qwen/Qwen3-4B-Instruct-2507

data:
  sources:
    - name_or_path: /path/to/output_hf
      # type is auto-detected from columns
  max_length: 262144
  pack_samples: true
"""
ROWS = [
    (ORIGINAL_INPUT, "orders"),
    (
        '[{"type": "text", "text": "{\\"ddl_context\\": \\"CREATE TABLE t (a INT, b INT);\\"}"}, '
        '{"type": "text", "text": "SELECT a, <fillMe> FROM t"}]',
        "b",
    ),
    ('[{"type": "text", "text": "UPDATE t SET <fillMe> WHERE a = 1"}]', "b = 2"),
]


def hub_repo(cache: Path, repo_id: str, kind: str = "model") -> Path:
    """An empty snapshot directory of repo_id in huggingface_hub's cache layout
    (refs/main -> snapshots/<commit>)."""
    repo = cache / f"{kind}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    return snap


def to_blobs(snap: Path):
    """As the hub's cache stores them: each file's bytes in blobs/<sha256>, the snapshot holding
    relative links."""
    import hashlib

    blobs = snap.parent.parent / "blobs"
    blobs.mkdir(exist_ok=True)
    for f in [p for p in snap.rglob("*") if p.is_file()]:
        blob = blobs / hashlib.sha256(f.read_bytes()).hexdigest()
        f.replace(blob)
        f.symlink_to(os.path.relpath(blob, f.parent))


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("hf_cache")
    snap = hub_repo(cache, HUB_ID)
    spec = tokenizer_spec()
    (snap / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    vocab = len(spec["model"]["vocab"]) + len(spec["added_tokens"])
    torch.manual_seed(0)
    # Qwen3-4B-Instruct-2507's context, so the config's max_length: 262144 fits as written
    args = ModelArgs(
        dim=32,
        n_layers=2,
        n_heads=4,
        n_kv_heads=2,
        head_dim=8,
        hidden_dim=64,
        vocab_size=vocab,
        max_seq_len=262144,
        norm_eps=1e-6,
        rope_theta=5e6,
        qk_norm=True,
    )
    save_pretrained(Transformer(args), str(snap))
    to_blobs(snap)
    data = hub_repo(cache, "someone/fim-rows", "dataset") / "data"
    data.mkdir()
    pq.write_table(
        pa.table(
            {
                "prompt": ["<|fim_prefix|>SELECT <|fim_suffix|> FROM t<|fim_middle|>"] * 3,
                "response": ["a"] * 3,
            }
        ),
        data / "train-00000-of-00001.parquet",
    )
    to_blobs(data.parent)
    # ultrachat_200k's layout (data/train_sft-*.parquet, prompt/prompt_id/messages), tiny chats
    chat = hub_repo(cache, "HuggingFaceH4/ultrachat_200k", "dataset") / "data"
    chat.mkdir()
    messages = [
        [
            {"content": f"Which table holds {t}?", "role": "user"},
            {"content": f"SELECT * FROM {t};", "role": "assistant"},
            {"content": "And the count?", "role": "user"},
            {"content": f"SELECT count(*) FROM {t};", "role": "assistant"},
        ]
        for t in ("users", "orders", "items", "carts", "stores", "staff")
    ]
    pq.write_table(
        pa.table(
            {
                "prompt": [m[0]["content"] for m in messages],
                "prompt_id": [str(i) for i in range(len(messages))],
                "messages": messages,
            }
        ),
        chat / "train_sft-00000-of-00001.parquet",
    )
    to_blobs(chat.parent)
    return cache


def run(args: list[str], cwd: Path, cache: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return run_cmd(args, cwd, cache, timeout=timeout)


def run_cmd(
    args: list[str], cwd: Path, cache: Path, extra_env=None, timeout: int = 300
) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        **(extra_env or {}),
    }
    env.pop("HF_HOME", None)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_original_commands_and_yaml_run_as_written(tmp_path, hub):
    pq.write_table(
        pa.table(
            {
                "TYPE": ["fillMe"] * len(ROWS),
                "INPUT": [r[0] for r in ROWS],
                "OUTPUT": [r[1] for r in ROWS],
            }
        ),
        tmp_path / "data.parquet",
    )
    res = run(
        [
            str(ROOT / "fim/csv_to_fim.py"),
            "data.parquet",
            "-o",
            "fim_dataset",
            "--tokenizer",
            HUB_ID,
        ],
        tmp_path,
        hub,
    )
    assert res.returncode == 0, res.stderr
    assert f"read {len(ROWS)} rows: wrote {len(ROWS)}" in res.stdout
    assert (tmp_path / "fim_dataset" / "state.json").is_file()

    (tmp_path / "config.yml").write_text(ORIGINAL_YAML.replace("/path/to/output_hf", "fim_dataset"))
    res = run([str(ROOT / "fim/sft.py"), "config.yml"], tmp_path, hub)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert "data fim_dataset (prompt_response): 3 rows: 3 samples" in res.stdout
    assert "done: 1 steps, 0 skipped" in res.stdout
    final = tmp_path / "out" / "sft" / "final"
    assert from_pretrained(str(final)).args.max_seq_len == 262144
    assert (final / "tokenizer.json").read_text() == (
        next((hub / f"models--{HUB_ID.replace('/', '--')}").rglob("tokenizer.json"))
    ).read_text()


def test_yaml_maps_the_original_config(tmp_path):
    (tmp_path / "config.yml").write_text(ORIGINAL_YAML)
    cfg = load_config(str(tmp_path / "config.yml"), ["--epochs=3"])
    assert cfg.pretrained == HUB_ID and cfg.tiled_loss and cfg.tiled_mlp  # model.type: liger
    assert cfg.sources == [{"name_or_path": "/path/to/output_hf", "split": "train"}]
    assert (cfg.block_size, cfg.pack_samples, cfg.epochs) == (262144, True, 3)
    # arctic_training's defaults for what the file leaves out
    assert (cfg.learning_rate, cfg.weight_decay, cfg.beta1, cfg.beta2) == (5e-4, 0.1, 0.9, 0.999)
    assert (cfg.lr_schedule, cfg.warmup_ratio, cfg.min_lr, cfg.seed) == ("linear", 0.1, 0.0, 42)
    assert cfg.checkpoint_activations and cfg.pad_to_multiple_of == 256
    assert (cfg.log_level, cfg.log_interval, cfg.data_parallel, cfg.cpu_offload) == (
        "WARNING",
        1,
        "fsdp",
        False,
    )


def test_yaml_sections_map(tmp_path):
    path = tmp_path / "full.yaml"
    path.write_text("""type: sft
micro_batch_size: 2
gradient_accumulation_steps: 4
epochs: 2
seed: 7
sequence_parallel_size: 1
activation_checkpoint_cpu_offload: true
exit_iteration: 50
model: {type: huggingface, name_or_path: /m, dtype: bf16, attn_implementation: flex_attention}
tokenizer: {name_or_path: Qwen/Qwen3-4B-Instruct-2507}
data:
  sources: ["someone/fim-rows:validation", {name_or_path: /d, type: huggingface_instruct}]
  max_length: 4096
  div_length: 128
  num_proc: 4
  mask_inputs: true
optimizer: {type: fused_adam, lr: 1e-5, weight_decay: 0.0, betas: [0.9, 0.95]}
scheduler: {type: huggingface, name: cosine_with_min_lr, warmup_ratio: 0.03,
            scheduler_specific_kwargs: {min_lr_rate: 0.1}}
checkpoint:
  - {type: huggingface, output_dir: out/x, save_every_n_steps: 100, auto_resume: true,
     save_end_of_training: true}
wandb: {enable: false, project: p}
""")
    cfg = load_config(str(path))
    assert (cfg.batch_size, cfg.grad_accum, cfg.epochs, cfg.seed, cfg.stop_at) == (2, 4, 2, 7, 50)
    assert cfg.offload_activations and cfg.checkpoint_activations and not cfg.tiled_loss
    assert (cfg.dtype, cfg.attention, cfg.tokenizer) == ("bfloat16", "flex", HUB_ID)
    assert cfg.sources == [
        {"name_or_path": "someone/fim-rows", "split": "validation"},
        {"name_or_path": "/d", "split": "train", "kind": "messages"},
    ]
    assert (cfg.block_size, cfg.pad_to_multiple_of, cfg.num_proc) == (4096, 128, 4)
    assert (cfg.learning_rate, cfg.weight_decay, cfg.beta1, cfg.beta2) == (1e-5, 0.0, 0.9, 0.95)
    assert (cfg.lr_schedule, cfg.warmup_ratio, cfg.min_lr) == ("cosine", 0.03, pytest.approx(1e-6))
    assert (cfg.out_dir, cfg.save_interval, cfg.init_from) == ("out/x", 100, "auto")
    assert cfg.wandb_project == ""  # enable: false


ULTRACHAT_ROLES = {"user": "messages.role.user", "assistant": "messages.role.assistant"}
# (YAML in, the settings it resolves to, info lines): one case per mapping of issue 27
GOLDEN = {
    "role_mapping": (
        "data:\n  sources:\n    - type: huggingface_instruct\n      name_or_path: /d\n"
        "      role_mapping: {user: messages.role.user, assistant: messages.role.assistant}\n"
        "      content_key: text\n",
        {
            "sources": [
                {
                    "name_or_path": "/d",
                    "split": "train",
                    "kind": "messages",
                    "role_mapping": ULTRACHAT_ROLES,
                    "content_key": "text",
                }
            ]
        },
        [],
    ),
    "eval_sources + eval_interval": (
        "eval_interval: 50\ndata:\n  sources: [/d]\n  eval_sources: [/e, 'f:test[:10%]']\n",
        {
            "eval_interval": 50,
            "eval_sources": [
                {"name_or_path": "/e", "split": "eval"},
                {"name_or_path": "f", "split": "test[:10%]"},
            ],
        },
        [],
    ),
    "plain hub id with a split slice, a known dataset": (
        "data:\n  sources: ['HuggingFaceH4/ultrachat_200k:train[:5000]']\n",
        {
            "sources": [
                {
                    "name_or_path": "HuggingFaceH4/ultrachat_200k",
                    "split": "train[:5000]",
                    "split_mapping": {"train": "train_sft", "eval": "test_sft"},
                    "role_mapping": ULTRACHAT_ROLES,
                    "kind": "messages",
                }
            ]
        },
        [],
    ),
    "a known dataset as a plain huggingface source: its splits, not its roles": (
        "data:\n  sources: [{type: huggingface, name_or_path: HuggingFaceH4/ultrachat_200k}]\n",
        {
            "sources": [
                {
                    "name_or_path": "HuggingFaceH4/ultrachat_200k",
                    "split": "train",
                    "split_mapping": {"train": "train_sft", "eval": "test_sft"},
                }
            ]
        },
        [],
    ),
    "sample_count, sample_ratio, sample_seed": (
        "data:\n  sources:\n    - {name_or_path: /a, sample_count: 100, sample_seed: 7}\n"
        "    - {name_or_path: /b, sample_ratio: 0.25, split: 'train[10%:]+test'}\n",
        {
            "sources": [
                {"name_or_path": "/a", "split": "train", "sample_count": 100, "sample_seed": 7},
                {"name_or_path": "/b", "split": "train[10%:]+test", "sample_ratio": 0.25},
            ]
        },
        [],
    ),
    "ignore_empty_think, fim_loss_masking, filter_samples false, dl_num_workers": (
        "data:\n  sources: [/d]\n  ignore_empty_think: true\n  fim_loss_masking: true\n"
        "  filter_samples: false\n  dl_num_workers: 1\n",
        {"ignore_empty_think": True, "fim_loss_masking": True, "too_long": "keep"},
        ["data.dl_num_workers: 1 accepted as tuning; here, batches are collated in the training"],
    ),
    "filter_samples true": (
        "data:\n  sources: [/d]\n  filter_samples: true\n",
        {"too_long": "drop"},
        [],
    ),
    "ZeRO-3, optimizer and parameter offload, cpu_adam, DeepSpeed tuning": (
        "deepspeed:\n  zero_optimization:\n    stage: 3\n    offload_optimizer: {device: cpu}\n"
        "    offload_param: {device: cpu, pin_memory: true}\n    allgather_bucket_size: 500000000\n"
        "    reduce_bucket_size: 2.5e8\n    memory_efficient_linear: true\n"
        "  seq_parallel_communication_data_type: bf16\n  gradient_clipping: 0.5\n"
        "optimizer: {type: cpu_adam, learning_rate: 0.00001}\n",
        {
            "data_parallel": "fsdp",
            "cpu_offload": True,
            "optimizer": "adamw",
            "learning_rate": 1e-5,
            "grad_clip": 0.5,
        },
        [
            "offload_param.pin_memory: true accepted as tuning; here, pinned when CUDA is there",
            "allgather_bucket_size: 500000000 accepted as tuning; here, FSDP2 all-gathers",
            'reduce_bucket_size: "2.5e8" accepted as tuning; here, FSDP2 reduce-scatters',
            "memory_efficient_linear: true accepted as tuning; here, FSDP2 frees",
            'seq_parallel_communication_data_type: "bf16" accepted as tuning; here, the Ulysses '
            "all-to-alls carry the compute dtype",
            "optimizer.type: cpu_adam is AdamW here; its step runs on CPU",
        ],
    ),
    "ZeRO-0": (
        "deepspeed: {zero_optimization: {stage: 0}}\n",
        {"data_parallel": "ddp", "cpu_offload": False},
        [],
    ),
    "ZeRO-1": (
        "deepspeed: {zero_optimization: {stage: 1}}\n",
        {"data_parallel": "fsdp", "cpu_offload": False},
        [],
    ),
    "ZeRO-2": (
        "deepspeed: {zero_optimization: {stage: 2, overlap_comm: true}}\n",
        {"data_parallel": "fsdp", "cpu_offload": False},
        ["overlap_comm: true accepted as tuning; here, FSDP2 prefetches the next block's"],
    ),
    "min_iterations, exit_iteration, eval_interval as human numbers": (
        "min_iterations: 1_000\nexit_iteration: 300\neval_interval: 2k\ndata: {sources: [/d], "
        "eval_sources: [/e], max_length: 1_200_000}\n",
        {"min_iterations": 1000, "stop_at": 300, "eval_interval": 2000, "block_size": 1200000},
        [],
    ),
    "logger": (
        "logger:\n  level: INFO\n  output_dir: logs\n  print_output_ranks: [0, 1, 2]\n"
        "  file_output_ranks: [0]\n",
        {"log_level": "INFO", "log_dir": "logs", "print_ranks": [0, 1, 2], "log_file_ranks": [0]},
        [],
    ),
    "logger defaults": (
        "logger: {level: WARNING, print_output_ranks: '*'}\n",
        {"log_level": "WARNING", "log_dir": "", "print_ranks": "*", "log_file_ranks": "*"},
        [],
    ),
    "attn_implementation flash_attention_3": (
        "model: {name_or_path: m, attn_implementation: flash_attention_3}\n",
        {"attention": "flash"},
        [],
    ),
    "wandb": (
        "wandb: {enable: true, project: snowflakesql_sft_training, name: run-1}\n",
        {"wandb_project": "snowflakesql_sft_training", "wandb_name": "run-1", "wandb_entity": ""},
        [],
    ),
    "wandb defaults": (
        "wandb: {enable: true}\n",
        {"wandb_project": "arctic-training", "wandb_name": ""},
        [],
    ),
}


@pytest.mark.parametrize("case", GOLDEN)
def test_yaml_golden_mapping(tmp_path, case):
    text, want, notes = GOLDEN[case]
    if "sources" not in text:
        text += "data: {sources: [/d]}\n"
    if "name_or_path: m" not in text:
        text += "model: {name_or_path: m}\n"
    path = tmp_path / "c.yml"
    path.write_text(text)
    cfg, got_notes = read_config(str(path))
    got = {k: v for k, v in asdict(cfg).items() if k in want}
    assert got == want
    assert len(got_notes) == len(notes) and all(n in g for n, g in zip(notes, got_notes)), got_notes
    assert all(g.startswith(f"info: {path}: ") for g in got_notes)


@pytest.mark.parametrize(
    "text, key, words",
    [
        (
            "deepspeed: {zero_optimization: {stage: 3, zero_hpz_partition_size: 8}}\n",
            "deepspeed.zero_optimization.zero_hpz_partition_size",
            "no counterpart here",
        ),
        ("deepspeed: {fp16: {enabled: true}}\n", "deepspeed.fp16", "no counterpart here"),
        (
            "deepspeed: {zero_optimization: {stage: 3, offload_optimizer: {device: nvme}}}\n",
            "deepspeed.zero_optimization.offload_optimizer.device",
            "only cpu offload",
        ),
        (
            "deepspeed: {zero_optimization: {stage: 0, offload_optimizer: {device: cpu}}}\n",
            "deepspeed.zero_optimization",
            "stage 1-3",
        ),
        ("logger: {level: LOUD}\n", "logger.level", "expected one of"),
        ("logger: {print_output_ranks: 0}\n", "logger.print_output_ranks", "a list of ranks"),
        ("wandb: {enable: true, group: g}\n", "wandb.group", "not a wandb key"),
        ("model: {name_or_path: m, peft_config: {peft_type: LORA}}\n", "model.peft_config", "PEFT"),
        ("model: {name_or_path: m, dtype: fp16}\n", "model.dtype", "loss scaling"),
        (
            "data: {sources: [d], mask_inputs: false}\n",
            "data.mask_inputs",
            "prompts are always masked",
        ),
        (
            "data: {sources: [{name_or_path: d, sample_ratio: 0.5, sample_count: 3}]}\n",
            "data.sources[0]",
            "cannot both be set",
        ),
        (
            "data: {sources: [{name_or_path: d, role_mapping: {user: a.b}}]}\n",
            "data.sources[0].role_mapping.user",
            "array.field.value",
        ),
        ("data: {sources: [d], eval_sources: [e]}\n", "eval_interval", "must be set"),
        ("eval_interval: 10\ndata: {sources: [d]}\n", "eval_interval", "eval_sources is empty"),
        (
            "data: {sources: [d], train_eval_split: [0.9, 0.1]}\n",
            "data.train_eval_split",
            "eval_sources",
        ),
        ("optimizer: {type: sgd}\n", "optimizer.type", "AdamW"),
        ("scheduler: {type: wsd}\n", "scheduler.type", "huggingface schedules"),
        ("train_iters: 100\n", "train_iters", "epochs"),
        ("checkpoint: [{output_dir: a}, {output_dir: b}]\n", "checkpoint", "2 checkpoint engines"),
        ("no_such_key: 1\n", "no_such_key", "not a key arctic_training defines"),
        ("type: dpo\n", "type", "only the sft trainer"),
        ("epochs: 1\nepochs: 2\n", "", "duplicate key 'epochs'"),
    ],
)
def test_yaml_key_that_cannot_be_honoured_names_key_and_file(tmp_path, text, key, words):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(SystemExit) as e:
        read_arctic_yaml(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}: {key}" if key else str(path)) and words in msg, msg
    assert "\n" not in msg.strip()


def test_every_listed_key_is_mapped_tuned_or_refused_once_and_documented():
    assert not set(MAPPED) & set(REFUSED) and not set(TUNING) & (set(MAPPED) | set(REFUSED))
    doc = (ROOT / "docs" / "sft.md").read_text()
    for key, text in {**MAPPED, **TUNING, **REFUSED}.items():
        assert f"| `{key}` |" in doc and text in doc, key


def recipe_keys(doc, prefix="") -> set[str]:
    """Every key of a YAML document, dotted, with list items as []."""
    keys = set()
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not key.endswith(("].role_mapping", "].split_mapping")):
            keys |= recipe_keys(v, key + ".")
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for x in v:
                keys |= recipe_keys(x, key + ("." if key == "checkpoint" else "[]."))
            keys.add(key)
        else:
            keys.add(key)
    return keys


def test_every_key_of_the_two_recipes_is_read():
    """Each key of tests/data's recipes is mapped or accepted as tuning: none refused or ignored."""
    import yaml

    for name in ("ac_sql_sft.yml", "run-sp1-llama-8b-baseline.yml"):
        keys = recipe_keys(yaml.safe_load((DATA / name).read_text()))
        keys = {k.replace("eval_sources[]", "sources[]") for k in keys}
        unknown = sorted(k for k in keys if k not in MAPPED and k not in TUNING)
        assert not unknown, (name, unknown)


def test_hub_dataset_source_and_missing_ids(tmp_path, hub):
    code = (
        "from fim.sft import resolve_source as r\n"
        "print(r('someone/fim-rows', 's').kind)\n"
        "print(r('HuggingFaceH4/ultrachat_200k:train[2:5]', 's', 'train').rows)\n"
        "try:\n    r({'name_or_path': 'someone/fim-rows', 'split': 'test'}, 's')\n"
        "except SystemExit as e:\n    print(e)\n"
        "try:\n    r('nobody/nothing', 's')\nexcept SystemExit as e:\n    print(e)\n"
    )
    res = run(["-c", code], tmp_path, hub)
    out = res.stdout.splitlines()
    assert res.returncode == 0 and out[0] == "prompt_response", res.stderr
    assert out[1] == "[2, 3, 4]"
    assert "has no 'test' split files" in out[2]
    assert (
        "dataset 'nobody/nothing' is not a local path and is not in the Hugging Face cache"
        in out[3]
    )
    res = run(
        [str(ROOT / "fim/csv_to_fim.py"), "x.parquet", "--tokenizer", "nobody/nothing"],
        tmp_path,
        hub,
    )
    assert (
        res.returncode == 2
        and "--tokenizer: model 'nobody/nothing' is not a local path" in res.stderr
    )


def test_lsp_fim_tokenizer_takes_a_hub_id(tmp_path, hub):
    pytest.importorskip("openai")
    code = (
        "from sqlcomplete.completion.fim_backend import FimBackend\n"
        f"b = FimBackend('http://127.0.0.1:9/v1', 'm', {HUB_ID!r})\n"
        "print(b.tokenizer.token_to_id('<|im_end|>'), b.max_prompt_tokens)\n"
        "try:\n    FimBackend('http://127.0.0.1:9/v1', 'm', 'nobody/nothing')\n"
        "except ValueError as e:\n    print(e)\n"
    )
    res = run(["-c", code], tmp_path, hub)
    out = res.stdout.splitlines()
    assert res.returncode == 0 and out[0].endswith(" 4096") and out[0] != "None 4096", res.stderr
    assert out[1].startswith("--fim-tokenizer: model 'nobody/nothing' is not a local path")


# ---- arctic_training's own recipes, end to end under 2 gloo processes

DATA = ROOT / "tests" / "data"
FAKE_WANDB = '''"""A stand-in for wandb: records init() and log() calls in $FAKE_WANDB_OUT."""
import json
import os


class _Run:
    def __init__(self, kw):
        self.record = {"init": kw, "logged": []}

    def log(self, values, step=None):
        self.record["logged"].append({**values, "_step": step})

    def finish(self):
        with open(os.environ["FAKE_WANDB_OUT"], "w") as f:
            json.dump(self.record, f)


def init(**kw):
    return _Run(kw)
'''


def recipe(name: str, changes: dict[str, str]) -> str:
    """tests/data/NAME with each of `changes` made (each must be there)."""
    text = (DATA / name).read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def torchrun(args: list[str], cwd: Path, cache: Path, extra_env=None, log_dir=None, attempts=3):
    """fim/sft.py under torchrun, 2 processes on gloo; log_dir: each rank's stdout in its own file.
    gloo on a busy CPU sometimes aborts while connecting or tearing down (exitcode -6): try
    again."""
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        **(extra_env or {}),
    }
    env.pop("HF_HOME", None)
    redirect = ["--log-dir", str(log_dir), "--redirects", "3"] if log_dir else []
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    for _ in range(attempts):
        run = subprocess.run(
            cmd + redirect + [str(ROOT / "fim/sft.py"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode == 0 or "exitcode: -6" not in run.stderr:
            return run
    return run


def rank_output(log_dir: Path, rank: int) -> str:
    return "".join(p.read_text() for p in sorted(log_dir.rglob(f"attempt_*/{rank}/stdout.log")))


def chat_rows(n: int, seed: int) -> list[dict]:
    """The ac-sft-debug converter's rows: system, user, the assistant's FIM prompt + completion."""
    tables = ["users", "orders", "items", "carts", "stores", "staff", "tags", "notes"]
    rows = []
    for i in range(n):
        t = tables[(i * 7 + seed) % len(tables)]
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You complete SQL."},
                    {"role": "user", "content": f"History: SELECT id FROM {t} LIMIT {i};"},
                    {
                        "role": "assistant",
                        "content": f"<|fim_prefix|>SELECT * FROM <|fim_suffix|> WHERE id = {i};"
                        f"<|fim_middle|>{t}",
                    },
                ]
            }
        )
    return rows


def test_ac_sql_sft_recipe_runs_under_two_processes(tmp_path, hub):
    """arctic_training's SQL autocomplete recipe: only the model, the data paths (and the cache and
    output folders, absolute paths of its authors' machines) and max_length change. W&B is on in the
    recipe: a stand-in wandb module, "logged in", records what it is given."""
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(chat_rows(40, 0)).save_to_disk(str(tmp_path / "input"))
    datasets.Dataset.from_list(chat_rows(6, 3)).save_to_disk(str(tmp_path / "validation"))
    text = recipe(
        "ac_sql_sft.yml",
        {
            "/modeling-checkpoints/zheweiyao/persist_for_snowflake_text2sql/"
            "mid-training-sqlite-13A-32B-packing-H200-global_step_28740": HUB_ID,
            "/home/yak/data/input": str(tmp_path / "input"),
            "/home/yak/data/validation": str(tmp_path / "validation"),
            "/checkpoint/aponnusamy/data-cache": "data-cache",
            "/modeling-checkpoints/aponnusamy/checkpoints/qwen3-32b-ac-sft-1220": "ckpt",
            "max_length: 32768": "max_length: 128",
        },
    )
    (tmp_path / "ac_sql_sft.yml").write_text(text)
    (tmp_path / "fake" / "wandb").mkdir(parents=True)
    (tmp_path / "fake" / "wandb" / "__init__.py").write_text(FAKE_WANDB)
    env = {
        "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path / 'fake'}",
        "WANDB_API_KEY": "test",
        "FAKE_WANDB_OUT": str(tmp_path / "wandb.json"),
    }
    run = torchrun(["ac_sql_sft.yml"], tmp_path, hub, env, log_dir=tmp_path / "torchrun")
    out0, out1 = rank_output(tmp_path / "torchrun", 0), rank_output(tmp_path / "torchrun", 1)
    assert run.returncode == 0, out0[-3000:] + run.stderr[-3000:]
    # 40 chats of one row each (max_length 128), 2 ranks: 20 steps an epoch, 3 epochs; eval at 50
    rows = [
        json.loads(line) for line in (tmp_path / "ckpt" / "metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in rows] == list(range(1, 61))
    evals = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    assert [s for s, _ in evals] == [50] and 0 < evals[0][1] < 20
    assert (tmp_path / "ckpt" / "best" / "model.safetensors").is_file()
    assert (tmp_path / "ckpt" / "final" / "config.json").is_file()
    # role_mapping (user, assistant) drops the system turn; fim_loss_masking trains the table name
    assert "data " + str(tmp_path / "input") + " (messages): 40 rows: 40 samples" in out0
    assert "eval step 50: loss" in out0 and "step 60/60 (epoch 3)" in out0
    assert "warning: attention flash" in out0  # flash_attention_3, on a machine without it
    assert out1 == ""  # print_output_ranks: [0]
    logs = tmp_path / "logs" / "logs"  # logger.output_dir: logs; every rank writes a file
    assert "eval step 50" in (logs / "rank_0.log").read_text()
    assert (logs / "rank_1.log").is_file() and "| Rank 1 |" in (logs / "rank_1.log").read_text()
    wandb = json.loads((tmp_path / "wandb.json").read_text())
    assert (wandb["init"]["project"], wandb["init"]["name"]) == (
        "snowflakesql_sft_training",
        "qwen3-32b-ac-sft-1220",
    )
    assert [x["_step"] for x in wandb["logged"] if "loss/eval" in x] == [50]
    # without the stand-in: one clear error before any work
    env.pop("PYTHONPATH")
    res = run_cmd([str(ROOT / "fim/sft.py"), "ac_sql_sft.yml"], tmp_path, hub, env)
    assert res.returncode == 1 and "wandb is not installed" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()


def test_sequence_parallel_recipe_runs_and_zero3_offload_matches_zero0(tmp_path, hub):
    """An ALST recipe (ZeRO-3 with optimizer and parameter offload, cpu_adam, a hub dataset with a
    split slice, logger and min/exit_iteration keys): only the model, max_length and
    sequence_parallel_size change. Then, in fp32, its 3 losses equal ZeRO-0's (whole replicas)."""
    changes = {
        "meta-llama/Llama-3.1-8B-Instruct": HUB_ID,
        "max_length: 36_000": "max_length: 256",
        "sequence_parallel_size: 1": "sequence_parallel_size: 2",
    }
    (tmp_path / "sp.yml").write_text(recipe("run-sp1-llama-8b-baseline.yml", changes))
    # fp32 on both runs, so that the two shardings' losses compare exactly
    run = torchrun(["sp.yml", "--dtype=float32"], tmp_path, hub, log_dir=tmp_path / "torchrun")
    out0, out1 = rank_output(tmp_path / "torchrun", 0), rank_output(tmp_path / "torchrun", 1)
    assert run.returncode == 0, out0[-3000:] + run.stderr[-3000:]
    # ultrachat_200k:train[:10000] is its train_sft split (arctic_training's split mapping)
    assert "data HuggingFaceH4/ultrachat_200k:train[:10000] (messages): 6 rows: 6 samples" in out0
    for out in (out0, out1):  # print_output_ranks: [0..7]
        assert "step 3/6" in out and "FSDP2, CPU offload" in out
    assert (tmp_path / "fine-tuned-model" / "last" / "optim.safetensors").is_file()
    assert (tmp_path / "logs" / "logs" / "rank_1.log").is_file()

    assert "compute float32" in out0
    stage0 = recipe("run-sp1-llama-8b-baseline.yml", changes).replace(
        "    stage: 3\n    offload_optimizer:\n      device: cpu\n"
        "    offload_param:\n      device: cpu\n",
        "    stage: 0\n",
    )
    (tmp_path / "zero0.yml").write_text(stage0)
    run = torchrun(["zero0.yml", "--out_dir=zero0", "--dtype=float32"], tmp_path, hub)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "2 rank(s), replicas, compute float32" in run.stdout
    losses = {
        name: [
            json.loads(x)["loss"]
            for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
        ]
        for name in ("fine-tuned-model", "zero0")
    }
    assert len(losses["zero0"]) == 3
    for a, b in zip(losses["fine-tuned-model"], losses["zero0"]):
        assert abs(a - b) < 1e-4, losses
