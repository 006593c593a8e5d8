"""database.py against real databases: SQLite and DuckDB in-process, and a real PostgreSQL server
(tests/pg_server.py) that skips with its reason where it cannot start (and fails under CI=true)."""

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlcomplete.db.database import (
    Column,
    Database,
    DatabaseError,
    DbOptions,
    Table,
    merge,
    one_line,
    pgpass_password,
    redact,
    render_table,
    sqlalchemy_url,
    sqlite_path,
    url_secrets,
    value_completions,
    value_target,
)
from sqlcomplete.sql.scan import string_start

ROOT = Path(__file__).resolve().parent.parent
SHOP = [
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
    "email TEXT UNIQUE, status VARCHAR(20) DEFAULT 'active')",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, "
    "customer_id INTEGER REFERENCES customers(id), status TEXT)",
    'CREATE TABLE "Order Items" ("ItemId" INTEGER, order_id INTEGER, qty INT, '
    'PRIMARY KEY ("ItemId", order_id), '
    "FOREIGN KEY (order_id) REFERENCES orders(id))",
    "CREATE VIEW active_customers AS SELECT id, name FROM customers WHERE status = 'active'",
]
STATUSES = ["active"] * 5 + ["inactive"] * 3 + ["banned"]
# issue 28's URLs: nothing listens on port 1, so the driver's own error comes back at once
QUERY_URL = "postgresql://127.0.0.1:1/db?password=SECRETPW&user=u"
AT_URL = "postgresql://u:SEC@RETPW@127.0.0.1:1/db"


def fill(execute) -> None:
    for i in range(45):
        execute(
            f"INSERT INTO customers (id, name, email, status) VALUES ({i}, 'n{i}', 'e{i}@x.org', "
            f"'{STATUSES[i % len(STATUSES)]}')"
        )


# ---------------------------------------------------------------- pure functions


def test_value_target_finds_the_column_of_the_open_string():
    assert value_target("SELECT * FROM customers WHERE status = '") == (
        None,
        "status",
        ["customers"],
        "",
        True,
        (),
    )
    assert value_target(
        "SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE o.status IN ('a', 'sh"
    ) == ("orders", "status", ["customers", "orders"], "sh", True, ("a",))
    assert value_target("UPDATE orders SET status = 'it''s") == (
        None,
        "status",
        ["orders"],
        "it's",
        True,
        (),
    )
    assert value_target("INSERT INTO orders (id, customer_id, status) VALUES (1, 2, 'pa")[:2] == (
        "orders",
        "status",
    )
    assert value_target("INSERT INTO orders (id, status) VALUES (1, 'x'), (2, '")[:2] == (
        "orders",
        "status",
    )
    assert value_target("SELECT * FROM t WHERE name LIKE 'Jo")[1:4] == ("name", ["t"], "Jo")
    assert (
        value_target("SELECT * FROM t WHERE status = 'done' AND x = 1") is None
    )  # the string is closed
    assert value_target("SELECT 'abc") is None  # no column to compare with
    assert value_target("SELECT * FROM t WHERE a = 1 -- it's") is None  # a comment, not a string
    assert string_start("SELECT 'a''") == 7 and string_start("SELECT 'a'") is None
    # where a value may start: the whole quoted value is offered
    assert value_target("SELECT * FROM t WHERE status = ") == (None, "status", ["t"], "", False, ())
    assert value_target("INSERT INTO t (a, b) VALUES (1, ")[:2] == ("t", "b")
    assert value_target("SELECT * FROM t WHERE status = 1") is None
    assert value_target("SELECT * FROM t -- status = ") is None


def test_pgpass_rules(tmp_path):
    f = tmp_path / "pgpass"
    f.write_text(
        "# comment\nother:5432:*:*:no\n/tmp/sock:5432:app:sqlc:pa\\:ss\n*:*:*:*:fallback\n"
    )
    assert pgpass_password("/tmp/sock", "5432", "app", "sqlc", str(f)) == "pa:ss"
    assert pgpass_password("db.example", "5432", "app", "sqlc", str(f)) == "fallback"
    assert pgpass_password("x", "1", "y", "z", str(tmp_path / "missing")) is None


