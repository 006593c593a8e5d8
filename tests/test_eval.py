"""eval.py's metrics against the official scorer, the n-gram baseline, and eval.py end to end."""

import gzip
import importlib.util
import json
import os
import random

import pytest
from conftest import SCHEMA, STATEMENTS

from sqlcomplete import evaluate as ev
from sqlcomplete.completion import ngram

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCORE_PY = os.path.join(ROOT, "..", "shared", "eval", "score.py")

OTHER_SCHEMA = """CREATE TABLE users (
    user_id INT PRIMARY KEY,
    username STRING NOT NULL,
    signup_date DATE
);

CREATE TABLE posts (
    post_id INT PRIMARY KEY,
    user_id INT REFERENCES users (user_id),
    title STRING,
    body STRING
);"""


def rows_for_tests() -> list[dict]:
    rows = [{"id": f"t{i}", "schema": SCHEMA, "statement": s} for i, s in enumerate(STATEMENTS)]
    rows += [
        {
            "id": "odd1",
            "schema": OTHER_SCHEMA,
            "statement": "  select T1.username ,count(*) from users AS T1  group by T1.username",
        },
        {
            "id": "odd2",
            "schema": OTHER_SCHEMA,
            "statement": "SELECT \"title\" FROM posts WHERE body = 'it''s' LIMIT 10",
        },
        {"id": "odd3", "schema": OTHER_SCHEMA, "statement": "x"},
    ]
    return rows


def perturbed_results(statements: list[dict], requests: list[dict], seed: int = 0) -> dict:
    """Completions of every flavour the scorer must handle: exact, cut, re-cased, wrong, empty,
    missing."""
    rng = random.Random(seed)
    out = {}
    for q in requests:
        r, _, i = q["key"]
        rest = statements[r]["text"][len(q["prefix"]) :]
        choice = rng.randrange(9)
        if choice == 8:
            continue  # no answer at all for this request
        comps = [
            rest,
            rest[: rng.randrange(len(rest) + 1)],
            rest.upper(),
            " " + rest,
            "",
            "zzz " + rest,
            rest[:3],
            "(",
            "FROM x",
            # junk of each kind: cut inside a word, a literal of the wrong type, a keyword for a
            # table
            rest[: rng.randrange(len(rest) + 1)] + " ORDER BY na",
            rng.choice(["1001", "'x'", "TRUE", "-2", "false AND"]),
            rng.choice(["ER BY id", "WHERE", "customers", "(SELECT", '"orders"', "t1.x"]),
        ]
        rng.shuffle(comps)
        if choice == 0:
            comps = []
        elif choice <= 3:
            comps = [comps[0], rest] + comps[1:]
        out[q["key"]] = comps[: rng.randrange(1, 8)]
    return out


@pytest.mark.skipif(not os.path.isfile(SCORE_PY), reason="../shared/eval/score.py not present")
def test_metrics_agree_with_score_py():
    spec = importlib.util.spec_from_file_location("official_score", SCORE_PY)
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    rows = rows_for_tests()
    requests, statements = ev.build_requests(rows)
    reqs, sims = official.build_requests(rows, len(rows))
    ids = lambda key: f"{rows[key[0]]['id']}|{key[1]}|{key[2]}"
    assert [q["prefix"] for q in requests] == [q["prefix"] for q in reqs]
    assert [ids(q["key"]) for q in requests] == [q["id"] for q in reqs]
    seen_junk = set()
    for seed in range(5):
        results = perturbed_results(statements, requests, seed)
        mine = ev.score(statements, results)["overall"]
        theirs = official.score(sims, {ids(k): v for k, v in results.items()})
        for k in (
            "next@1",
            "next@5",
            "ident@1",
            "mid@1",
            "saved",
            "unknown@1",
            "unknown@5",
            "n_next",
            "n_ident",
            "n_mid",
            "junk@5",
            "cut@5",
            "type@5",
            "grammar@5",
        ):
            assert mine[k] == pytest.approx(theirs[k], abs=1e-12), (seed, k)
        seen_junk |= {k for k in ("cut@5", "type@5", "grammar@5") if theirs[k] > 0}
    assert len(seen_junk) == 3  # each kind of junk was tested
    oracle = {q["key"]: [statements[q["key"][0]]["text"][len(q["prefix"]) :]] for q in requests}
    mine = ev.score(statements, oracle)["overall"]
    assert mine["next@1"] == mine["mid@1"] == 1.0 and mine["junk@5"] == 0.0
    assert mine["saved"] == pytest.approx(
        official.score(sims, {ids(k): v for k, v in oracle.items()})["saved"]
    )


