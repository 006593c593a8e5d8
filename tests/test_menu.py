"""completion/menu.py: every suggestion one could take (issue 26's rules), and how items look."""

import pytest

from sqlcomplete.completion.menu import Menu, keyword_case, label, menu_item, typed_word

SCHEMA = """CREATE TABLE customers (
    customer_id UUID PRIMARY KEY,
    name STRING NOT NULL,
    email STRING,
    created_at TIMESTAMPTZ,
    active BOOL,
    points INT
);
CREATE TABLE orders (order_id INT8 PRIMARY KEY, customer_id UUID, total DECIMAL(10,2), note BLOB);
CREATE TABLE languages (code TEXT PRIMARY KEY, name TEXT);"""


@pytest.fixture(scope="module")
def menu() -> Menu:
    return Menu(SCHEMA)


def clean(menu: Menu, prefix: str, *texts: str) -> list[str]:
    return menu.clean(prefix, "", list(texts))


def test_a_suggestion_ends_after_a_whole_word(menu):
    p = "SELECT name FROM customers "
    assert clean(menu, p, "ORDER BY customer_id D") == ["ORDER BY customer_id"]
    assert clean(menu, p, "ORDER BY created_at DESC") == ["ORDER BY created_at DESC"]
    assert clean(menu, p, "WHERE na") == ["WHERE"]  # `na` is no word: cut back before it
    # an alias it defines is whole, unless it is the start of a longer name (cut by the budget)
    assert clean(menu, "SELECT count(*) ", "AS n FROM orders") == ["AS n FROM orders"]
    assert clean(menu, "SELECT count(*) ", "AS customer_") == []
    # a partly typed word is finished, or the suggestion goes on from a word: `em` + `'x'` is not
    assert clean(menu, "SELECT em", "ail FROM customers", "'x'") == ["ail FROM customers"]


def test_never_inside_a_parenthesis_or_quote_it_opened(menu):
    p = "SELECT count(*) FROM "
    assert clean(menu, p, "languages GROUP BY name HAVING count(*") == [
        "languages GROUP BY name HAVING count("  # right after its `(` is fine
    ]
    assert clean(menu, "INSERT INTO orders (order_id) ", "VALUES (1,") == ["VALUES ("]
    assert clean(menu, "SELECT * FROM customers WHERE name = ", "'john.doe@example.c") == []
    assert clean(menu, "SELECT * FROM customers WHERE name = ", "'Ann' AND email = 'a") == [
        "'Ann' AND email ="
    ]
    # it may close what the user opened
    assert clean(menu, "SELECT * FROM orders WHERE total IN (1, ", "2)") == ["2)"]
    # inside the user's own string literal the text is the literal's: left alone
    assert clean(menu, "SELECT * FROM customers WHERE name = 'Jo", "hn D") == ["hn D"]


def test_where_a_table_must_come_only_a_table(menu):
    assert clean(menu, "INSERT INTO ord", "ER BY order_id DESC;", "ers (order_id)") == [
        "ers (order_id)"
    ]
    assert clean(menu, "SELECT * FROM cu", "stomer_id) =", "stomers WHERE") == ["stomers WHERE"]
    assert clean(menu, "SELECT * FROM ", "location WHERE", "(SELECT 1)", "orders") == [
        "(SELECT 1)",
        "orders",
    ]
    # a CTE typed before is a table here; a FROM inside EXTRACT(...) is not a table's place
    assert clean(menu, "WITH recent AS (SELECT 1) SELECT * FROM ", "recent") == ["recent"]
    assert clean(menu, "SELECT EXTRACT(YEAR FROM ", "created_at)") == ["created_at)"]


def test_no_type_name_or_ddl_word_in_a_query(menu):
    assert clean(menu, "SELECT st", "ring", "ring_agg(name)") == ["ring_agg(name)"]
    assert clean(menu, "SELECT name FROM customers ORDER BY ", "created_at", "check") == [
        "created_at"
    ]
    assert clean(menu, "SELECT CAST(points AS ", "INT)") == ["INT)"]  # in a cast a type is right
    assert clean(menu, "CREATE TABLE t (id ", "INT PRIMARY KEY") == ["INT PRIMARY KEY"]


