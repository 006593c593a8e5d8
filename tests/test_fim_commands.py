"""The original FIM pipeline's commands and YAML config, run as written (issue 18).

A temporary HF_HUB_CACHE holds a tiny Qwen3 and a byte-level tokenizer under the hub id
Qwen/Qwen3-4B-Instruct-2507, and a tiny dataset, in the hub's cache layout; HF_HUB_OFFLINE=1.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from test_fim_convert import ORIGINAL_INPUT, tokenizer_spec

from fim.sft import load_config
from sqlcomplete.fim.arctic_yaml import MAPPED, REFUSED, read_arctic_yaml
from sqlcomplete.model import ModelArgs, Transformer, from_pretrained, save_pretrained

pytest.importorskip("huggingface_hub")
pytest.importorskip("yaml")
ROOT = Path(__file__).resolve().parent.parent
HUB_ID = "Qwen/Qwen3-4B-Instruct-2507"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
# the original's documented config, exactly (the data path is the user's, here the converter's output)
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
    """An empty snapshot directory of repo_id in huggingface_hub's cache layout (refs/main -> snapshots/<commit>)."""
    repo = cache / f"{kind}s--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snap = repo / "snapshots" / COMMIT
    snap.mkdir(parents=True)
    return snap


def to_blobs(snap: Path):
    """As the hub's cache stores them: each file's bytes in blobs/<sha256>, the snapshot holding relative links."""
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
    return cache


def run(args: list[str], cwd: Path, cache: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(cache),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
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
model: {type: huggingface, name_or_path: /m, dtype: bf16, attn_implementation: flash_attention_2}
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
  - {type: huggingface, output_dir: out/x, save_every_n_steps: 100, auto_resume: true, save_end_of_training: true}
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


@pytest.mark.parametrize(
    "text, key, words",
    [
        ("deepspeed: {zero_optimization: {stage: 3}}\n", "deepspeed", "FSDP2"),
        ("logger: {level: WARNING}\n", "logger", "metrics.jsonl"),
        ("wandb: {enable: true}\n", "wandb.enable", "Weights & Biases"),
        ("model: {name_or_path: m, peft_config: {peft_type: LORA}}\n", "model.peft_config", "PEFT"),
        ("model: {name_or_path: m, dtype: fp16}\n", "model.dtype", "loss scaling"),
        (
            "data: {sources: [d], mask_inputs: false}\n",
            "data.mask_inputs",
            "prompts are always masked",
        ),
        (
            "data: {sources: [{name_or_path: d, sample_ratio: 0.5}]}\n",
            "data.sources[0].sample_ratio",
            "sampling",
        ),
        ("data: {sources: [d], eval_sources: [e]}\n", "data.eval_sources", "evaluation"),
        ("optimizer: {type: cpu_adam}\n", "optimizer.type", "CPU-offloaded"),
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


def test_every_listed_key_is_mapped_or_refused_not_both_and_documented():
    assert not set(MAPPED) & set(REFUSED)
    doc = (ROOT / "docs" / "sft.md").read_text()
    for key, text in {**MAPPED, **REFUSED}.items():
        assert f"| `{key}` |" in doc and text in doc, key


def test_hub_dataset_source_and_missing_ids(tmp_path, hub):
    code = (
        "from fim.sft import source_paths; import sys\n"
        "print(source_paths(['someone/fim-rows'])[0][1])\n"
        "try:\n    source_paths(['someone/fim-rows:test'])\nexcept SystemExit as e:\n    print(e)\n"
        "try:\n    source_paths(['nobody/nothing'])\nexcept SystemExit as e:\n    print(e)\n"
    )
    res = run(
        [
            "-c",
            code.replace(
                "'someone/fim-rows:test'", "{'name_or_path': 'someone/fim-rows', 'split': 'test'}"
            ),
        ],
        tmp_path,
        hub,
    )
    out = res.stdout.splitlines()
    assert res.returncode == 0 and out[0] == "prompt_response", res.stderr
    assert "has no 'test' split files" in out[1]
    assert (
        "dataset 'nobody/nothing' is not a local path and is not in the Hugging Face cache"
        in out[2]
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
