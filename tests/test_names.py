"""How the n-gram chooses a schema name (ngram.py): column types and foreign keys from the schema,
the features and context buckets of the class ranker, and the constraints an INSERT or a comparison
puts on the next symbol."""

import os

import pytest
from conftest import SCHEMA, STATEMENTS

from sqlcomplete.completion import ngram
from sqlcomplete.sql.schema import column_types

# the example: five columns of five types, the first a UUID
ORDERS = """CREATE TABLE orders (
    order_id UUID PRIMARY KEY,
    customer_id INT8 NOT NULL REFERENCES customers (customer_id),
    total DECIMAL(10,2),
    status STRING,
    ordered_at TIMESTAMPTZ DEFAULT now()
);
CREATE TABLE customers (customer_id INT8 PRIMARY KEY, name STRING);
CREATE TABLE notes (note_id INT8 PRIMARY KEY, body STRING);"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> ngram.NgramCompleter:
    """An n-gram trained on a small generated corpus and conftest's statements."""
    from datagen import synth

    d = tmp_path_factory.mktemp("names")
    groups = list(synth.generate_groups(60, seed=3))
    groups.append({"topic": "conftest", "schema": SCHEMA, "statements": {"all": STATEMENTS * 3}})
    synth.write_groups(str(d / "groups.jsonl.gz"), iter(groups))
    ngram.save(ngram.train([str(d / "groups.jsonl.gz")], rank_every=1), str(d / "ngram.json.gz"))
    return ngram.NgramCompleter(str(d / "ngram.json.gz"))


def state_of(prefix: str, schema: ngram.Schema) -> ngram.TypedStatement:
    state, prev = ngram.TypedStatement(), ngram.BOS
    for _, word in ngram.tokenize(prefix):
        norm = schema.normalize(word, prev)
        state.push(word, norm, schema)
        prev = norm
    return state


def first_words(c: ngram.NgramCompleter, prefix: str) -> list[str | None]:
    return [ngram.tokenize(t)[0][1] if t else t for _, t, _ in c.proposals(prefix)]


def test_column_types_and_foreign_keys():
    types, fkeys = column_types(
        "CREATE TABLE public.a (id UUID PRIMARY KEY, "
        "b_id INT8 NOT NULL REFERENCES public.b (id), c_id int "
        'references c, "Odd Name" text, x INT, y INT, '
        "CONSTRAINT fk FOREIGN KEY (x, y) REFERENCES c (u, v));\n"
        "CREATE TABLE `B` (`id` INTEGER, `t` DATETIME, FOREIGN KEY (`id`) REFERENCES `a`(`id`))"
    )
    assert types == {
        "a": {
            "id": "uuid",
            "b_id": "int8",
            "c_id": "int",
            "Odd Name": "text",
            "x": "int",
            "y": "int",
        },
        "B": {"id": "integer", "t": "datetime"},
    }
    assert fkeys == [
        ("a", "b_id", "b", "id"),
        ("a", "c_id", "c", ""),
        ("a", "x", "c", "u"),
        ("a", "y", "c", "v"),
        ("B", "id", "a", "id"),
    ]
    assert [
        ngram.TYPE_KINDS[ngram.type_kind(t)]
        for t in (
            "uuid",
            "int8",
            "bigserial",
            "decimal",
            "varchar",
            "timestamptz",
            "interval",
            "boolean",
            "jsonb",
            "",
        )
    ] == ["uuid", "int", "int", "number", "text", "time", "time", "bool", "other", ""]


def test_insert_column_list_offers_unused_columns_then_closes(tiny):
    tiny.set_schema(ORDERS)
    listed = "INSERT INTO orders (order_id, customer_id, total, status"
    # only the table's columns not listed yet: once four are listed, the fifth is the only name
    names = [n for n, _ in tiny.class_names(ngram.COLUMN, state_of(listed + ", ", tiny.schema))]
    assert names == ["ordered_at"]
    assert first_words(tiny, listed + ", ")[0] == "ordered_at"
    # every column listed: `)` is offered and `,` is not
    words = first_words(tiny, listed + ", ordered_at ")
    assert words[0] == ")" and "," not in words
    # the greedy continuation lists each column once, then closes the list
    full = tiny.complete("INSERT INTO orders (order_id, ")[0]
    cols = [c.strip() for c in full.split(")")[0].split(",")]
    assert ")" in full and sorted(cols) == ["customer_id", "ordered_at", "status", "total"], full