@pytest.mark.parametrize(
    "prefix, good, bad",
    [
        # time: a date or timestamp literal or now(), no number, no boolean
        (
            "SELECT * FROM customers WHERE created_at = ",
            ["'2025-05-15 11:00'", "now()", "CURRENT_TIMESTAMP", "DATE '2024-01-01'"],
            ["1001", "TRUE ORDER BY name", "-1"],
        ),
        # text (and a UUID): a string
        ("SELECT * FROM customers WHERE email <> ", ["'a@b.c'", "NULL"], ["42", "FALSE"]),
        ("SELECT * FROM orders WHERE customer_id = ", ["'a1b2'"], ["7"]),
        # numbers: a number
        ("SELECT * FROM orders WHERE total >= ", ["10.5", "-3"], ["'10'", "TRUE"]),
        ("UPDATE customers SET points = ", ["3"], ["'three'"]),
        # booleans: TRUE or FALSE (or a number), no string
        ("SELECT * FROM customers WHERE active = ", ["TRUE", "false"], ["'yes'"]),
        # IN lists, BETWEEN, INSERT ... VALUES
        ("SELECT * FROM customers WHERE email IN ('a', ", ["'b')"], ["2)"]),
        ("SELECT * FROM orders WHERE total BETWEEN ", ["1 AND 5"], ["'1'"]),
        ("SELECT * FROM orders WHERE total BETWEEN 1 AND ", ["5"], ["'5'"]),
        ("INSERT INTO customers (name, points) VALUES ('Ann', ", ["3)"], ["'3')"]),
        ("INSERT INTO customers (name, points) VALUES (", ["'Ann',"], ["7,"]),
        # a column of unknown type takes any literal
        ("SELECT * FROM orders WHERE note = ", ["'x'", "1", "TRUE"], []),
    ],
)
def test_a_literal_has_its_column_type(menu, prefix, good, bad):
    assert clean(menu, prefix, *good, *bad) == [menu.recase(prefix, g) for g in good]


def test_keywords_take_the_users_case_and_names_the_schemas_spelling():
    m = Menu(SCHEMA.replace("name STRING", "FullName STRING"))
    assert clean(m, "SELECT na", "TURAL JOIN orders") == ["tural JOIN orders"]
    assert clean(m, "select na", "TURAL JOIN orders") == ["tural join orders"]
    assert clean(m, "Select * Fr", "OM customers") == ["om customers"]
    assert clean(m, "SELECT FU", "LLNAME FROM customers") == ["llName FROM customers"]
    assert clean(m, "select * ", "FROM customers WHERE FULLNAME = 'X'") == [
        "from customers where FullName = 'X'"
    ]
    assert keyword_case("select * from t where ") == "lower"
    assert keyword_case("SELECT a FROM t WHERE b = 'select' AND ") == "upper"
    assert keyword_case("t") is None


def test_menu_items_show_the_whole_word_and_insert_its_rest():
    item = menu_item("SELECT na", "me, email FROM customers", {"name": "name"})
    assert item.label == "name, email FROM customers" == label("SELECT na", item.insert)
    assert item.insert == "me, email FROM customers"  # the cursor's text, continued
    assert item.new_text == "name, email FROM customers" and item.filter_text.startswith("na")
    # the schema's spelling of the whole word; the filter text starts with the word as typed
    item = menu_item("SELECT NA", "me", {"name": "name"})
    assert (item.label, item.new_text, item.filter_text) == ("name", "name", "NAme")
    # a keyword's rest takes the typed word's case (the FIM model or the n-gram spelled it)
    assert menu_item("select na", "TURAL JOIN t").label == "natural JOIN t"
    assert menu_item("SELECT * FROM t;", "\nSELECT 1").label == "SELECT 1"
    assert typed_word("SELECT 'na") == "" and typed_word("SELECT t1.na") == "na"


# names in every dialect's quotes (issue 28): one name each, never split, cut or recased inside
QUOTED = """CREATE TABLE "Order Items" (id INT, "Unit Price" NUMERIC, qty INT);
CREATE TABLE `product reviews` (`id` int, `star rating` tinyint, `body` text);
CREATE TABLE [Sales].[Sales Order Header] ([SalesOrderID] [int], [Comment]] Text] [nvarchar](9));
CREATE TABLE orders (order_id INT, status TEXT);"""