def test_urls_and_redaction():
    assert redact("postgresql://me:hunter2@db/app") == "postgresql://me:***@db/app"
    assert redact("duckdb:///x.duckdb") == "duckdb:///x.duckdb"
    # issue 28: a password query parameter, a password with a raw '@' in it
    assert redact(QUERY_URL) == "postgresql://127.0.0.1:1/db?password=***&user=u"
    assert redact(AT_URL) == "postgresql://u:***@127.0.0.1:1/db"
    assert redact("postgresql://u@h/db?sslpassword=k3y&user=me@corp") == (
        "postgresql://u@h/db?sslpassword=***&user=me@corp"
    )
    assert redact("http://user:pw@host/v1?api_key=abc") == "http://user:***@host/v1?api_key=***"
    # every piece of the password, as written and decoded, leaves a driver's message
    pieces = url_secrets(AT_URL)
    assert {"SEC@RETPW", "SEC", "RETPW"} <= set(pieces)
    driver = ValueError("failed to resolve host 'RETPW@127.0.0.1': password SEC@RETPW")
    assert "RETPW" not in one_line(driver, pieces) and "SEC" not in one_line(driver, pieces)
    assert "SEC" not in one_line(ValueError("x SEC%40RETPW y"), url_secrets(AT_URL))
    assert one_line(ValueError("bad pw s3cret here"), "s3cret") == "bad pw *** here"
    assert sqlalchemy_url(AT_URL) == "postgresql://u:SEC%40RETPW@127.0.0.1:1/db"
    assert (
        sqlite_path("sqlite:///rel/a.db") == "rel/a.db"
        and sqlite_path("sqlite:////abs/a.db") == "/abs/a.db"
    )
    assert sqlite_path("plain.db") == "plain.db"


def test_render_matches_the_training_layout():
    t = Table(
        "line_items",
        None,
        [
            Column("order_id", "INTEGER", False),
            Column("sku", "VARCHAR(20)", False),
            Column("note", "TEXT", True, "'none'::text"),
        ],
        primary_key=["order_id", "sku"],
        foreign_keys=[(["order_id"], "orders", ["id"])],
    )
    assert render_table(t) == (
        "CREATE TABLE line_items (\n    order_id INTEGER NOT NULL,\n"
        "    sku VARCHAR(20) NOT NULL,\n"
        "    note TEXT DEFAULT 'none',\n    PRIMARY KEY (order_id, sku),\n"
        "    FOREIGN KEY (order_id) REFERENCES orders(id)\n);"
    )


def test_merge_puts_values_first_without_duplicates():
    assert merge(["active'", "banned'"], ["active'", "x"], 3) == ["active'", "banned'", "x"]


# ---------------------------------------------------------------- SQLite and DuckDB, in-process