@pytest.mark.skipif(not os.path.isfile(SCORE_PY), reason="../shared/eval/score.py not present")
def test_junk_schema_reading_agrees_with_score_py():
    """junk@5 reads column types and tables with score.py's own rules, on every schema at hand."""
    spec = importlib.util.spec_from_file_location("official_score", SCORE_PY)
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    schemas = {
        SCHEMA,
        OTHER_SCHEMA,
        'CREATE TABLE "a.b" (x int, "Y" text, x text, PRIMARY KEY (x))',
    }
    for path in (
        os.path.join(ROOT, "..", "shared", "seed_corpus", "dev_seed.jsonl"),
        os.path.join(ROOT, "evalsets", "hard_cases.jsonl"),
    ):
        if os.path.isfile(path):
            schemas |= {json.loads(line)["schema"] for line in open(path) if line.strip()}
    for schema in schemas:
        assert ev.scorer_column_kinds(schema) == official.column_kinds(schema)
        assert ev.scorer_tables(schema) == official.table_names(schema)


def test_unknown_counts_completions_that_start_with_a_name_found_nowhere():
    """EVAL.md's unknown@1 / unknown@5 (as score.py counts them, with or without ../shared)."""
    rows = [
        {
            "id": "a",
            "schema": SCHEMA,
            "statement": "SELECT c.name FROM customers AS c WHERE c.total > 1",
        }
    ]
    requests, statements = ev.build_requests(rows)
    word_starts = [
        q["key"]
        for q in requests
        if q["key"][1] == "s"
        and ev.WORD.match(
            statements[0]["text"][statements[0]["spans"][q["key"][2]][0] :].split()[0][:1] or ""
        )
    ]
    fine = ["name FROM customers", "T1.name", "c", "count(*)", "(SELECT", "'x'", ""]
    results = {k: fine for k in word_starts}
    assert ev.score(statements, results)["overall"]["unknown@5"] == 0.0
    results[word_starts[0]] = ["clients WHERE"] + fine  # a table of no schema here, ranked first
    results[word_starts[1]] = fine[:4] + ["orders_archive"]  # ... and fifth
    m = ev.score(statements, results)["overall"]
    assert m["unknown@1"] == pytest.approx(1 / m["n_next"]) and m["unknown@5"] == pytest.approx(
        2 / m["n_next"]
    )
    assert (
        "unknown@1" in ev.METRICS and "unknown@5" in ev.METRICS
    )  # the README's table carries them


def write_corpus(path: str, n: int = 12) -> str:
    with gzip.open(path, "wt") as f:
        for i in range(n):
            schema = SCHEMA.replace("customers", f"clients{i}").replace("orders", f"purchases{i}")
            stmts = [
                s.replace("customers", f"clients{i}").replace("orders", f"purchases{i}")
                for s in STATEMENTS
            ]
            f.write(
                json.dumps(
                    {
                        "topic": f"t{i}",
                        "schema": schema,
                        "statements": {"select": stmts[:3], "other": stmts[3:]},
                    }
                )
                + "\n"
            )
    return path