@pytest.fixture(scope="module")
def quoted() -> Menu:
    return Menu(QUOTED)


def test_quoted_names_are_one_name_each(quoted):
    p = "SELECT * FROM "
    for text in (
        "`product reviews` WHERE `star rating` = 1;",
        '"Order Items" WHERE "Unit Price" = 1;',
        "Sales.[Sales Order Header] WHERE SalesOrderID = 1;",
        "[Sales Order Header] ORDER BY [Comment]] Text]",  # `]]`: a `]` inside the name
    ):
        assert clean(quoted, p, text) == [text]
    # never recased inside, while the keywords around follow the user's case
    assert clean(quoted, "select * from ", "[Sales Order Header] ORDER BY SalesOrderID") == [
        "[Sales Order Header] order by SalesOrderID"
    ]
    assert clean(quoted, "SELECT * FROM ", "[SALES ORDER HEADER] where body") == [
        "[SALES ORDER HEADER] WHERE body"
    ]
    # a quoted name that names no table is no table; one left open is cut off
    assert clean(quoted, p, "`no such table` WHERE") == []
    assert clean(quoted, p, "orders JOIN `product rev") == ["orders JOIN"]
    # the statement typed so far reads them whole too: the table is known, the value is typed
    assert clean(quoted, "SELECT * FROM `product reviews` WHERE `star rating` = ", "'x'", "3") == [
        "3"
    ]
    assert keyword_case("select * from [Sales Order Header] WHERE ") == "upper"
    # words of SQL inside a name are the name's (a DDL word or type name is no junk there)
    m = Menu("CREATE TABLE `date index` (`id` int, `text check` text);")
    assert clean(m, "SELECT * FROM ", "`date index` WHERE id = 1") == ["`date index` WHERE id = 1"]
    assert clean(m, "SELECT * FROM `date index` WHERE ", "`text check` = 'a'") == [
        "`text check` = 'a'"
    ]


def test_a_quote_the_user_opened_keeps_its_close(quoted):
    assert clean(quoted, 'SELECT * FROM "Ord', 'er Items" WHERE qty = 1;') == [
        'er Items" WHERE qty = 1;'
    ]
    assert clean(quoted, "SELECT * FROM [Sal", "es Order Header] where id") == [
        "es Order Header] WHERE id"
    ]
    assert clean(quoted, "SELECT * FROM `product rev", "iews` WHERE") == ["iews` WHERE"]
    assert clean(quoted, 'SELECT * FROM "', 'Order Items"') == ['Order Items"']
    # it may end inside the user's quotes where the name is whole; not in the middle of it
    assert clean(quoted, 'SELECT * FROM "Ord', "er Items", "er It", " =", "ers") == [
        "er Items",
        "ers",
    ]
    # a table's place: a quoted column is no table
    assert clean(quoted, "SELECT * FROM `", "star rating` WHERE") == []
    # the menu shows the quote the user typed with the whole name
    item = menu_item('SELECT * FROM "Ord', 'er Items" WHERE qty = 1;')
    assert item.word == '"Ord' and item.label == '"Order Items" WHERE qty = 1;'
    assert item.new_text == '"Order Items" WHERE qty = 1;' and item.insert.startswith("er")
    assert menu_item("SELECT tags[1", "]").word == "1"  # an array's subscript is no name


def test_a_word_of_any_script_is_one_word():
    """客户 is one name, not two symbols: a table where a table must come, whole or cut whole."""
    m = Menu("CREATE TABLE 客户 (编号 INT PRIMARY KEY, 名字 TEXT, café TEXT);")
    assert clean(m, "SELECT 名字 FROM ", "客户 WHERE 编号 = 1;") == ["客户 WHERE 编号 = 1;"]
    assert clean(m, "SELECT caf", "é, 名字 FROM 客户") == ["é, 名字 FROM 客户"]
    assert clean(m, "SELECT ", "名字, 客") == ["名字,"]  # `客` is no word: cut back before it
    assert clean(m, "SELECT * FROM ", "名字 WHERE") == []  # a column is no table
    assert menu_item("SELECT 名", "字 FROM 客户").label == "名字 FROM 客户"