def test_values_and_comparisons_expect_the_columns_type(tiny):
    tiny.set_schema(ORDERS)

    def symbols(prefix, constrained=True):
        state = state_of(prefix, tiny.schema)
        ctx = [ngram.BOS] * (tiny.order - 1) + state.norms
        return (
            [sym for _, sym, _ in tiny.ranked(state, ctx)]
            if constrained
            else list(tiny.candidates(ctx))
        )

    def numbers(syms):
        return [s for s in syms if s == ngram.NUMBER or s[0].isdigit()]

    # the example: `VALUES (1,` puts the next value in a UUID column; the n-gram alone
    # offers numbers
    assert numbers(
        symbols("INSERT INTO orders (customer_id, order_id) VALUES (1, ", constrained=False)
    )
    assert not numbers(symbols("INSERT INTO orders (customer_id, order_id) VALUES (1, "))
    assert not numbers(symbols("INSERT INTO orders VALUES ("))  # order_id UUID, in schema order
    assert not numbers(symbols("INSERT INTO orders VALUES ('a', 1, 2.5, "))  # status STRING
    assert ngram.STRING not in symbols("INSERT INTO orders VALUES ('a', ")  # customer_id INT8
    assert not numbers(symbols("SELECT * FROM orders WHERE order_id = "))
    assert ngram.STRING not in symbols("SELECT * FROM orders WHERE total > ")
    assert numbers(symbols("SELECT * FROM orders WHERE total > "))


def test_no_column_right_after_from(tiny):
    tiny.set_schema(ORDERS)

    def symbols(prefix):
        state = state_of(prefix, tiny.schema)
        return {
            sym for _, sym, _ in tiny.ranked(state, [ngram.BOS] * (tiny.order - 1) + state.norms)
        }

    for prefix in (
        "SELECT count(*) FROM ",
        "SELECT * FROM orders JOIN ",
        "DELETE FROM ",
        "UPDATE ",
    ):
        assert ngram.COLUMN not in symbols(prefix), prefix
    # inside a call, and after IS DISTINCT FROM, a column may follow
    assert ngram.COLUMN in ngram.constrain(
        state_of("SELECT EXTRACT(YEAR FROM ", tiny.schema), tiny.schema, {ngram.COLUMN: None}
    )
    assert ngram.COLUMN in ngram.constrain(
        state_of("SELECT * FROM orders WHERE total IS DISTINCT FROM ", tiny.schema),
        tiny.schema,
        {ngram.COLUMN: None},
    )
    assert ngram.COLUMN not in ngram.constrain(
        state_of("SELECT * FROM ", tiny.schema), tiny.schema, {ngram.COLUMN: None}
    )


def test_no_number_nor_untyped_alias_where_a_table_comes(tiny):
    """`3d_models` was split into `3` + `d_models` when the n-gram was counted: after FROM, `3`
    and a short alias such as `a` took menu slots."""
    tiny.set_schema(ORDERS)
    syms = {s: None for s in ("3", "5", ngram.NUMBER, "a", "t1", ngram.TABLE, "(", "lateral")}
    allowed = ngram.constrain(state_of("SELECT name FROM ", tiny.schema), tiny.schema, syms)
    assert list(allowed) == [ngram.TABLE, "(", "lateral"]
    # a short name the statement typed (a CTE) may come after FROM
    cte = state_of("WITH t1 AS (SELECT 1) SELECT * FROM ", tiny.schema)
    assert "t1" in ngram.constrain(cte, tiny.schema, syms)


def test_insert_slot():
    s = ngram.Schema(ORDERS)
    assert ngram.insert_slot(state_of("INSERT INTO orders (order_id, total", s), s) == (
        "list",
        "orders",
        ["order_id", "total"],
    )
    assert ngram.insert_slot(state_of("INSERT INTO orders (total, status) VALUES (1, ", s), s) == (
        "value",
        "orders",
        "status",
    )
    assert ngram.insert_slot(state_of("INSERT INTO orders VALUES ('x', 1, now(), ", s), s) == (
        "value",
        "orders",
        "status",
    )  # a call's own commas are not positions
    assert ngram.insert_slot(state_of("INSERT INTO orders VALUES ('x', 1), (", s), s) == (
        "value",
        "orders",
        "order_id",
    )
    assert ngram.insert_slot(state_of("INSERT INTO orders (total) VALUES (1, 2, ", s), s) == (
        "value",
        "orders",
        None,
    )
    assert ngram.insert_slot(state_of("INSERT INTO orders VALUES ('x' ", s), s) is None
    assert ngram.insert_slot(state_of("UPDATE orders SET total = ", s), s) is None


