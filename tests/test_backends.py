"""The completion engine's two model backends (issue 25): torch (model.py) and onnxruntime (the
graph web/export.py writes beside the weights) agree, and an ONNX file that is missing, corrupt or
made for another checkpoint is refused with one clear error."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import SCHEMA

from sqlcomplete.completion.backends import BackendError, export_metadata, load_backend
from sqlcomplete.completion.engine import Completer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEV_SEED = os.path.join(ROOT, "..", "shared", "seed_corpus", "dev_seed.jsonl")
HARD_CASES = os.path.join(ROOT, "evalsets", "hard_cases.jsonl")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def shipped(shipped_ckpt) -> str:
    if not os.path.isfile(os.path.join(shipped_ckpt, "model.onnx")):
        pytest.fail("no sqlcomplete/models/default/model.onnx: run `make export`")
    return shipped_ckpt


def dev_requests(n_rows: int = 8, cuts: int = 4) -> list[tuple[str, str]]:
    """(schema, prefix) pairs of the dev set (the hard cases without ../shared), cut in places."""
    path = DEV_SEED if os.path.isfile(DEV_SEED) else HARD_CASES
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f][:n_rows]
    return [
        (r["schema"], r["statement"][: len(r["statement"]) * k // (cuts + 1)])
        for r in rows
        for k in range(1, cuts + 1)
    ]


def copy_ckpt(src: str, dst) -> str:
    shutil.copytree(src, dst)
    return str(dst)


# ---------------------------------------------------------------- parity


def test_logits_agree_on_each_call_of_the_interface(shipped):
    """Prefill, a statement fed over the kept cache, batched rows and a token tree: within 1e-4."""
    torch_b, onnx_b = load_backend(shipped, "torch"), load_backend(shipped, "onnx")
    assert (torch_b.name, onnx_b.name) == ("torch", "onnx")
    assert onnx_b.num_params == torch_b.num_params and onnx_b.max_seq_len == torch_b.max_seq_len
    rng = np.random.default_rng(0)
    prompt = rng.integers(3, 512, 300).tolist()
    worst = 0.0

    def same(a, b):
        nonlocal worst
        assert a.shape == b.shape
        worst = max(worst, float(np.abs(a - b).max()))

    same(torch_b.feed(0, prompt), onnx_b.feed(0, prompt))
    for keep, new in ((300, [5, 6]), (290, [7, 8, 9]), (293, [10])):  # typing, deleting
        same(torch_b.feed(keep, new), onnx_b.feed(keep, new))
    rows_t, rows_o = torch_b.rows(3, 5), onnx_b.rows(3, 5)
    for _ in range(4):
        tokens = rng.integers(3, 512, 3).tolist()
        same(rows_t.step(tokens), rows_o.step(tokens))
    tokens, parents = [11, 12, 13, 14, 15, 16, 17], [-1, 0, 0, -1, 3, 4, 1]
    same(torch_b.score_tree(tokens, parents), onnx_b.score_tree(tokens, parents))
    assert worst < 1e-4, worst


def test_same_suggestions_on_dev_requests(shipped):
    """The engine is one: its suggestions do not depend on the backend (the same top 5)."""
    by = {b: Completer(shipped, backend=b, threads=1) for b in ("torch", "onnx")}
    for schema, prefix in dev_requests():
        out = {}
        for name, c in by.items():
            c.set_schema(schema)
            out[name] = c.complete(prefix, n=5)
        assert out["torch"] == out["onnx"], (prefix, out)


def test_cli_backends_agree(shipped):
    def run(backend: str, prefix: str) -> str:
        cmd = [sys.executable, "-m", "sqlcomplete.cli", "--backend", backend]
        args = ["--schema", "examples/schema.sql", "--prefix", prefix]
        p = subprocess.run(cmd + args, capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert p.returncode == 0, p.stderr
        return p.stdout

    for prefix in ("SELECT ", "SELECT name FROM cu"):
        onnx = run("onnx", prefix)
        assert onnx.startswith("1\t") and onnx == run("torch", prefix)


def test_auto_takes_onnx_where_the_export_is(shipped, tiny_ckpt):
    assert Completer(shipped, ngram=None).backend.name == "onnx"
    assert Completer(tiny_ckpt, ngram=None).backend.name == "torch"  # no model.onnx there


def test_runtime_needs_no_torch(shipped, tiny_ckpt):
    """With torch unimportable the CLI completes on onnxruntime; a checkpoint with no export is one
    error naming the file and `make export`."""
    block = (
        "import sys, importlib.abc\n"
        "class NoTorch(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError('No module named torch (blocked)')\n"
        "sys.meta_path.insert(0, NoTorch())\n"
        "from sqlcomplete.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "finally:\n"
        "    assert 'torch' not in sys.modules\n"
    )
    args = ["--schema", "examples/schema.sql", "--prefix", "SELECT "]
    p = subprocess.run(
        [sys.executable, "-c", block, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert p.returncode == 0 and p.stdout.startswith("1\t"), p.stderr
    p = subprocess.run(  # auto, with no model.onnx and no torch: the missing file, by name
        [sys.executable, "-c", block, *args, "--ckpt", tiny_ckpt],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    missing = os.path.join(tiny_ckpt, "model.onnx")
    assert p.returncode == 1 and missing in p.stderr and "make export" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


# ---------------------------------------------------------------- bad files


def test_missing_and_corrupt_onnx_files_are_one_clear_error(tiny_ckpt, tmp_path):
    ckpt = copy_ckpt(tiny_ckpt, tmp_path / "ckpt")
    path = os.path.join(ckpt, "model.onnx")
    with pytest.raises(BackendError, match="no ONNX export") as e:
        Completer(ckpt, backend="onnx")
    assert path in str(e.value) and "make export" in str(e.value)
    for junk in (b"", b"not an onnx file", os.urandom(4096)):
        with open(path, "wb") as f:
            f.write(junk)
        for backend in ("onnx", "auto"):  # auto does not hide a broken export behind torch
            with pytest.raises(BackendError, match="not a readable ONNX model") as e:
                Completer(ckpt, backend=backend)
            assert path in str(e.value) and "make export" in str(e.value)
    p = subprocess.run(
        [sys.executable, "-m", "sqlcomplete.cli", "--ckpt", ckpt, "--prefix", "SELECT "],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert p.returncode == 1 and path in p.stderr and "make export" in p.stderr
    assert "Traceback" not in p.stderr


def test_an_export_for_another_checkpoint_is_refused(shipped, tiny_ckpt, tmp_path):
    """Another tokenizer, another shape in config.json, other weights, or no metadata: refused."""
    import onnx

    cases = {}
    ckpt = copy_ckpt(shipped, tmp_path / "tokenizer")
    shutil.copyfile(os.path.join(tiny_ckpt, "tok.model"), os.path.join(ckpt, "tok.model"))
    cases[ckpt] = "another tokenizer"
    ckpt = copy_ckpt(shipped, tmp_path / "shape")
    with open(os.path.join(ckpt, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(ckpt, "config.json"), "w") as f:
        json.dump({**cfg, "max_position_embeddings": 2 * cfg["max_position_embeddings"]}, f)
    cases[ckpt] = "another model shape"
    ckpt = copy_ckpt(shipped, tmp_path / "weights")
    with open(os.path.join(ckpt, "model.safetensors"), "r+b") as f:
        f.seek(-4, os.SEEK_END)
        f.write(b"\x00\x3c\x00\x3c")  # the last fp16 weights changed
    cases[ckpt] = "other weights"
    ckpt = copy_ckpt(shipped, tmp_path / "plain")
    graph = onnx.load(os.path.join(ckpt, "model.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, os.path.join(ckpt, "model.onnx"))
    cases[ckpt] = "not an export of web/export.py"
    for ckpt, why in cases.items():
        with pytest.raises(BackendError, match=why) as e:
            Completer(ckpt)
        assert os.path.join(ckpt, "model.onnx") in str(e.value) and "make export" in str(e.value)


def test_export_writes_a_checked_runtime_file(tiny_ckpt, tmp_path):
    """`make export` (web/export.py --runtime) on a checkpoint: the backend runs what it wrote."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("web_export", os.path.join(ROOT, "web/export.py"))
    export = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(export)
    ckpt = copy_ckpt(tiny_ckpt, tmp_path / "ckpt")
    path = export.write_runtime(ckpt)
    assert path == os.path.join(ckpt, "model.onnx") and not os.path.exists(path + ".new")
    import onnx

    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert export_metadata(ckpt).items() <= meta.items()
    by = {b: Completer(ckpt, backend=b, ngram=None, max_tokens=6) for b in ("torch", "onnx")}
    for prefix in ("SELECT ", "SELECT na", "INSERT INTO orders (", "SELECT * FROM t WHERE a = 'x"):
        out = []
        for c in by.values():
            c.set_schema(SCHEMA)
            out.append(c.complete(prefix))
        assert out[0] == out[1], (prefix, out)


