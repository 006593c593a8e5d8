"""The batch contract (`sqlcomplete --batch`, EVAL.md): one line out per line in, only JSON out,
the same readable error for text that is not valid Unicode in any field, and --strict's status."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCHEMA

from sqlcomplete.cli import run_batch
from sqlcomplete.completion.engine import Completer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def completer(tiny_ckpt):
    return Completer(tiny_ckpt, max_tokens=4, ngram=None)


def strict_json(line: str):
    """JSON as the standard has it: no NaN, no Infinity (Python's json reads and writes both)."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


def batch(completer, tmp_path: Path, data: bytes) -> tuple[list[dict], dict]:
    (tmp_path / "in.jsonl").write_bytes(data)
    stats = run_batch(completer, str(tmp_path / "in.jsonl"), str(tmp_path / "out.jsonl"), 3)
    return [strict_json(line) for line in open(tmp_path / "out.jsonl")], stats


def test_a_lone_surrogate_in_any_text_field_is_the_same_readable_error(completer, tmp_path):
    pad = "x" * 1234
    requests = [
        {"id": "s", "schema": pad + "\ud800", "prefix": "SELECT "},
        {"id": "p", "schema": SCHEMA, "prefix": pad + "\udc00"},
        {"id": "x", "schema": SCHEMA, "prefix": "SELECT ", "suffix": pad + "\ud83d FROM"},
        {"id": "ok", "schema": SCHEMA, "prefix": "SELECT '\ud83d\ude00', "},  # a pair: one emoji
    ]
    data = b"".join(json.dumps(r).encode() + b"\n" for r in requests)  # as \ud800 escapes
    out, stats = batch(completer, tmp_path, data)
    assert [o["id"] for o in out] == ["s", "p", "x", "ok"] and stats["errors"] == 3
    for o, field in zip(out, ("schema", "prefix", "suffix")):
        assert o["error"] == f"{field}: invalid Unicode (lone surrogate) at character 1234"
        assert o["completions"] == []
    assert "error" not in out[3]


def test_one_line_out_per_line_in_and_only_json_out(completer, tmp_path):
    good = json.dumps({"id": "a", "schema": SCHEMA, "prefix": "SELECT * FROM "}).encode()
    lines = [
        good,
        b"",  # blank
        b"   \r",  # blank too
        b'{"id": 1e400, "prefix": "SELECT "}',  # no float holds it: echoed it would be Infinity
        b'{"id": -1e400, "prefix": "SELECT "}',
        b'{"id": NaN, "prefix": "SELECT "}',  # Python's json reads NaN; JSON has none
        b'{"id": 12345678901234567890123, "prefix": "SELECT "}',  # an int: echoed exactly
        good,
    ]
    out, stats = batch(completer, tmp_path, b"\n".join(lines) + b"\n")
    assert len(out) == len(lines) == stats["requests"] and stats["errors"] == 5
    big = 12345678901234567890123
    assert [o["id"] for o in out] == ["a", None, None, None, None, None, big, "a"]
    assert "blank" in out[1]["error"] and "blank" in out[2]["error"]
    assert "out of range" in out[3]["error"] and "out of range" in out[4]["error"]
    assert "NaN" in out[5]["error"]
    assert all(o["completions"] == [] for o in out if "error" in o)
    assert not any("error" in o for o in (out[0], out[6], out[7]))
    assert "Infinity" not in (tmp_path / "out.jsonl").read_text()


def test_strict_exits_1_when_any_line_had_an_error(tiny_ckpt, tmp_path):
    good = json.dumps({"id": "a", "schema": SCHEMA, "prefix": "SELECT "})
    (tmp_path / "mixed.jsonl").write_text(good + "\n{not json\n")
    (tmp_path / "good.jsonl").write_text(good + "\n")

    def run(name: str, *flags: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sqlcomplete.cli", "--ckpt", tiny_ckpt, "--max-tokens", "4"]
            + ["--batch", str(tmp_path / name), "--out", str(tmp_path / "out.jsonl"), *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = run("mixed.jsonl")
    assert r.returncode == 0, r.stderr  # the default: the contract says the rest go on
    r = run("mixed.jsonl", "--strict")
    assert r.returncode == 1 and "--strict: 1 of 2 lines had an error" in r.stderr, r.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 2  # still all answered
    r = run("good.jsonl", "--strict")
    assert r.returncode == 0, r.stderr