def test_join_features_foreign_keys_and_the_column_compared():
    s = ngram.Schema(ORDERS)
    # a foreign key joins orders to customers, not to notes
    feats = ngram.table_features(state_of("SELECT * FROM orders JOIN ", s), s)
    assert feats["customers"][4] and not feats["notes"][4]
    # `ON o.customer_id = c.`: the column of the other side's name is marked, and so is a column
    # that joins
    state = state_of("SELECT * FROM orders o JOIN customers c ON o.customer_id = c.", s)
    feats = ngram.column_features(state, s)
    assert set(feats) == {"customer_id", "name"}
    assert feats["customer_id"][6] and feats["customer_id"][7] and not feats["name"][7]
    # before FROM: a column in the one table that holds every column used so far
    feats = ngram.column_features(state_of("SELECT status, ", s), s)
    assert feats["total"][8] and not feats["name"][8] and not feats["body"][8]
    # the column's type kind
    assert ngram.TYPE_KINDS[feats["ordered_at"][5]] == "time"


def test_rank_buckets_tell_clauses_apart():
    s = ngram.Schema(ORDERS)
    order = ngram.rank_buckets(state_of("SELECT status FROM orders ORDER BY ", s))
    group = ngram.rank_buckets(state_of("SELECT status FROM orders GROUP BY ", s))
    assert (
        order[0] == "select order by"
        and group[0] == "select group by"
        and order[1] == group[1] == "select by"
    )
    # the alias is left out: `ON t.` and `= t.` differ, whatever the alias is called
    on = ngram.rank_buckets(state_of("SELECT * FROM orders AS t1 JOIN customers AS t2 ON t1.", s))
    eq = ngram.rank_buckets(
        state_of("SELECT * FROM orders AS t1 JOIN customers AS t2 ON t1.customer_id = t2.", s)
    )
    other = ngram.rank_buckets(state_of("SELECT * FROM orders o JOIN customers c ON o.", s))
    assert on[0] == other[0] == "select <A> on ." and eq[0] == "select <C> = ."


def test_names_are_ranked_once_per_statement_state(tiny, monkeypatch):
    """Typing a word keeps the statement's state: its names are not ranked again (over a
    30,000-column schema that cost 0.9 s a keystroke); another schema ranks afresh."""
    tiny.set_schema(ORDERS)
    calls = []
    real = tiny._class_names
    monkeypatch.setattr(tiny, "_class_names", lambda *a: calls.append(a[0]) or real(*a))
    first = tiny.proposals("SELECT total FROM orders WHERE st")
    ranked = len(calls)
    assert ranked >= 1
    for prefix in ("SELECT total FROM orders WHERE sta", "SELECT total FROM orders WHERE stat"):
        tiny.proposals(prefix)
    assert len(calls) == ranked
    assert tiny.proposals("SELECT total FROM orders WHERE st") == first
    tiny.set_schema(SCHEMA)
    tiny.set_schema(ORDERS)
    tiny.proposals("SELECT total FROM orders WHERE st")
    assert len(calls) > ranked


def test_non_ascii_words_found_nowhere_are_invented():
    """`主键;` after `;;;;` (issue 28): a word of any script is a word, and one found nowhere is
    cut; the schema's own non-ASCII names stay usable."""
    from sqlcomplete.sql.lexicon import invented_at, known_words

    known = known_words(ORDERS, ";;;;")
    assert invented_at("主键;", known) == 0
    assert invented_at("\n非空;", known) == 1  # nothing but the line break is left
    assert invented_at("status = 'ok' AND 主键", known) == len("status = 'ok' AND ")
    assert invented_at("status = '主键'", known) is None  # inside a string literal
    schema = "CREATE TABLE 客户 (编号 INT PRIMARY KEY, 名字 TEXT, café TEXT);"
    assert parse_schema_names(schema) == ["客户", "编号", "名字", "café"]
    known = known_words(schema, "SELECT ")
    assert invented_at("名字, café FROM 客户;", known) is None
    assert invented_at("名字 FROM 订单;", known) == len("名字 FROM ")