# ---------------------------------------------------------------- the language server


def test_language_server_falls_back_to_the_ngram_and_warns_once(tiny_ckpt, tmp_path):
    from sqlcomplete.completion.ngram import DEFAULT_MODEL

    if not os.path.isfile(DEFAULT_MODEL):
        pytest.skip("no shipped n-gram")
    from test_lsp import Session

    ckpt = copy_ckpt(tiny_ckpt, tmp_path / "ckpt")
    with open(os.path.join(ckpt, "model.onnx"), "wb") as f:
        f.write(b"truncated")
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "schema.sql").write_text(SCHEMA)
    s = Session(["--ckpt", ckpt, "--poll-s", "0"], tmp_path / "ws")
    try:
        uri = s.open(tmp_path / "ws" / "q.sql", "SELECT name FROM ")
        s.wait_for(lambda: s.command("sqlcomplete.schema", uri)["model"].startswith("failed"), 60)
        for _ in range(3):
            r = s.complete(uri, 0, 17)
            assert r.items and all(i.detail.startswith("n-gram") for i in r.items), r
        s.wait_for(lambda: any("n-gram answers alone" in m for m in s.logs))
        warned = [m for m in s.logs if "n-gram answers alone" in m]
        assert len(warned) == 1 and "model.onnx" in warned[0] and "make export" in warned[0]
    finally:
        s.close()
