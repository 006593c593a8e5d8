import gzip
import json
import random

import numpy as np
import pytest
import sentencepiece as spm
from conftest import SCHEMA, STATEMENTS

import prepare
from sqlcomplete.sql import prompt as sqlprompt
from sqlcomplete.sql import schema as sqlschema
from sqlcomplete.sql.check import statement_problem
from sqlcomplete.sql.schema import parse_schema


def write_groups(path, n=30, bad_lines=()):
    rng = random.Random(0)
    lines = []
    for i in range(n):
        schema = SCHEMA.replace("customers", f"customers{i}").replace("orders", f"orders{i}")
        stmts = [
            s.replace("customers", f"customers{i}").replace("orders", f"orders{i}")
            for s in STATEMENTS
        ]
        rng.shuffle(stmts)
        lines.append(
            json.dumps(
                {
                    "topic": f"t{i % 5}",
                    "detail": i,
                    "variant": 0,
                    "schema": schema,
                    "statements": {"select": stmts[:4], "insert": stmts[4:]},
                }
            )
        )
    for at, text in bad_lines:
        lines.insert(at, text)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return path


def test_prepare_jsonl_end_to_end(tmp_path, capsys):
    src = write_groups(
        str(tmp_path / "g.jsonl.gz"),
        bad_lines=[
            (3, "{not json"),
            (5, json.dumps({"schema": "CREATE TABLE a (x INT)", "statements": {"select": []}})),
        ],
    )
    out = tmp_path / "data"
    meta = prepare.main(
        [
            src,
            "--out",
            str(out),
            "--val-frac",
            "0.2",
            "--augment",
            "1",
            "--vocab-size",
            "400",
            "--block-size",
            "512",
            "--workers",
            "1",
            "--stmts-per-example",
            "3",
        ]
    )
    err = capsys.readouterr().err
    assert "g.jsonl.gz:4: malformed JSON" in err  # file and line of the bad input
    assert "empty statement lists" in err
    assert meta["read"]["groups read"] == 30
    assert (
        meta["read"]["skipped: malformed json"] == 1
        and meta["read"]["skipped: empty statement lists"] == 1
    )
    sp = spm.SentencePieceProcessor(model_file=str(out / "tok.model"))
    for split in ("train", "val"):
        tokens = np.memmap(out / f"{split}.bin", dtype=np.uint16, mode="r")
        idx = np.load(out / f"{split}.idx.npy")
        assert len(tokens) == meta[split]["tokens"] and idx.dtype == np.int64
        assert idx[0, 0] == 0 and idx[-1, 2] == len(tokens)
        assert (idx[1:, 0] == idx[:-1, 2]).all()  # examples are contiguous
        assert (idx[:, 0] < idx[:, 1]).all() and (idx[:, 1] < idx[:, 2]).all()
        assert (
            tokens[idx[:, 0]] == sp.piece_to_id(sqlprompt.marker_piece(sqlprompt.SCHEMA_HEADER))
        ).all()
        assert (tokens[idx[:, 2] - 1] == sp.eos_id()).all()
        assert meta[split]["statements"] >= len(idx)
    # no split leakage: a val schema never appears among the train prompts (without augmentation)
    meta = prepare.main(
        [
            src,
            "--out",
            str(out),
            "--val-frac",
            "0.3",
            "--augment",
            "0",
            "--tokenizer",
            str(out / "tok.model"),
            "--block-size",
            "512",
            "--workers",
            "1",
        ]
    )
    prompts = {}
    for split in ("train", "val"):
        tokens = np.memmap(out / f"{split}.bin", dtype=np.uint16, mode="r")
        idx = np.load(out / f"{split}.idx.npy")
        prompts[split] = {sp.decode(tokens[s:p].tolist()) for s, p, _ in idx}
    assert prompts["val"] and prompts["train"] and not (prompts["val"] & prompts["train"])


def test_seed_layout_source(tmp_path):
    root = tmp_path / "seed"
    for topic in ("0_shop", "1_bank"):
        (root / "tons_of_tables" / topic).mkdir(parents=True)
        variants = [SCHEMA, SCHEMA.replace("customers", "clients")]
        (root / "tons_of_tables" / topic / "0.json").write_text(json.dumps(variants))
        d = root / "diverse_statements" / topic / "0"
        d.mkdir(parents=True)
        (d / "select.json").write_text(
            json.dumps([["SELECT name FROM customers;"], ["SELECT name FROM clients;"]])
        )
        (d / "delete.json").write_text(
            json.dumps([["DELETE FROM orders;"], ["DELETE FROM orders WHERE total > 1;"]])
        )
    stats = {}
    from collections import Counter

    stats = Counter()
    groups = list(prepare.read_source(str(root), stats))
    assert len(groups) == 4 and stats["groups read"] == 4
    clients = [g for g in groups if "clients" in g["schema"]]
    assert clients and all(
        sorted(prepare.group_statements(g))
        == ["DELETE FROM orders WHERE total > 1;", "SELECT name FROM clients;"]
        for g in clients
    )
    meta = prepare.main(
        [
            str(root),
            "--out",
            str(tmp_path / "d"),
            "--vocab-size",
            "400",
            "--workers",
            "1",
            "--val-frac",
            "0",
        ]
    )
    assert meta["train"]["statements"] == 8 * 2  # original + one augmented copy


