"""web/: the ONNX export against PyTorch, the JS tokenizer and completer against Python, the page in Chromium.

The node and browser tests skip with a reason when node, web/node_modules (`cd web && npm ci`)
or /usr/bin/chromium are missing; `.ci/run` installs all three.
"""
import importlib.util
import json
import os
import random
import shutil
import subprocess

import pytest

from conftest import SCHEMA, STATEMENTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(ROOT, "web")
DEV_SEED = os.path.join(ROOT, "..", "shared", "seed_corpus", "dev_seed.jsonl")
CHROMIUM = "/usr/bin/chromium"
TRICKY = [
    "", " ", "  two  spaces  ", "\t\ttabs\n\nnewlines\r\n", "é", "e\u0301", "Ångström ß ﬁ", "中文字符 テーブル",
    "😀👍🏽👨‍👩‍👧 🇫🇷", "\u00a0nbsp\u200bzwsp\ufeffbom\u2028", "x\x00y\x7f", "'it''s' \"Q\" `b`",
    "0123456789 3.14 -1e10", "### TABLEDATA", "### STATEMENT", "###  STATEMENT", "#### TABLEDATA###STATEMENT",
    "### STATEMENT\n\nSELECT", "▁literal▁underline", "\ud7ff\ue000\uffff", "SELECT * FROM t WHERE name = 'Zoë';",
]


