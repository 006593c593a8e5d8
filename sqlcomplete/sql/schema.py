"""Schemas and the prompt: what the data pipeline and the completers agree on.

- parse_schema, split_tables: a tolerant scanner of CREATE TABLE statements (CockroachDB's
  SHOW CREATE TABLE output, SQLite DDL and hand-written styles alike); no SQL parser.
- fit_schema, names_in: the policy for a schema longer than the context (drop the tables the
  statement does not name, last first), used by prepare.py and the Completer alike.
- the prompt format: `### TABLEDATA\\n\\n{schema}\\n\\n### STATEMENT\\n\\n{statement}`.
- TOKEN (the scorer's tokens), KEYWORDS (the scorer's keywords) and SQL_WORDS (every word of
  SQL the project knows: keywords, types, functions).

Statement validation with sqlglot stays in datagen/sqlcheck.py: the completer needs none of it.
"""

import functools
import re

from sqlcomplete.sql.lexicon import SQL_UNITS, WRITTEN_NAME, unquote

# ---------------------------------------------------------------- CREATE TABLE

_CREATE = re.compile(
    r"create\s+table\s+(?:if\s+not\s+exists\s+)?((?:[`\"\w]+|\"[^\"]+\")(?:\.(?:[`\"\w]+|\"[^\"]+\"))*)\s*[({]",
    re.I,
)
_NOT_COLUMNS = {
    "primary",
    "foreign",
    "constraint",
    "unique",
    "index",
    "key",
    "check",
    "family",
    "inverted",
    "exclude",
}


