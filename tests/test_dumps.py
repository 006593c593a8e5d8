"""Schema dumps as real tools write them (issue 28): pg_dump, mysqldump, SSMS's "Generate Scripts"
(UTF-16, as it saves "Unicode" files) and sqlite3's .schema, in tests/data/dumps/. Each is read for
its real tables, columns and foreign keys, and none of the CREATE TABLE text inside a function body,
a comment, a string or a procedure becomes a table; names that need quotes or a qualifier are
offered so."""

import os
from pathlib import Path

import pytest

from sqlcomplete.db.sources import SchemaSources, decode_text, read_ddl
from sqlcomplete.sql.schema import column_types, parse_schema, requote, spelling_of, split_tables

DUMPS = Path(__file__).resolve().parent / "data" / "dumps"
FAKES = ("fake_", "review_archive", "review_counts", "#work", "sqlite_sequence")


def dump(name: str) -> str:
    return decode_text((DUMPS / name).read_bytes())


def no_fakes(text: str) -> None:
    tables = parse_schema(text)
    assert not [t for t in tables if t.lower().startswith(FAKES)], list(tables)
    for part in split_tables(text):  # (a comment inside a real table's body stays in its text)
        head = part.splitlines()[0].lower().split("(")[0]
        assert not any(fake in head for fake in FAKES), part
        assert parse_schema(part).keys() <= tables.keys()


# ---------------------------------------------------------------- one test per dialect


def test_pg_dump():
    text = dump("pg_dump.sql")
    tables = parse_schema(text)
    assert tables == {
        "stock": ["warehouse_id", "product_id", "quantity"],
        "warehouses": ["id", "city", "capacity"],
        "Order Items": ["id", "order_id", "product_id", "qty", "Unit Price"],
        "customers": ["id", "name", "email", "updated_at"],
        "events": ["id", "customer_id", "kind", "happened_at"],  # PARTITION BY after its body
        "events_2024": ["id", "customer_id", "kind", "happened_at"],
        "orders": ["id", "customer_id", "status", "placed_at"],
    }
    no_fakes(text)  # $$ and $_$ function bodies, a -- comment, COMMENT ON ... IS '...'
    types, fkeys = column_types(text)
    assert types["Order Items"]["Unit Price"] == "numeric"
    assert types["orders"]["placed_at"] == "timestamp"
    # ALTER TABLE ONLY ... ADD CONSTRAINT ... FOREIGN KEY: the foreign keys are kept
    assert sorted(fkeys) == [
        ("Order Items", "order_id", "orders", "id"),
        ("orders", "customer_id", "customers", "id"),
        ("stock", "warehouse_id", "warehouses", "id"),
    ]
    parts = split_tables(text)
    assert len(parts) == 10 and parts[-3].startswith("ALTER TABLE ONLY inventory.stock")
    assert column_types("\n\n".join(parts))[1] == fkeys  # the DDL a completer keeps holds them
    spelled = spelling_of(text)
    assert spelled.quoted == {"order items": '"Order Items"', "unit price": '"Unit Price"'}
    assert spelled.qualified == {
        "stock": "inventory.stock",
        "warehouses": "inventory.warehouses",
    }


def test_mysqldump():
    text = dump("mysqldump.sql")
    assert parse_schema(text) == {
        "customers": ["id", "name", "email", "created_at"],
        "product reviews": ["id", "customer_id", "star rating", "body"],
    }
    # /*!...*/ (the 5.7 view placeholder, SETs), DELIMITER ;; routines, INSERT data with \' escapes
    no_fakes(text)
    types, fkeys = column_types(text)
    assert fkeys == [("product reviews", "customer_id", "customers", "id")]
    assert types["product reviews"] == {
        "id": "int",
        "customer_id": "int",
        "star rating": "tinyint",
        "body": "text",
    }
    assert spelling_of(text).quoted == {
        "product reviews": "`product reviews`",
        "star rating": "`star rating`",
    }


def test_ssms_script_in_utf16():
    raw = (DUMPS / "mssql_ssms.sql").read_bytes()
    assert raw.startswith(b"\xff\xfe")  # SSMS's "Unicode": UTF-16 LE with a BOM
    text = decode_text(raw)
    assert parse_schema(text) == {
        "Customer": ["CustomerID", "AccountNumber", "Name", "ModifiedDate"],
        "Sales Order Header": [
            "SalesOrderID",
            "OrderDate",
            "CustomerID",
            "SubTotal",
            "Comment] Text",  # [Comment]] Text]
            "TotalDue",
        ],
        "SalesOrderDetail": ["SalesOrderID", "SalesOrderDetailID", "OrderQty", "UnitPrice"],
    }
    no_fakes(text)  # a procedure's body between GO lines, an extended property's N'...' string
    types, fkeys = column_types(text)
    assert types["Sales Order Header"]["OrderDate"] == "datetime"  # [datetime]
    assert types["Sales Order Header"]["TotalDue"] == ""  # a computed column: AS (...)
    assert fkeys == [  # ALTER TABLE ... WITH CHECK ADD CONSTRAINT ... FOREIGN KEY([...])
        ("Sales Order Header", "CustomerID", "Customer", "CustomerID"),
        ("SalesOrderDetail", "SalesOrderID", "Sales Order Header", "SalesOrderID"),
    ]
    spelled = spelling_of(text)
    assert spelled.quoted["sales order header"] == "[Sales Order Header]"
    assert spelled.quoted["comment] text"] == "[Comment]] Text]"
    assert spelled.qualified["sales order header"] == "Sales.[Sales Order Header]"
    assert "customer" not in spelled.qualified  # dbo: the default namespace
    # the language server's reader and a strict decode take it too
    assert [p.split("(")[0] for p in read_ddl(str(DUMPS / "mssql_ssms.sql"))][:2] == [
        "CREATE TABLE [dbo].[Customer]",
        "CREATE TABLE [Sales].[Sales Order Header]",
    ]