def load(name: str):
    """A module of web/ by path (web/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"web_{name}", os.path.join(WEB, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dev_rows(n: int = 400) -> list[dict]:
    """(schema, statement) pairs: the dev set when ../shared is here, else generated SQL."""
    if os.path.isfile(DEV_SEED):
        with open(DEV_SEED, encoding="utf-8") as f:
            return [json.loads(line) for line in f][:n]
    rng = random.Random(0)
    rows = []
    for i in range(n):
        s = rng.choice(STATEMENTS)
        for old in ("customers", "orders", "name", "total"):
            s = s.replace(old, f"{old}_{rng.randint(0, 99)}" if rng.random() < 0.3 else old)
        rows.append({"schema": SCHEMA, "statement": s})
    return rows


def need_node(*packages: str):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    for p in packages:
        if not os.path.isdir(os.path.join(WEB, "node_modules", p)):
            pytest.skip(f"web/node_modules/{p} missing: run `cd web && npm ci`")


def node(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(["node", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_web(tiny_ckpt, tmp_path_factory) -> str:
    """The tiny checkpoint exported (fp32 + int8), with the parity check of web/export.py."""
    out = str(tmp_path_factory.mktemp("tiny_web"))
    load("export").write_model_dir(tiny_ckpt, out, int8=True, check=True)
    return out


def test_export_parity_with_pytorch(tiny_web):
    import onnx
    with open(os.path.join(tiny_web, "config.json")) as f:
        cfg = json.load(f)
    # prefill, statement steps (B=1) and suggestion rows (B=3) over a shared prefix
    assert cfg["parity_max_abs"]["fp32"] <= 1e-4
    assert cfg["parity_max_abs"]["int8"] < 0.5  # quantization error on random weights; scored on the dev set
    assert cfg["sizes"]["int8"] < cfg["sizes"]["fp32"]
    graph = onnx.load(os.path.join(tiny_web, "model.onnx")).graph
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(graph.input) + list(graph.output)}
    assert dims["input_ids"] == ["batch", "seq"]
    assert dims["prefix.0.key"][0] == 1 and isinstance(dims["prefix.0.key"][2], str)
    assert dims["past.1.value"][0] == "batch" and isinstance(dims["past.1.value"][2], str)
    assert len([n for n in dims if n.startswith("present.")]) == 2 * cfg["n_layers"]


def token_cases(tok_path: str, path: str) -> int:
    """2,000 dev-set strings (schemas, statements, prompts, prefixes cut anywhere) + tricky Unicode."""
    import sentencepiece as spm
    from prepare import prompt_text
    sp = spm.SentencePieceProcessor(model_file=tok_path)
    rng = random.Random(0)
    texts = []
    for r in dev_rows(400):
        s = r["statement"]
        texts += [r["schema"], s, prompt_text(r["schema"]) + s, s[:rng.randint(0, len(s))], s[:rng.randint(0, len(s))]]
    texts += TRICKY
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            ids = sp.encode(t)
            f.write(json.dumps({"text": t, "ids": ids, "decoded": sp.decode(ids)}) + "\n")
    return len(texts)


@pytest.mark.parametrize("which", ["tiny", "shipped"])
def test_js_tokenizer_matches_sentencepiece(which, request, tmp_path):
    need_node()
    ckpt = request.getfixturevalue("tiny_ckpt" if which == "tiny" else "shipped_ckpt")
    tok_json = tmp_path / "tokenizer.json"
    tok_json.write_text(json.dumps(load("export").tokenizer_json(os.path.join(ckpt, "tok.model"))))
    n = token_cases(os.path.join(ckpt, "tok.model"), str(tmp_path / "cases.jsonl"))
    assert n >= 2000
    r = node("web/test/tokenizer_parity.mjs", str(tok_json), str(tmp_path / "cases.jsonl"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    summary = json.loads(r.stdout)
    assert summary["cases"] == n and summary["failures"] == 0


def test_js_completer_matches_sample_py(tiny_ckpt, tiny_web, tmp_path):
    """web/completer.js (what the page runs) gives sample.py's suggestions: cache reuse, token healing, trimming."""
    need_node("onnxruntime-web")
    from sample import Completer
    rng = random.Random(1)
    requests = [{"id": "empty", "schema": SCHEMA, "prefix": ""}, {"id": "bad"}]
    for i, s in enumerate(STATEMENTS):
        for j in range(3):
            requests.append({"id": f"{i}.{j}", "schema": SCHEMA, "prefix": s[:rng.randint(1, len(s) - 1)]})
    requests.append({"id": "suffix", "schema": SCHEMA, "prefix": "SELECT na", "suffix": " FROM customers;"})
    requests.append({"id": "other-schema", "schema": "CREATE TABLE t (a INT);", "prefix": "SELECT a FR"})
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    r = node("web/batch.mjs", "--batch", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out.jsonl"),
             "--model", tiny_web, "--variant", "fp32")
    assert r.returncode == 0, r.stderr[-3000:]
    got = {o["id"]: o for o in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert got["bad"]["completions"] == [] and "error" in got["bad"]
    c = Completer(tiny_ckpt, threads=1, ngram=None)  # the page runs the model alone
    same = 0
    for req in requests[:1] + requests[2:]:
        c.set_schema(req["schema"])
        want = c.complete(req["prefix"], req.get("suffix", ""), 5)
        assert got[req["id"]]["completions"][:1] == want[:1], req
        same += got[req["id"]]["completions"] == want
    assert same >= 0.9 * (len(requests) - 1)  # lower ranks may differ on a float near-tie


def page_model(tiny_web, tmp_path_factory) -> tuple[str, bool]:
    """The shipped model for the page when there is one (web/model/ when it is current), else the tiny one."""
    shipped = os.path.join(ROOT, "models", "default")
    if not os.path.isfile(os.path.join(shipped, "model.safetensors")):
        return tiny_web, False
    export = load("export")
    try:
        with open(os.path.join(WEB, "model", "config.json")) as f:
            if json.load(f).get("source_sha256") == export.source_hash(shipped):
                return os.path.join(WEB, "model"), True
    except (OSError, ValueError):
        pass
    out = str(tmp_path_factory.mktemp("shipped_web"))
    export.write_model_dir(shipped, out, int8=True, check=False)  # parity is checked on the tiny model
    return out, True


def test_page_in_headless_chromium(tiny_web, tmp_path_factory, tmp_path):
    """Type a schema and `SELECT * FROM `; a suggestion within 2 s; Tab inserts it; 50 keystrokes' latency."""
    need_node("onnxruntime-web", "playwright-core")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no {CHROMIUM}: `apt-get install chromium` (.ci/run does) to run the browser test")
    model_dir, shipped = page_model(tiny_web, tmp_path_factory)
    row = next((r for r in dev_rows() if r["statement"].upper().startswith("SELECT") and len(r["statement"]) >= 50),
               {"schema": SCHEMA, "statement": STATEMENTS[1]})
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"schema": row["schema"], "statement": row["statement"]}))
    shot = os.environ.get("WEB_SCREENSHOT") or str(tmp_path / "page.png")
    server = load("serve").start(0, model_dir=model_dir)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        args = ["web/test/browser.mjs", "--url", url, "--case", str(case), "--screenshot", shot]
        r = node(*args, *(["--expect-table"] if shipped else []), timeout=150)
    finally:
        server.shutdown()
        server.server_close()
    report = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else {"error": r.stderr[-3000:]}
    print(json.dumps({"model": "shipped" if shipped else "tiny", **report}, indent=1))
    assert report.get("ok"), report
    assert report["first_suggestion_ms"] <= 2000
    assert report["tab_inserted"]
    if shipped:
        assert report["names_table"], report["shown"]
    assert os.path.isfile(shot)