def test_invalid_utf8_is_reported(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"schema": SCHEMA, "statements": {"select": STATEMENTS[:2]}}).encode()
    path.write_bytes(good + b"\n" + b'{"schema": "\xff\xfe"}\n')
    from collections import Counter

    stats = Counter()
    assert len(list(prepare.read_source(str(path), stats))) == 1
    assert stats["skipped: invalid utf-8"] == 1
    assert "bad.jsonl:2: invalid UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text",
    [
        "SELECT\tname,\n  email FROM \"Customers\" WHERE note = 'it''s' -- comment\n",
        "INSERT INTO t VALUES ('😀🎉', '中文字符', 'naïve café', e'\\x00')",
        "   leading and trailing spaces   \n\n\t\t",
        "\r\nCRLF line\r\n",
    ],
)
def test_tokenizer_round_trip(tmp_path, text):
    path = str(tmp_path / "tok.model")
    prepare.train_tokenizer([SCHEMA] + STATEMENTS * 10, 400, path)
    sp = spm.SentencePieceProcessor(model_file=path)
    assert sp.decode(sp.encode(text)) == text
    for marker in (sqlprompt.STATEMENT_HEADER, sqlprompt.SCHEMA_HEADER):
        assert sp.encode(marker) == [sp.piece_to_id(sqlprompt.marker_piece(marker))]


def test_augmentation_renames_consistently():
    schema = (
        "CREATE TABLE payments (\n  id INT PRIMARY KEY,\n  paid_at TIMESTAMP,\n"
        "  amount DECIMAL(10,2)\n);"
    )
    stmt = "SELECT id, paid_at FROM payments WHERE amount > 5 AND amount <> 'id' -- id\n"
    for seed in range(40):
        rng = random.Random(seed)
        new_schema, (new_stmt,) = prepare.augment_group(
            schema, [stmt], rng, ["ledger_entries", "fooBar", "total"]
        )
        tables = parse_schema(new_schema)
        assert len(tables) == 1 and len(next(iter(tables.values()))) == 3
        assert statement_problem(new_stmt, tables) is None, (new_schema, new_stmt)
        assert "'id'" in new_stmt and new_stmt.endswith(
            "-- id\n"
        )  # literals and comments untouched


def test_rename_is_whole_word():
    out = prepare.rename_identifiers(
        "SELECT id, paid_at, \"id\" FROM t WHERE x = 'id'", {"id": "key_no"}
    )
    assert out == "SELECT key_no, paid_at, \"id\" FROM t WHERE x = 'id'"


def test_fit_schema_keeps_named_tables():
    tables = [f"CREATE TABLE t{i} (\n  id INT PRIMARY KEY,\n  v{i} STRING\n);" for i in range(10)]
    schema = "\n\n".join(tables)
    fitted, dropped = sqlschema.fit_schema(schema, {"t7", "t0"}, 3 * len(tables[0]) + 10)
    assert dropped == 7 and "t7" in parse_schema(fitted) and "t0" in parse_schema(fitted)
    assert sqlschema.fit_schema(schema, set(), 10**6) == (schema, 0)


def test_seed_layout_published_shapes(tmp_path):
    """The seed's own files: {"tables": [{"table_schema"}]} variants and {"statements": [...]}
    entries."""
    root = tmp_path / "seed"
    (root / "tons_of_tables" / "0_shop").mkdir(parents=True)
    tables = [{"table_schema": t} for t in SCHEMA.split("\n\n")]
    (root / "tons_of_tables" / "0_shop" / "0.json").write_text(json.dumps([{"tables": tables}]))
    d = root / "diverse_statements" / "0_shop" / "0"
    d.mkdir(parents=True)
    (d / "select.json").write_text(json.dumps([{"statements": ["SELECT name FROM customers;"]}]))
    (d / "delete.json").write_text(
        json.dumps({"statements": ["DELETE FROM orders;", "DELETE FROM nowhere;"]})
    )
    (d / "update.json").write_text("{broken")
    from collections import Counter

    stats = Counter()
    (group,) = prepare.read_source(str(root), stats)
    assert group["schema"] == SCHEMA.strip()
    assert sorted(prepare.group_statements(group)) == [
        "DELETE FROM orders;",
        "SELECT name FROM customers;",
    ]
    assert stats["skipped: unreadable statement file"] == 1


