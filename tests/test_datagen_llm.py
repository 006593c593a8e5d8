"""datagen.llm against a real HTTP server on 127.0.0.1 (tests/fake_llm_server.py) that injects
faults: the pipeline completes, its report counts what was injected, and a run killed with SIGKILL
at a random point then rerun writes exactly what an uninterrupted run writes."""

import gzip
import importlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm_server import FakeLLM, crc, tables_in

from datagen import llm, prompts, store
from sqlcomplete.sql.check import statement_problem
from sqlcomplete.sql.schema import parse_schema

REPO = Path(__file__).resolve().parents[1]
KINDS = {"select": 2, "insert": 2, "update": 1, "delete": 1, "truncate": 1, "upsert": 1}
ARGS = [
    "--model",
    "fake",
    "--topics",
    "3",
    "--limit-topics",
    "2",
    "--subtopics",
    "2",
    "--examples",
    "2",
    "--max-tables",
    "3",
    "--kinds",
    ",".join(f"{k}:{n}" for k, n in KINDS.items()),
    "--concurrency",
    "8",
    "--max-retries",
    "2",
    "--backoff",
    "0.01",
]


def faults(timeouts: bool = True, broken: bool = False):
    """The fault plan: which request (by its prompt) fails how, on which attempt. Transient faults
    clear on a retry; schemas with invalid SQL for 2 tables never do (the variant is dropped);
    `broken` makes some schema and statement requests fail every time (the unit fails)."""

    def plan(name: str, prompt: str, attempt: int) -> str | None:
        h = crc(prompt)
        if name == "Topics":
            return "500" if attempt == 0 else None
        if name == "Subtopics":
            return "timeout" if timeouts and attempt == 0 and "e-commerce" in prompt else None
        if name == "Examples":
            return {0: "malformed", 1: "truncated"}.get(h % 4) if attempt == 0 else None
        if name == "DatabaseSchema":
            n = tables_in(prompt)
            if n == 2 and h % 2 == 0:
                return "invalid schema"
            if n == 1 and h % 2 == 0 and attempt == 0:
                return "invalid schema"
            if n == 3 and h % 3 == 0 and (broken or attempt < 2):
                return "500"
            return None
        if h % 11 == 0 and (broken or attempt == 0):
            return "500"
        return (
            {1: "wrong shape", 2: "malformed", 3: "truncated"}.get(h % 11) if attempt == 0 else None
        )

    return plan


def run_cli(url: str, out: Path, *extra: str, timeout: float = 3.0) -> int:
    return llm.main(["--llm-url", url, "--out", str(out), "--timeout", str(timeout), *ARGS, *extra])


