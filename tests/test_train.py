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


@pytest.fixture(autouse=True)
def sigterm_as_it_was():
    """train.main() installs its SIGTERM handler: pytest itself must stay killable after it."""
    import signal

    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)
    training.TERMINATE.clear()


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
    for _step in range(300):
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
    for _attempt in range(2):  # gloo can abort on a busy machine while connecting; one retry
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
    # bytes overwritten inside the tensor data: safetensors still loads it, the checksum does not
    # match
    weights = out / "last" / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-4000:] = b"\xff" * 4000  # NaNs
    weights.write_bytes(bytes(raw))
    assert not torch.isfinite(torch.cat([t.flatten() for t in load_file(weights).values()])).all()
    assert (
        training.checkpoint_problem(str(out / "last")) == "checksum mismatch in model.safetensors"
    )
    _, _, resumed = train.load_checkpoint(str(out), "cpu")
    assert (
        resumed["iter"] == 2 and "checksum mismatch in model.safetensors" in capsys.readouterr().out
    )
    # resume goes on from prev; its first save discards the bad last instead of rotating it into
    # prev
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
    # non-finite weights with matching checksums (written by an older version, say) do not verify
    # either
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


def test_the_sigterm_handler_leaves_forked_workers_killable():
    """prepare.py's Pool, forked after train.main() installed the handler, still terminates."""
    import subprocess
    import sys

    script = (
        "import multiprocessing, time\n"
        "from sqlcomplete import training\n"
        "training.stop_on_sigterm()\n"
        "with multiprocessing.get_context('fork').Pool(1) as pool:\n"
        "    pool.apply_async(time.sleep, (600,))\n"  # a worker that will not finish by itself
        "    time.sleep(1)\n"
        "print('done')\n"  # leaving the block terminate()d it: SIGTERM ended the worker
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "done\n", r.stderr


def test_sigterm_saves_a_checkpoint_like_ctrl_c(data_dir, tmp_path):
    """A scheduler's SIGTERM (preemption, a timeout) leaves a `last` to resume from, and exit code
    130."""
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
        "--compile=False",  # 100,000 planned steps would compile first: minutes, not what is tested
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


# ---- the run's folder: checked first, locked, never silently overwritten (issue 28, items 5, 6,
# 12)


def test_an_out_dir_that_is_a_file_fails_before_training(data_dir, tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(training.RunError, match="notes.txt is a file, not a folder"):
        train.train(cfg(data_dir, a_file))
    with pytest.raises(training.RunError, match="notes.txt is a file, not a folder"):
        train.train(cfg(data_dir, a_file / "run"))
    assert a_file.read_text() == "mine"
    with pytest.raises(SystemExit) as e:  # the command line: one line, no traceback
        train.main([f"--data_dir={data_dir}", f"--out_dir={a_file}"])
    assert str(e.value.code).startswith("error: out_dir") and "\n" not in str(e.value.code)


def test_a_full_disk_might_keep_the_good_checkpoint_and_go_on_or_stop(
    data_dir, tmp_path, monkeypatch, capsys
):
    """A failed save removes its temp folder and says which checkpoint is still good; training goes
    on while one is, and stops (one line) when none is or when the save was the last one."""
    from safetensors import SafetensorError

    save_pretrained = train.save_pretrained

    def disk_fills_at(nth_last: int, stays_full: bool = False):
        """The disk is full while the nth `last` is saved (and, if it stays full, for every save
        after it); the weights file is half written each time, as safetensors leaves it."""
        lasts, full = [], []

        def save(model, out_dir, *args, **kw):
            save_pretrained(model, out_dir, *args, **kw)  # a partial checkpoint on disk...
            if out_dir.endswith(".last.tmp"):
                lasts.append(out_dir)
            if len(lasts) == nth_last and out_dir.endswith(".last.tmp") or (stays_full and full):
                full.append(out_dir)
                raise SafetensorError(  # ...then the disk is full
                    "Error while serializing: I/O error: No space left on device (os error 28)"
                )

        monkeypatch.setattr(train, "save_pretrained", save)

    out = tmp_path / "a"
    disk_fills_at(2)  # the `last` of iter 4 fails; iter 2's is still there
    result = train.train(cfg(data_dir, out, max_iters=6, eval_interval=2))
    log = capsys.readouterr().out
    assert (
        f"warning: could not save {out}/last at iter 4 (the disk is full: Error while serializing"
        in log
    )
    assert f"{out}/last (iter 2, val " in log and "is still good, so training goes on" in log
    assert result["state"]["iter"] == 6 and not list(out.glob(".*.tmp"))
    assert json.loads((out / "last" / "state.json").read_text())["iter"] == 6  # saved again later

    out = tmp_path / "b"
    disk_fills_at(2, stays_full=True)  # the saves at the end fail too: stop, saying what is good
    with pytest.raises(training.RunError) as e:
        train.train(cfg(data_dir, out, max_iters=6, eval_interval=2))
    assert f"could not save {out}/last at iter 6 (the disk is full" in str(e.value)
    assert f"{out}/last (iter 2" in str(e.value) and "--init_from=resume" in str(e.value)
    log = capsys.readouterr().out
    final_best = [line for line in log.splitlines() if f"save {out}/best at iter 6" in line]
    assert final_best and all(line.endswith("is still good") for line in final_best)
    assert not list(out.glob(".*.tmp"))

    out = tmp_path / "c"
    disk_fills_at(1)  # nothing saved yet: nothing to go on from
    with pytest.raises(training.RunError, match="no earlier checkpoint is left: stopped"):
        train.train(cfg(data_dir, out, max_iters=4, eval_interval=2))
    assert not (out / "last").exists() and not list(out.glob(".*.tmp"))
    monkeypatch.setattr(train, "save_pretrained", save_pretrained)


def test_too_little_free_space_is_refused_before_training(data_dir, tmp_path, monkeypatch):
    usage = training.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(training.shutil, "disk_usage", lambda path: usage._replace(free=50_000))
    with pytest.raises(training.RunError, match="0 MB free on its disk, a checkpoint needs"):
        train.train(cfg(data_dir, tmp_path / "run"))


def test_a_second_run_on_one_out_dir_is_refused_and_a_dead_runs_lock_taken_over(
    data_dir, tmp_path, capsys
):
    import signal
    import subprocess
    import sys

    out = tmp_path / "run"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from sqlcomplete.training import out_dir_lock\n"
            "with out_dir_lock(sys.argv[1]):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(120)\n",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(training.RunError) as e:
            train.train(cfg(data_dir, out, max_iters=2))
        assert f"{out} is in use by another run (process {holder.pid})" in str(e.value)
        holder.send_signal(signal.SIGKILL)  # dies holding it: the kernel drops the lock
        holder.wait(timeout=30)
    finally:
        holder.kill()
    capsys.readouterr()
    train.train(cfg(data_dir, out, max_iters=2))
    log = capsys.readouterr().out
    assert f"was left by process {holder.pid}, which is no longer running: taken over" in log
    assert (out / ".lock").read_text() == ""  # released at the end: the next run says nothing
    train.train(cfg(data_dir, out, max_iters=3, init_from="resume"))
    assert "taken over" not in capsys.readouterr().out


def test_a_fresh_run_never_overwrites_an_earlier_one(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    train.train(cfg(data_dir, out, max_iters=2))
    first = (out / "last" / "model.safetensors").read_bytes()
    monkeypatch.delenv("MAKELEVEL", raising=False)
    for init_from in ("scratch", str(out / "best")):  # from scratch, or fine-tuning into it
        with pytest.raises(training.RunError) as e:
            train.train(cfg(data_dir, out, max_iters=2, init_from=init_from))
        message = str(e.value)
        assert f"{out} holds an earlier run ({out}/last (iter 2" in message
        assert "--init_from=resume" in message and "--overwrite=True" in message
    assert (out / "last" / "model.safetensors").read_bytes() == first
    monkeypatch.setenv("MAKELEVEL", "1")  # `make train` twice: the hint is a make command
    with pytest.raises(training.RunError, match="make train TRAIN_ARGS=--overwrite=True"):
        train.train(cfg(data_dir, out, max_iters=2))
    train.train(cfg(data_dir, out, max_iters=3, init_from="resume"))  # going on is fine
    capsys.readouterr()
    train.train(cfg(data_dir, out, max_iters=2, overwrite=True, seed=8))
    assert "overwrite=True: removing the earlier run" in capsys.readouterr().out
    assert json.loads((out / "last" / "state.json").read_text())["iter"] == 2
    assert not (out / "prev").exists()  # the old run's last did not become this run's prev


def test_resume_with_nothing_to_resume_is_one_line(data_dir, tmp_path):
    with pytest.raises(SystemExit) as e:
        train.main(
            [f"--data_dir={data_dir}", f"--out_dir={tmp_path / 'none'}", "--init_from=resume"]
        )
    message = str(e.value.code)
    assert message.startswith("error: init_from=resume: no checkpoint to resume in ")
    assert "leave it out to start a new run" in message and "\n" not in message


# ---- the tokenizer is the one the shards were written with (issue 28, item 13)


def test_a_replaced_tokenizer_is_refused_and_older_data_accepted_with_a_note(
    data_dir, tmp_path, capsys
):
    data = tmp_path / "data"
    shutil.copytree(data_dir, data)
    meta = json.loads((data / "meta.json").read_text())
    assert len(meta["tokenizer_sha256"]) == 64
    (data / "tok.model").write_bytes(b"a tokenizer trained on other text")
    with pytest.raises(train.DataError, match="tok.model is not the tokenizer the shards were"):
        train.train(cfg(str(data), tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    shutil.copyfile(os.path.join(data_dir, "tok.model"), data / "tok.model")
    del meta["tokenizer_sha256"]  # data prepared before the hash was recorded
    (data / "meta.json").write_text(json.dumps(meta))
    train.train(cfg(str(data), tmp_path / "out", max_iters=1))
    assert "meta.json has no tokenizer hash (older data): tok.model unchecked" in (
        capsys.readouterr().out
    )
    ckpt_tok = (tmp_path / "out" / "last" / "tok.model").read_bytes()
    assert ckpt_tok == (data / "tok.model").read_bytes()


# ---- what training says, and when (issue 29, item 2)


def test_the_first_line_is_the_device_and_dtype_with_its_reason(data_dir, tmp_path, capsys):
    train.train(cfg(data_dir, tmp_path / "a", max_iters=1, dtype="float32"))
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "device cpu, 1 threads, autocast float32 (dtype=float32)"
    train.train(cfg(data_dir, tmp_path / "b", max_iters=1))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("device cpu, 1 threads, autocast ") and "(auto: " in first


def test_compiling_and_long_evaluations_are_said_and_the_eta_counts_evaluations(
    data_dir, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(train.torch, "compile", lambda model: model)  # the messages, not inductor
    monkeypatch.setattr(train, "PROGRESS_SECONDS", 0.0)
    train.train(
        cfg(data_dir, tmp_path / "a", max_iters=4, eval_interval=2, log_interval=1, compile=True)
    )
    log = capsys.readouterr().out.splitlines()
    compiling = next(i for i, line in enumerate(log) if line.startswith("compiling the model"))
    assert log[compiling + 1].startswith("compiled in ")
    assert "eval iter 2: evaluating, 1/4 batches" in "\n".join(log)
    assert any(line.startswith("eval iter 2: train/statement") for line in log)
    assert [line.split(":")[0] for line in log if line.startswith("iter ")] == [
        "iter 2",  # iter 1 was the compiling step, said by "compiled in"
        "iter 3",
        "iter 4",
    ]
    # the ETA: steps left at the smoothed step time, plus the evaluations still to come
    pace = training.Pace()
    pace.add_steps(10.0, 10)
    pace.add_eval(30.0)
    c = cfg(data_dir, tmp_path, max_iters=100, eval_interval=25)
    assert train.evals_left(10, c) == 4  # at 25, 50 and 75, and the final one
    assert train.eta_seconds(10, c, 0.0, pace, 0.0) == 90 * 1.0 + 4 * 30.0
    pace.add_steps(40.0, 10)  # one slow window moves the ETA a fifth of the way, not 4x
    assert train.eta_seconds(10, c, 0.0, pace, 0.0) == pytest.approx(90 * 1.6 + 4 * 30.0)
    assert train.eta_seconds(99, c, 0.0, training.Pace(), eval_guess=7.0) == 7.0


def test_make_sample_shows_the_trained_model_beside_the_shipped_one(data_dir, tmp_path):
    """Issue 29 item 1: each model alone, labelled with its training, then the hybrid explained."""
    import subprocess
    import sys

    if not os.path.isfile("sqlcomplete/models/default/model.safetensors"):
        pytest.skip("no shipped model")
    out = tmp_path / "run"
    result = train.train(cfg(data_dir, out, max_iters=2))
    best = result["state"]["best_val"]
    r = subprocess.run(
        [sys.executable, "examples/compare_models.py", "--ckpt", str(out / "best"), "SELECT "],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "== each model alone (--ngram none), on examples/schema.sql:"
    assert lines[1] == (
        f"   trained  {out}/best: 0.04M parameters, 2,048 tokens seen, val loss {best:.4f}"
    )
    assert lines[2].startswith("   shipped  sqlcomplete/models/default: 2.80M parameters, ")
    assert lines[2].endswith(" tokens seen, val loss 0.764 (the README's model card)")
    assert lines[4] == "SELECT |" and lines[5].startswith("   trained  ")
    assert any(line.startswith("   shipped  ") for line in lines[6:])
    hybrid = next(i for i, line in enumerate(lines) if line.startswith("== the hybrid"))
    assert "the n-gram (next-word counts from SQL text) proposes" in lines[hybrid]
    assert lines[hybrid + 3].startswith("   trained + n-gram  ")
