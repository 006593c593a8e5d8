"""fim/sft.py and fim/data.py on CPU: a tiny Qwen3 and a byte-level BPE trained here, no network,
no Qwen weights."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from fim import sft
from fim.sft import SFTConfig
from sqlcomplete import training
from sqlcomplete.fim.bpe import QWEN2_PATTERN, BPETokenizer
from sqlcomplete.fim.data import (
    Settings,
    collate,
    detect_kind,
    epoch_rows,
    load_source,
    packed_attention_mask,
)
from sqlcomplete.fim.prompt import build_prompt, parse_template
from sqlcomplete.model import ModelArgs, Transformer, from_pretrained, save_pretrained

tokenizers = pytest.importorskip("tokenizers")
ROOT = Path(__file__).resolve().parent.parent
SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
]
TEMPLATE = parse_template(
    "=== system ===\nComplete the SQL.\n=== user ===\n{context}\n"
    "=== field ddl_context ===\n{value}\n"
    "=== assistant ===\n<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
)
SCHEMA = (
    "CREATE TABLE users (id INT, name TEXT, email TEXT);\n"
    "CREATE TABLE orders (id INT, user_id INT, total INT);"
)
FIM = [  # (prefix, suffix, middle)
    ("SELECT ", " FROM users;", "name, email"),
    ("SELECT name FROM ", " WHERE id = 1;", "users"),
    ("SELECT count(*) FROM orders ", ";", "WHERE total > 10"),
    ("UPDATE users SET ", " WHERE id = 2;", "email = 'a@b.c'"),
    ("DELETE FROM orders WHERE ", ";", "user_id = 3"),
    ("SELECT o.total FROM orders o JOIN users u ON ", ";", "o.user_id = u.id"),
    ("INSERT INTO users (id, name) VALUES ", ";", "(1, 'ann')"),
    ("SELECT * FROM users ORDER BY ", " LIMIT 5;", "name"),
]
TINY = dict(
    dim=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    head_dim=32,
    hidden_dim=128,
    max_seq_len=512,
    norm_eps=1e-6,
    rope_theta=5e6,
    qk_norm=True,
)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny matmuls: one thread is fastest, and spins nothing on a shared machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def fim_rows() -> list[dict]:
    return [
        {"prompt": build_prompt({"ddl_context": SCHEMA}, p, s, TEMPLATE), "response": m}
        for p, s, m in FIM
    ]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A model directory: a random tiny Qwen3, config.json, model.safetensors and a tokenizer.json
    trained here."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    texts = [r["prompt"] + r["response"] for r in fim_rows()] * 5 + [
        "system user assistant hello world\n"
    ] * 5
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=400,
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    path = tmp_path_factory.mktemp("base")
    tok.save(str(path / "tokenizer.json"))
    vocab = BPETokenizer.from_file(path).vocab_size
    torch.manual_seed(0)
    save_pretrained(Transformer(ModelArgs(**TINY, vocab_size=vocab)), str(path))
    return path


@pytest.fixture(scope="module")
def tok(base) -> BPETokenizer:
    return BPETokenizer.from_file(base)


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def config(base: Path, out: Path, source: str, **kw) -> SFTConfig:
    settings = dict(
        pretrained=str(base),
        sources=[source],
        block_size=256,
        pack_samples=True,
        learning_rate=3e-3,
        weight_decay=0.0,
        grad_clip=1.0,
        warmup_iters=2,
        min_lr=3e-4,
        out_dir=str(out),
        device="cpu",
        dtype="float32",  # exact comparisons; "auto" would be bf16 on a CPU with AMX
        log_interval=1000,
    )
    return SFTConfig(**{**settings, **kw})


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


# ---- data: masking, lengths, sources


def test_prompt_response_masking_is_exact(tmp_path, base, tok):
    rows = fim_rows() + [
        {"prompt": fim_rows()[0]["prompt"], "response": ""},  # nothing to insert: learn to stop
        {"prompt": "x", "response": "SELECT '<|im_end|>'"},  # would encode as the token
        {"prompt": "x"},
    ]
    src = write_jsonl(tmp_path / "fim.jsonl", rows)
    assert detect_kind(src) == "prompt_response"
    data, stats = load_source(
        src, str(base / "tokenizer.json"), Settings("prompt_response", 4096), None
    )
    assert (stats.rows, stats.kept, dict(stats.bad)) == (
        11,
        9,
        {"control_token_in_response": 1, "missing_or_not_string": 1},
    )
    im_end, fim_middle = tok.token_to_id("<|im_end|>"), tok.token_to_id("<|fim_middle|>")
    for i, row in enumerate(rows[:9]):
        ids, labels = data.sample(i)
        p, r = tok.encode(row["prompt"]), tok.encode(row["response"]) + [im_end]
        assert list(ids) == p + r
        # every prompt token masked, response and end token trained
        assert list(labels) == [-100] * len(p) + r
        assert ids[len(p) - 1] == fim_middle and labels[len(p) - 1] == -100
        # shifted for training: the token after <|fim_middle|> is the first target, <|im_end|> the
        # last
        batch = collate(data, [[i]], pad_id=0)
        targets = batch["labels"][0]
        trained = targets[targets != -100].tolist()
        assert trained == r and targets[len(p) - 1] == r[0]
        assert tok.decode(trained) == row["response"] + "<|im_end|>"
    assert stats.trained_tokens == sum(len(tok.encode(r["response"])) + 1 for r in rows[:9])


def test_sources_jsonl_parquet_disk_agree(tmp_path, base):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = fim_rows() + [
        {"prompt": "x", "response": "<|im_end|>"}
    ]  # one unusable row, counted in the cache too
    table = pa.table(
        {"prompt": [r["prompt"] for r in rows], "response": [r["response"] for r in rows]}
    )
    pq.write_table(table, tmp_path / "fim.parquet")
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict(table.to_pydict()).save_to_disk(str(tmp_path / "fim_disk"))
    tok_path, s = str(base / "tokenizer.json"), Settings("prompt_response", 4096)
    ref, _ = load_source(write_jsonl(tmp_path / "fim.jsonl", rows), tok_path, s, None)
    for src in (tmp_path / "fim.parquet", tmp_path / "fim_disk"):
        assert detect_kind(src) == "prompt_response"
        data, stats = load_source(
            str(src), tok_path, s, str(tmp_path / "cache"), num_proc=2 if src.is_dir() else 1
        )
        assert stats.kept == len(rows) - 1 and stats.bad == {"control_token_in_response": 1}
        assert np.array_equal(data.input_ids, ref.input_ids) and np.array_equal(
            data.labels, ref.labels
        )
    assert (
        len(os.listdir(tmp_path / "cache")) == 2
    )  # cached, and read back from the cache the second time
    again, cached = load_source(
        str(tmp_path / "fim_disk"), tok_path, s, str(tmp_path / "cache"), build=False
    )
    assert np.array_equal(again.input_ids, ref.input_ids) and cached == stats
    write_jsonl(tmp_path / "other.jsonl", [{"text": "a"}])
    with pytest.raises(ValueError, match="cannot tell the dataset type from its columns"):
        detect_kind(tmp_path / "other.jsonl")


def test_messages_masking(tmp_path, base, tok):
    chat = [
        {"role": "system", "content": "You complete SQL."},
        {"role": "user", "content": "users?"},
        {"role": "assistant", "content": "SELECT * FROM users;"},
        {"role": "user", "content": "\nand orders"},
        {"role": "assistant", "content": "\n\nSELECT * FROM orders;"},
    ]
    rows = [
        {"messages": chat},
        {"messages": chat[:2]},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": "hi"},
    ]
    src = write_jsonl(tmp_path / "chat.jsonl", rows)
    assert detect_kind(src) == "messages"
    data, stats = load_source(src, str(base / "tokenizer.json"), Settings("messages", 4096), None)
    assert stats.kept == 1 and dict(stats.bad) == {
        "no_assistant_turn": 1,
        "unknown_role": 1,
        "bad_messages": 1,
    }
    ids, labels = data.sample(0)
    assert tok.decode(list(ids)) == "".join(
        f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in chat
    )
    # the trained runs are exactly the assistant contents, each with its <|im_end|>
    runs, run = [], []
    for t, lab in zip(ids, labels):
        if lab != -100:
            assert lab == t
            run.append(int(t))
        elif run:
            runs.append(run)
            run = []
    assert [tok.decode(r) for r in runs] == [
        "SELECT * FROM users;<|im_end|>",
        "\n\nSELECT * FROM orders;<|im_end|>",
    ]
    # each header is tokenized as at generation time, when the prompt ends with
    # "<|im_start|>assistant\n"
    header = [tok.token_to_id("<|im_start|>")] + tok.encode("assistant\n")
    start = len(ids) - len(runs[1]) - 1
    assert list(ids[start - len(header) : start]) == header


def test_too_long_is_dropped_or_truncated_and_counted(tmp_path, base, tok):
    rows = fim_rows()
    lengths = [len(tok.encode(r["prompt"])) + len(tok.encode(r["response"])) + 1 for r in rows]
    limit = sorted(lengths)[4]  # about half the samples are longer
    src = write_jsonl(tmp_path / "fim.jsonl", rows)
    tok_path = str(base / "tokenizer.json")
    data, stats = load_source(src, tok_path, Settings("prompt_response", limit, "drop"), None)
    assert stats.dropped_too_long == sum(n > limit for n in lengths) > 0
    assert (
        stats.kept == len(data) == sum(n <= limit for n in lengths) and data.lengths.max() <= limit
    )
    data, stats = load_source(src, tok_path, Settings("prompt_response", limit, "truncate"), None)
    # a cut sample is kept only while some of its response is left to train on
    n_prompt = [len(tok.encode(r["prompt"])) for r in rows]
    expect = sum(n > limit and p < limit for n, p in zip(lengths, n_prompt))
    assert stats.truncated == expect and stats.kept == sum(n <= limit for n in lengths) + expect
    assert data.lengths.max() == limit


# ---- packing


def test_packed_loss_equals_samples_one_by_one(tmp_path, base, tok):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    data, _ = load_source(src, str(base / "tokenizer.json"), Settings("prompt_response", 256), None)
    model = from_pretrained(str(base)).eval()
    for p in (
        model.parameters()
    ):  # random weights of a realistic scale, so attention really mixes positions
        torch.nn.init.normal_(p, std=0.2)
    rows = epoch_rows(data, 0, 0, 256, pack_samples=True)
    assert len(rows) < len(data) and max(len(r) for r in rows) > 1
    cfg = SFTConfig()
    with torch.no_grad():
        batch = collate(data, rows, pad_id=0, pad_to_multiple_of=64)
        assert packed_attention_mask(batch["sample_ids"]) is not None
        packed_sum, packed_n = sft.batch_loss(model, batch, cfg)
        sums, ns = [], []
        for i in range(len(data)):
            one = collate(data, [[i]], pad_id=0)
            s, n = sft.batch_loss(model, one, cfg)
            ids, labels = data.sample(i)  # the same sample through the model's own loss
            _, mean = model(
                torch.from_numpy(ids[:-1]).long()[None], torch.from_numpy(labels[1:]).long()[None]
            )
            torch.testing.assert_close(s / n, mean, atol=1e-5, rtol=0)
            sums.append(s)
            ns.append(n)
    assert int(packed_n) == sum(int(n) for n in ns) == int((data.labels != -100).sum())
    token_weighted = sum(sums) / sum(ns)
    torch.testing.assert_close(packed_sum / packed_n, token_weighted, atol=1e-5, rtol=0)


# ---- training


def greedy(model, ids: list[int], stop: int, limit: int = 40) -> list[int]:
    out = []
    with torch.no_grad():
        for _ in range(limit):
            nxt = int(model(torch.tensor([ids + out]))[0, -1].argmax())
            out.append(nxt)
            if nxt == stop:
                break
    return out


def test_training_memorizes_a_tiny_fim_set(tmp_path, base, tok):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    cfg = config(base, tmp_path / "out", src, epochs=50, checkpoint_activations=True)
    result = sft.train(cfg)
    losses = result["losses"]
    last_epoch = sum(losses[-3:]) / 3  # 3 rows, one step each
    assert len(losses) == result["total_steps"] == 150 and last_epoch < 0.15 < losses[0] / 20
    model = result["model"].eval()
    im_end = tok.token_to_id("<|im_end|>")
    for row in fim_rows():
        want = tok.encode(row["response"]) + [im_end]
        assert greedy(model, tok.encode(row["prompt"]), im_end) == want  # the middle, then it stops
    # the export: bf16 weights of the trained model, config and tokenizer beside them
    final = tmp_path / "out" / "final"
    assert json.loads((final / "config.json").read_text())["torch_dtype"] == "bfloat16"
    assert (final / "tokenizer.json").read_bytes() == (base / "tokenizer.json").read_bytes()
    exported = from_pretrained(str(final), dtype=torch.bfloat16)
    for (name, p), q in zip(model.state_dict().items(), exported.state_dict().values()):
        assert torch.equal(p.to(torch.bfloat16), q), name


def test_nonfinite_steps_are_skipped_without_touching_the_optimizer(tmp_path, base, monkeypatch):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    plain = sft.batch_loss
    calls = []

    def injected(model, batch, cfg):
        calls.append(1)
        loss, n = plain(model, batch, cfg)
        if len(calls) == 3:
            return loss * float("nan"), n  # a NaN loss
        if len(calls) == 4:
            loss.register_hook(
                lambda g: g * float("inf")
            )  # a finite loss with an infinite gradient
        return loss, n

    ref = config(base, tmp_path / "ref", src, epochs=6, stop_at=2)
    sft.train(ref)
    monkeypatch.setattr(sft, "batch_loss", injected)
    cfg = replace(ref, out_dir=str(tmp_path / "nan"), stop_at=4)
    state = sft.train(cfg)["state"]
    assert state["skipped"] == 2 and state["step"] == 4 and state["nonfinite_in_a_row"] == 2
    assert [m["skipped"] for m in metrics(tmp_path / "nan")] == [False, False, True, True]
    from safetensors.torch import load_file

    for name in ("model.safetensors", "optim.safetensors"):  # steps 3 and 4 changed nothing
        a, b = (
            load_file(str(tmp_path / "ref/last" / name)),
            load_file(str(tmp_path / "nan/last" / name)),
        )
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name

    def always_nan(model, batch, cfg):
        loss, n = plain(model, batch, cfg)
        return loss * float("nan"), n

    monkeypatch.setattr(sft, "batch_loss", always_nan)
    with pytest.raises(sft.NonFiniteError, match="2 non-finite steps in a row at step 2"):
        sft.train(replace(ref, out_dir=str(tmp_path / "abort"), nonfinite_patience=2, stop_at=0))


def test_resume_is_exact(tmp_path, base):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    full = config(base, tmp_path / "full", src, epochs=3, block_size=160)
    a = sft.train(full)
    assert a["total_steps"] >= 6
    first = replace(full, out_dir=str(tmp_path / "cut"), stop_at=a["total_steps"] // 2 + 1)
    sft.train(first)
    b = sft.train(replace(first, stop_at=0, init_from="resume"))
    assert b["state"]["step"] == a["state"]["step"]
    assert [m["loss"] for m in metrics(tmp_path / "cut")] == [
        m["loss"] for m in metrics(tmp_path / "full")
    ]
    for (name, p), q in zip(a["model"].state_dict().items(), b["model"].state_dict().values()):
        assert torch.equal(p, q), name
    assert (tmp_path / "cut" / "prev").is_dir()


def test_adafactor_bf16_and_unpacked_rows_train(tmp_path, base):
    """The lighter optimizer state of the 1-GPU memory plan, under bf16 autocast, one sample per
    row."""
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    cfg = config(
        base,
        tmp_path / "out",
        src,
        epochs=4,
        batch_size=2,
        grad_accum=2,
        dtype="bfloat16",
        optimizer="adafactor",
        learning_rate=0.1,
        pack_samples=False,
    )
    result = sft.train(cfg)
    losses = result["losses"]
    assert len(losses) == 8 and losses[-1] < losses[0] - 1.0
    assert all(
        p.dtype == torch.float32 for p in result["model"].parameters()
    )  # fp32 master weights


def torchrun(
    cmd: list[str], env: dict, fresh=None, attempts: int = 3
) -> subprocess.CompletedProcess:
    """Run a torchrun command; gloo on a busy CPU sometimes aborts a process (SIGABRT, "terminate
    called without an active exception") while connecting or tearing down: try again, from scratch
    when `fresh` names the output directory of a run that is not a resume. A wrong result fails
    either way."""
    for attempt in range(attempts):
        run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if run.returncode == 0 or "exitcode: -6" not in run.stderr or attempt == attempts - 1:
            return run
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
    return run


def test_fsdp2_two_processes_match_one(tmp_path, base):
    """torchrun, 2 processes on gloo, FSDP2 (with activation checkpointing): the same losses as one
    process."""
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    (tmp_path / "cfg.py").write_text(
        f"pretrained = {str(base)!r}\n"
        f"sources = [{src!r}]\nblock_size = 128\n"
        "learning_rate = 3e-3\nwarmup_iters = 1\n"
        "epochs = 4\nstop_at = 3\ndevice = 'cpu'\nthreads = 1\ncheckpoint_activations = True\n"
        "dtype = 'float32'\n"
    )
    one = sft.train(
        sft.load_config(
            str(tmp_path / "cfg.py"), [f"--out_dir={tmp_path / 'one'}", "--batch_size=2"]
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "fim/sft.py",
        str(tmp_path / "cfg.py"),
        f"--out_dir={tmp_path / 'two'}",
    ]
    run = torchrun(cmd, env, fresh=tmp_path / "two")
    assert run.returncode == 0, run.stderr[-3000:]
    # resume under FSDP too: the optimizer state goes out from rank 0
    run = torchrun(cmd + ["--stop_at=4", "--init_from=resume"], env)
    assert run.returncode == 0, run.stderr[-3000:]
    single = sft.train(
        sft.load_config(
            str(tmp_path / "cfg.py"),
            [
                f"--out_dir={tmp_path / 'one'}",
                "--batch_size=2",
                "--stop_at=4",
                "--init_from=resume",
            ],
        )
    )
    a, b = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert x["tokens"] == y["tokens"] and x["trained_tokens"] == y["trained_tokens"]
        assert abs(x["loss"] - y["loss"]) < 1e-5 and abs(x["grad_norm"] - y["grad_norm"]) < 1e-4
    two = from_pretrained(str(tmp_path / "two" / "last"))
    for (name, p), q in zip(single["model"].state_dict().items(), two.state_dict().values()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=0, msg=name)
    assert one["state"]["step"] == 3


# ---- config and entrypoints


def test_config_file_mirrors_the_seed_and_overrides():
    cfg = sft.load_config(
        str(ROOT / "configs/fim_qwen3_4b.py"), ["--block_size=8192", "--epochs=1"]
    )
    assert cfg.type == "sft" and cfg.pack_samples and cfg.end_token == "<|im_end|>"
    assert cfg.block_size == 8192 and cfg.epochs == 1
    assert sft.load_config(str(ROOT / "configs/fim_qwen3_4b.py")).block_size == 262144
    with pytest.raises(SystemExit, match="unknown config key 'max_steps'"):
        sft.load_config(str(ROOT / "configs/fim_qwen3_4b.py"), ["--max_steps=1"])
    with pytest.raises(SystemExit, match="unknown config key 'data.max_length'"):
        sft.load_config(str(ROOT / "configs/fim_qwen3_4b.py"), ["--data.max_length=1"])


def test_settings_shared_with_train_py_are_spelled_as_there():
    """One spelling of each setting the two scripts share, one schedule, one parameter grouping."""
    import train

    shared = {f.name for f in fields(SFTConfig)} & {f.name for f in fields(train.TrainConfig)}
    assert {
        "out_dir",
        "grad_accum",
        "batch_size",
        "block_size",
        "learning_rate",
        "min_lr",
        "warmup_iters",
        "weight_decay",
        "beta1",
        "beta2",
        "grad_clip",
        "log_interval",
        "stop_at",
        "init_from",
        "seed",
        "device",
        "dtype",
        "threads",
        "nonfinite_patience",
    } <= shared
    cfg = config(Path("."), Path("."), "x", learning_rate=1e-3, min_lr=1e-4, warmup_iters=10)
    tcfg = train.TrainConfig(learning_rate=1e-3, min_lr=1e-4, warmup_iters=10, max_iters=100)
    assert [sft.get_lr(i, 100, cfg) for i in range(0, 101, 7)] == [
        train.get_lr(i, tcfg) for i in range(0, 101, 7)
    ]
    keys = training.config_help(SFTConfig)  # fim/sft.py --help
    assert "--block_size=4096 " in keys and "--out_dir=out/sft\n" in keys and "--model." not in keys


def test_optimizer_state_is_written_by_parameter_name_by_both_scripts(tmp_path):
    from safetensors.torch import load_file

    import train

    torch.manual_seed(0)
    model = Transformer(ModelArgs(**{**TINY, "vocab_size": 300}))
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    model(torch.randint(0, 300, (1, 16)), torch.randint(0, 300, (1, 16)))[1].backward()
    optimizer.step()
    train.save_checkpoint(str(tmp_path), model, optimizer, {"iter": 1}, None)
    sft.save_checkpoint(
        SFTConfig(out_dir=str(tmp_path / "sft")),
        model,
        optimizer,
        {"step": 1},
        0,
        lambda: None,
        base_dir=None,
    )
    a, b = (
        load_file(str(tmp_path / "last/optim.safetensors")),
        load_file(str(tmp_path / "sft/last/optim.safetensors")),
    )
    assert (
        sorted(a) == sorted(b)
        and "embed_tokens.weight.exp_avg" in a
        and all(torch.equal(a[k], b[k]) for k in a)
    )
    _, opt_state, _ = train.load_checkpoint(str(tmp_path), "cpu")
    again = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    again.load_state_dict(train.optimizer_state_by_index(opt_state, model, again))
    assert all(
        torch.equal(again.state_dict()["state"][i]["exp_avg"], st["exp_avg"])
        for i, st in optimizer.state_dict()["state"].items()
    )


def test_modal_entrypoint_imports():
    pytest.importorskip("modal")
    from fim import modal_sft

    assert modal_sft.app.name == "sqlcomplete-sft"
    assert callable(modal_sft.sft.remote) and callable(modal_sft.download.remote)


def test_config_values_parse_and_check_as_in_train_py():

    assert (
        sft.NonFiniteError is training.NonFiniteError
        and sft.skip_nonfinite is training.skip_nonfinite
    )  # one guard
    cfg = sft.load_config(
        str(ROOT / "configs/fim_qwen3_4b.py"),
        ["--checkpoint_activations=False", "--learning_rate=1e-4", "--beta2=0.99", "--epochs=3"],
    )
    assert cfg.checkpoint_activations is False and cfg.learning_rate == 1e-4 and cfg.beta2 == 0.99
    assert cfg.epochs == 3
    for arg, message in [
        ("--learning_rate=fast", "learning_rate: expected float, got 'fast'"),
        ("--tiled_loss=no", "tiled_loss: expected bool, got 'no'"),
        ("--epochs=2.5", "epochs: expected int, got 2.5"),
    ]:
        with pytest.raises(SystemExit, match=message):
            sft.load_config(str(ROOT / "configs/fim_qwen3_4b.py"), [arg])


# ---- arctic_training's data options (issue 27)


def chat(*turns) -> list[dict]:
    return [{"role": r, "content": c} for r, c in turns]


def trained_text(tok, labels) -> str:
    return tok.decode([int(t) for t in labels if t != -100])


def test_role_mapping_builds_messages_as_arctic_training():
    """HFDataSourceInstruct._extract_messages_from_paths: contents per role (empty ones dropped),
    roles with none dropped, then zipped turn by turn in role_mapping's order."""
    from sqlcomplete.fim.data import mapped_messages

    row = {
        "messages": chat(
            ("system", "S"),
            ("user", "u1"),
            ("assistant", "a1"),
            ("user", ""),
            ("user", "u2"),
            ("assistant", "a2"),
            ("user", "u3"),
        ),
        "question": "q",
        "answer": None,
        "conversations": [{"from": "human", "value": "h"}, {"from": "gpt", "text": "g"}],
    }
    roles = {"user": "messages.role.user", "assistant": "messages.role.assistant"}
    want = chat(("user", "u1"), ("assistant", "a1"), ("user", "u2"), ("assistant", "a2"))
    assert mapped_messages(row, roles) == want  # no system turn, no unanswered u3
    assert mapped_messages(row, {"user": "question", "assistant": "answer"}) == chat(("user", "q"))
    convo = {"user": "conversations.from.human", "assistant": "conversations.from.gpt"}
    assert mapped_messages(row, convo) == chat(("user", "h"), ("assistant", "g"))
    assert mapped_messages(row, convo, content_key="value") == chat(("user", "h"))


def test_role_mapping_source_trains_its_assistant_turns(tmp_path, base, tok):
    rows = [
        {"conversation": chat(("system", "S"), ("user", "hi"), ("assistant", "SELECT 1;"))},
        {"conversation": chat(("user", "only a question"))},
    ]
    src = write_jsonl(tmp_path / "chat.jsonl", rows)
    roles = (("user", "conversation.role.user"), ("assistant", "conversation.role.assistant"))
    s = Settings("messages", 4096, role_mapping=roles)
    data, stats = load_source(src, str(base / "tokenizer.json"), s, None)
    assert stats.kept == 1 and dict(stats.bad) == {"no_assistant_turn": 1}
    ids, labels = data.sample(0)
    assert (
        tok.decode(list(ids))
        == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nSELECT 1;<|im_end|>\n"
    )
    assert trained_text(tok, labels) == "SELECT 1;<|im_end|>"


def test_fim_loss_masking_and_ignore_empty_think(tmp_path, base, tok):
    fim = "<|fim_prefix|>SELECT <|fim_suffix|> FROM t;<|fim_middle|>name"
    think = "<think>\n\n</think>\n\n"
    rows = [
        {"messages": chat(("user", "q"), ("assistant", think + fim))},
        {"messages": chat(("user", "q"), ("assistant", "no marker"))},
        {"messages": chat(("user", "q"), ("assistant", fim + "<|im_end|>"))},
    ]
    src = write_jsonl(tmp_path / "fim.jsonl", rows)
    tok_path = str(base / "tokenizer.json")
    s = Settings("messages", 4096, ignore_empty_think=True, fim_loss_masking=True)
    data, stats = load_source(src, tok_path, s, None)
    # the marker-less turn is not trained (arctic_training masks it whole): no sample without
    # targets is kept
    assert dict(stats.bad) == {"no_trained_turn": 1, "control_token_in_text": 1}
    ids, labels = data.sample(0)
    assert tok.decode(list(ids)).endswith(f"assistant\n{think}{fim}<|im_end|>\n")
    assert trained_text(tok, labels) == "name<|im_end|>"
    plain = write_jsonl(
        tmp_path / "think.jsonl",
        [{"messages": chat(("user", "q"), ("assistant", think + "SELECT 1"))}],
    )
    for ignore, want in ((True, "SELECT 1<|im_end|>"), (False, think + "SELECT 1<|im_end|>")):
        data, _ = load_source(
            plain, tok_path, Settings("messages", 4096, ignore_empty_think=ignore), None
        )
        assert trained_text(tok, data.sample(0)[1]) == want
    # without fim_loss_masking FIM tokens in a turn are refused: they would be trained as text
    _, stats = load_source(src, tok_path, Settings("messages", 4096), None)
    assert stats.bad["control_token_in_text"] == 2


def test_filter_samples_false_keeps_long_samples_whole_in_rows_of_their_own(tmp_path, base, tok):
    rows = fim_rows()
    src = write_jsonl(tmp_path / "fim.jsonl", rows)
    lengths = sorted(
        len(tok.encode(r["prompt"])) + len(tok.encode(r["response"])) + 1 for r in rows
    )
    limit = lengths[4]
    data, stats = load_source(
        src, str(base / "tokenizer.json"), Settings("prompt_response", limit, "keep"), None
    )
    assert stats.kept == len(rows) and stats.dropped_too_long == 0 and stats.longest == lengths[-1]
    packed = epoch_rows(data, 0, 0, limit, pack_samples=True)
    for row in packed:
        n = sum(int(data.lengths[i]) for i in row)
        assert n <= limit or len(row) == 1
    assert sorted(i for row in packed for i in row) == list(range(len(rows)))


@pytest.mark.parametrize(
    "spec",
    [
        "train",
        "train[:5]",
        "train[3:]",
        "train[-4:-1]",
        "train[10%:40%]",
        "train[:33%]",
        "train[-50%:]",
        "train[:25%](pct1_dropremainder)",
        "train[:10]+test[5:7]",
        "train[500:]",
    ],
)
def test_split_slices_resolve_as_datasets_does(spec):
    from sqlcomplete.fim.data import parse_split, slice_rows

    datasets = pytest.importorskip("datasets")
    n = {"train": 137, "test": 20}
    ours = [(name, slice_rows(slc, n[name])) for name, slc in parse_split(spec)]
    theirs = datasets.ReadInstruction.from_spec(spec).to_absolute(n)
    assert ours == [(i.splitname, range(i.from_, i.to)) for i in theirs]


def test_sampling_and_slices_pick_rows_as_arctic_training(tmp_path, base):
    import random

    from sqlcomplete.fim.data import sample_rows

    assert sample_rows(50, count=7, seed=3)[0] == random.Random(3).sample(range(50), 7)
    assert sample_rows(50, ratio=0.1)[0] == random.Random(42).sample(range(50), 5)
    rows, warning = sample_rows(5, count=9)
    assert rows is None and "larger than the 5 rows" in warning
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = [{"prompt": f"p{i}", "response": f"r{i}"} for i in range(10)]
    pq.write_table(pa.Table.from_pylist(table), tmp_path / "rows.parquet")
    src = sft.resolve_source(
        {
            "name_or_path": str(tmp_path / "rows.parquet"),
            "split": "train[2:8]",
            "sample_count": 3,
            "sample_seed": 1,
        },
        "sources[0]",
    )
    want = [[2, 3, 4, 5, 6, 7][i] for i in random.Random(1).sample(range(6), 3)]
    assert src.rows == want and src.kind == "prompt_response"
    cfg = config(base, tmp_path / "out", "unused")
    data, _ = sft.load_data(cfg, [src], str(base / "tokenizer.json"), 0, lambda: None)
    tok = BPETokenizer.from_file(base)
    assert [tok.decode(list(data.sample(i)[0])).split("<|im_end|>")[0][-2:] for i in range(3)] == [
        f"r{i}" for i in want
    ]


def test_sources_are_told_apart_by_content_not_name(tmp_path, base):
    """A Parquet or JSONL file without an extension, the original converter's DIR/data.parquet."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    rows = fim_rows()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p")
    (tmp_path / "dir").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "dir" / "data.parquet")
    write_jsonl(tmp_path / "j", rows)
    tok_path, s = str(base / "tokenizer.json"), Settings("prompt_response", 4096)
    ref, _ = load_source(write_jsonl(tmp_path / "ref.jsonl", rows), tok_path, s, None)
    for name, fmt in (("p", "parquet"), ("dir", "parquet_dir"), ("j", "jsonl")):
        from sqlcomplete.fim.data import dataset_format

        assert dataset_format(tmp_path / name) == fmt
        src = sft.resolve_source(str(tmp_path / name), "sources[0]")
        data, _ = load_source(src.paths, tok_path, s, None)
        assert np.array_equal(data.input_ids, ref.input_ids), name
    (tmp_path / "bad").write_bytes(b"\x00\x01 not a dataset")
    (tmp_path / "empty").mkdir()
    for name in ("bad", "empty"):
        with pytest.raises(SystemExit) as e:
            sft.resolve_source(str(tmp_path / name), "sources[0]")
        msg = str(e.value)
        assert msg.startswith(f"sources[0]: {tmp_path / name}: ") and "\n" not in msg
        assert (
            "save_to_disk folder, a folder of .parquet files, a Parquet file or a JSONL file" in msg
        )


def test_min_iterations_repeats_the_rows(tmp_path, base):
    assert sft.repeat_rows([[1], [2], [3]], 7) == [[1], [2], [3], [1], [2], [3], [1]]
    assert sft.repeat_rows([[1], [2], [3]], 2) == [[1], [2], [3]]
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows()[:2])
    result = sft.train(config(base, tmp_path / "out", src, min_iterations=5, block_size=160))
    assert result["total_steps"] == 5 and len(metrics(tmp_path / "out")) == 5


def test_eval_interval_writes_eval_losses_and_keeps_the_best(tmp_path, base):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    ev = write_jsonl(tmp_path / "eval.jsonl", fim_rows()[:3])
    cfg = config(
        base, tmp_path / "out", src, epochs=3, block_size=160, eval_sources=[ev], eval_interval=2
    )
    result = sft.train(cfg)
    evals = [(m["step"], m["eval_loss"]) for m in metrics(tmp_path / "out") if "eval_loss" in m]
    assert [s for s, _ in evals] == list(range(2, result["total_steps"] + 1, 2))
    best = min(loss for _, loss in evals)
    assert result["state"]["best_eval"] == best and evals[-1][1] < evals[0][1]
    # the eval loss: the mean over the eval samples' trained tokens, recomputed from OUT_DIR/best
    model = from_pretrained(str(tmp_path / "out" / "best"))
    data, _ = load_source(ev, str(base / "tokenizer.json"), Settings("prompt_response", 160), None)
    with torch.no_grad():
        sums = [
            sft.batch_loss(model, collate(data, [[i]], pad_id=0), cfg) for i in range(len(data))
        ]
    recomputed = sum(float(s) for s, _ in sums) / sum(int(n) for _, n in sums)
    assert abs(recomputed - best) < 1e-5


def test_any_error_saves_a_checkpoint_first(tmp_path, base, monkeypatch):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    plain, calls = sft.batch_loss, []

    def failing(model, batch, cfg):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("out of memory (simulated)")
        return plain(model, batch, cfg)

    monkeypatch.setattr(sft, "batch_loss", failing)
    with pytest.raises(RuntimeError, match="simulated"):
        sft.train(config(base, tmp_path / "out", src, epochs=5, block_size=160))
    state = json.loads((tmp_path / "out" / "last" / "state.json").read_text())
    assert (
        state["step"] == 2 and training.checkpoint_problem(str(tmp_path / "out" / "last")) is None
    )


def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path, base):
    """A scheduler's SIGTERM: training.stop_on_sigterm, checked each step, OUT_DIR/last saved."""
    import signal
    import time

    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    (tmp_path / "cfg.py").write_text(
        f"pretrained = {str(base)!r}\nsources = [{src!r}]\nblock_size = 160\nepochs = 1000\n"
        "device = 'cpu'\ndtype = 'float32'\nthreads = 1\nlog_interval = 1\n"
    )
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "fim/sft.py", str(tmp_path / "cfg.py"), f"--out_dir={out}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if (out / "metrics.jsonl").is_file() and len(
            (out / "metrics.jsonl").read_text().splitlines()
        ) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 130, stdout[-2000:] + stderr[-2000:]
    assert "interrupted: saving" in stdout and "Traceback" not in stderr
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["step"] >= 2 and training.checkpoint_problem(str(out / "last")) is None
    assert state["step"] == len((out / "metrics.jsonl").read_text().splitlines())


