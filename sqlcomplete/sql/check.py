"""Statement validation with sqlglot, for the generators and prepare.py's seed reader.

statement_problem checks (postgres dialect) that a statement parses and names only schema
objects. Schema parsing is sql/schema.py's (the completer needs it without sqlglot).
"""

import re

import sqlglot
from sqlglot import exp

_TRUNCATE = re.compile(
    r"truncate\s+(?:table\s+)?(?:only\s+)?((?:[\w.]+|\"[^\"]+\")(?:\s*,\s*(?:[\w.]+|\"[^\"]+\"))*)"
    r"(?:\s+(?:cascade|restrict))?\s*;?",
    re.I,
)


def statement_problem(sql: str, tables: dict[str, list[str]]) -> str | None:
    """None when `sql` is one statement that parses (postgres) and names only tables/columns of
    `tables`, else a short reason."""
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
        if (
            name
            and not isinstance(column.this, exp.Star)
            and name not in known_columns
            and name not in local
        ):
            return f"unknown column {column.name}"
    for schema_node in tree.find_all(exp.Schema):  # INSERT INTO t (a, b)
        for ident in schema_node.expressions:
            if isinstance(ident, exp.Identifier) and ident.name.lower() not in known_columns:
                return f"unknown column {ident.name}"
    return None