def test_damaged_gzip_keeps_the_lines_before_the_damage(tmp_path, capsys):
    import zlib

    src = write_groups(str(tmp_path / "g.jsonl.gz"), n=40)
    data = open(src, "rb").read()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])  # a download or copy that stopped half way
    whole_lines = zlib.decompressobj(31).decompress(data[: len(data) // 2]).count(b"\n")
    assert 0 < whole_lines < 40
    not_gzip = tmp_path / "bad.jsonl.gz"
    not_gzip.write_bytes(b"this was never gzipped\n" * 50)
    args = [
        "--out",
        str(tmp_path / "data"),
        "--val-frac",
        "0.2",
        "--augment",
        "0",
        "--vocab-size",
        "400",
        "--block-size",
        "512",
        "--workers",
        "1",
    ]
    meta = prepare.main([src, str(cut), str(not_gzip), *args])
    err = capsys.readouterr().err
    assert (
        f"{cut}: damaged after line {whole_lines} (EOFError" in err
    )  # the file and the last line read
    assert f"{not_gzip}: damaged after line 0 (BadGzipFile" in err
    assert meta["read"]["damaged files"] == 2
    assert meta["read"]["groups read"] == 40 + whole_lines  # the rows before the damage are kept
    saved = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert saved["read"]["damaged files"] == 2
    with pytest.raises(SystemExit, match=f"{cut}: damaged after line {whole_lines} .*--strict"):
        prepare.main([src, str(cut), *args, "--strict"])


# ---- the tokenizer goes in with meta.json, last; errors are one line (issue 28, items 13 and 19)


def test_a_full_disk_or_ctrl_c_leaves_the_earlier_data_whole(tmp_path, monkeypatch):
    import errno
    import hashlib

    src = write_groups(str(tmp_path / "g.jsonl"))
    out = tmp_path / "data"
    args = [src, "--out", str(out), "--vocab-size", "400", "--workers", "1", "--augment", "0"]
    meta = prepare.main(args)
    assert meta["tokenizer_sha256"] == hashlib.sha256((out / "tok.model").read_bytes()).hexdigest()
    assert (
        json.loads((out / "meta.json").read_text())["tokenizer_sha256"] == meta["tokenizer_sha256"]
    )
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    save = np.save

    def disk_full_at_the_val_index(f, arr):
        if "val.idx" in f.name:  # after a new tokenizer and a new train shard were written
            raise OSError(errno.ENOSPC, "No space left on device")
        save(f, arr)

    monkeypatch.setattr(prepare.np, "save", disk_full_at_the_val_index)
    with pytest.raises(SystemExit) as e:
        prepare.main(args + ["--vocab-size", "420"])  # another tokenizer
    assert str(e.value.code) == (
        f"error: writing {out}: No space left on device; {out} is as it was (the partial new "
        "files removed): free some space and run again"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # and no temporary file

    monkeypatch.setattr(prepare.np, "save", save)
    replace, renames = prepare.os.replace, []

    def ctrl_c_while_committing(a, b):
        if not b.endswith(".tmp"):  # the commit's renames, not a temporary file's own
            renames.append(b)
            if len(renames) == 2:
                raise KeyboardInterrupt
        replace(a, b)

    monkeypatch.setattr(prepare.os, "replace", ctrl_c_while_committing)
    with pytest.raises(SystemExit, match=f"interrupted: {out} holds no usable data \\(no meta"):
        prepare.main(args + ["--vocab-size", "420"])
    assert renames[0].endswith(".bin")  # the shards first; the tokenizer and meta.json last
    assert not (out / "meta.json").exists()  # train.py then says: run `make data` again
    assert (out / "tok.model").read_bytes() == before["tok.model"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_bad_arguments_are_one_line(tmp_path):
    src = write_groups(str(tmp_path / "g.jsonl"), n=5)
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as e:
        prepare.main([src, "--out", str(out), "--vocab-size", "300", "--workers", "1"])
    message = str(e.value.code)
    assert message == (
        "error: --vocab-size: 300 does not fit: too small for the characters of this text: give "
        f"{message.split()[-3]} or more"
    )
    assert int(message.split()[-3]) > 300
    assert not list(out.iterdir())  # nothing left behind
    (tmp_path / "a_file").write_text("")
    for bad in (["--vocab-size", "70000"], ["--out", str(tmp_path / "a_file")]):
        with pytest.raises(SystemExit) as e:  # argparse's usage and one line, exit status 2
            prepare.main([src, "--out", str(out), *bad])
        assert e.value.code == 2
