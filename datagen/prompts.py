"""What the LLM pipeline asks, and what counts as a valid answer.

The pydantic models go to `instructor`, which sends their JSON schema as `response_format`;
vLLM turns that into guided decoding, so answers arrive as JSON of exactly this shape. Field
names match the seed's files (`topics`, `tables[].table_schema`, `statements`) so stored
units are the seed's on-disk format. The checks below decide what is retried, dropped or kept.
"""

import re
from collections import Counter

import sqlglot
from pydantic import BaseModel
from sqlglot import exp

from sqlcomplete.sql.check import statement_problem
from sqlcomplete.sql.schema import parse_schema, split_tables

# -----------------------------------------------------------------------------
# response models


class Topics(BaseModel):
    topics: list[str]


class Subtopics(BaseModel):
    subtopics: list[str]


class Examples(BaseModel):
    examples: list[str]


class TableSchema(BaseModel):
    table_schema: str


class DatabaseSchema(BaseModel):
    tables: list[TableSchema]


class SQLStatements(BaseModel):
    statements: list[str]


# -----------------------------------------------------------------------------
# prompts (the seed's wording, tightened where its outputs went wrong)

COMPLEXITIES = ("simple", "complex")

# what "simple" and "complex" mean per kind, so the two requests per schema differ
KIND_HINTS = {
    "select": (
        "one table, a WHERE clause, ORDER BY or LIMIT",
        "joins, GROUP BY with aggregates and HAVING, subqueries, CTEs or window functions",
    ),
    "insert": (
        "one row with an explicit column list",
        "several rows, INSERT ... SELECT, ON CONFLICT or RETURNING",
    ),
    "update": (
        "one table and a simple WHERE clause",
        "expressions, several columns, subqueries, UPDATE ... FROM or RETURNING",
    ),
    "delete": (
        "one table and a simple WHERE clause",
        "subqueries, USING, several conditions or RETURNING",
    ),
    "truncate": ("one table", "several tables or CASCADE"),
    "upsert": (
        "CockroachDB's UPSERT INTO with one row",
        "CockroachDB's UPSERT INTO with several rows or from a SELECT",
    ),
}


def topics_prompt(n: int) -> str:
    return (
        f"Generate a list of {n} topics/applications that a SQL database might be used for.\n"
        "Each topic should be 1-2 words and name a distinct domain or use case "
        "(for example: e-commerce, healthcare, logistics, social media, banking)."
    )


def subtopics_prompt(topic: str, n: int) -> str:
    return (
        f"Generate {n} topics that are related to, but diverse from, the following topic: {topic}"
    )


def examples_prompt(subtopic: str, n: int) -> str:
    return (
        f"Generate {n} examples of how a SQL database could be used in the context of {subtopic}.\n"
        "Write exactly one sentence for each example. "
        "Examples should be diverse with little overlapping vocabulary."
    )


def schema_prompt(detail: str, n_tables: int) -> str:
    keys = (
        "Give every column a type and the table a PRIMARY KEY."
        if n_tables == 1
        else "Give every column a type, every table a PRIMARY KEY, and connect the tables with "
        "FOREIGN KEY ... REFERENCES constraints."
    )
    return (
        f"Generate an example CockroachDB database schema with exactly {n_tables} "
        f"table{'s' if n_tables > 1 else ''}.\n"
        f"The schema must be related to the following theme: {detail}\n"
        "Put each table in its own item as one CREATE TABLE statement ending with a semicolon, "
        "with one column definition per line.\n"
        f"{keys} Use plain syntax that PostgreSQL also accepts: no FAMILY, STORING, INDEX or "
        "':::' casts inside CREATE TABLE."
    )


def statements_prompt(schema: str, kind: str, complexity: str, n: int) -> str:
    simple, complex_ = KIND_HINTS[kind]
    return (
        f"Generate {n} {complexity} {kind.upper()} SQL statements "
        "for the CockroachDB schema below.\n"
        "Statements should be diverse in their orderings, values, and formatting "
        "(capitalisation, line breaks, aliases).\n"
        f"{complexity.capitalize()} here means: {simple if complexity == 'simple' else complex_}.\n"
        "Use only the tables and columns of the schema. Each item is exactly one statement.\n"
        f"Schema:\n{schema}"
    )


# -----------------------------------------------------------------------------
# answer checks

_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+")


def clean_list(items: list[str], limit: int | None = None) -> list[str]:
    """Strip list numbering and blanks, drop case-insensitive duplicates, keep at most `limit`."""
    out, seen = [], set()
    for item in items:
        text = _NUMBERING.sub("", item).strip()
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out[:limit]