def latest_report(out: Path) -> dict:
    return json.loads(
        max((out / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime_ns).read_text()
    )


def snapshot(out: Path) -> dict[str, bytes]:
    """Every output file but the per-run reports and the lock."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.parts[len(out.parts)] != "reports" and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run through every fault: (exit code, output root, injected per stage,
    report)."""
    out = tmp_path_factory.mktemp("reference")
    with FakeLLM(faults(timeouts=True), stall=10.0) as fake:
        rc = run_cli(fake.url, out)
        injected = {stage: fake.tally(stage) for stage in llm.STAGES}
    return rc, out, injected, latest_report(out)


def test_report_counts_match_injected_faults(reference):
    rc, out, injected, report = reference
    assert rc == 0 and report["status"] == "ok"
    seen = Counter()
    for stage in ("topics", "details", "schemas", "statements"):
        s = report["stages"][stage]
        assert s["failed"] == 0 and s["attempted"] == s["succeeded"] > 0, (stage, s)
        # every injected fault was retried, and those that persisted were dropped: nothing
        # unaccounted
        assert Counter(s["retries"]) + Counter(s["dropped"]) == injected[stage], (
            stage,
            s,
            injected[stage],
        )
        seen += injected[stage]
        print(
            stage,
            "injected:",
            dict(injected[stage]),
            "retries:",
            s["retries"],
            "dropped:",
            s["dropped"],
        )
    assert set(seen) == {
        "http 500",
        "timeout",
        "malformed json",
        "truncated",
        "invalid output",
        "invalid schema",
        "unknown column",
        "unknown table",
        "parse error",
        "wrong kind",
        "duplicate",
    }
    # the counts of what was kept add up to what is on disk
    files = list((out / store.STATEMENTS).rglob("*.json"))
    on_disk = sum(len(e["statements"]) for f in files for e in store.read_json(f))
    assert report["stages"]["statements"]["kept"] == on_disk
    with gzip.open(out / store.GROUPS, "rt") as f:
        assert report["stages"]["groups"]["kept"] == sum(1 for _ in f)
    dropped_variants = report["stages"]["schemas"]["dropped"]["invalid schema"]
    assert report["stages"]["schemas"]["kept"] == 8 * 3 - dropped_variants


def test_output_is_the_seed_layout(reference):
    _, out, _, _ = reference
    assert store.read_json(out / store.TOPICS) == {
        "topics": ["e-commerce", "healthcare", "logistics"]
    }
    details = store.read_json(out / store.TOPIC_DETAIL)
    assert list(details) == ["0_e-commerce", "1_healthcare"]  # --limit-topics 2
    assert all(
        len(d) == 4 and not d[0][0].isdigit() for d in details.values()
    )  # 2 x 2, numbering stripped
    for slug, ds in details.items():
        for i in range(len(ds)):
            variants = store.read_json(store.schema_path(out, slug, i))
            for v in variants:
                text = store.schema_text(v)
                assert (
                    prompts.schema_problem(
                        [t["table_schema"] for t in v["tables"]], len(v["tables"])
                    )
                    is None
                )
                assert "CREATE TABLE" in text
            for kind in KINDS:
                entries = store.read_json(store.statements_path(out, slug, i, kind))
                assert len(entries) == len(variants)  # entry k belongs to variant k
                for v, e in zip(variants, entries):
                    tables = parse_schema(store.schema_text(v))
                    assert all(statement_problem(sql, tables) is None for sql in e["statements"])
                    assert len({" ".join(s.rstrip(";").split()) for s in e["statements"]}) == len(
                        e["statements"]
                    )
    with gzip.open(out / store.GROUPS, "rt") as f:
        groups = [json.loads(line) for line in f]
    assert groups == list(store.read_seed_layout(out))
    assert [(g["topic"], g["detail"], g["variant"]) for g in groups] == sorted(
        ((g["topic"], g["detail"], g["variant"]) for g in groups),
        key=lambda k: (store.topic_key(k[0]), k[1], k[2]),
    )
    g = groups[0]
    assert set(g) == {"topic", "detail", "variant", "schema", "statements"} and list(
        g["statements"]
    ) == sorted(KINDS)


def _kill_at_random_point(url: str, out: Path, rng: random.Random) -> int:
    """Start the CLI in a subprocess and SIGKILL it once `n` unit files exist; returns its exit
    status."""
    n = rng.randint(2, 20)  # of the 26 files the run below writes before its groups
    print(f"killing the run once {n} files exist")
    cmd = [
        sys.executable,
        "-m",
        "datagen.llm",
        "--llm-url",
        url,
        "--out",
        str(out),
        "--timeout",
        "3",
        *ARGS,
    ]
    with open(out.parent / "killed.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while proc.poll() is None and time.time() < deadline:
            if (
                out.exists()
                and sum(1 for p in out.rglob("*.json") if "reports" not in p.parts) >= n
            ):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        return proc.wait()


def test_kill_then_rerun_gives_the_uninterrupted_output(reference, tmp_path):
    _, ref_out, _, _ = reference
    out = tmp_path / "out"
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    with FakeLLM(faults(timeouts=False, broken=True)) as fake:
        assert (
            _kill_at_random_point(fake.url, out, rng) == -signal.SIGKILL
        )  # killed mid-run, not finished
        finished = {
            stage: len(list((out / folder).rglob("*.json"))) if (out / folder).exists() else 0
            for stage, folder in (("schemas", store.TABLES), ("statements", store.STATEMENTS))
        }
        killed = [json.loads(p.read_text()) for p in (out / "reports").glob("*.json")]
        assert [r["status"] for r in killed] == ["running"]  # it never got to say otherwise
        # rerun against a server still failing some requests every time: those units fail, the rest
        # finish, and the exit code says to rerun (not 1, the code of any crash)
        assert run_cli(fake.url, out) == llm.EXIT_RERUN
        assert sorted(
            json.loads(p.read_text())["status"] for p in (out / "reports").glob("*.json")
        ) == ["failed units", "interrupted"]
        broken = latest_report(out)["stages"]
    # no finished unit was redone
    assert {stage: broken[stage]["skipped"] for stage in finished} == finished
    assert broken["schemas"]["failed"] > 0 and broken["statements"]["failed"] > 0
    assert not (set(snapshot(out)) - set(snapshot(ref_out)))  # failed units wrote nothing

    with FakeLLM(faults(timeouts=False)) as fake:
        assert run_cli(fake.url, out) == 0
        healed = latest_report(out)["stages"]
        # only what was missing was redone
        assert healed["topics"]["attempted"] == 0 and healed["details"]["attempted"] == 0
        assert healed["schemas"]["attempted"] == broken["schemas"]["failed"]
        assert healed["statements"]["attempted"] == (
            broken["statements"]["failed"] + len(KINDS) * healed["schemas"]["succeeded"]
        )
        assert snapshot(out) == snapshot(ref_out)

        requests = fake.requests
        assert run_cli(fake.url, out) == 0  # a finished run is a no-op
        assert fake.requests == requests
        again = latest_report(out)["stages"]
        assert all(
            again[s]["attempted"] == 0 and again[s]["skipped"] > 0
            for s in ("topics", "details", "schemas", "statements")
        )
        assert snapshot(out) == snapshot(ref_out)


def test_corrupt_units_are_set_aside_and_regenerated(reference, tmp_path, capsys):
    _, ref_out, _, _ = reference
    out = tmp_path / "out"
    shutil.copytree(ref_out, out)
    schema = store.schema_path(out, "0_e-commerce", 1)
    schema.write_bytes(schema.read_bytes()[:40])  # cut short: not JSON
    statements = store.statements_path(out, "1_healthcare", 2, "select")
    statements.write_text('{"statements": 3}')  # JSON, wrong shape
    details = store.details_path(out, "1_healthcare")
    details.write_bytes(b"\xff\xfe garbage")  # not UTF-8; topic_detail.json still holds it
    with FakeLLM(faults(timeouts=False)) as fake:
        assert run_cli(fake.url, out) == 0
    err = capsys.readouterr().err
    for path in (schema, statements, details):
        assert f"{path}: " in err and path.with_name(path.name + ".corrupt").exists()
    stale = sorted(
        p.name for p in (schema.parent.parent.parent / store.STATEMENTS).rglob("*.stale")
    )
    assert stale == sorted(f"{kind}.json.stale" for kind in KINDS)  # the old schema's statements
    report = latest_report(out)
    assert len(report["recovered"]) == 3 and report["stages"]["schemas"]["attempted"] == 1
    assert report["stages"]["statements"]["attempted"] == len(KINDS) + 1
    regenerated = {k: v for k, v in snapshot(out).items() if not k.endswith((".corrupt", ".stale"))}
    assert regenerated == snapshot(ref_out)


def test_wrong_model_or_missing_input_stops_with_an_error(tmp_path, capsys):
    with FakeLLM() as fake:
        wrong_model = [
            "--llm-url",
            fake.url,
            "--out",
            str(tmp_path),
            "--model",
            "nope",
            "--topics",
            "3",
        ]
        assert llm.main(wrong_model) == llm.EXIT_FATAL
        assert "HTTP 404" in capsys.readouterr().err
        assert llm.main(["--llm-url", fake.url, "--out", str(tmp_path), "--stage", "details"]) == 2
        assert fake.requests == 1
    assert llm.main(["--out", str(tmp_path), "--stage", "groups"]) == 0  # groups needs no server
    assert latest_report(tmp_path)["stages"]["groups"]["kept"] == 0


# -----------------------------------------------------------------------------
# pieces


def test_schema_problem():
    cockroach = """CREATE TABLE public.orders (
    id UUID NOT NULL DEFAULT gen_random_uuid(),
    customer_id UUID NOT NULL,
    status STRING NOT NULL DEFAULT 'new':::STRING,
    CONSTRAINT "primary" PRIMARY KEY (id ASC),
    CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES public.customers(id),
    INDEX orders_customer_idx (customer_id ASC),
    UNIQUE INDEX orders_status_key (status ASC) STORING (customer_id),
    FAMILY "primary" (id, customer_id, status)
);"""
    customers = "CREATE TABLE customers (\n    id UUID PRIMARY KEY,\n    name STRING\n);"
    assert (
        prompts.schema_problem([customers, cockroach], 2) is None
    )  # SHOW CREATE TABLE output passes
    assert (
        prompts.schema_problem([cockroach], 1)
        == "invalid schema: foreign key to unknown table customers"
    )
    assert prompts.schema_problem([customers], 2) == "invalid schema: expected 2 tables, got 1"
    assert (
        prompts.schema_problem([customers, customers], 2) == "invalid schema: duplicate table names"
    )
    unclosed = "CREATE TABLE t (\n    id INT PRIMARY KEY,\n    name TEXT\n"
    assert prompts.schema_problem([unclosed], 1).startswith("invalid schema")
    both = customers + "\n\n" + customers.replace("customers", "b")
    packed = prompts.DatabaseSchema(tables=[prompts.TableSchema(table_schema=both)])
    assert len(prompts.schema_tables(packed)) == 2  # two CREATE TABLEs in one item are split


def test_clean_statements_and_lists():
    tables = {"t": ["id", "name"]}
    kept, dropped = prompts.clean_statements(
        [
            "SELECT id FROM t;",
            "```sql\nSELECT  id FROM t\n```",
            "SELECT nope FROM t",
            "DELETE FROM t",
            "SELECT * FROM t WHERE name = 'x",
            "",
            "WITH x AS (SELECT id FROM t) SELECT id FROM x",
        ],
        "select",
        tables,
    )
    assert kept == ["SELECT id FROM t;", "WITH x AS (SELECT id FROM t) SELECT id FROM x"]
    assert dropped == {
        "duplicate": 1,
        "unknown column": 1,
        "wrong kind": 1,
        "parse error": 1,
        "empty": 1,
    }
    upsert = "UPSERT INTO t (id) VALUES (1)"
    assert prompts.clean_statements([upsert], "upsert", tables) == ([upsert], Counter())
    assert prompts.clean_list(["1. Banking", "- banking", " Retail ", "", "2) Travel"], 2) == [
        "Banking",
        "Retail",
    ]


def test_store_writes_atomically_and_reproducibly(tmp_path):
    path = tmp_path / "a" / "b.json"
    store.write_json(path, {"x": 1})
    with pytest.raises(TypeError):
        store.write_json(path, {"x": object()})
    assert store.read_json(path) == {"x": 1} and [p.name for p in path.parent.iterdir()] == [
        "b.json"
    ]
    (path.parent / ".b.json.abc.tmp").write_text("partial")
    assert store.sweep_tmp(tmp_path) == 1 and [p.name for p in path.parent.iterdir()] == ["b.json"]
    rows = [{"a": i} for i in range(3)]
    store.write_jsonl_gz(tmp_path / "g1.jsonl.gz", rows)
    time.sleep(0.01)
    store.write_jsonl_gz(tmp_path / "g2.jsonl.gz", rows)
    assert (tmp_path / "g1.jsonl.gz").read_bytes() == (tmp_path / "g2.jsonl.gz").read_bytes()
    assert store.topic_slug(0, "E-Commerce") == "0_e-commerce"
    assert store.topic_slug(12, "Health care/IT") == "12_health_care_it"
    assert sorted(["10_b", "2_a"], key=store.topic_key) == ["2_a", "10_b"]


def test_read_seed_layout_list_and_flat_files(tmp_path):
    one = {"tables": [{"table_schema": "CREATE TABLE a (\n  id INT PRIMARY KEY\n);"}]}
    two = {
        "tables": [
            {"table_schema": "CREATE TABLE b (\n  id INT PRIMARY KEY\n);"},
            {"table_schema": "CREATE TABLE c (\n  id INT PRIMARY KEY,\n  b_id INT\n);"},
        ]
    }
    store.write_json(store.schema_path(tmp_path, "0_x", 10), [one, two])
    store.write_json(store.schema_path(tmp_path, "0_x", 2), [one])
    # our (and the seed's main.py) layout: entry k belongs to variant k
    store.write_json(
        store.statements_path(tmp_path, "0_x", 10, "select"),
        [{"statements": ["SELECT id FROM a"]}, {"statements": ["SELECT b_id FROM c"]}],
    )
    # the seed's Modal variant: one flat list per kind, assigned to the first variant it fits
    store.write_json(
        store.statements_path(tmp_path, "0_x", 10, "delete"),
        {"statements": ["DELETE FROM c WHERE b_id = 1", "DELETE FROM a"]},
    )
    groups = list(store.read_seed_layout(tmp_path))
    assert [(g["detail"], g["variant"]) for g in groups] == [
        (10, 0),
        (10, 1),
    ]  # detail 2 has no statements
    assert groups[0]["statements"] == {"delete": ["DELETE FROM a"], "select": ["SELECT id FROM a"]}
    assert groups[1]["statements"] == {
        "delete": ["DELETE FROM c WHERE b_id = 1"],
        "select": ["SELECT b_id FROM c"],
    }
    assert (
        groups[1]["schema"] == store.schema_text(two)
        and "\n\nCREATE TABLE c" in groups[1]["schema"]
    )


def test_modal_apps_define_their_functions_without_credentials(monkeypatch, tmp_path):
    for var in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "VLLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "absent.toml"))
    import modal
    from modal.app import LocalEntrypoint

    server = importlib.import_module("datagen.vllm_server")
    datagen = importlib.import_module("datagen.modal_datagen")
    assert all(
        isinstance(f, modal.Function)
        for f in (
            server.serve,
            server.download,
            datagen.run_stage,
            datagen.sweep,
            datagen.merge_details,
        )
    )
    assert isinstance(server.check, LocalEntrypoint)
    assert all(
        isinstance(getattr(datagen, name), LocalEntrypoint)
        for name in ("main", "topics", "details", "schemas", "statements", "groups")
    )
    options = datagen._options("http://x/v1", "--limit-topics 2 --kinds select:3")
    assert (
        options["llm_url"] == "http://x/v1"
        and options["limit_topics"] == 2
        and options["kinds"] == "select:3"
    )


def test_server_check_against_an_openai_compatible_server():
    server = importlib.import_module("datagen.vllm_server")
    with FakeLLM() as fake:
        assert server.check_endpoint(fake.url, "fake", wait=5).startswith("ok:")
        with pytest.raises(RuntimeError):
            server.check_endpoint(fake.url, "another-model", wait=5)
