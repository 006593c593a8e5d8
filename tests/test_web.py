"""web/: the ONNX export against PyTorch, the JS tokenizer, n-gram and completer against Python,
the page in Chromium.

The node and browser tests skip with a reason when node, web/node_modules (`cd web && npm ci`)
or /usr/bin/chromium are missing; `.ci/run` installs all three.
"""

import importlib.util
import json
import os
import random
import re
import shutil
import subprocess

import pytest
from conftest import SCHEMA, STATEMENTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(ROOT, "web")
DEV_SEED = os.path.join(ROOT, "..", "shared", "seed_corpus", "dev_seed.jsonl")
CHROMIUM = "/usr/bin/chromium"
DUMPS = os.path.join(ROOT, "tests", "data", "dumps")  # pg_dump, mysqldump, SSMS, sqlite3 .schema
TRICKY = [
    "",
    " ",
    "  two  spaces  ",
    "\t\ttabs\n\nnewlines\r\n",
    "é",
    "e\u0301",
    "Ångström ß ﬁ",
    "中文字符 テーブル",
    "😀👍🏽👨‍👩‍👧 🇫🇷",
    "\u00a0nbsp\u200bzwsp\ufeffbom\u2028",
    "x\x00y\x7f",
    "'it''s' \"Q\" `b`",
    "0123456789 3.14 -1e10",
    "### TABLEDATA",
    "### STATEMENT",
    "###  STATEMENT",
    "#### TABLEDATA###STATEMENT",
    "### STATEMENT\n\nSELECT",
    "▁literal▁underline",
    "\ud7ff\ue000\uffff",
    "SELECT * FROM t WHERE name = 'Zoë';",
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
    for _i in range(n):
        s = rng.choice(STATEMENTS)
        for old in ("customers", "orders", "name", "total"):
            s = s.replace(old, f"{old}_{rng.randint(0, 99)}" if rng.random() < 0.3 else old)
        rows.append({"schema": SCHEMA, "statement": s})
    return rows


def dumps() -> list[str]:
    """The schema dumps of tests/data/dumps, as the tools write them (SSMS's in UTF-16)."""
    from sqlcomplete.db.sources import decode_text

    out = []
    for name in sorted(os.listdir(DUMPS)):
        with open(os.path.join(DUMPS, name), "rb") as f:
            out.append(decode_text(f.read()))
    return out


# names in every dialect's quoting, qualified names, non-ASCII names (issue 28)
QUOTED_PREFIXES = [
    "SELECT * FROM ",
    "SELECT qty FROM ",
    'SELECT * FROM "Ord',
    "SELECT * FROM [Sal",
    "SELECT * FROM `prod",
    "SELECT * FROM `",
    "SELECT * FROM inv",
    "SELECT * FROM inventory.",
    "SELECT * FROM Sales.",
    'SELECT "Unit Price" FROM "Order Items" WHERE ',
    "SELECT * FROM `product reviews` WHERE `star rating` = ",
    "SELECT * FROM [Sales].[Sales Order Header] WHERE ",
    'SELECT * FROM "track plays" t WHERE t.',
    "SELECT 名",
    "SELECT 名字 FROM ",
]
NON_ASCII = "CREATE TABLE 客户 (编号 INT PRIMARY KEY, 名字 TEXT, café TEXT);"


def need_node(*packages: str):
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    for p in packages:
        if not os.path.isdir(os.path.join(WEB, "node_modules", p)):
            pytest.skip(f"web/node_modules/{p} missing: run `cd web && npm ci`")


def node(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def tiny_ngram(tmp_path_factory) -> str:
    """An n-gram trained on a small generated corpus (datagen.synth) and conftest's statements."""
    from datagen import synth
    from sqlcomplete.completion import ngram

    d = tmp_path_factory.mktemp("tiny_ngram")
    groups = list(synth.generate_groups(80, seed=3))
    groups.append({"topic": "conftest", "schema": SCHEMA, "statements": {"all": STATEMENTS * 3}})
    synth.write_groups(str(d / "groups.jsonl.gz"), iter(groups))
    path = str(d / "ngram.json.gz")
    ngram.save(ngram.train([str(d / "groups.jsonl.gz")], rank_every=1), path)
    return path


@pytest.fixture(scope="module")
def tiny_web(tiny_ckpt, tiny_ngram, tmp_path_factory) -> str:
    """The tiny checkpoint exported (fp32 + int8, and the tiny n-gram), with the parity check of
    web/export.py."""
    out = str(tmp_path_factory.mktemp("tiny_web"))
    load("export").write_model_dir(tiny_ckpt, out, int8=True, check=True, ngram=tiny_ngram)
    return out


def test_export_parity_with_pytorch(tiny_web):
    import onnx

    with open(os.path.join(tiny_web, "config.json")) as f:
        cfg = json.load(f)
    # prefill, statement steps (B=1) and suggestion rows (B=3) over a shared prefix
    assert cfg["parity_max_abs"]["fp32"] <= 1e-4
    assert (
        cfg["parity_max_abs"]["int8"] < 0.5
    )  # quantization error on random weights; scored on the dev set
    assert cfg["sizes"]["int8"] < cfg["sizes"]["fp32"]
    graph = onnx.load(os.path.join(tiny_web, "model.onnx")).graph
    dims = {
        v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(graph.input) + list(graph.output)
    }
    assert dims["input_ids"] == ["batch", "seq"]
    assert dims["prefix.0.key"][0] == 1 and isinstance(dims["prefix.0.key"][2], str)
    assert dims["past.1.value"][0] == "batch" and isinstance(dims["past.1.value"][2], str)
    assert len([n for n in dims if n.startswith("present.")]) == 2 * cfg["n_layers"]


def token_cases(tok_path: str, path: str) -> int:
    """2,000 dev-set strings (schemas, statements, prompts, prefixes cut anywhere) + tricky
    Unicode."""
    import sentencepiece as spm

    from sqlcomplete.sql.prompt import prompt_text

    sp = spm.SentencePieceProcessor(model_file=tok_path)
    rng = random.Random(0)
    texts = []
    for r in dev_rows(400):
        s = r["statement"]
        texts += [
            r["schema"],
            s,
            prompt_text(r["schema"]) + s,
            s[: rng.randint(0, len(s))],
            s[: rng.randint(0, len(s))],
        ]
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


def ngram_cases(n_groups: int = 24) -> list[dict]:
    """Prefixes cut anywhere from generated statements (schemas the tiny n-gram has not seen), some
    in lower case or with a suffix, and a few odd ones: inside a string, after a newline, Unicode,
    aliases."""
    from datagen import synth

    rng = random.Random(2)
    cases = []
    for g in synth.generate_groups(n_groups, seed=11):
        for stmts in g["statements"].values():
            for s in stmts:
                cut = rng.randint(0, len(s))
                prefix = s[:cut].lower() if rng.random() < 0.2 else s[:cut]
                suffix = s[cut:] if rng.random() < 0.15 else ""
                cases.append(
                    {
                        "schema": g["schema"],
                        "prefix": prefix,
                        "suffix": suffix,
                        "n": rng.choice([5, 8]),
                    }
                )
    odd = [
        "",
        " ",
        "SELECT na\n",
        "SELECT * FROM customers\n",
        "select * from ",
        "SELECT 'it''s",
        'SELECT "na',
        "SELECT é",
        "SELECT ² ١٢٣٤ 𝟏𝟐𝟑𝟒 ",
        "SELECT c.",
        "SELECT o.order_id FROM orders o JOIN customers c ON c.",
        "SELECT constructor, __proto__ ",
        "SELECT x\u3000",
        "SELECT x\x1c",
        "INSERT INTO orders (",
        "UPDATE customers SET ",
        "select name from customers where name = 'a' and ",
        "INSERT INTO orders (order_id, customer_id, total ",
        "INSERT INTO orders (order_id, customer_id, total) VALUES (1, ",
        "SELECT * FROM orders o JOIN customers c ON o.customer_id = c.",
        "SELECT * FROM orders WHERE customer_id = ",
        "SELECT EXTRACT(YEAR FROM ",
        "SELECT * FROM orders WHERE total IS DISTINCT FROM ",
    ]
    for prefix in odd:
        for schema in (
            "",
            SCHEMA,
            SCHEMA.replace("orders", "Customers") + "\nCREATE TABLE t (constructor INT);",
            "CREATE TABLE orders {\n  id INT,\n  customer_id INT,\n  total DECIMAL(10,2)\n}",
        ):
            cases.append({"schema": schema, "prefix": prefix, "suffix": "", "n": 5})
    for schema in [*dumps(), NON_ASCII]:
        for prefix in QUOTED_PREFIXES:
            cases.append({"schema": schema, "prefix": prefix, "suffix": "", "n": 8})
    return cases


def test_js_ngram_matches_ngram_py(tiny_ngram, tmp_path):
    """web/ngram.js gives ngram.py's proposals and completions exactly: probabilities, texts, tie
    order."""
    need_node()
    from sqlcomplete.completion import ngram

    cases = ngram_cases()
    c = ngram.NgramCompleter(tiny_ngram)
    want = []
    for case in cases:
        c.set_schema(case["schema"])
        args = case["prefix"], case["suffix"], case["n"]
        want.append(
            {"proposals": [list(p) for p in c.proposals(*args)], "complete": c.complete(*args)}
        )
    assert len(cases) >= 300 and sum(bool(w["complete"]) for w in want) >= 0.5 * len(cases)
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in cases))
    r = node(
        "web/test/ngram_parity.mjs",
        tiny_ngram,
        str(tmp_path / "cases.jsonl"),
        str(tmp_path / "out.jsonl"),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    bad = [(case, w, g) for case, w, g in zip(cases, want, got) if w != g]
    assert len(got) == len(cases) and not bad, (len(bad), bad[:2])


# schemas as people and tools write them: non-ASCII names, SQLite's brackets and strings, virtual
# tables, CREATE TABLE inside a function body, a comment or a string, routines in DELIMITER blocks
# and GO batches, escapes in every quoting, namespaces, odd whitespace
ODD_SCHEMAS = [
    NON_ASCII,
    "CREATE TABLE [albums] ([id] INTEGER, [Title]] x] TEXT);\n"
    "CREATE TABLE 'lyrics_data'(id INTEGER, 'line text' TEXT);",
    "CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter');\n"
    "CREATE TABLE sqlite_sequence(name,seq);",
    "CREATE FUNCTION f() RETURNS void AS $$ CREATE TABLE fake_in_function (x int); $$\n"
    "LANGUAGE sql;\n"
    "-- CREATE TABLE fake_comment (x int)\n"
    "COMMENT ON TABLE t IS 'CREATE TABLE fake_string (x int)';\n"
    'CREATE TABLE real_one (a int, "select" text, b INT REFERENCES other(id));',
    "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN CREATE TABLE fake_proc (x int); END ;;\nDELIMITER ;\n"
    "CREATE TABLE `t``x` (`a` int, KEY `k` (`a`), `key` varchar(20), "
    "CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `u` (`id`));",
    "CREATE PROCEDURE dbo.p AS\nBEGIN\n CREATE TABLE fake (x int)\nEND\nGO\n"
    "CREATE TABLE [dbo].[T] ([a] [int], [b]  AS ([a]+1), PERIOD FOR SYSTEM_TIME (x, y))\nGO\n"
    "ALTER TABLE [dbo].[T] WITH CHECK ADD CONSTRAINT [FK_T] FOREIGN KEY([a]) "
    "REFERENCES [Sales].[U] ([id])\nGO",
    "CREATE TABLE orders {\n  id INT,\n  customer_id INT,\n  total DECIMAL(10,2)\n}",
    'create temporary table if not exists "My Schema"."My Table" ("Id" uuid, '
    "LIKE other INCLUDING ALL, index int, family f (a));",
    "CREATE TABLE t (a INT, b TEXT DEFAULT 'it\\'s (', c INT) ENGINE=InnoDB;\n"
    "CREATE TABLE u\u00a0(x\u3000INT, y int)",
    "CREATE TABLE 😀 (x INT); CREATE TABLE t😀x (y😀 INT, z INT)",
    'CREATE TABLE inventory.stock (id INT); CREATE TABLE Inventory."Stock Items" (id INT); '
    "CREATE TABLE main.m (id INT); CREATE TABLE a.b.c (id INT)",
]
REQUOTE = [  # (suggestion, partly typed word, statement before it)
    ("Order Items WHERE qty = 1;", "", ""),
    ("warehouses w JOIN stock s", "", "SELECT * FROM "),
    ("warehouses", "", "SELECT "),
    (" Items WHERE", "Order", ""),
    ("Sales Order Header", "", ""),
    ("product reviews x 'product reviews'", "", "SELECT * FROM "),
    ("Stock Items JOIN stock", "", "SELECT * FROM "),
]


def test_js_schema_matches_schema_py(tmp_path):
    """web/schema.js reads schemas as sql/schema.py does: tables and columns, types, foreign keys,
    the names written quoted or qualified, the fitted schema, and requoted suggestions."""
    need_node()
    from sqlcomplete.sql.schema import column_types, fit_schema, parse_schema, requote, spelling_of

    cases, want = [], []
    for schema in [*dumps(), *ODD_SCHEMAS, *(r["schema"] for r in dev_rows(200))]:
        tables = parse_schema(schema)
        case = {
            "schema": schema,
            "keep": list(tables)[-1:],
            "budget": max(len(schema) // 2, 10),
            "requote": REQUOTE,
        }
        types, fkeys = column_types(schema)
        spelled = spelling_of(schema)
        want.append(
            {
                "tables": [[t, cols] for t, cols in tables.items()],
                "types": [[t, [[c, k] for c, k in cols.items()]] for t, cols in types.items()],
                "fkeys": [list(f) for f in fkeys],
                "quoted": [list(x) for x in spelled.quoted.items()],
                "qualified": [list(x) for x in spelled.qualified.items()],
                "namespace": [list(x) for x in spelled.namespace.items()],
                "fit": fit_schema(schema, set(case["keep"]), case["budget"])[0],
                "requoted": [requote(*r[:1], spelled, *r[1:]) for r in REQUOTE],
            }
        )
        cases.append(case)
    assert sum(bool(w["quoted"] or w["qualified"]) for w in want) >= 8  # the cases quote names
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in cases))
    r = node(
        "web/test/schema_parity.mjs", str(tmp_path / "cases.jsonl"), str(tmp_path / "out.jsonl")
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    bad = [(c["schema"][:200], w, g) for c, w, g in zip(cases, want, got) if w != g]
    assert len(got) == len(cases) and not bad, (len(bad), bad[:2])


def menu_cases() -> list[dict]:
    """Prefixes cut at tokens of dev-set statements (or generated ones), each with texts to clean:
    the true rest cut anywhere, in another case, and junk of every kind (a literal of the wrong
    type, a keyword where a table must come, a word cut short, a parenthesis or quote left
    open)."""
    from sqlcomplete.sql.lexicon import TOKEN

    rng = random.Random(5)
    cases = []
    for r in dev_rows(120):
        text = r["statement"]
        spans = [m.span() for m in TOKEN.finditer(text)]
        for _ in range(3):
            s, e = rng.choice(spans[1:] or [(0, 0)])
            cut = s + rng.choice([0, 0, min(2, e - s)])
            prefix, rest = text[:cut], text[cut:]
            texts = [
                rest,
                rest[: rng.randint(0, len(rest))],
                rest.lower()[: rng.randint(0, len(rest))],
                rest.upper()[:40],
                rng.choice(["TRUE;", "1001", "'2025-05-15 11:0", "'x' AND", "-1 ORDER BY na"]),
                rng.choice(["ER BY id DESC;", "ring", "check", "(SELECT 1", "count(*", "AS user_"]),
            ]
            cases.append({"schema": r["schema"], "prefix": prefix, "suffix": "", "texts": texts})
    # quoted names in every dialect's quotes, cut anywhere (inside a quote the user opened too)
    for schema, statement in zip([*dumps(), NON_ASCII], QUOTED_STATEMENTS):
        for _ in range(12):
            cut = rng.randint(1, len(statement) - 1)
            prefix, rest = statement[:cut], statement[cut:]
            texts = [
                rest,
                rest[: rng.randint(0, len(rest))],
                rest.lower()[: rng.randint(0, len(rest))],
                rest.upper()[:40],
                rng.choice(["`no such` WHERE", "[Sales ORDER Header] x", '"Order It', "] =", "`"]),
                rng.choice(['er Items" WHERE', "es Order Header]", "uct reviews` x", "ers", " ="]),
            ]
            cases.append({"schema": schema, "prefix": prefix, "suffix": "", "texts": texts})
    return cases


# statements over the dumps (in tests/data/dumps' order) and NON_ASCII's schema
QUOTED_STATEMENTS = [
    "SELECT SubTotal, [Comment]] Text] FROM Sales.[Sales Order Header] h JOIN [dbo].[Customer] c"
    " ON c.CustomerID = h.CustomerID WHERE h.SubTotal > 10 ORDER BY OrderDate DESC;",
    "SELECT `star rating`, body FROM `product reviews` WHERE customer_id = 3"
    " ORDER BY `star rating`;",
    'SELECT "Unit Price", qty FROM "Order Items" oi JOIN orders o ON o.id = oi.order_id'
    " JOIN inventory.stock s ON s.product_id = oi.product_id WHERE o.status = 'paid';",
    'SELECT played_at FROM "track plays" p JOIN [albums] a ON a.AlbumId = p.track_id'
    " WHERE p.track_id = 1;",
    "SELECT 名字, café FROM 客户 WHERE 编号 = 1 ORDER BY 名字;",
]


def test_js_menu_matches_menu_py(tmp_path):
    """web/menu.js (the page's menu rules) gives menu.py's cleaned suggestions and labels
    exactly."""
    need_node()
    from sqlcomplete.completion.menu import Menu, menu_item, name_spelling
    from sqlcomplete.sql.lexicon import SQL_VOCABULARY
    from sqlcomplete.sql.schema import parse_schema

    cases = menu_cases()
    cases[0]["sql_vocabulary"] = sorted(SQL_VOCABULARY)
    menu, want = Menu(), []
    for c in cases:
        menu.set_schema(c["schema"])
        clean = menu.clean(c["prefix"], c["suffix"], c["texts"])
        spelling = name_spelling(parse_schema(c["schema"]))
        want.append(
            {"clean": clean, "labels": [menu_item(c["prefix"], t, spelling).label for t in clean]}
        )
    changed = sum(w["clean"] != c["texts"] for w, c in zip(want, cases))
    assert len(cases) >= 300 and changed >= 0.5 * len(cases)  # the rules had work to do
    (tmp_path / "cases.jsonl").write_text("".join(json.dumps(x) + "\n" for x in cases))
    r = node("web/test/menu_parity.mjs", str(tmp_path / "cases.jsonl"), str(tmp_path / "out.jsonl"))
    assert r.returncode == 0, r.stderr[-3000:]
    got = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    bad = [(c, w, g) for c, w, g in zip(cases, want, got) if w != g]
    assert len(got) == len(cases) and not bad, (len(bad), bad[:2])


@pytest.mark.parametrize("which", ["hybrid", "model alone"])
def test_js_completer_matches_sample_py(which, tiny_ckpt, tiny_ngram, tiny_web, tmp_path):
    """web/completer.js (what the page runs) gives sample.py's suggestions: cache reuse, token
    healing, trimming, and the n-gram's proposals reranked by the model (or the model alone)."""
    need_node("onnxruntime-web")
    from sqlcomplete.completion.engine import Completer

    rng = random.Random(1)
    requests = [{"id": "empty", "schema": SCHEMA, "prefix": ""}, {"id": "bad"}]
    for i, s in enumerate(STATEMENTS):
        for j in range(3):
            requests.append(
                {"id": f"{i}.{j}", "schema": SCHEMA, "prefix": s[: rng.randint(1, len(s) - 1)]}
            )
    requests.append(
        {"id": "suffix", "schema": SCHEMA, "prefix": "SELECT na", "suffix": " FROM customers;"}
    )
    requests.append({"id": "newline", "schema": SCHEMA, "prefix": "SELECT *\nFROM customers\n"})
    requests.append(
        {"id": "other-schema", "schema": "CREATE TABLE t (a INT);", "prefix": "SELECT a FR"}
    )
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    r = node(
        "web/batch.mjs",
        "--batch",
        str(tmp_path / "in.jsonl"),
        "--out",
        str(tmp_path / "out.jsonl"),
        "--model",
        tiny_web,
        "--variant",
        "fp32",
        *(["--ngram", "none"] if which == "model alone" else []),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = {o["id"]: o for o in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert got["bad"]["completions"] == [] and "error" in got["bad"]
    c = Completer(tiny_ckpt, threads=1, ngram=tiny_ngram if which == "hybrid" else None)
    same = reranked = 0
    # in batch.mjs's order (by schema, then prefix): a keystroke may re-use the previous one's
    # decoding
    for req in sorted(requests[:1] + requests[2:], key=lambda r: (r["schema"], r["prefix"])):
        c.set_schema(req["schema"])
        want = c.complete(req["prefix"], req.get("suffix", ""), 5)
        assert got[req["id"]]["completions"][:1] == want[:1], req
        same += got[req["id"]]["completions"] == want
        if c.ngram:
            proposals = c.ngram.proposals(req["prefix"], req.get("suffix", ""), 8)
            reranked += bool(proposals) and proposals[0][1] is not None
    assert same >= 0.9 * (len(requests) - 1)  # lower ranks may differ on a float near-tie
    if which == "hybrid":
        assert reranked >= 0.5 * (len(requests) - 1)  # most requests went through the reranking


@pytest.mark.parametrize("which", ["hybrid", "model alone"])
def test_js_completer_invents_no_names(which, tiny_web, tmp_path):
    """What the page suggests names nothing that is in neither the schema, the typed text nor SQL
    (random weights spell random words: they are cut off, or the suggestion dropped)."""
    need_node("onnxruntime-web")
    from sqlcomplete.completion.engine import ident_tail
    from sqlcomplete.sql.lexicon import invented_at, known_words

    schema = (
        "CREATE TABLE languages (code TEXT PRIMARY KEY, name TEXT);\n"
        "CREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT, population INT);"
    )
    prefixes = [
        "SELECT count(*) FROM ",
        "SELECT * FROM ",
        "SELECT name FROM countries WHERE ",
        "INSERT INTO ",
        "UPDATE countries SET ",
        "SELECT ",
        "SELECT name FROM countries WHERE name = 'Fr",
        "SELECT co",
    ]
    requests = [{"id": str(i), "schema": schema, "prefix": p} for i, p in enumerate(prefixes)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in requests))
    r = node(
        "web/batch.mjs",
        "--batch",
        str(tmp_path / "in.jsonl"),
        "--out",
        str(tmp_path / "out.jsonl"),
        "--model",
        tiny_web,
        "--variant",
        "fp32",
        *(["--ngram", "none"] if which == "model alone" else []),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = {
        o["id"]: o["completions"]
        for o in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())
    }
    bad = []
    for q in requests:
        lead = "'" if q["prefix"].count("'") % 2 else ident_tail(q["prefix"])
        known = known_words(schema, q["prefix"])
        bad += [(q["prefix"], s) for s in got[q["id"]] if invented_at(s, known, lead) is not None]
    assert not bad and sum(map(len, got.values())) >= len(prefixes), (bad, got)


def page_model(tiny_web, tmp_path_factory) -> tuple[str, bool]:
    """The shipped model and n-gram for the page when there is one (web/model/ when it is current),
    else the tiny ones."""
    shipped = os.path.join(ROOT, "sqlcomplete", "models", "default")
    if not os.path.isfile(os.path.join(shipped, "model.safetensors")):
        return tiny_web, False
    export = load("export")
    ngram = export.DEFAULT_NGRAM if os.path.isfile(export.DEFAULT_NGRAM) else None
    try:
        with open(os.path.join(WEB, "model", "config.json")) as f:
            cfg = json.load(f)
        settings = export.rerank_config("ngram.json.gz") if ngram else {}
        if (
            cfg.get("source_sha256") == export.source_hash(shipped)
            and (cfg.get("ngram") or {}).get("source_sha256")
            == (export.file_hash(ngram) if ngram else None)
            and all((cfg.get("ngram") or {}).get(k) == v for k, v in settings.items())
        ):
            return os.path.join(WEB, "model"), True
    except (OSError, ValueError):
        pass
    out = str(tmp_path_factory.mktemp("shipped_web"))
    export.write_model_dir(
        shipped, out, int8=True, check=False, ngram=ngram
    )  # parity is checked on the tiny model
    return out, True


def test_page_in_headless_chromium(tiny_web, tmp_path_factory, tmp_path):
    """Type a schema and `SELECT * FROM `; a suggestion within 2 s; Tab inserts it; 50 keystrokes'
    latency; the page reranks the n-gram's proposals when the export has one."""
    need_node("onnxruntime-web", "playwright-core")
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"no {CHROMIUM}: `apt-get install chromium` (.ci/run does) to run the browser test"
        )
    model_dir, shipped = page_model(tiny_web, tmp_path_factory)
    row = next(
        (
            r
            for r in dev_rows()
            if r["statement"].upper().startswith("SELECT") and len(r["statement"]) >= 50
        ),
        {"schema": SCHEMA, "statement": STATEMENTS[1]},
    )
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
    report = (
        json.loads(r.stdout.strip().splitlines()[-1])
        if r.stdout.strip()
        else {"error": r.stderr[-3000:]}
    )
    print(json.dumps({"model": "shipped" if shipped else "tiny", **report}, indent=1))
    assert report.get("ok"), report
    assert report["first_suggestion_ms"] <= 2000
    assert report["tab_inserted"]
    with open(os.path.join(model_dir, "config.json")) as f:
        has_ngram = bool((json.load(f).get("ngram") or {}).get("file"))
    assert bool(report["model"].get("ngram")) == has_ngram, report["model"]
    if shipped:
        assert report["names_table"], report["shown"]
    assert os.path.isfile(shot)


def test_page_menus_are_clean_and_inside_the_viewport(tiny_web, tmp_path_factory, tmp_path):
    """Issue 26's examples typed into the page (the shipped model): every item whole, closed, of the
    right class and type, its label the whole word being completed; issue 29: a menu of long items
    stays inside a narrow viewport (its box and its screenshot's size), each item whole on hover."""
    need_node("onnxruntime-web", "playwright-core")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no {CHROMIUM}: `apt-get install chromium` to run the browser test")
    from clean_menus import PREFIXES, problems
    from clean_menus import SCHEMA as MENU_SCHEMA

    model_dir, shipped = page_model(tiny_web, tmp_path_factory)
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"schema": MENU_SCHEMA, "statement": "SELECT name FROM customers;"}))
    (tmp_path / "menus.json").write_text(json.dumps(PREFIXES))
    server = load("serve").start(0, model_dir=model_dir)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        args = ["web/test/browser.mjs", "--url", url, "--case", str(case)]
        args += [
            "--menus",
            str(tmp_path / "menus.json"),
            "--screenshot",
            str(tmp_path / "page.png"),
        ]
        r = node(*args, timeout=240)
    finally:
        server.shutdown()
        server.server_close()
    report = (
        json.loads(r.stdout.strip().splitlines()[-1])
        if r.stdout.strip()
        else {"error": r.stderr[-3000:]}
    )
    shown = {k: report.get(k) for k in ("menus", "narrow", "error", "console_errors")}
    print(json.dumps({"model": "shipped" if shipped else "tiny", **shown}, indent=1))
    assert report.get("ok") and len(report.get("menus", [])) == len(PREFIXES), shown
    narrow = report["narrow"]
    (width, height), (left, top, right, bottom) = narrow["viewport"], narrow["box"]
    assert 0 <= left < right <= width and 0 <= top < bottom <= height, narrow
    assert narrow["shot"][0] <= width and narrow["shot"][1] <= height and narrow["titled"], narrow
    bad = []
    for m in report["menus"]:
        word = re.search(r"[A-Za-z0-9_$]*$", m["prefix"]).group(0)
        assert m["labels"] == m["titles"] and len(m["labels"]) == len(m["suggestions"]), m
        for text, shown in zip(m["suggestions"], m["labels"]):
            assert shown.lower().startswith(word.lower()), (m["prefix"], shown)
            if shipped:  # a tiny random model's menus say nothing about the rules
                bad += [(m["prefix"], text, p) for p in problems(m["prefix"], text, shown)]
    assert not bad, (bad, report["menus"])
    if shipped:
        menus = {m["prefix"]: m["labels"] for m in report["menus"]}
        assert menus["INSERT INTO ord"] and all(
            x.startswith("orders") for x in menus["INSERT INTO ord"]
        )
        assert any(x.startswith("name") for x in menus["SELECT na"]), menus
