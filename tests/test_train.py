import json
import os
import shutil

import numpy as np
import pytest
import torch
from conftest import SCHEMA, STATEMENTS

import prepare
import train
from sqlcomplete import training

TINY_MODEL = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    groups = []
    for i in range(12):
        schema = SCHEMA.replace("customers", f"customers{i}")
        groups.append(
            json.dumps(
                {
                    "schema": schema,
                    "statements": {
                        "select": [s.replace("customers", f"customers{i}") for s in STATEMENTS]
                    },
                }
            )
        )
    (root / "g.jsonl").write_text("\n".join(groups) + "\n")
    out = root / "data"
    prepare.main(
        [
            str(root / "g.jsonl"),
            "--out",
            str(out),
            "--vocab-size",
            "400",
            "--workers",
            "1",
            "--val-frac",
            "0.25",
            "--block-size",
            "256",
            "--stmts-per-example",
            "2",
            "--augment",
            "0",
        ]
    )
    return str(out)


def cfg(data_dir, out_dir, **kw):
    base = dict(
        data_dir=data_dir,
        out_dir=str(out_dir),
        model=TINY_MODEL,
        batch_size=4,
        block_size=256,
        max_iters=8,
        eval_interval=1000,
        eval_iters=1,
        log_interval=1000,
        warmup_iters=2,
        learning_rate=3e-3,
        threads=1,
        seed=7,
    )
    return train.TrainConfig(**{**base, **kw})


def test_loader_rows_start_with_schema_and_mask_statements(data_dir):
    meta = json.load(open(os.path.join(data_dir, "meta.json")))
    loader = train.Loader(data_dir, "train", 256, 8, seed=0, loss_on="statement")
    starts = set(loader.index[:, 0].tolist())
    for _ in range(5):
        x, y = loader.get_batch()
        for row_x, row_y in zip(x, y):
            assert row_x[0] == meta["schema_header_id"]  # every row starts with a schema
            # every statement token trained on sits after its own schema in the same row
            trained = (row_y != -100).nonzero().flatten()
            assert len(trained) > 0
            header_pos = (row_x == meta["schema_header_id"]).nonzero().flatten()
            assert int(header_pos[0]) == 0 and int(trained.min()) > 0
            stmt_pos = (row_x == meta["statement_header_id"]).nonzero().flatten()
            assert int(trained.min()) > int(stmt_pos.min())
    # rows start at example boundaries: the first token index of each row is an example start
    rng_state = loader.rng.bit_generator.state
    i = loader.rng.integers(0, len(loader.index), loader.batch_size)[0]
    loader.rng.bit_generator.state = rng_state
    assert int(loader.index[i, 0]) in starts


def test_loss_on_all_trains_schema_tokens(data_dir):
    stmt = train.Loader(data_dir, "train", 256, 4, seed=1, loss_on="statement").get_batch()[1]
    everything = train.Loader(data_dir, "train", 256, 4, seed=1, loss_on="all").get_batch()[1]
    assert (everything != -100).sum() > (stmt != -100).sum() > 0