def test_sqlite_schema_command():
    text = dump("sqlite_schema.sql")
    tables = parse_schema(text)
    assert list(tables) == [
        "artists",
        "albums",
        "tracks",
        "track plays",
        "settings",
        "lyrics",
        "lyrics_data",
        "lyrics_idx",
        "lyrics_content",
        "lyrics_docsize",
        "lyrics_config",
    ]
    assert tables["albums"] == ["AlbumId", "Title", "ArtistId"]  # CREATE TABLE [albums]
    assert tables["lyrics_data"] == ["id", "block"]  # CREATE TABLE 'lyrics_data'(...)
    assert tables["lyrics_idx"] == ["segid", "term", "pgno"]  # ... WITHOUT ROWID
    assert tables["settings"] == ["key", "value"]  # `key` is a column here, not KEY (...)
    assert tables["lyrics"] == ["title", "body"]  # fts5's columns, not its tokenize= option
    no_fakes(text)  # sqlite_sequence, a trigger's string, a -- comment inside a body
    _, fkeys = column_types(text)
    assert fkeys == [
        ("albums", "ArtistId", "artists", "ArtistId"),
        ("tracks", "AlbumId", "albums", "AlbumId"),
        ("track plays", "track_id", "tracks", "TrackId"),
    ]
    assert spelling_of(text).quoted == {"track plays": '"track plays"'}


def test_constraint_words_and_column_names():
    schema = (
        "CREATE TABLE kv (key VARCHAR(20) PRIMARY KEY, index INT, family TEXT, period TEXT, "
        "KEY idx_family (family), INDEX (period), KEY k USING BTREE (key));\n"
        "CREATE TABLE t (a INT, b INT, PERIOD FOR SYSTEM_TIME (a, b), FAMILY f1 (a, b))"
    )
    assert parse_schema(schema) == {"kv": ["key", "index", "family", "period"], "t": ["a", "b"]}


# ---------------------------------------------------------------- names written as they must be


def test_requote_writes_names_that_need_quotes_and_qualifiers():
    pg, sqlite = spelling_of(dump("pg_dump.sql")), spelling_of(dump("sqlite_schema.sql"))
    assert requote("Order Items WHERE qty = 1;", pg) == '"Order Items" WHERE qty = 1;'
    assert requote("track plays WHERE id = 1;", sqlite) == '"track plays" WHERE id = 1;'
    assert requote("FROM warehouses WHERE", pg) == "FROM inventory.warehouses WHERE"
    assert requote("warehouses w JOIN stock s", pg) == "warehouses w JOIN inventory.stock s"
    assert requote("warehouses w", pg, before="SELECT * FROM ") == "inventory.warehouses w"
    assert requote("warehouses", pg, before="SELECT ") == "warehouses"  # not where a table goes
    # already quoted or qualified, or inside a string: left alone
    for text in (
        '"Order Items" WHERE',
        "inventory.warehouses",
        "x WHERE label = 'Order Items'",
        "x -- Order Items",
    ):
        assert requote(text, pg) == text
    # the name began in the typed word: no insertion can quote it
    assert requote(" Items WHERE qty = 1", pg, lead="Order") == ""
    mssql = spelling_of(dump("mssql_ssms.sql"))
    assert requote("Sales Order Header", mssql) == "[Sales Order Header]"


@pytest.fixture(scope="module")
def shipped_ngram():
    from sqlcomplete.completion.ngram import DEFAULT_MODEL, NgramCompleter

    if not os.path.isfile(DEFAULT_MODEL):
        pytest.skip(f"no shipped n-gram at {DEFAULT_MODEL}")
    return NgramCompleter(DEFAULT_MODEL)


BARE_NEEDING_QUOTES = ("Order Items", "Unit Price", "track plays", "product reviews", "star rating")


def offered(c, prefix: str) -> list[str]:
    return [first + rest for _, first, rest in c.proposals(prefix, "", 8) if first is not None]