def parse_schema_names(schema: str) -> list[str]:
    from sqlcomplete.sql.schema import parse_schema

    return [n for t, cols in parse_schema(schema).items() for n in (t, *cols)]


def test_the_shipped_ngram_proposes_no_foreign_words():
    from sqlcomplete.completion.ngram import DEFAULT_MODEL, NgramCompleter

    if not __import__("os").path.isfile(DEFAULT_MODEL):
        pytest.skip(f"no shipped n-gram at {DEFAULT_MODEL}")
    c = NgramCompleter(DEFAULT_MODEL)
    c.set_schema(ORDERS)
    for prefix in (";;;;", "SELECT * FROM orders;;;;", ";"):
        out = c.complete(prefix, n=8)
        assert not [s for s in out if not s.isascii()], (prefix, out)


# dumps as the tools write them (issue 28 item 4), for the full completer: quoted names come out in
# the dump's own quotes, whole (menu.py reads them as one name each), tables outside the default
# schema qualified
MYSQLDUMP = """DROP TABLE IF EXISTS `product reviews`;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `product reviews` (
  `id` int NOT NULL AUTO_INCREMENT,
  `customer_id` int NOT NULL,
  `star rating` tinyint DEFAULT NULL,
  `body` text,
  PRIMARY KEY (`id`),
  KEY `fk_reviews_customer` (`customer_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE `customers` (
  `id` int NOT NULL AUTO_INCREMENT,
  `name` varchar(100) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"""
SSMS = """SET ANSI_NULLS ON
GO
CREATE TABLE [dbo].[Customer](
\t[CustomerID] [int] IDENTITY(1,1) NOT NULL,
\t[Name] [nvarchar](50) NOT NULL,
 CONSTRAINT [PK_Customer] PRIMARY KEY CLUSTERED ([CustomerID] ASC)
) ON [PRIMARY]
GO
CREATE TABLE [Sales].[Sales Order Header](
\t[SalesOrderID] [int] IDENTITY(1,1) NOT NULL,
\t[OrderDate] [datetime] NOT NULL,
\t[SubTotal] [money] NOT NULL,
 CONSTRAINT [PK_SalesOrderHeader] PRIMARY KEY CLUSTERED ([SalesOrderID] ASC)
) ON [PRIMARY]
GO"""
PG_DUMP = """CREATE TABLE public."Order Items" (
    id integer NOT NULL,
    order_id integer NOT NULL,
    qty integer NOT NULL,
    "Unit Price" numeric(10,2)
);
CREATE TABLE public.orders (
    id integer NOT NULL,
    status text
);"""


@pytest.fixture(scope="module")
def shipped():
    from sqlcomplete import Completer
    from sqlcomplete.completion.engine import DEFAULT_CKPT
    from sqlcomplete.completion.ngram import DEFAULT_MODEL

    if not (os.path.isdir(DEFAULT_CKPT) and os.path.isfile(DEFAULT_MODEL)):
        pytest.skip(f"no shipped model at {DEFAULT_CKPT}")
    return Completer()


@pytest.mark.parametrize(
    "schema, prefix, expected",
    [
        (MYSQLDUMP, "SELECT body FROM ", "`product reviews`"),
        (MYSQLDUMP, "SELECT * FROM ", "`product reviews`"),
        (SSMS, "SELECT SubTotal FROM ", "Sales.[Sales Order Header]"),
        (SSMS, "SELECT * FROM ", "Sales.[Sales Order Header]"),
        (PG_DUMP, 'SELECT * FROM "Ord', 'er Items"'),
        (SSMS, "SELECT * FROM [Sal", "es Order Header]"),
        (MYSQLDUMP, "SELECT * FROM `prod", "uct reviews`"),
    ],
)
def test_the_completer_offers_names_quoted_whole(shipped, schema, prefix, expected):
    shipped.set_schema(schema)
    out = shipped.complete(prefix, "", 5)
    assert any(t.startswith(expected) for t in out), out
    for t in out:  # no keyword recased inside a name, no name cut out of its quotes
        assert "ORDER Header" not in t and "Order Header " not in t.replace("Order Header]", ""), t
        assert "product reviews " not in t.replace("product reviews`", ""), t