def test_sqlite_schema_values_and_refresh(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    for s in SHOP:
        con.execute(s)
    fill(con.execute)
    con.commit()
    db = Database(DbOptions(f"sqlite:///{path}"))
    assert db.refresh() is True
    text = "\n\n".join(db.ddl)
    assert (
        text.index("CREATE TABLE customers")
        < text.index("CREATE TABLE orders")
        < text.index('"Order Items"')
    )
    assert (
        'CREATE TABLE "Order Items" (\n    ItemId INTEGER,' in text
    )  # SQLite: names are case-insensitive
    assert (
        "PRIMARY KEY (ItemId, order_id),\n    FOREIGN KEY (order_id) REFERENCES orders(id)" in text
    )
    assert "FOREIGN KEY (customer_id) REFERENCES customers(id)" in text
    assert (
        "CREATE TABLE active_customers (\n    id INTEGER,\n    name VARCHAR(100)\n);" in text
    )  # a view's columns
    assert value_completions(db, "SELECT * FROM customers WHERE status = '") == [
        "active'",
        "inactive'",
        "banned'",
    ]
    assert value_completions(db, "SELECT * FROM customers WHERE status = 'in", suffix="'") == [
        "active"
    ]
    assert value_completions(db, "SELECT * FROM customers WHERE id = '") == []  # not a text column
    assert value_completions(db, "SELECT * FROM customers WHERE status = ", n=2) == [
        "'active'",
        "'inactive'",
    ]
    assert value_completions(db, "SELECT * FROM customers WHERE status IN ('active', '") == [
        "inactive'",
        "banned'",
    ]
    assert db.refresh() is False
    con.execute("CREATE TABLE refunds (id INTEGER PRIMARY KEY, reason TEXT)")
    con.commit()
    assert db.refresh() is True and "CREATE TABLE refunds" in db.ddl[-1]
    con.close()
    with pytest.raises(sqlite3.OperationalError):  # read-only: the completer cannot write
        db._connect_sqlite().execute("CREATE TABLE x (i INT)")
    missing = Database(DbOptions(f"sqlite:///{tmp_path / 'nope.db'}"))
    with pytest.raises(DatabaseError, match="no such file"):
        missing.refresh()


def test_duckdb_schema_and_values(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_engine")
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "email VARCHAR UNIQUE, status VARCHAR)"
    )
    con.execute(
        'CREATE TABLE "OrderItems" ("ItemId" INTEGER PRIMARY KEY, customer_id INTEGER '
        "REFERENCES customers(id), qty INTEGER)"
    )
    fill(con.execute)
    con.close()
    db = Database(DbOptions(f"duckdb:///{path}"))
    assert db.refresh() is True
    text = "\n\n".join(db.ddl)
    assert 'CREATE TABLE "OrderItems" (\n    "ItemId" INTEGER PRIMARY KEY,' in text
    assert "FOREIGN KEY (customer_id) REFERENCES customers(id)" in text
    assert "email VARCHAR UNIQUE" in text
    assert value_completions(db, "SELECT name FROM customers WHERE status = 'a") == ["ctive'"]
    db.close()


# ---------------------------------------------------------------- a real PostgreSQL server


@pytest.fixture(scope="module")
def pg():
    import pg_server

    yield from pg_server.fixture_server(
        "CREATE TABLE customers (id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL, "
        "email TEXT UNIQUE, status TEXT DEFAULT 'active', created_at TIMESTAMPTZ DEFAULT now())",
        'CREATE TABLE "CustomerOrders" ("OrderId" BIGSERIAL PRIMARY KEY, customer_id INT NOT NULL '
        'REFERENCES customers(id), total NUMERIC(10, 2), "Status" VARCHAR(20))',
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE TABLE people (id INT, mood mood, PRIMARY KEY (id))",
        'CREATE VIEW big_orders AS SELECT "OrderId", total FROM "CustomerOrders" WHERE total > 100',
        "CREATE SCHEMA sales",
        "CREATE TABLE sales.leads "
        "(id INT PRIMARY KEY, customer_id INT REFERENCES public.customers(id))",
        "INSERT INTO customers (name, email, status) SELECT 'n' || i, 'e' || i, "
        "(ARRAY['active', 'active', 'inactive', 'banned', 'active', 'inactive'])[1 + i % 6] "
        "FROM generate_series(1, 400) i",
        'INSERT INTO "CustomerOrders" (customer_id, "Status") SELECT 1 + i % 400, '
        "(ARRAY['paid', 'shipped', 'paid'])[1 + i % 3] FROM generate_series(1, 300) i",
    )


def test_pg_schema_keys_names_and_namespaces(pg):
    db = Database(DbOptions(pg.url()))
    db.refresh()
    text = "\n\n".join(db.ddl)
    assert text.startswith(
        "CREATE TABLE customers (\n    id SERIAL PRIMARY KEY,\n    name VARCHAR(100) NOT NULL,\n"
        "    email TEXT UNIQUE,\n    status TEXT DEFAULT 'active',\n"
        "    created_at TIMESTAMPTZ DEFAULT now()\n);"
    )
    assert (
        'CREATE TABLE "CustomerOrders" (\n    "OrderId" BIGSERIAL PRIMARY KEY,\n'
        "    customer_id INTEGER NOT NULL," in text
    )
    assert "FOREIGN KEY (customer_id) REFERENCES customers(id)" in text
    assert "CREATE TABLE people (\n    id INTEGER PRIMARY KEY,\n    mood mood\n);" in text
    assert 'CREATE TABLE big_orders (\n    "OrderId" BIGINT,' in text
    assert "leads" not in text  # sales is not on the search_path
    both = Database(DbOptions(pg.url(), schemas=["public", "sales"]))
    both.refresh()
    assert (
        "CREATE TABLE sales.leads (\n    id INTEGER PRIMARY KEY,\n    customer_id INTEGER,\n"
        "    FOREIGN KEY (customer_id) REFERENCES customers(id)\n);" in both.ddl
    )  # public: on the search_path
    db.close(), both.close()


def test_pg_values_from_pg_stats_then_sample(pg):
    db = Database(
        DbOptions(pg.url(), values=True, sample_rows=0)
    )  # no sample: only pg_stats can answer
    db.refresh()
    q = "SELECT * FROM customers WHERE status = '"
    assert value_completions(db, q) == []  # not analyzed yet
    pg.sql("ANALYZE customers")
    db._values.clear()
    assert value_completions(db, q) == ["active'", "inactive'", "banned'"]
    sampled = Database(DbOptions(pg.url(), values=True))
    sampled.refresh()
    in_list = 'SELECT * FROM "CustomerOrders" o WHERE o."Status" IN (\''
    assert value_completions(sampled, in_list) == ["paid'", "shipped'"]
    assert value_completions(sampled, "SELECT * FROM people WHERE mood = 'h") == [
        "appy'"
    ]  # enum labels, no query
    db.close(), sampled.close()


def test_pg_is_read_only_with_a_statement_timeout(pg):
    import sqlalchemy as sa

    db = Database(DbOptions(pg.url(), query_timeout=0.5))
    with db._engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.execute(sa.text("CREATE TABLE x (i INT)"))
        conn.rollback()
        t0 = time.monotonic()
        with pytest.raises(sa.exc.DBAPIError, match="statement timeout"):
            conn.execute(sa.text("SELECT pg_sleep(5)"))
        assert time.monotonic() - t0 < 3
    db.close()


def test_pg_wrong_password_and_server_down_are_one_line(pg, tmp_path):
    db = Database(DbOptions(pg.url(password="not-the-password")))
    with pytest.raises(DatabaseError) as e:
        db.refresh()
    msg = str(e.value)
    assert (
        "password authentication failed" in msg
        and "not-the-password" not in msg
        and "\n" not in msg
    )
    assert "***" in msg
    down = Database(DbOptions(pg.url().replace(pg.socket_dir, str(tmp_path)), connect_timeout=2))
    t0 = time.monotonic()
    with pytest.raises(DatabaseError, match="No such file or directory|Connection refused") as e:
        down.refresh()
    assert time.monotonic() - t0 < 5 and "\n" not in str(e.value)


def test_pg_password_from_pgpass(pg, tmp_path, monkeypatch):
    f = tmp_path / "pgpass"
    f.write_text(f"{pg.socket_dir}:5432:app:sqlc:{pg_server_password()}\n")
    f.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(f))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    db = Database(DbOptions(pg.url(password=None)))
    db.refresh()
    assert any("customers" in d for d in db.ddl)
    db.close()