def test_missing_model_and_json_config_are_one_line_errors(tmp_path, base):
    src = write_jsonl(tmp_path / "fim.jsonl", fim_rows())
    (tmp_path / "c.py").write_text(f"sources = [{src!r}]\ndevice = 'cpu'\n")
    cfg = sft.load_config(
        str(tmp_path / "c.py"), ["--pretrained=/nonexistent", f"--out_dir={tmp_path / 'o'}"]
    )
    with pytest.raises(SystemExit) as e:
        sft.train(cfg)
    assert str(e.value).startswith(
        "pretrained /nonexistent: no such directory"
    ) and "\n" not in str(e.value)
    (tmp_path / "c.json").write_text(json.dumps({"pretrained": str(base), "sources": [src]}))
    res = subprocess.run(
        [sys.executable, "fim/sft.py", str(tmp_path / "c.json")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert res.stderr.startswith(f"{tmp_path / 'c.json'}: a config is a .py file")


def test_wandb_is_checked_before_any_work(tmp_path, monkeypatch):
    import types

    cfg = SFTConfig(wandb_project="p")
    assert sft.check_wandb(SFTConfig()) is None  # off
    monkeypatch.setitem(sys.modules, "wandb", None)  # not installed
    with pytest.raises(SystemExit, match="wandb is not installed"):
        sft.check_wandb(cfg)
    fake = types.ModuleType("wandb")
    monkeypatch.setitem(sys.modules, "wandb", fake)
    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    with pytest.raises(SystemExit, match="wandb is not logged in"):
        sft.check_wandb(cfg)
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password k\n")
    (tmp_path / "netrc").chmod(0o600)
    assert sft.check_wandb(cfg) is fake  # `wandb login` wrote the key
    (tmp_path / "netrc").unlink()
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert sft.check_wandb(cfg) is fake