def test_tiny_model_overfits(data_dir, tmp_path):
    """A tiny model learns 8 examples to a loss below 0.1 well within a minute on CPU."""
    torch.manual_seed(0)
    loader = train.Loader(data_dir, "train", 256, 8, seed=0, loss_on="all")
    x, y = loader.get_batch()
    from sqlcomplete.model import ModelArgs, Transformer

    m = Transformer(ModelArgs(dim=64, n_layers=2, n_heads=4, vocab_size=400, max_seq_len=256))
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    for step in range(300):
        _, loss = m(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.1:
            break
    assert loss.item() < 0.1, loss.item()


def test_resume_is_exact(data_dir, tmp_path):
    full = train.train(cfg(data_dir, tmp_path / "a", max_iters=8))["losses"]
    train.train(cfg(data_dir, tmp_path / "b", max_iters=8, stop_at=4))
    half = train.train(cfg(data_dir, tmp_path / "b", max_iters=8, init_from="resume"))["losses"]
    assert len(full) == 8 and len(half) == 4
    np.testing.assert_allclose(half, full[4:], atol=1e-6, rtol=0)


def test_corrupt_checkpoint_falls_back_to_previous(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    train.train(
        cfg(data_dir, out, max_iters=3, eval_interval=2)
    )  # checkpoints at iter 2 (-> prev) and 3 (last)
    assert (out / "last").is_dir() and (out / "prev").is_dir() and (out / "best").is_dir()
    (out / "last" / "model.safetensors").write_bytes(b"garbage")
    model, _, state = train.load_checkpoint(str(out), "cpu")
    assert state["iter"] == 2
    assert "unreadable" in capsys.readouterr().out
    shutil.rmtree(out / "prev")
    with pytest.raises(FileNotFoundError, match="unreadable"):
        train.load_checkpoint(str(out), "cpu")


def test_checkpoint_is_a_completer_model(data_dir, tmp_path):
    out = tmp_path / "run"
    train.train(cfg(data_dir, out, max_iters=2))
    from sqlcomplete.completion.engine import Completer

    c = Completer(str(out))
    c.set_schema(SCHEMA)
    assert isinstance(c.complete("SELECT "), list)


def test_config_files_and_overrides():
    c = train.load_config("configs/15M.py", ["--batch_size=4", "--model.dim=64", "--out_dir=x/y"])
    assert (
        c["batch_size"] == 4
        and c["model"]["dim"] == 64
        and c["model"]["n_layers"] == 6
        and c["out_dir"] == "x/y"
    )
    with pytest.raises(SystemExit, match="unknown config key"):
        train.load_config(None, ["--nope=1"])


def test_modal_app_imports_without_credentials(monkeypatch):
    pytest.importorskip("modal")
    monkeypatch.delenv("MODAL_TOKEN_ID", raising=False)
    import modal_train

    assert modal_train.app.name == "sqlcomplete-train"
    for name in ("run_training", "upload", "train", "ls", "download"):
        assert hasattr(modal_train, name)


def test_ddp_two_processes_on_cpu(data_dir, tmp_path):
    """torchrun with 2 gloo processes trains and checkpoints (the multi-GPU path, on CPU)."""
    import subprocess
    import sys

    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "train.py",
        f"--data_dir={data_dir}",
        f"--out_dir={out}",
        '--model={"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2}',
        "--batch_size=2",
        "--block_size=256",
        "--max_iters=3",
        "--eval_iters=1",
        "--log_interval=1",
        "--threads=1",
    ]
    for attempt in range(2):  # gloo can abort on a busy machine while connecting; one retry
        r = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        if r.returncode == 0 or "SIGABRT" not in r.stderr:
            break
    assert r.returncode == 0, r.stderr[-2000:]
    assert "iter 3:" in r.stdout and (out / "last" / "model.safetensors").exists()


# ---- config parsing and the command line (issue 17, items 10 and 11)


def test_values_are_python_literals_checked_against_field_types(tmp_path):
    c = train.load_config(
        None,
        [
            "--compile=False",
            "--learning_rate=1e-3",
            "--max_minutes=5",
            "--dtype=float32",
            "--out_dir=1e3",
            "--model.dim=64",
            "--model.n_kv_heads=None",
        ],
    )
    assert c["compile"] is False and c["learning_rate"] == 1e-3 and c["max_minutes"] == 5.0
    assert c["out_dir"] == "1e3" and c["model"] == {
        "dim": 64,
        "n_kv_heads": None,
    }  # a str field keeps the text
    assert train.load_config(None, ["--compile=True"])["compile"] is True
    assert train.load_config(None, ["--compile=false"])["compile"] is False  # JSON's spelling too
    assert train.load_config(None, ['--model={"dim": 32, "n_layers": 2}'])["model"] == {
        "dim": 32,
        "n_layers": 2,
    }
    for arg, message in [
        ("--compile=yes", "--compile: expected bool or None, got 'yes'"),
        ("--batch_size=1.5", "--batch_size: expected int, got 1.5"),
        ("--batch_size=True", "--batch_size: expected int, got True"),
        ("--learning_rate=abc", "--learning_rate: expected float, got 'abc'"),
        ("--model.dim=wide", "--model.dim: expected int, got 'wide'"),
        ("--model.width=3", "unknown model keys \\['width'\\]"),
    ]:
        with pytest.raises(SystemExit, match=message):
            train.load_config(None, [arg])
    config = tmp_path / "c.py"
    config.write_text('compile = "False"\nmodel = dict(dim=64)\n')
    with pytest.raises(SystemExit, match=f"{config}: compile: expected bool or None, got 'False'"):
        train.load_config(str(config))
    config.write_text('model = dict(dim="64")\n')
    with pytest.raises(SystemExit, match=r"model\['dim'\]: expected int"):
        train.load_config(str(config))
    for name in ("15M", "260K", "42M", "cpu", "quick"):  # the shipped configs pass the checks
        assert train.load_config(f"configs/{name}.py")["model"]


def test_help_lists_the_keys_and_no_data_says_make_data(tmp_path, monkeypatch, capsys):
    for flag in ("--help", "-h"):
        train.main([flag])
        out = capsys.readouterr().out
        assert out.startswith("usage: python train.py")
        assert "--compile=None" in out and "--batch_size=16" in out and "--data_dir=data/sql" in out
        assert "--model.dim=288" in out and "--nonfinite_patience=3" in out
    train.main(["configs/quick.py", "--help"])
    assert "usage:" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)  # a fresh clone before `make data`
    with pytest.raises(SystemExit) as e:
        train.main([])
    message = str(e.value.code)
    assert (
        "\n" not in message and "data/sql/meta.json not found" in message and "make data" in message
    )
    assert "--data_dir" in message
    with pytest.raises(SystemExit, match="config file not found: nope.py"):
        train.main(["nope.py"])


