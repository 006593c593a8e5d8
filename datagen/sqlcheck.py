"""Schema parsing and statement validation shared by the generators and prepare.py.

parse_schema is a tolerant scanner (it reads CockroachDB's SHOW CREATE TABLE
output, SQLite DDL and hand-written styles alike); statement_problem uses sqlglot
(postgres dialect) to check that a statement parses and names only schema objects.
"""
import re

import sqlglot
from sqlglot import exp

_CREATE = re.compile(r"create\s+table\s+(?:if\s+not\s+exists\s+)?((?:[`\"\w]+|\"[^\"]+\")(?:\.(?:[`\"\w]+|\"[^\"]+\"))*)\s*[({]", re.I)
_TRUNCATE = re.compile(r"truncate\s+(?:table\s+)?(?:only\s+)?((?:[\w.]+|\"[^\"]+\")(?:\s*,\s*(?:[\w.]+|\"[^\"]+\"))*)"
                       r"(?:\s+(?:cascade|restrict))?\s*;?", re.I)
_NOT_COLUMNS = {"primary", "foreign", "constraint", "unique", "index", "key", "check", "family", "inverted", "exclude"}


def _unquote(name: str) -> str:
    return name.strip().strip('`"[]')


def _split_top_level(body: str) -> list[str]:
    """Split a CREATE TABLE body on commas outside parentheses and quotes."""
    items, depth, start, quote = [], 0, 0, ""
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return items


def _body_end(text: str, start: int) -> int:
    """Index just past the parenthesis closing the one opened before `start`."""
    depth, quote, i = 1, "", start
    while i < len(text) and depth:
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in "({":  # some LLM-written schemas wrap the columns in braces
            depth += 1
        elif ch in ")}":
            depth -= 1
        i += 1
    return i


def parse_schema(schema: str) -> dict[str, list[str]]:
    """Tables of a schema as {table: [columns]} in schema order (names unquoted, schema prefix dropped)."""
    tables: dict[str, list[str]] = {}
    for m in _CREATE.finditer(schema):
        end = _body_end(schema, m.end())
        columns = []
        for item in _split_top_level(schema[m.end():end - 1]):
            word = re.match(r"\s*(\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|[\w]+)", item)
            if not word:
                continue
            name = _unquote(word.group(1))
            if word.group(1)[0] not in "\"`[" and name.lower() in _NOT_COLUMNS:
                continue
            if name not in columns:
                columns.append(name)
        table = _unquote(re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", m.group(1))[-1])
        if columns:
            tables[table] = columns
    return tables


def split_tables(schema: str) -> list[str]:
    """The schema cut into one text per CREATE TABLE statement (with its trailing ';' if any)."""
    starts = [m.start() for m in _CREATE.finditer(schema)]
    parts = []
    for i, s in enumerate(starts):
        end = _body_end(schema, _CREATE.match(schema, s).end())
        if end < len(schema) and schema[end] == ";":
            end += 1
        parts.append(schema[s:end])
    return parts


def statement_problem(sql: str, tables: dict[str, list[str]]) -> str | None:
    """None when `sql` is one statement that parses (postgres) and names only tables/columns of `tables`,
    else a short reason."""
    # CockroachDB's UPSERT is INSERT with an implicit conflict rule; sqlglot knows only the latter
    sql = re.sub(r"^(\s*)upsert\b", r"\1INSERT", sql, flags=re.I)
    try:
        trees = [t for t in sqlglot.parse(sql, read="postgres") if t is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as e:
        return f"parse error: {str(e).splitlines()[0][:80]}"
    except Exception as e:  # sqlglot raises assorted errors on odd input
        return f"parse error: {type(e).__name__}"
    if len(trees) != 1:
        return f"expected one statement, got {len(trees)}"
    tree = trees[0]
    if isinstance(tree, exp.Command):
        head = str(tree.this).upper()
        if head != "TRUNCATE":
            return f"unparsed command {head}"
        # sqlglot gives up on some TRUNCATE forms: check them by hand
        m = _TRUNCATE.fullmatch(sql.strip())
        if not m:
            return "parse error: malformed TRUNCATE"
        names = [n.strip().strip('"').split(".")[-1].lower() for n in m.group(1).split(",")]
        known = {t.lower() for t in tables}
        unknown = [n for n in names if n not in known]
        return f"unknown table {unknown[0]}" if unknown else None
    known_tables = {t.lower() for t in tables}
    known_columns = {c.lower() for cols in tables.values() for c in cols}
    local = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    local |= {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
    for cte in tree.find_all(exp.TableAlias):
        local |= {c.name.lower() for c in cte.columns}
    local |= {a.alias.lower() for a in tree.find_all(exp.Alias) if a.alias}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if name and name not in known_tables and name not in local:
            return f"unknown table {table.name}"
    for column in tree.find_all(exp.Column):
        name = column.name.lower()
        if name and not isinstance(column.this, exp.Star) and name not in known_columns and name not in local:
            return f"unknown column {column.name}"
    for schema_node in tree.find_all(exp.Schema):  # INSERT INTO t (a, b)
        for ident in schema_node.expressions:
            if isinstance(ident, exp.Identifier) and ident.name.lower() not in known_columns:
                return f"unknown column {ident.name}"
    return None
