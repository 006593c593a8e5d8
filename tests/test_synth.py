"""Tests for the procedural generator datagen/synth.py: validity, determinism, coverage, CLI
accounting."""

import gzip
import json
import os
import re
from collections import Counter

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from datagen import synth
from sqlcomplete.sql.check import statement_problem
from sqlcomplete.sql.schema import parse_schema


def _statements(n: int, seed: int) -> list[tuple[dict[str, list[str]], str, str]]:
    """(parsed schema, kind, sql) for the first n statements of a run without sqlglot filtering."""
    out, stats = [], Counter()
    for g in synth.generate_groups(10_000, seed, validate=False, stats=stats):
        tables = parse_schema(g["schema"])
        for kind, sqls in g["statements"].items():
            out += [(tables, kind, sql) for sql in sqls]
        if len(out) >= n:
            break
    # the default run validates a 1% sample: nothing may have failed it
    assert not [k for k in stats if k.startswith("discarded: ") and k != "discarded: duplicate"], (
        stats
    )
    return out[:n]


def _strict_problem(sql: str, tables: dict[str, list[str]]) -> str | None:
    """Stricter than statement_problem: every column must belong to the table it is read from."""
    schema = {t.lower(): {c.lower(): "TEXT" for c in cols} for t, cols in tables.items()}
    sql = re.sub(r"^(\s*)upsert\b", r"\1INSERT", sql, flags=re.I)
    sql = re.sub(
        r'"(\w+)"', lambda m: m.group(1).lower(), sql
    )  # names compare case-insensitively here
    tree = sqlglot.parse_one(sql, read="postgres")
    if isinstance(tree, (exp.Command, exp.TruncateTable)):
        return None
    try:
        if isinstance(tree, (exp.Select, exp.SetOperation)):
            qualify(tree, schema=schema, dialect="postgres", validate_qualify_columns=True)
            return None
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        name, alias = target.name.lower(), (target.alias or target.name).lower()
        others = {}
        for key in ("from_", "using"):
            nodes = tree.args.get(key)
            for node in (
                nodes
                if isinstance(nodes, list)
                else [nodes]
                if isinstance(nodes, exp.Expression)
                else []
            ):
                for tb in [node] if isinstance(node, exp.Table) else node.find_all(exp.Table):
                    others[tb.alias_or_name.lower()] = tb.name.lower()
        if isinstance(tree.this, exp.Schema):
            for ident in tree.this.expressions:
                if ident.name.lower() not in schema[name]:
                    return f"inserted column {ident.name} not in {name}"
        for sel in tree.find_all(exp.Select):  # DML subqueries here are uncorrelated
            qualify(sel.copy(), schema=schema, dialect="postgres", validate_qualify_columns=True)
        for col in tree.find_all(exp.Column):
            if col.find_ancestor(exp.Select):
                continue
            q, c = col.table.lower(), col.name.lower()
            if not q or q in (name, alias, "excluded"):
                if c not in schema[name] and not (
                    not q and any(c in schema[t] for t in others.values())
                ):
                    return f"column {c} not in {name}"
            elif q not in others or c not in schema[others[q]]:
                return f"column {q}.{c} unknown"
    except Exception as e:  # qualify raises OptimizeError (and others) on unresolvable columns
        return str(e).splitlines()[0]
    return None


def test_statements_parse_and_name_only_schema_objects():
    stmts = _statements(2000, seed=1234)
    assert len(stmts) == 2000
    bad = [(sql, p) for tables, _, sql in stmts if (p := statement_problem(sql, tables))]
    assert not bad, bad[:5]
    strict = [(sql, p) for tables, _, sql in stmts[:600] if (p := _strict_problem(sql, tables))]
    assert not strict, strict[:5]


def test_strict_checker_catches_wrong_table():
    tables = {"a": ["id", "x"], "b": ["id", "a_id", "y"]}
    assert _strict_problem("SELECT y FROM a", tables)
    assert _strict_problem("UPDATE a SET y = 1", tables)
    assert _strict_problem("INSERT INTO a (y) VALUES (1)", tables)
    assert _strict_problem("SELECT T2.x FROM a AS T1 JOIN b AS T2 ON T1.id = T2.a_id", tables)
    assert (
        _strict_problem("SELECT T1.x FROM a AS T1 JOIN b AS T2 ON T1.id = T2.a_id", tables) is None
    )


def test_same_seed_same_output_and_seeds_differ():
    a = list(synth.generate_groups(40, seed=7))
    b = list(synth.generate_groups(40, seed=7))
    c = list(synth.generate_groups(40, seed=8))
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)