def pg_server_password() -> str:
    import pg_server

    return pg_server.PASSWORD


def test_pg_schema_change_is_picked_up_on_refresh(pg):
    db = Database(DbOptions(pg.url()))
    db.refresh()
    assert db.refresh() is False
    pg.sql("CREATE TABLE invoices (id INT PRIMARY KEY, customer_id INT REFERENCES customers(id))")
    assert db.refresh() is True and any(d.startswith("CREATE TABLE invoices") for d in db.ddl)
    pg.sql("DROP TABLE invoices")
    db.close()


# ---------------------------------------------------------------- sample.py over a live database


def sample_py(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "sample.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def shop_db(path: Path) -> str:
    con = sqlite3.connect(path)
    for s in SHOP:
        con.execute(s)
    fill(con.execute)
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_sample_py_reads_the_schema_and_values_from_db(tiny_ckpt, tmp_path):
    url = shop_db(tmp_path / "shop.db")
    prefix = "SELECT * FROM customers WHERE status = '"
    r = sample_py("--ckpt", tiny_ckpt, "--db", url, "--db-values", "--prefix", prefix)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line.split("\t", 1)[1]) for line in r.stdout.splitlines()]
    assert lines[:3] == ["active'", "inactive'", "banned'"]
    without = sample_py("--ckpt", tiny_ckpt, "--db", url, "--prefix", prefix)
    assert "active'" not in [
        json.loads(line.split("\t", 1)[1]) for line in without.stdout.splitlines()
    ]
    reqs = tmp_path / "in.jsonl"
    reqs.write_text(
        json.dumps({"id": "a", "prefix": "UPDATE orders SET status = "})
        + "\n"
        + json.dumps({"id": "b", "schema": "CREATE TABLE t (status TEXT);", "prefix": "SELECT "})
        + "\n"
    )
    r = sample_py(
        "--ckpt",
        tiny_ckpt,
        "--db",
        url,
        "--db-values",
        "--batch",
        str(reqs),
        "--out",
        str(tmp_path / "out.jsonl"),
    )
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [o["id"] for o in out] == ["a", "b"] and all(o["completions"] for o in out)
    r = sample_py(
        "--ckpt", tiny_ckpt, "--db", f"sqlite:///{tmp_path / 'missing.db'}", "--prefix", "SELECT "
    )
    assert r.returncode != 0 and r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr


def test_sample_py_over_postgres(tiny_ckpt, pg):
    r = sample_py(
        "--ckpt",
        tiny_ckpt,
        "--db",
        pg.url(),
        "--db-values",
        "--prefix",
        'SELECT * FROM "CustomerOrders" WHERE "Status" = ',
    )
    assert r.returncode == 0, r.stderr
    assert [json.loads(line.split("\t", 1)[1]) for line in r.stdout.splitlines()][:2] == [
        "'paid'",
        "'shipped'",
    ]
    r = sample_py("--ckpt", tiny_ckpt, "--db", pg.url(password="nope"), "--prefix", "SELECT ")
    assert (
        r.returncode != 0
        and "password authentication failed" in r.stderr
        and "nope" not in r.stderr
    )


# ---------------------------------------------------------------- secrets in messages (issue 28)


def front_end(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def shows_no_secret(text: str) -> bool:
    return not any(s in text for s in ("SECRETPW", "RETPW", "SEC@", "SEC%40"))


@pytest.mark.parametrize("url", [QUERY_URL, AT_URL])
def test_db_errors_show_no_password_in_any_front_end(url, tmp_path):
    """The CLI, the editor and database.py exit with one line; the language server's log and
    window messages (SchemaSources' notes, refreshSchema's databaseError) and the exception say
    the same, all without the password."""
    for args in (
        ["-m", "sqlcomplete.db.database", url],
        [str(ROOT / "sample.py"), "--db", url, "--prefix", "SELECT "],
        ["-m", "sqlcomplete.tui", "--db", url],
    ):
        r = front_end(*args)
        assert r.returncode != 0 and "Connection refused" in r.stderr, (args, r.stderr)
        assert shows_no_secret(r.stdout + r.stderr), (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0, r.stderr
    from sqlcomplete.db.sources import SchemaSources

    sources = SchemaSources([], "", DbOptions(url, connect_timeout=2))
    changed, notes = sources.read(walk=False, refresh_db=True)
    assert not changed and len(notes) == 1 and "Connection refused" in notes[0], notes
    assert shows_no_secret(notes[0]) and shows_no_secret(sources.db_error)
    with pytest.raises(DatabaseError) as e:
        Database(DbOptions(url, connect_timeout=2)).refresh()
    assert shows_no_secret(str(e.value)) and shows_no_secret(repr(e.value))
    assert e.value.__suppress_context__  # raised `from None`: a traceback shows no driver error


def test_a_url_that_does_not_parse_shows_no_password():
    with pytest.raises(DatabaseError, match="not a database URL") as e:
        Database(DbOptions("postgresql://u:SEC@RETPW@127.0.0.1:1x/db"))
    assert shows_no_secret(str(e.value)), e.value


# ---------------------------------------------------------------- --db-schema (issue 28)


def test_sqlite_namespaces_are_its_attached_databases(tmp_path):
    url = shop_db(tmp_path / "shop.db")
    main = Database(DbOptions(url, schemas=["main"]))
    assert main.refresh() and any(d.startswith("CREATE TABLE customers") for d in main.ddl)
    with pytest.raises(DatabaseError, match=r"--db-schema sales: no such namespace \(it has: main"):
        Database(DbOptions(url, schemas=["sales"])).refresh()
    r = front_end("-m", "sqlcomplete.db.database", url, "--db-schema", "nope")
    assert r.returncode == 2 and "--db-schema nope: no such namespace" in r.stderr, r.stderr


def test_duckdb_namespace_that_does_not_exist(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("duckdb_engine")
    path = tmp_path / "ns.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA sales")
    con.execute("CREATE TABLE sales.leads (id INTEGER PRIMARY KEY, name VARCHAR)")
    con.close()
    db = Database(DbOptions(f"duckdb:///{path}", schemas=["sales"]))
    assert db.refresh() and "CREATE TABLE sales.leads" in db.ddl[0]
    db.close()
    with pytest.raises(DatabaseError, match="--db-schema nope: no such namespace"):
        Database(DbOptions(f"duckdb:///{path}", schemas=["sales", "nope"])).refresh()


def test_pg_namespace_that_does_not_exist(pg):
    db = Database(DbOptions(pg.url(), schemas=["public", "nope"]))
    with pytest.raises(
        DatabaseError, match=r"--db-schema nope: no such namespace \(it has: .*sales"
    ):
        db.refresh()
    db.close()