@pytest.fixture(scope="module")
def ngram_model(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("ngram")
    model = str(d / "ngram.json.gz")
    ngram.main(
        [
            "train",
            write_corpus(str(d / "groups.jsonl.gz")),
            "-o",
            model,
            "--min-count",
            "1",
            "--rank-every",
            "1",
        ]
    )
    return model


def test_ngram_completes_from_the_schema(ngram_model):
    c = ngram.NgramCompleter(ngram_model)
    c.set_schema(SCHEMA)
    after_from = c.complete("SELECT name, email FROM ")
    assert (
        after_from and ev.first_word(after_from[0]) == "customers"
    )  # the table holding both columns
    assert ev.first_word(c.complete("DELETE FROM ")[0]) in ("customers", "orders")
    mid = c.complete("SELECT name, email FROM cu")
    assert mid[0].startswith("stomers")  # only the missing part of the word
    assert all(not s.lower().startswith("cu") for s in mid)
    assert c.complete("TRUNCATE ord")[0].startswith("ers")
    c.set_schema(OTHER_SCHEMA)  # names it never saw in training
    assert ev.first_word(c.complete("SELECT username FROM ")[0]) == "users"
    assert c.complete("SELECT title FROM po")[0].startswith("sts")
    assert c.complete("UPDATE posts SET ti")[0].startswith("tle")
    assert c.complete("SELECT name FROM x WHERE name = 'unfinished") == []
    word = c.complete("SELECT name FROM ", suffix=" WHERE x = 1")
    assert word and len(word[0].split()) == 1  # mid-line: the first token only


def test_eval_end_to_end(tmp_path, tiny_ckpt, ngram_model):
    data = tmp_path / "dev.jsonl"
    rows = [
        {**r, "kind": r["statement"].split()[0].lower(), "set": "ab"[i % 2]}
        for i, r in enumerate(rows_for_tests()[:4])
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\nafter\n")
    out = tmp_path / "results"
    ev.main(
        [
            str(data),
            "--ckpt",
            tiny_ckpt,
            "--baseline",
            "ngram",
            "--baseline",
            "duckdb",
            "--ngram",
            ngram_model,
            "--rows",
            "3",
            "--out-dir",
            str(out),
            "--readme",
            str(readme),
        ]
    )
    report = json.loads((out / "results.json").read_text())
    ds = report["datasets"]["dev"]
    assert ds["rows"] == 3
    names = list(ds["completers"])
    assert any(n.startswith("model ") for n in names) and "4-gram (schema-aware)" in names
    duck = any(n.startswith("DuckDB") for n in names)
    assert duck or any(
        "duckdb" in note.lower() for note in report["notes"]
    )  # run, or skipped with a note
    for r in ds["completers"].values():
        assert set(ev.METRICS) <= set(r["overall"]) and r["errors"] == 0
        assert r["latency_ms"]["p50"] > 0 and r["schema_ms"]["schemas"] == 1
        assert set(r["by_kind"]) == {"select", "insert"}
        assert sum(m["n_statements"] for m in r["by_kind"].values()) == 3
        assert {s: m["n_statements"] for s, m in r["by_set"].items()} == {"a": 2, "b": 1}
    md = (out / "results.md").read_text()
    assert "| 4-gram (schema-aware) |" in md
    assert (out / "accuracy_latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = readme.read_text()
    assert (
        "old" not in text
        and "| 4-gram (schema-aware) |" in text
        and text.endswith("<!-- results:end -->\n\nafter\n")
    )
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="results:start"):
        ev.main(
            [
                str(data),
                "--baseline",
                "ngram",
                "--ngram",
                ngram_model,
                "--rows",
                "1",
                "--out-dir",
                str(out),
                "--readme",
                str(readme),
            ]
        )
    assert readme.read_text() == "# no markers\n"


def test_eval_without_the_full_data_leaves_the_readme_alone(tmp_path, ngram_model, capsys):
    """`make eval` in a clone without ../shared: the README's dev_seed table stays, the report goes
    to results-partial.* and the run says what is missing."""
    data = tmp_path / "hard_cases.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows_for_tests()[:2]))
    readme = tmp_path / "README.md"
    published = (
        "<!-- results:start -->\n**dev_seed** (200 statements, 9 requests)\n\n"
        "**hard_cases** (2 statements, 9 requests)\n<!-- results:end -->\n"
    )
    readme.write_text(published)
    out = tmp_path / "results"
    out.mkdir()
    (out / "results.md").write_text("published")
    args = [str(data), "--baseline", "ngram", "--ngram", ngram_model, "--rows", "2"]
    ev.main([*args, "--out-dir", str(out), "--readme", str(readme)])
    assert readme.read_text() == published
    assert (out / "results.md").read_text() == "published"
    assert "**hard_cases**" in (out / "results-partial.md").read_text()
    assert "dev_seed, which this run lacks" in capsys.readouterr().err
