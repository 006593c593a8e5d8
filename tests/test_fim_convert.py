"""fim/prompt.py and fim/csv_to_fim.py: exact prompt text, every option, rejects accounting,
formats, streaming."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from fim.csv_to_fim import convert, main, parse_input, percentiles
from sqlcomplete.fim.bpe import BYTE_TO_CHAR, QWEN2_PATTERN, BPETokenizer
from sqlcomplete.fim.prompt import (
    PromptTooLong,
    build_prompt,
    fit_prompt,
    load_template,
    parse_template,
)

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
SYSTEM = (
    "You are an SQL autocompletion engine inside a code editor. "
    "The user message holds context: the database schema, earlier queries and the open file. "
    "Then comes the SQL before the cursor (the prefix) and the SQL after the cursor "
    "(the suffix), in fill-in-the-middle form.\n"
    "Write only the text to insert at the cursor, "
    "so that prefix + insertion + suffix reads as correct SQL for this schema. "
    "Use only tables and columns that exist in the schema. "
    "Do not repeat the prefix or the suffix, do not explain, do not use Markdown. "
    "If nothing should be inserted, write nothing."
)


def tokenizer_spec(specials=SPECIALS) -> dict:
    """A Qwen-shaped byte-level tokenizer.json with no merges: one token per UTF-8 byte, so counts
    are easy to check."""
    vocab = {c: i for i, c in enumerate(BYTE_TO_CHAR.values())}
    added = [
        {
            "id": 256 + i,
            "content": s,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, s in enumerate(specials)
    ]
    return {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": QWEN2_PATTERN},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": False,
                    "trim_offsets": False,
                    "use_regex": False,
                },
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab, "merges": []},
    }


def n_tokens(text: str) -> int:
    """Token count under tokenizer_spec(): special tokens count 1, everything else 1 per byte."""
    n = 0
    for s in SPECIALS:
        n += text.count(s)
        text = text.replace(s, "")
    return n + len(text.encode())


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    path.write_text(json.dumps(tokenizer_spec()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tok(tok_path) -> BPETokenizer:
    return BPETokenizer.from_file(tok_path)


def make_input(context: dict | None, sql: str, raw_context: str | None = None) -> str:
    parts = []
    if context is not None or raw_context is not None:
        parts.append(
            {
                "type": "text",
                "text": raw_context if raw_context is not None else json.dumps(context),
            }
        )
    parts.append({"type": "text", "text": sql})
    return json.dumps(parts)


CONTEXT = {
    "sql_history": ["SELECT 1;", "SELECT count(*) FROM users;"],
    "ddl_context": "CREATE TABLE users (id INT, email TEXT);",
    "recent_queries": [],
    "file_content": "-- users report\n",
    "editor": "vscode",
}


# ---- prompt text


def test_golden_prompt():
    got = build_prompt(CONTEXT, "SELECT email FROM users WHERE ", ";")
    expected = (
        "<|im_start|>system\n" + SYSTEM + "<|im_end|>\n"
        "<|im_start|>user\n"
        "Query history, oldest first:\nSELECT 1;\nSELECT count(*) FROM users;\n\n"
        "Database schema:\nCREATE TABLE users (id INT, email TEXT);\n\n"
        "editor:\nvscode\n\n"
        "Current file:\n-- users report<|im_end|>\n"
        "<|im_start|>assistant\n"
        "<|fim_prefix|>SELECT email FROM users WHERE <|fim_suffix|>;<|fim_middle|>"
    )
    assert got == expected


# The original pipeline's documented example row
# (ArcticTraining projects/sql_auto_complete/README.md)
ORIGINAL_INPUT = (
    '[{"type": "text", "text": "{\\"sql_history\\": \\"SELECT * FROM users;\\", '
    '\\"ddl_context\\": \\"CREATE TABLE orders...\\"}"}, '
    '{"type": "text", "text": "SELECT * FROM <fillMe> WHERE id = 1"}]'
)
ORIGINAL_PROMPT = (
    "<|im_start|>system\n" + SYSTEM + "<|im_end|>\n"
    "<|im_start|>user\n"
    "Query history, oldest first:\nSELECT * FROM users;\n\n"
    "Database schema:\nCREATE TABLE orders...<|im_end|>\n"
    "<|im_start|>assistant\n"
    "<|fim_prefix|>SELECT * FROM <|fim_suffix|> WHERE id = 1<|fim_middle|>"
)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv"])
def test_golden_original_example_row(tmp_path, tok_path, fmt):
    # SQL history before the DDL, the original's order. No line break before <|im_end|>: the
    # original builds apply_chat_template([system, user], add_generation_prompt=True) + the
    # assistant section, and Qwen3's template writes
    # '<|im_start|>' + role + '\\n' + content + '<|im_end|>\\n' (its README's drawing has one)
    src = tmp_path / f"rows.{fmt}"
    table = pa.table(
        {"TYPE": ["fillMe_general_identifier"], "INPUT": [ORIGINAL_INPUT], "OUTPUT": ["orders"]}
    )
    if fmt == "jsonl":
        src.write_text(json.dumps(table.to_pylist()[0]) + "\n", encoding="utf-8")
    elif fmt == "parquet":
        pq.write_table(table, src)
    else:
        pacsv.write_csv(table, src)
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                str(src),
                "-o",
                str(out),
                "--tokenizer",
                str(tok_path),
                "--format",
                "jsonl",
                "--no-progress",
            ]
        )
        == 0
    )
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == [{"prompt": ORIGINAL_PROMPT, "response": "orders"}]


def test_prompt_shape_and_empty_context():
    got = build_prompt({"sql_history": "  \n", "ddl_context": None, "recent_queries": [""]}, "", "")
    assert got == (
        "<|im_start|>system\n" + SYSTEM + "<|im_end|>\n<|im_start|>user\n"
        "No schema or history is available.<|im_end|>\n<|im_start|>assistant\n"
        "<|fim_prefix|><|fim_suffix|><|fim_middle|>"
    )
    assert build_prompt(None, "a", "b") == build_prompt({}, "a", "b")


def test_unknown_keys_kept_in_order_and_values_rendered():
    ctx = {
        "zeta": "z",
        "file_content": "f",
        "alpha": {"k": [1, "é"]},
        "sql_history": "q1\nq2",
        "beta": 3,
    }
    user = build_prompt(ctx, "", "").split("<|im_start|>user\n")[1].split("<|im_end|>")[0]
    assert user == (
        'Query history, oldest first:\nq1\nq2\n\nzeta:\nz\n\nalpha:\n{"k": [1, "é"]}\n\n'
        "beta:\n3\n\nCurrent file:\nf"
    )


def test_crlf_becomes_lf_everywhere():
    p = build_prompt(
        {"ddl_context": "CREATE TABLE t (\r\n a INT\r\n);", "sql_history": ["x\ry"]},
        "SELECT\r\n  a",
        "\r\nFROM t",
    )
    assert "\r" not in p
    assert (
        "CREATE TABLE t (\n a INT\n);" in p
        and "x\ny" in p
        and "SELECT\n  a<|fim_suffix|>\nFROM t" in p
    )


def test_braces_and_placeholders_in_text_are_literal():
    p = build_prompt({"ddl_context": "{value} {context}"}, "SELECT '{suffix}'", "{prefix}")
    assert (
        "{value} {context}" in p
        and "<|fim_prefix|>SELECT '{suffix}'<|fim_suffix|>{prefix}<|fim_middle|>" in p
    )


def test_custom_template(tmp_path):
    path = tmp_path / "t.tmpl"
    path.write_text(
        "# comment\n=== system ===\nS\n=== user ===\n[{context}]\n"
        "=== field ddl_context ===\nD={value}\n"
        "=== assistant ===\n<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>\n",
        encoding="utf-8",
    )
    p = build_prompt(
        {"ddl_context": "x", "other": "dropped: no field * section"}, "a", "b", template=path
    )
    assert p == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n[D=x]<|im_end|>\n<|im_start|>assistant\n"
        "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"
    )
    with pytest.raises(ValueError, match="assistant"):
        parse_template("=== system ===\nS\n=== user ===\n{context}\n")
    with pytest.raises(ValueError, match="control token"):
        parse_template(
            "=== system ===\nuse <|im_end|>\n=== user ===\n{context}\n"
            "=== assistant ===\n{prefix}{suffix}"
        )
    with pytest.raises(ValueError, match="exactly once"):
        parse_template(
            "=== system ===\nS\n=== user ===\nno placeholder\n=== assistant ===\n{prefix}{suffix}"
        )
    assert load_template() is load_template()  # parsed once


# ---- truncation


def test_max_length_drops_oldest_history_first(tok):
    ctx = {
        "ddl_context": "CREATE TABLE t (a INT);",
        "sql_history": [f"SELECT {i} FROM t;" for i in range(40)],
        "recent_queries": ["SELECT a FROM t;"],
        "file_content": "-- f",
    }
    full, n_full, dropped = fit_prompt(ctx, "SELECT ", " FROM t", tokenizer=tok, max_length=10_000)
    assert dropped == 0 and n_full == n_tokens(full) == len(tok.encode(full))
    budget = n_full - 100
    p, n, dropped = fit_prompt(ctx, "SELECT ", " FROM t", tokenizer=tok, max_length=budget)
    assert n == n_tokens(p) <= budget and dropped > 0
    assert "SELECT 0 FROM t;" not in p and "SELECT 39 FROM t;" in p  # oldest history went first
    assert "CREATE TABLE t (a INT);" in p and "-- f" in p and "SELECT a FROM t;" in p
    assert p.endswith("<|fim_prefix|>SELECT <|fim_suffix|> FROM t<|fim_middle|>")
    # the fewest drops: keeping the last dropped item too would not fit
    item = f"SELECT {dropped - 1} FROM t;\n"
    assert f"SELECT {dropped} FROM t;" in p and item.strip() not in p
    assert n + len(item.encode()) > budget


def test_max_length_keeps_text_around_cursor(tok):
    prefix = "".join(f"-- prefix line {i}\n" for i in range(200)) + "SELECT a, "
    suffix = "\nFROM t\n" + "".join(f"-- suffix line {i}\n" for i in range(200))
    ctx = {"ddl_context": "CREATE TABLE t (a INT, b INT);"}
    p, n, _ = fit_prompt(ctx, prefix, suffix, tokenizer=tok, max_length=1500)
    assert n <= 1500
    assert "Database schema" not in p  # all context goes before any SQL
    head, rest = p.split("<|fim_prefix|>")
    kept_prefix, kept_suffix = rest.removesuffix("<|fim_middle|>").split("<|fim_suffix|>")
    assert prefix.endswith(kept_prefix) and suffix.startswith(kept_suffix)
    assert kept_prefix.endswith("-- prefix line 199\nSELECT a, ") and kept_suffix.startswith(
        "\nFROM t\n"
    )
    assert len(kept_prefix) > 2 * len(kept_suffix)  # about 3/4 of the kept SQL is prefix
    # one long line is cut in 256-character chunks; the chunk at the cursor stays
    p, n, _ = fit_prompt(ctx, "x" * 2000, "y" * 2000, tokenizer=tok, max_length=1500)
    assert n <= 1500 and "x" * 256 + "<|fim_suffix|>" + "y" * 256 in p
    with pytest.raises(PromptTooLong):  # not even the system prompt fits
        fit_prompt(ctx, "a", "b", tokenizer=tok, max_length=300)
    with pytest.raises(ValueError):
        fit_prompt(ctx, "a", "b", max_length=10)  # no tokenizer


# ---- INPUT parsing


@pytest.mark.parametrize(
    "inp,reason",
    [
        ("not json", "input_not_json"),
        ('{"type": "text"}', "bad_parts"),
        ('[{"type": "image", "url": "x"}]', "bad_parts"),
        (make_input(CONTEXT, "SELECT 1"), "no_fillme"),
        (make_input(CONTEXT, "SELECT <fillMe> FROM <fillMe>"), "multiple_fillme"),
        (json.dumps([{"type": "text", "text": json.dumps(CONTEXT)}]), "no_sql_part"),
        (make_input(None, "SELECT 1", raw_context='{"sql_history": '), "bad_context"),
        (make_input(None, "SELECT <fillMe>", raw_context='["a list"]'), "extra_part"),
        (
            json.dumps(
                [
                    {"type": "text", "text": "{}"},
                    {"type": "text", "text": "{}"},
                    {"type": "text", "text": "<fillMe>"},
                ]
            ),
            "multiple_context",
        ),
        (
            json.dumps(
                [{"type": "text", "text": "note"}, {"type": "text", "text": "SELECT <fillMe>"}]
            ),
            "extra_part",
        ),
    ],
)
def test_parse_input_rejects(inp, reason):
    from fim.csv_to_fim import BadRow

    with pytest.raises(BadRow) as e:
        parse_input(inp)
    assert e.value.reason == reason


def test_parse_input_ok():
    ctx, pre, suf = parse_input(make_input(CONTEXT, "SELECT <fillMe> FROM t"))
    assert ctx == CONTEXT and (pre, suf) == ("SELECT ", " FROM t")
    # SQL first, context second, no context at all, SQL starting with "{"
    assert parse_input(
        json.dumps([{"type": "text", "text": "<fillMe>x"}, {"type": "text", "text": "{}"}])
    ) == ({}, "", "x")
    assert parse_input(make_input(None, "SELECT <fillMe>")) == ({}, "SELECT ", "")
    assert parse_input(make_input(None, "{fn NOW()} <fillMe>")) == ({}, "{fn NOW()} ", "")


# ---- conversion


def _good_rows(n: int) -> list[dict]:
    return [
        {"INPUT": make_input(CONTEXT, f"SELECT c{i} FROM t WHERE <fillMe>;"), "OUTPUT": f"id = {i}"}
        for i in range(n)
    ]


def _read_out(path: Path, fmt: str) -> list[dict]:
    if fmt == "parquet":  # the original's layout: OUT/data.parquet
        assert sorted(p.name for p in path.iterdir()) == ["data.parquet"]
        return pq.read_table(path / "data.parquet").to_pylist()
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows = []
    for name in json.loads((path / "state.json").read_text())["_data_files"]:
        with pa.ipc.open_stream(path / name["filename"]) as r:
            rows += r.read_all().to_pylist()
    return rows


def _write_input(rows: list[dict], path: Path) -> Path:
    if path.suffix == ".csv":
        pacsv.write_csv(pa.Table.from_pylist(rows), path)
    elif path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("src", [".csv", ".parquet", ".jsonl"])
@pytest.mark.parametrize("fmt", ["disk", "parquet", "jsonl"])
def test_formats_round_trip(tmp_path, tok, src, fmt):
    rows = _good_rows(30) + [
        {"INPUT": make_input({"ddl_context": "CREATE TABLE é (x INT);"}, "<fillMe>"), "OUTPUT": ""}
    ]
    inp = _write_input(rows, tmp_path / f"rows{src}")
    stats = convert(inp, None, tokenizer=tok, fmt=fmt)
    out = tmp_path / ("rows_hf_fim_dataset" + (".jsonl" if fmt == "jsonl" else ""))
    assert out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    got = _read_out(out, fmt)
    assert stats.read == stats.written == len(got) == 31
    for row, g in zip(rows, got):
        ctx, pre, suf = parse_input(row["INPUT"])
        assert g == {"prompt": build_prompt(ctx, pre, suf), "response": row["OUTPUT"]}
    assert got[-1]["response"] == ""  # empty OUTPUT kept by default
    assert sum(stats.prompt_tokens.values()) == 31
    assert max(stats.prompt_tokens) == max(n_tokens(g["prompt"]) for g in got)


def test_disk_format_layout(tmp_path):
    out = tmp_path / "ds"
    convert(_write_input(_good_rows(5), tmp_path / "r.parquet"), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "data-00000-of-00001.arrow",
        "dataset_info.json",
        "state.json",
    ]
    state = json.loads((out / "state.json").read_text())
    assert state["_data_files"] == [{"filename": "data-00000-of-00001.arrow"}]
    assert list(state) == sorted(state) and len(state["_fingerprint"]) == 16
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["features"] == {
        "prompt": {"dtype": "string", "_type": "Value"},
        "response": {"dtype": "string", "_type": "Value"},
    }
    with pa.ipc.open_stream(
        out / "data-00000-of-00001.arrow"
    ) as r:  # a stream, not the Arrow file format
        assert b"huggingface" in r.schema.metadata


def test_load_from_disk_and_same_layout_as_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "ours"
    stats = convert(
        _write_input(_good_rows(50), tmp_path / "r.csv"), out, shard_bytes=4000, batch_rows=8
    )
    ds = datasets.load_from_disk(str(out))
    assert len(ds) == stats.written == 50 and ds.column_names == ["prompt", "response"]
    assert (
        ds[7]["response"] == "id = 7" and ds[49]["response"] == "id = 49"
    )  # order kept across shards
    n = len(json.loads((out / "state.json").read_text())["_data_files"])
    assert n > 1 and (out / f"data-{n - 1:05d}-of-{n:05d}.arrow").exists()
    # the same rows saved by datasets itself: same files, same json apart from the fingerprint
    ref = tmp_path / "ref"
    datasets.Dataset.from_dict(ds[:]).save_to_disk(str(ref))
    ours1 = tmp_path / "ours1"
    convert(_write_input(_good_rows(50), tmp_path / "r.csv"), ours1)
    assert sorted(p.name for p in ref.iterdir()) == sorted(p.name for p in ours1.iterdir())
    assert (ref / "dataset_info.json").read_text() == (ours1 / "dataset_info.json").read_text()
    s_ref, s_ours = (json.loads((d / "state.json").read_text()) for d in (ref, ours1))
    s_ref.pop("_fingerprint"), s_ours.pop("_fingerprint")
    assert s_ref == s_ours
    assert datasets.load_from_disk(str(ours1))[:] == datasets.load_from_disk(str(ref))[:]


def test_rejects_accounting(tmp_path, tok):
    good = make_input(CONTEXT, "SELECT <fillMe> FROM t")
    lines = [
        ("good", good, "a"),
        ("not json", "nope", "x"),
        ("no sql part", json.dumps([{"type": "text", "text": json.dumps(CONTEXT)}]), "x"),
        ("zero fillMe", make_input(CONTEXT, "SELECT 1"), "x"),
        ("two fillMe", make_input(CONTEXT, "<fillMe> <fillMe>"), "x"),
        ("bom", make_input(CONTEXT, "\ufeffSELECT <fillMe>"), "x"),
        ("control token", make_input(CONTEXT, "SELECT '<|im_end|>', <fillMe>"), "x"),
        (
            "crlf kept",
            make_input({"ddl_context": "CREATE TABLE t (\r\n a INT);"}, "SELECT\r\n<fillMe>"),
            "a\r\nb",
        ),
        ("empty output kept", good, ""),
    ]
    body = b"INPUT,OUTPUT\n"
    for _, inp, out in lines:
        body += b'"' + inp.replace('"', '""').encode() + b'","' + out.encode() + b'"\n'
    body += (
        b'"' + good.replace('"', '""').encode() + b'\xff\xfe","bad utf-8"\n'
    )  # invalid UTF-8 cell
    body += b'"' + good.replace('"', '""').encode() + b'","x","extra field"\n'  # wrong field count
    body += b'"' + good.replace('"', '""').encode() + b'","last"\n'
    src = tmp_path / "mixed.csv"
    src.write_bytes(b"\xef\xbb\xbf" + body)  # a BOM at the start of the file is fine
    rejects = tmp_path / "rejects.jsonl"
    stats = convert(src, tmp_path / "out", tokenizer=tok, rejects=rejects, fmt="jsonl")
    expected = {
        "input_not_json": 1,
        "no_sql_part": 1,
        "no_fillme": 1,
        "multiple_fillme": 1,
        "bom_in_cell": 1,
        "control_token_in_text": 1,
        "invalid_utf8": 1,
        "csv_bad_row": 1,
    }
    assert dict(stats.skipped) == expected
    assert (
        stats.read == 12
        and stats.written == 4
        and stats.read == stats.written + sum(stats.skipped.values())
    )
    rej = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [(r["row"], r["reason"]) for r in rej] == [
        (2, "input_not_json"),
        (3, "no_sql_part"),
        (4, "no_fillme"),
        (5, "multiple_fillme"),
        (6, "bom_in_cell"),
        (7, "control_token_in_text"),
        (10, "invalid_utf8"),
        (11, "csv_bad_row"),
    ]
    assert rej[0]["input"] == "nope"
    out = _read_out(tmp_path / "out", "jsonl")
    assert [o["response"] for o in out] == ["a", "a\nb", "", "last"]
    assert "\r" not in out[1]["prompt"] and stats.newlines_fixed == 1


def test_non_string_and_missing_output(tmp_path, tok):
    good = make_input(CONTEXT, "SELECT <fillMe>")
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + "\n".join(
            json.dumps(r)
            for r in [
                {"INPUT": good, "OUTPUT": "ok"},
                {"INPUT": good, "OUTPUT": 42},
                {"INPUT": good},
                {"INPUT": good, "OUTPUT": None},
                {"INPUT": 7, "OUTPUT": "x"},
                {"OUTPUT": "x"},
                [1, 2],
            ]
        ).encode()
        + b"\n\n{broken\n"
        + b'{"INPUT": "\xff", "OUTPUT": ""}\n'
    )
    rejects = tmp_path / "rej.jsonl"
    stats = convert(path, tmp_path / "o.jsonl", tokenizer=tok, fmt="jsonl", rejects=rejects)
    assert dict(stats.skipped) == {
        "output_not_string": 1,
        "input_not_string": 1,
        "missing_input": 1,
        "bad_json_line": 2,
        "invalid_utf8": 1,
    }
    assert stats.read == 9 and stats.written == 3  # the blank line is no record
    assert [json.loads(line)["row"] for line in rejects.read_text().splitlines()] == [
        2,
        5,
        6,
        7,
        8,
        9,
    ]
    # Parquet: a float column of NaN is empty OUTPUT; an int column is not a string
    t = pa.table({"INPUT": [good, good], "OUTPUT": [float("nan"), None]})
    pq.write_table(t, tmp_path / "nan.parquet")
    stats = convert(tmp_path / "nan.parquet", tmp_path / "nan.jsonl", fmt="jsonl")
    assert stats.written == 2 and [
        r["response"] for r in _read_out(tmp_path / "nan.jsonl", "jsonl")
    ] == ["", ""]
    pq.write_table(
        pa.table({"input": [good], "Output": [3]}), tmp_path / "int.parquet"
    )  # case-insensitive names
    assert dict(convert(tmp_path / "int.parquet", tmp_path / "int.jsonl", fmt="jsonl").skipped) == {
        "output_not_string": 1
    }


def test_skip_options_limit_and_max_length(tmp_path, tok):
    rows = _good_rows(10)
    rows[2]["OUTPUT"] = ""
    rows[5]["INPUT"] = make_input(CONTEXT, "<fillMe> FROM t")
    rows[7]["OUTPUT"] = "x" * 5000
    src = _write_input(rows, tmp_path / "r.parquet")
    s = convert(src, tmp_path / "a", tokenizer=tok, skip_empty_output=True)
    assert dict(s.skipped) == {"empty_output": 1} and s.written == 9
    s = convert(src, tmp_path / "b", tokenizer=tok, skip_empty_prefix=True)
    assert dict(s.skipped) == {"empty_prefix": 1}
    s = convert(
        src, tmp_path / "c", tokenizer=tok, limit=4, skip_empty_output=True, skip_empty_prefix=True
    )
    assert s.read == 4 and s.written == 3
    full = build_prompt(*parse_input(rows[0]["INPUT"]))
    max_length = n_tokens(full) + len("id = 0") - 20  # forces trimming of the history
    s = convert(src, tmp_path / "d.jsonl", tokenizer=tok, fmt="jsonl", max_length=max_length)
    assert dict(s.skipped) == {"too_long": 1} and s.truncated == 9
    for r in _read_out(tmp_path / "d.jsonl", "jsonl"):
        assert n_tokens(r["prompt"]) + n_tokens(r["response"]) <= max_length
        assert "SELECT 1;" not in r["prompt"] and "CREATE TABLE users" in r["prompt"]
    assert (
        max(s.prompt_tokens) + max(s.response_tokens) <= max_length + 2
    )  # per-row sums are checked above
    assert percentiles(s.response_tokens) == [6, 6, 6]


def test_atomic_write_keeps_old_output(tmp_path, monkeypatch):
    import fim.csv_to_fim as m

    src = _write_input(_good_rows(20), tmp_path / "r.parquet")
    out = tmp_path / "out"
    convert(src, out)
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())
    calls = {"n": 0}
    real = m.convert_row

    def flaky(*a):
        calls["n"] += 1
        if calls["n"] == 15:
            raise RuntimeError("disk on fire")
        return real(*a)

    monkeypatch.setattr(m, "convert_row", flaky)
    with pytest.raises(RuntimeError):
        convert(src, out, rejects=tmp_path / "rej.jsonl")
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out",
        "r.parquet",
    ]  # no temp files, no rejects


def test_cli(tmp_path, tok_path):
    src = _write_input(_good_rows(12), tmp_path / "r.csv")
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "fim/csv_to_fim.py"),
            str(src),
            "--tokenizer",
            str(tok_path.parent),
            "--format",
            "parquet",
            "--rejects",
            str(tmp_path / "rej.jsonl"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert (
        "read 12 rows: wrote 12, skipped 0" in res.stdout
        and "prompt tokens p50/p95/max" in res.stdout
    )
    assert pq.read_table(tmp_path / "r_hf_fim_dataset" / "data.parquet").num_rows == 12
    assert (tmp_path / "rej.jsonl").read_text() == ""
    # missing columns: a clear error listing what was found, no traceback
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt,completion\na,b\n")
    assert main([str(bad), "--tokenizer", str(tok_path)]) == 2
    res = subprocess.run(
        [sys.executable, str(ROOT / "fim/csv_to_fim.py"), str(bad), "--tokenizer", str(tok_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (
        "missing column(s) INPUT, OUTPUT" in res.stderr and "['prompt', 'completion']" in res.stderr
    )


def test_tokenizer_without_fim_tokens_fails_fast(tmp_path, capsys):
    path = tmp_path / "tokenizer.json"
    path.write_text(
        json.dumps(tokenizer_spec(specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"]))
    )
    src = _write_input(_good_rows(2), tmp_path / "r.csv")
    assert main([str(src), "--tokenizer", str(path)]) == 2
    err = capsys.readouterr().err
    assert "<|fim_prefix|> is not in the vocabulary" in err and "<|fim_middle|>" in err
    assert main([str(src), "--tokenizer", str(tmp_path / "nowhere")]) == 2
    assert "no tokenizer.json" in capsys.readouterr().err


def test_streaming_200k_rows_bounded_memory(tmp_path):
    """200k rows convert in bounded memory: peak RSS stops growing after the first batches."""
    src = tmp_path / "big.parquet"
    ctx = json.dumps(
        {
            "ddl_context": (
                "CREATE TABLE orders (id INT, user_id INT, total_cents BIGINT, status TEXT);\n" * 4
            ),
            "sql_history": ["SELECT status, count(*) FROM orders GROUP BY status;"] * 3,
        }
    )
    text_bytes = 0
    with pq.ParquetWriter(src, pa.schema([("INPUT", pa.string()), ("OUTPUT", pa.string())])) as w:
        for start in range(0, 200_000, 20_000):
            inputs = [
                json.dumps(
                    [
                        {"type": "text", "text": ctx},
                        {
                            "type": "text",
                            "text": f"SELECT * FROM orders WHERE id = {i} AND <fillMe>;",
                        },
                    ]
                )
                for i in range(start, start + 20_000)
            ]
            text_bytes += sum(map(len, inputs))
            w.write_table(
                pa.table(
                    {
                        "INPUT": inputs,
                        "OUTPUT": [f"user_id = {i}" for i in range(start, start + 20_000)],
                    }
                ),
                row_group_size=20_000,
            )
    # in a fresh process: peak RSS (VmHWM) after each written batch, relative to after the imports
    code = (
        "import fim.csv_to_fim as m\n"
        "def rss(field):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(field): return int(line.split()[1]) / 1024\n"
        "base, peaks, write = rss('VmRSS'), [], m.DiskWriter.write\n"
        "def tracked(self, batch):\n"
        "    write(self, batch)\n"
        "    peaks.append(rss('VmHWM') - base)\n"
        "m.DiskWriter.write = tracked\n"
        f"s = m.convert({str(src)!r}, {str(tmp_path / 'out')!r})\n"
        "print(s.read, s.written, round(peaks[len(peaks) // 4]), round(peaks[-1]))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    read, written, peak_quarter, peak_end = map(int, res.stdout.split())
    print(
        f"\n200k rows, {text_bytes / 1e6:.0f} MB of INPUT text: "
        f"peak RSS growth {peak_quarter} MB after 50k rows,"
        f" {peak_end} MB after 200k"
    )
    assert read == written == 200_000
    assert peak_end < 200  # batches, not the file: the prompts alone are ~280 MB
    assert peak_end - peak_quarter < 25  # flat: the last 150k rows add (almost) nothing


def test_jsonl_columns(tmp_path, tok):
    good = make_input(CONTEXT, "SELECT <fillMe>")
    path = tmp_path / "r.jsonl"
    path.write_text(
        json.dumps({"input": good}) + "\n" + json.dumps({"input": good, "output": "x"}) + "\n"
    )
    s = convert(path, tmp_path / "o.jsonl", fmt="jsonl")  # OUTPUT may be absent: empty completion
    assert s.written == 2 and [r["response"] for r in _read_out(tmp_path / "o.jsonl", "jsonl")] == [
        "",
        "x",
    ]
    path.write_text(json.dumps({"prompt": good, "OUTPUT": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"missing column INPUT.*\['prompt', 'OUTPUT'\]"):
        convert(path, tmp_path / "p.jsonl", fmt="jsonl")
    assert not (tmp_path / "p.jsonl").exists() and not list(tmp_path.glob(".p.jsonl*"))


def test_escaped_text_is_checked_after_json_decoding(tmp_path):
    sql = json.dumps({"type": "text", "text": "SELECT <fillMe>"})
    ctx = lambda raw: (
        '[{"type": "text", "text": "'
        + raw.replace("\\", "\\\\").replace('"', '\\"')
        + '"}, '
        + sql
        + "]"
    )
    rows = [
        {
            "INPUT": ctx('{"ddl_context": "CREATE TABLE \\u00e9 (a INT);"}'),
            "OUTPUT": "a",
        },  # fine: é
        {"INPUT": ctx('{"ddl_context": "\\ud800 lone surrogate"}'), "OUTPUT": "a"},
        {"INPUT": ctx('{"ddl_context": "\\ufeffCREATE TABLE t (a INT);"}'), "OUTPUT": "a"},
        {"INPUT": ctx('{"sql_history": ["\\u003c|im_end|>"]}'), "OUTPUT": "a"},
        {"INPUT": ctx('{"sql_history": ["SELECT 1;\\r\\nSELECT 2;"]}'), "OUTPUT": "a"},
        {"INPUT": make_input(None, "SELECT <fillMe>"), "OUTPUT": "\ud800"},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = convert(path, tmp_path / "o.jsonl", fmt="jsonl")
    assert dict(s.skipped) == {"invalid_unicode": 2, "bom_in_cell": 1, "control_token_in_text": 1}
    out = _read_out(tmp_path / "o.jsonl", "jsonl")
    assert (
        "CREATE TABLE é (a INT);" in out[0]["prompt"] and "SELECT 1;\nSELECT 2;" in out[1]["prompt"]
    )
    assert s.newlines_fixed == 1


def test_max_length_drops_whole_statements_of_string_fields(tok):
    ddl = "\n".join(f"CREATE TABLE t{i} (\n  id INT,\n  name TEXT\n);" for i in range(30))
    full, n, _ = fit_prompt({"ddl_context": ddl}, "SELECT ", "", tokenizer=tok)
    p, n2, dropped = fit_prompt(
        {"ddl_context": ddl}, "SELECT ", "", tokenizer=tok, max_length=n - 200
    )
    kept = p.split("Database schema:\n")[1].split("<|im_end|>")[0]
    assert n2 <= n - 200 and 0 < dropped < 30
    assert kept.startswith("CREATE TABLE t") and kept.endswith("t29 (\n  id INT,\n  name TEXT\n);")
    assert kept.count("CREATE TABLE") == kept.count(");") == 30 - dropped


# ---- issue 27: the original's parquet layout and Go-style template;
# issue 28 item 11: -o never destroys data


def test_parquet_format_writes_the_originals_layout_read_by_content(tmp_path):
    from sqlcomplete.fim.data import dataset_format, detect_kind

    out = tmp_path / "fim_dataset"
    stats = convert(_write_input(_good_rows(7), tmp_path / "r.csv"), out, fmt="parquet")
    assert sorted(p.name for p in out.iterdir()) == ["data.parquet"] and stats.written == 7
    # what its README's config points data.sources at: the folder, read by what it holds
    assert dataset_format(out) == "parquet_dir" and detect_kind(out) == "prompt_response"


def test_output_never_replaces_other_data(tmp_path, tok_path, capsys):
    (tmp_path / "data").mkdir()
    src = _write_input(_good_rows(3), tmp_path / "data" / "r.csv")
    (tmp_path / "data" / "notes.txt").write_text("keep me")
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    tok = ["--tokenizer", str(tok_path), "--no-progress"]
    cases = [
        (
            [str(src), "-o", str(tmp_path / "data")],
            "holds the input",
        ),  # the folder holding the input
        ([str(src), "-o", str(src), "--format", "jsonl"], "is the input file"),
        ([str(src), "-o", str(src)], "is the input file"),
    ]
    other = tmp_path / "other"
    other.mkdir()
    (other / "results.csv").write_text("a,b\n")
    cases.append(([str(src), "-o", str(other)], "folder holding other files (results.csv)"))
    (tmp_path / "a_file").write_text("x")
    cases.append(([str(src), "-o", str(tmp_path / "a_file"), "--format", "parquet"], "is a file"))
    cases.append(([str(src), "-o", str(other), "--format", "jsonl"], "is a folder"))
    for argv, words in cases:
        assert main(argv + tok) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before
    assert (tmp_path / "data" / "notes.txt").read_text() == "keep me"
    assert (other / "results.csv").read_text() == "a,b\n" and (
        tmp_path / "a_file"
    ).read_text() == "x"
    # what this tool wrote is replaced, in either layout; an empty folder is used
    out = tmp_path / "ds"
    for fmt in ("disk", "parquet", "disk"):
        assert main([str(src), "-o", str(out), "--format", fmt] + tok) == 0
    assert sorted(p.name for p in out.iterdir())[0] == "data-00000-of-00001.arrow"
    (tmp_path / "empty").mkdir()
    assert main([str(src), "-o", str(tmp_path / "empty")] + tok) == 0


def original_prompt(template: str, ctx: dict, prefix: str, suffix: str) -> str:
    """The original csv_to_hf_fim.py's build_fim_prompt, with Qwen3's chat template written out."""
    import re

    def section(name):
        return re.search(
            rf'\{{\{{define\s+"{name}"\}}\}}(.*?)\{{\{{end\}}\}}', template, re.DOTALL
        )[1].strip()

    user = section("user")
    for key in ("SQL_HISTORY", "DDL_CONTEXT", "LAST_FEW_EXECUTED", "FILE_CONTENT"):
        user = user.replace("{{." + key + "}}", ctx.get(key.lower()) or "")
    assistant = section("assistant").replace("{{.PREFIX}}", prefix).replace("{{.SUFFIX}}", suffix)
    return (
        f"<|im_start|>system\n{section('system')}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n"
        f"<|im_start|>assistant\n{assistant}"
    )


def test_the_originals_go_style_template_is_read(tmp_path, tok_path, capsys):
    tmpl = ROOT / "tests" / "data" / "fim_prompt.tmpl"  # snowflakedb/ArcticTraining's, as it is
    ctx = {"sql_history": "SELECT 1;", "ddl_context": "CREATE TABLE t (a INT);"}
    rows = [{"INPUT": make_input(ctx, "SELECT <fillMe> FROM t"), "OUTPUT": "a"}]
    src = _write_input(rows, tmp_path / "r.jsonl")
    out = tmp_path / "out.jsonl"
    argv = [str(src), "-o", str(out), "--format", "jsonl", "--template", str(tmpl)]
    assert main(argv + ["--tokenizer", str(tok_path), "--no-progress"]) == 0
    got = json.loads(out.read_text())
    assert got == {
        "prompt": original_prompt(tmpl.read_text(), ctx, "SELECT ", " FROM t"),
        "response": "a",
    }
    err = capsys.readouterr().err
    assert "holds <|im_end|>, <|fim_middle|>, which encode as those control tokens" in err