def test_group_format_and_every_kind_appears():
    seen = Counter()
    groups = list(synth.generate_groups(150, seed=3))
    for i, g in enumerate(groups):
        assert set(g) == {"topic", "detail", "variant", "schema", "statements"}
        assert g["topic"].startswith("synth/") and g["detail"] == i
        assert list(g["statements"]) == list(synth.KINDS)
        for kind, sqls in g["statements"].items():
            seen[kind] += len(sqls)
            assert all(isinstance(s, str) and s.strip() for s in sqls)
    assert all(seen[k] > 0 for k in synth.KINDS), seen
    assert seen["select"] > seen["insert"] > seen["truncate"]  # default mix 0.4 / 0.2 / 0.05
    text = "\n".join(s for g in groups for sqls in g["statements"].values() for s in sqls)
    for feature in (
        " JOIN ",
        "LEFT JOIN",
        " AS T1",
        "GROUP BY",
        "HAVING",
        "ORDER BY",
        "LIMIT",
        "OFFSET",
        "DISTINCT",
        "WITH ",
        " IN (SELECT",
        "EXISTS",
        "BETWEEN",
        "LIKE",
        "ILIKE",
        "IS NULL",
        "count(*)",
        "ON CONFLICT",
        "DO UPDATE SET",
        "DO NOTHING",
        "RETURNING",
        "UPSERT INTO",
        "CASCADE",
        "\n",
        "select ",
        "INSERT INTO",
    ):
        assert feature in text, feature


def test_mix_selects_kinds():
    mix = synth.parse_mix("select=1,truncate=0")
    for g in synth.generate_groups(20, seed=1, mix=mix, statements_per_group=5):
        assert len(g["statements"]["select"]) >= 4  # duplicates aside
        assert not any(g["statements"][k] for k in synth.KINDS if k != "select")
    with pytest.raises(ValueError):
        synth.parse_mix("select=1,merge=1")
    with pytest.raises(ValueError):
        synth.parse_mix("select=0")


def test_schemas_parse_into_tables_with_columns():
    layouts, domains = Counter(), set()
    for g in synth.generate_groups(300, seed=11):
        tables = parse_schema(g["schema"])
        assert 1 <= len(tables) <= 12
        assert len(tables) == len(re.findall(r"create table", g["schema"], re.I))
        assert all(cols for cols in tables.values())
        layouts[g["variant"]] += 1
        domains.add(g["topic"])
    assert len(layouts) == len(synth.LAYOUTS)
    assert len(domains) > 60 and len(synth.DOMAINS) >= 60
    text = "\n".join(g["schema"] for g in synth.generate_groups(300, seed=12))
    for feature in (
        "CREATE TABLE public.",
        "\tCONSTRAINT",
        "PRIMARY KEY (",
        "REFERENCES",
        "NOT NULL",
        "DEFAULT",
        "gen_random_uuid()",
        "unique_rowid()",
        "UNIQUE",
        "CHECK (",
        "INDEX",
        "create table",
        'CREATE TABLE "',
        "JSONB",
        "TIMESTAMPTZ",
        "DECIMAL(",
        "[]",
        "UUID",
        "INTERVAL",
        "BYTES",
        "VARCHAR(",
    ):
        assert feature in text, feature


def test_parse_schema_takes_odd_llm_layouts():
    # braces instead of parentheses and blank lines between columns (seen in the LLM-written corpus)
    schema = (
        "CREATE TABLE stock {\n\nid INT PRIMARY KEY,\n\nprice DECIMAL(10,2),\n\nsold DATE\n\n}\n\n"
        "CREATE TABLE report (report_id INT, `Name` TEXT, CONSTRAINT pk PRIMARY KEY (report_id));"
    )
    assert parse_schema(schema) == {
        "stock": ["id", "price", "sold"],
        "report": ["report_id", "Name"],
    }


def test_long_schemas():
    groups = list(synth.generate_groups(20, seed=5, long_rate=1.0, statements_per_group=4))
    for g in groups:
        n = len(parse_schema(g["schema"]))
        assert 8 <= n <= 12
        assert len(g["schema"]) < 4000
    assert max(len(g["schema"]) for g in groups) > 1800


def _summary(out: str) -> dict[str, int]:
    m = re.search(
        r"(\d+) groups, (\d+) statements written, (\d+) discarded (\{.*?\}) of (\d+) attempted", out
    )
    assert m, out
    return {
        "groups": int(m[1]),
        "written": int(m[2]),
        "discarded": int(m[3]),
        "reasons": json.loads(m[4]),
        "attempted": int(m[5]),
    }


def test_cli_writes_atomically_and_counts_add_up(tmp_path, capsys):
    out = tmp_path / "synth" / "groups.jsonl.gz"
    synth.main(
        [
            "-o",
            str(out),
            "--groups",
            "25",
            "--seed",
            "4",
            "--statements-per-group",
            "12",
            "--validate",
        ]
    )
    printed = capsys.readouterr().out
    s = _summary(printed)
    assert "statements/s" in printed
    assert os.listdir(out.parent) == ["groups.jsonl.gz"]  # no temp file left behind
    with gzip.open(out, "rt") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) == s["groups"] == 25
    assert s["written"] == sum(len(v) for r in rows for v in r["statements"].values())
    assert s["written"] + s["discarded"] == s["attempted"] == 25 * 12
    assert s["discarded"] == sum(s["reasons"].values())
    first = out.read_bytes()
    synth.main(
        [
            "-o",
            str(out),
            "--groups",
            "25",
            "--seed",
            "4",
            "--statements-per-group",
            "12",
            "--validate",
        ]
    )
    assert out.read_bytes() == first  # byte-identical, gzip header included


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "groups.jsonl"

    def broken():
        yield from synth.generate_groups(3, seed=0)
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        synth.write_groups(str(out), broken())
    assert os.listdir(tmp_path) == []