# ---- data checks (item 7)


def test_a_truncated_shard_fails_at_start_naming_the_file(data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    size = (data / "train.bin").stat().st_size
    with open(data / "train.bin", "r+b") as f:
        f.truncate(size - 2002)
    with pytest.raises(train.DataError, match=r"train.bin: .* bytes, but meta.json says"):
        train.train(cfg(str(data), tmp_path / "out"))
    assert not (tmp_path / "out").exists()  # nothing ran
    shutil.copyfile(os.path.join(data_dir, "train.bin"), data / "train.bin")
    shutil.copyfile(
        os.path.join(data_dir, "val.idx.npy"), data / "train.idx.npy"
    )  # another split's index
    with pytest.raises(train.DataError, match="train.idx.npy: examples end at token"):
        train.train(cfg(str(data), tmp_path / "out"))


def test_an_error_in_the_loop_saves_a_checkpoint_that_resumes_exactly(
    data_dir, tmp_path, monkeypatch, capsys
):
    full = train.train(cfg(data_dir, tmp_path / "a", max_iters=8))["losses"]
    get_batch, calls = train.Loader.get_batch, []

    def failing(self):
        calls.append(1)
        if len(calls) == 6:  # the first draws the first batch; this one is drawn inside step 5
            raise OSError("disk went away")
        return get_batch(self)

    monkeypatch.setattr(train.Loader, "get_batch", failing)
    with pytest.raises(OSError, match="disk went away"):
        train.train(cfg(data_dir, tmp_path / "b", max_iters=8))
    assert "OSError at iter 4: saving" in capsys.readouterr().out
    monkeypatch.setattr(train.Loader, "get_batch", get_batch)
    assert json.loads((tmp_path / "b" / "last" / "state.json").read_text())["iter"] == 4
    resumed = train.train(cfg(data_dir, tmp_path / "b", max_iters=8, init_from="resume"))["losses"]
    np.testing.assert_allclose(
        resumed, full[4:], atol=1e-6, rtol=0
    )  # the interrupted step is redone


# ---- non-finite steps and checkpoints (item 6)


def _nan_on(monkeypatch, steps: set[int]):
    """Make the training loss NaN on these (1-based) forward calls in train mode."""
    from sqlcomplete.model import Transformer

    forward, calls = Transformer.forward, []

    def nan_forward(self, *args, **kw):
        logits, loss = forward(self, *args, **kw)
        if self.training and loss is not None:
            calls.append(1)
            if len(calls) in steps:
                loss = loss * float("nan")
        return logits, loss

    monkeypatch.setattr(Transformer, "forward", nan_forward)


def test_nonfinite_steps_are_skipped_and_a_diverging_run_stops(
    data_dir, tmp_path, monkeypatch, capsys
):
    _nan_on(monkeypatch, {3, 4})
    out = train.train(cfg(data_dir, tmp_path / "a", max_iters=6, nonfinite_patience=3))
    assert out["state"]["skipped"] == 2 and out["state"]["iter"] == 6 and len(out["losses"]) == 4
    assert all(np.isfinite(out["losses"]))
    assert "step 4: non-finite loss nan" in capsys.readouterr().out
    assert training.checkpoint_problem(str(tmp_path / "a" / "last")) is None

    _nan_on(monkeypatch, set(range(3, 100)))
    with pytest.raises(training.NonFiniteError, match="3 non-finite steps in a row at step 5"):
        train.train(
            cfg(data_dir, tmp_path / "b", max_iters=8, eval_interval=2, nonfinite_patience=3)
        )
    state = json.loads((tmp_path / "b" / "last" / "state.json").read_text())
    assert (
        state["iter"] == 5 and state["skipped"] == 3
    )  # saved on the way out, with the last good weights
    for name in ("last", "prev"):
        assert training.checkpoint_problem(str(tmp_path / "b" / name)) is None


def test_checkpoints_carry_checksums_and_a_bad_last_never_becomes_prev(data_dir, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    out = tmp_path / "run"
    train.train(cfg(data_dir, out, max_iters=3, eval_interval=2))  # last at iter 3, prev at iter 2
    state = json.loads((out / "last" / "state.json").read_text())
    assert set(state["checksums"]) == {"model.safetensors", "optim.safetensors", "rng.safetensors"}
    assert set(json.loads((out / "best" / "state.json").read_text())["checksums"]) == {
        "model.safetensors"
    }
    # bytes overwritten inside the tensor data: safetensors still loads it, the checksum does not match
    weights = out / "last" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-4000:] = b"\xff" * 4000  # NaNs
    weights.write_bytes(bytes(raw))
    assert not torch.isfinite(torch.cat([t.flatten() for t in load_file(weights).values()])).all()
    assert training.checkpoint_problem(str(out / "last")) == "checksum mismatch in model.safetensors"
    _, _, resumed = train.load_checkpoint(str(out), "cpu")
    assert (
        resumed["iter"] == 2 and "checksum mismatch in model.safetensors" in capsys.readouterr().out
    )
    # resume goes on from prev; its first save discards the bad last instead of rotating it into prev
    train.train(cfg(data_dir, out, max_iters=5, eval_interval=4, init_from="resume"))
    log = capsys.readouterr().out
    assert (
        "resumed from" in log
        and "does not verify (checksum mismatch in model.safetensors): discarded" in log
    )
    assert json.loads((out / "prev" / "state.json").read_text())["iter"] == 4
    assert json.loads((out / "last" / "state.json").read_text())["iter"] == 5
    assert (
        training.checkpoint_problem(str(out / "prev")) is None
        and training.checkpoint_problem(str(out / "last")) is None
    )
    # non-finite weights with matching checksums (written by an older version, say) do not verify either
    nan = {
        k: torch.full_like(v, float("nan"))
        for k, v in load_file(out / "last" / "model.safetensors").items()
    }
    save_file(nan, out / "last" / "model.safetensors", metadata={"format": "pt"})
    state = json.loads((out / "last" / "state.json").read_text())
    state["checksums"] = training.weight_checksums(str(out / "last"))
    (out / "last" / "state.json").write_text(json.dumps(state))
    assert training.checkpoint_problem(str(out / "last")).startswith("non-finite weights")
    assert train.load_checkpoint(str(out), "cpu")[2]["iter"] == 4


def test_sigterm_saves_a_checkpoint_like_ctrl_c(data_dir, tmp_path):
    """A scheduler's SIGTERM (preemption, a timeout) leaves a `last` to resume from, and exit code 130."""
    import signal
    import subprocess
    import sys

    out = tmp_path / "term"
    cmd = [
        sys.executable,
        "train.py",
        f"--data_dir={data_dir}",
        f"--out_dir={out}",
        '--model={"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2}',
        "--batch_size=2",
        "--block_size=256",
        "--max_iters=100000",
        "--eval_interval=100000",
        "--log_interval=1",
        "--threads=1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:  # wait until it is inside the loop
            if line.startswith("iter 2:"):
                break
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=120)[0]
    finally:
        proc.kill()
    assert proc.returncode == 130, rest
    assert "interrupted" in rest
    assert (out / "last" / "model.safetensors").exists()
    assert json.load(open(out / "last" / "state.json"))["iter"] >= 2