@pytest.mark.parametrize(
    "name, prefix, expected",
    [
        ("pg_dump.sql", "SELECT qty FROM ", '"Order Items" WHERE'),
        ("pg_dump.sql", "SELECT capacity FROM ", "inventory.warehouses"),
        ("sqlite_schema.sql", "SELECT played_at FROM ", '"track plays"'),
        ("mysqldump.sql", "SELECT body FROM ", "`product reviews`"),
        ("mssql_ssms.sql", "SELECT SubTotal FROM ", "Sales.[Sales Order Header]"),
    ],
)
def test_the_ngram_offers_names_quoted_and_qualified(shipped_ngram, name, prefix, expected):
    shipped_ngram.set_schema(dump(name))
    texts = offered(shipped_ngram, prefix)
    assert any(t.startswith(expected) for t in texts), texts
    for t in texts:
        for bare in BARE_NEEDING_QUOTES:
            assert f"{bare} " not in t.replace(f'"{bare}"', "").replace(f"`{bare}`", ""), t
        assert not t.startswith(("warehouses", "stock ", "SalesOrderDetail")), t


def test_the_ngram_completes_typed_quotes_and_namespaces(shipped_ngram):
    shipped_ngram.set_schema(dump("pg_dump.sql"))
    assert any(t.startswith('er Items" ') for t in offered(shipped_ngram, 'SELECT * FROM "Ord'))
    assert any(
        t.startswith("entory.warehouses") for t in offered(shipped_ngram, "SELECT * FROM inv")
    )
    after_dot = offered(shipped_ngram, "SELECT * FROM inventory.")
    assert after_dot and {t.split()[0] for t in after_dot} <= {"warehouses", "stock"}, after_dot
    # `Order It|`: no insertion can quote it
    assert not [t for t in offered(shipped_ngram, "SELECT * FROM Order It") if t.startswith("ems")]
    shipped_ngram.set_schema(dump("mssql_ssms.sql"))
    assert any(
        t.startswith("es Order Header]") for t in offered(shipped_ngram, "SELECT * FROM [Sal")
    )
    shipped_ngram.set_schema(dump("mysqldump.sql"))
    assert any(t.startswith("uct reviews`") for t in offered(shipped_ngram, "SELECT * FROM `prod"))


def test_the_model_decodes_names_with_their_quotes(tiny_ckpt, monkeypatch):
    """The model's own rows are written the schema's way too (the issue: `Order Items WHERE qty =
    1;` beside the quoted form)."""
    from sqlcomplete import Completer

    c = Completer(tiny_ckpt, max_tokens=8, ngram=None)
    c.set_schema("\n\n".join(split_tables(dump("pg_dump.sql"))))
    rows = ["Order Items WHERE qty = 1;", "track WHERE", "orders WHERE id = 1;", "warehouses;"]
    monkeypatch.setattr(c, "_extend", lambda first, *a, **k: rows[: len(first)])
    out = c.complete("SELECT * FROM ", n=5)
    assert '"Order Items" WHERE qty = 1;' in out and "Order Items WHERE qty = 1;" not in out, out
    assert "inventory.warehouses;" in out, out


# ---------------------------------------------------------------- reading schema files


def test_cli_reads_a_dump_as_its_tables_and_warns_on_a_tableless_file(tmp_path, capsys):
    from sqlcomplete.cli import read_schema

    schema = read_schema(str(DUMPS / "mssql_ssms.sql"))  # UTF-16
    assert schema.startswith("CREATE TABLE [dbo].[Customer]") and "fake_" not in schema
    assert "GO" not in schema.split() and "sp_addextendedproperty" not in schema
    assert capsys.readouterr().err == ""
    empty = tmp_path / "queries.sql"
    empty.write_text("SELECT 1;\n-- CREATE TABLE nothing (x int)\n")
    assert read_schema(str(empty)).startswith("SELECT 1;")
    err = capsys.readouterr().err
    assert str(empty) in err and "no CREATE TABLE" in err and err.count("\n") == 1


def test_language_server_sources_warn_once_per_version_of_a_tableless_file(tmp_path):
    good, empty = tmp_path / "ssms.sql", tmp_path / "empty.sql"
    good.write_bytes((DUMPS / "mssql_ssms.sql").read_bytes())
    empty.write_text("SELECT 1;")
    sources = SchemaSources([str(good), str(empty)], "", None)
    changed, notes = sources.read(walk=False)
    assert changed and [n for n in notes if "no CREATE TABLE" in n] == [
        f"schema file {empty}: no CREATE TABLE with columns found in it"
    ], notes
    assert not [n for n in notes if str(good) in n], notes
    assert sources.read(walk=False)[1] == []  # said once
    assert "Sales Order Header" in str(parse_schema(sources.merged(None, [], {})))
    empty.write_text("SELECT 2;")
    os.utime(empty, ns=(0, 10**9))  # a new version of the file: said again
    assert [n for n in sources.read(walk=False)[1] if "no CREATE TABLE" in n]


@pytest.mark.parametrize(
    "data",
    [
        "\ufeffCREATE TABLE t (a INT);".encode("utf-8"),
        "\ufeffCREATE TABLE t (a INT);".encode("utf-16-le"),
        "\ufeffCREATE TABLE t (a INT);".encode("utf-16-be"),
        "CREATE TABLE t (a INT);".encode("utf-16-le"),  # no BOM
    ],
)
def test_decode_text_reads_utf8_and_utf16(data):
    assert decode_text(data) == "CREATE TABLE t (a INT);"