def _table_name(qualified: str) -> str:
    """`sales."Order Lines"` -> `Order Lines`: the last dot-separated part outside quotes, unquoted."""
    return unquote(re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", qualified)[-1])


_TOP_LEVEL_MARKS = re.compile(r"['\"`(),]")
_BODY_MARKS = re.compile(r"['\"`(){}]")


def split_top_level(body: str) -> list[str]:
    """Split a CREATE TABLE body on commas outside parentheses and quotes."""
    # the regex jumps between the characters that matter: a 1 MB schema is scanned at C speed
    items, depth, start, i = [], 0, 0, 0
    while m := _TOP_LEVEL_MARKS.search(body, i):
        ch, i = m.group(), m.end()
        if ch in "'\"`":
            close = body.find(ch, i)
            i = len(body) if close < 0 else close + 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            items.append(body[start : i - 1])
            start = i
    items.append(body[start:])
    return items


def body_end(text: str, start: int) -> int:
    """Index just past the parenthesis closing the one opened before `start`."""
    depth, i = 1, start
    while depth and (m := _BODY_MARKS.search(text, i)):
        ch, i = m.group(), m.end()
        if ch in "'\"`":
            close = text.find(ch, i)
            i = len(text) if close < 0 else close + 1
        elif ch in "({":  # some LLM-written schemas wrap the columns in braces
            depth += 1
        else:
            depth -= 1
    return i if depth == 0 else len(text)


def parse_schema(schema: str) -> dict[str, list[str]]:
    """Tables of a schema as {table: [columns]} in schema order (names unquoted, schema prefix dropped)."""
    # the completer, the n-gram and the fitter each ask for the same schema: a long one is parsed once
    parsed = (
        _parse_schema_cached(schema) if len(schema) > _CACHE_FROM_CHARS else _parse_schema(schema)
    )
    return {table: list(columns) for table, columns in parsed}


_CACHE_FROM_CHARS = 20_000


@functools.lru_cache(maxsize=4)
def _parse_schema_cached(schema: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return _parse_schema(schema)


def _parse_schema(schema: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    tables: dict[str, tuple[str, ...]] = {}
    for m in _CREATE.finditer(schema):
        end = body_end(schema, m.end())
        columns = {}  # an ordered set: `name in list` made a 10,000-column table cost seconds
        for item in split_top_level(schema[m.end() : end - 1]):
            word = re.match(r"\s*(\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|[\w]+)", item)
            if not word:
                continue
            name = unquote(word.group(1))
            if word.group(1)[0] not in '"`[' and name.lower() in _NOT_COLUMNS:
                continue
            columns.setdefault(name)
        table = _table_name(m.group(1))
        if columns:
            tables[table] = tuple(columns)
    return tuple(tables.items())


def split_tables(schema: str) -> list[str]:
    """The schema cut into one text per CREATE TABLE statement (with its trailing ';' if any)."""
    return list(_named_tables(schema)[0])


# ---------------------------------------------------------------- long schemas


def fit_schema(schema: str, keep_names: set[str], budget_chars: int) -> tuple[str, int]:
    """Drop whole tables, those not named in `keep_names` first (last first), until the schema fits.

    Returns (schema, tables dropped). prepare.py keeps the tables its statements name; the
    Completer keeps those the typed prefix names.
    """
    if len(schema) <= budget_chars:
        return schema, 0
    parts, names = _named_tables(schema)
    if not parts:
        return schema, 0
    keep_names = {n.lower() for n in keep_names}
    order = sorted(range(len(parts)), key=lambda i: (names[i] in keep_names, -i))  # droppable first
    kept = set(range(len(parts)))
    total = sum(len(p) + 2 for p in parts)
    for i in order:
        if total <= budget_chars or len(kept) == 1:
            break
        kept.discard(i)
        total -= len(parts[i]) + 2
    return "\n\n".join(parts[i] for i in sorted(kept)), len(parts) - len(kept)


@functools.lru_cache(maxsize=4)
def _named_tables(schema: str) -> tuple[list[str], list[str]]:
    """split_tables and each part's table name, lowercase: the completer refits as the statement names tables."""
    parts, names = [], []
    for m in _CREATE.finditer(schema):
        end = body_end(schema, m.end())
        if end < len(schema) and schema[end] == ";":
            end += 1
        parts.append(schema[m.start() : end])
        names.append(_table_name(m.group(1)).lower())
    return parts, names


def names_in(sql: str) -> set[str]:
    """The identifiers a statement names, lowercase (quoted names unquoted; strings and comments skipped)."""
    return {
        m.group(0).lower() for m in SQL_UNITS.finditer(sql) if m.group(0)[0] not in "'\"`-/"
    } | {m.group(0)[1:-1].lower() for m in re.finditer(r"\"[^\"]+\"", sql)}


_REFERENCES = re.compile(
    rf"\breferences\s+((?:{WRITTEN_NAME}\s*\.\s*)*{WRITTEN_NAME})\s*(?:\(([^)]*)\))?", re.I
)
_FOREIGN_KEY = re.compile(r"\bforeign\s+key\s*\(([^)]*)\)", re.I)


def column_types(schema: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str, str]]]:
    """What parse_schema leaves out: each column's type (its first word after the name, lowercase,
    "" when none) as {table: {column: type}}, and the foreign keys as (table, column, referenced
    table, referenced column or "") from inline REFERENCES and FOREIGN KEY (...) REFERENCES items."""
    types: dict[str, dict[str, str]] = {}
    fkeys: list[tuple[str, str, str, str]] = []
    for m in _CREATE.finditer(schema):
        end = body_end(schema, m.end())
        table = _table_name(m.group(1))
        cols = types.setdefault(table, {})
        for item in split_top_level(schema[m.end() : end - 1]):
            ref = _REFERENCES.search(item)
            ref_table = unquote(re.split(r"\s*\.\s*", ref.group(1))[-1]) if ref else ""
            ref_cols = [unquote(c) for c in split_top_level(ref.group(2) or "")] if ref else []
            fk = _FOREIGN_KEY.search(item)
            if fk and ref:
                for i, c in enumerate(split_top_level(fk.group(1))):
                    fkeys.append(
                        (table, unquote(c), ref_table, ref_cols[i] if i < len(ref_cols) else "")
                    )
                continue
            word = re.match(rf"\s*({WRITTEN_NAME})\s*([A-Za-z_]\w*)?", item)
            if not word or (
                word.group(1)[0] not in '"`[' and word.group(1).lower() in _NOT_COLUMNS
            ):
                continue
            name = unquote(word.group(1))
            cols.setdefault(name, (word.group(2) or "").lower())
            if ref:
                fkeys.append((table, name, ref_table, ref_cols[0]))
    return types, fkeys