def schema_tables(answer: DatabaseSchema) -> list[str]:
    """One CREATE TABLE text per table (models sometimes pack several into one item)."""
    return [t.strip() for t in split_tables("\n\n".join(t.table_schema for t in answer.tables))]


def _for_sqlglot(table: str) -> str:
    """CockroachDB's SHOW CREATE TABLE extras that sqlglot's postgres dialect rejects; for
    checking only."""
    table = table.replace(":::", "::")
    table = re.sub(
        r"^\s*(?:(?:UNIQUE|INVERTED)\s+)?INDEX\b.*$|^\s*FAMILY\b.*$", "", table, flags=re.I | re.M
    )
    table = re.sub(r"\s+STORING\s*\([^)]*\)", "", table, flags=re.I)
    table = re.sub(r"\s+(?:ASC|DESC)\b(?=\s*[,)])", "", table, flags=re.I)
    # a comma left before the closing paren
    return re.sub(r",(\s*)\)(\s*;?\s*)$", r"\1)\2", table.strip())


def schema_problem(tables: list[str], n_tables: int) -> str | None:
    """None when `tables` are exactly `n_tables` CREATE TABLEs that sqlglot (postgres) parses into
    tables with columns, with distinct names and foreign keys only to these tables; else a
    reason."""
    if len(tables) != n_tables:
        return f"invalid schema: expected {n_tables} tables, got {len(tables)}"
    names, refs = [], set()
    for table in tables:
        try:
            trees = [
                t for t in sqlglot.parse(_for_sqlglot(table), read="postgres") if t is not None
            ]
        except Exception as e:  # sqlglot raises ParseError, TokenError and assorted others
            return f"invalid schema: {str(e).splitlines()[0][:80] if str(e) else type(e).__name__}"
        parsed = parse_schema(table)
        if (
            len(trees) != 1
            or not isinstance(trees[0], exp.Create)
            or trees[0].args.get("kind") != "TABLE"
            or not trees[0].find(exp.ColumnDef)
            or len(parsed) != 1
        ):
            return "invalid schema: not a CREATE TABLE with columns"
        names.append(next(iter(parsed)).lower())
        refs |= {
            r.find(exp.Table).name.lower()
            for r in trees[0].find_all(exp.Reference)
            if r.find(exp.Table)
        }
    if len(set(names)) != len(names):
        return "invalid schema: duplicate table names"
    if refs - set(names):
        return f"invalid schema: foreign key to unknown table {sorted(refs - set(names))[0]}"
    return None


# a statement's first word per kind; WITH starts a CTE in front of any DML
_FIRST_WORDS = {
    "select": {"SELECT", "WITH"},
    "insert": {"INSERT", "WITH"},
    "upsert": {"UPSERT"},
    "update": {"UPDATE", "WITH"},
    "delete": {"DELETE", "WITH"},
    "truncate": {"TRUNCATE"},
}
_FENCE = re.compile(r"^```\w*\s*|\s*```$")


def _first_word(sql: str) -> str:
    m = re.match(r"[(\s]*(\w+)", sql)
    return m.group(1).upper() if m else ""


def problem_category(problem: str) -> str:
    """'unknown column foo' -> 'unknown column': report counts group by kind of problem, not by
    name."""
    for head in (
        "parse error",
        "unknown table",
        "unknown column",
        "expected one statement",
        "unparsed command",
    ):
        if problem.startswith(head):
            return head
    return problem.split(":")[0]


def clean_statements(
    statements: list[str], kind: str, tables: dict[str, list[str]]
) -> tuple[list[str], Counter]:
    """Statements of `kind` that parse and name only schema objects, without duplicates (first
    occurrence kept, whitespace and a trailing ';' ignored); and the dropped ones counted by
    reason."""
    kept, seen, dropped = [], set(), Counter()
    first_words = _FIRST_WORDS[kind]
    for sql in statements:
        sql = _FENCE.sub("", sql.strip()).strip()
        if not sql:
            dropped["empty"] += 1
            continue
        if _first_word(sql) not in first_words:
            dropped["wrong kind"] += 1
            continue
        key = " ".join(sql.rstrip(";").split())
        if key in seen:
            dropped["duplicate"] += 1
            continue
        problem = statement_problem(sql, tables)
        if problem:
            dropped[problem_category(problem)] += 1
            continue
        seen.add(key)
        kept.append(sql)
    return kept, dropped
