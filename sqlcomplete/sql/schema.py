"""Schemas: what the data pipeline and the completers read from CREATE TABLE text.

- parse_schema, split_tables, column_types, spelling_of: a tolerant reader of CREATE TABLE
  statements as people and tools write them (hand-written DDL, CockroachDB's SHOW CREATE TABLE,
  pg_dump, mysqldump, SSMS/sqlcmd scripts, sqlite3's .schema); no SQL parser. Strings, comments
  and dollar-quoted bodies are skipped (scan.quoted_spans), and so are routine bodies (mysqldump's
  DELIMITER blocks, T-SQL batches that create a procedure, function, trigger or view): a CREATE
  TABLE inside any of them is no table. Names are read in every dialect's quoting
  (lexicon.DECLARED_NAME); the foreign keys of `ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY`
  (pg_dump, SSMS) count as the table's own.
- fit_schema, names_in: the policy for a schema longer than the context (drop the tables the
  statement does not name, last first), used by prepare.py and the Completer alike.
- spelling_of, requote: how a suggestion writes a name that needs quotes (in the schema's own
  style) or a qualifier (a table outside the default namespace: `inventory.warehouses`).

Statement validation with sqlglot stays in sql/check.py: the completer needs none of it.
"""

import functools
import re
from typing import NamedTuple

from sqlcomplete.sql.lexicon import (
    DECLARED_NAME,
    RESERVED,
    SQL_UNITS,
    WRITTEN_NAME,
    needs_quotes,
    quote,
    unquote,
)

# ---------------------------------------------------------------- reading DDL

_QUALIFIED = rf"{DECLARED_NAME}(?:\s*\.\s*{DECLARED_NAME})*"
_CREATE = re.compile(
    r"create\s+(?:or\s+replace\s+)?(?:(?:global|local)\s+)?"  # no \b: LLM schemas have `)\nCREATE`
    r"(?:(?:temp|temporary|unlogged|foreign)\s+)?table\s+(?:if\s+not\s+exists\s+)?"
    rf"({_QUALIFIED})\s*[({{]",
    re.I,
)
# SQLite's full-text and r-tree tables list their columns as the module's arguments
_CREATE_VIRTUAL = re.compile(
    rf"\bcreate\s+virtual\s+table\s+(?:if\s+not\s+exists\s+)?({_QUALIFIED})\s+using\s+\w+\s*\(",
    re.I,
)
# pg_dump and SSMS add foreign keys after the tables: ALTER TABLE ONLY public.a ADD CONSTRAINT
# a_b_fkey FOREIGN KEY (b_id) REFERENCES public.b(id); ALTER TABLE [a] WITH CHECK ADD CONSTRAINT ...
_ALTER_FK = re.compile(
    rf"\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?({_QUALIFIED})\s+(?:with\s+(?:no)?check\s+)?"
    rf"add\s+(?:constraint\s+{DECLARED_NAME}\s+)?foreign\s+key\s*\([^)]*\)\s*references\s+"
    rf"{_QUALIFIED}\s*(?:\([^)]*\))?",
    re.I,
)
_NAME_PART = re.compile(DECLARED_NAME)
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
    "fulltext",  # MySQL: FULLTEXT KEY ft (body)
    "spatial",
    "period",  # SQL Server: PERIOD FOR SYSTEM_TIME (a, b)
    "like",  # PostgreSQL: LIKE other INCLUDING ALL
}
# of those, words that also name columns (settings(key, value)): an item starting with one is a
# constraint only when a parenthesized list of names follows (KEY idx (a), INDEX (a), FAMILY f (a))
# or, for PERIOD, FOR; `key VARCHAR(20)` is a column
_COLUMN_WORDS = {"key", "index", "family", "period"}
_INDEX_TAIL = re.compile(
    rf"\s*(?:for\b|(?:{DECLARED_NAME}\s*)?(?:using\s+\w+\s*)?\((?!\s*\d))", re.I
)
# words that start a column's constraints, not its type: `k PRIMARY KEY` has no type
_NOT_TYPES = {"primary", "not", "null", "references", "default", "unique", "check", "constraint"}
_NOT_TYPES |= {"generated", "collate", "as", "identity", "auto_increment", "autoincrement"}
# PostgreSQL's, SQL Server's and SQLite's default namespaces: their tables need no qualifier
DEFAULT_NAMESPACES = {"public", "dbo", "main"}

# what routine bodies look like in dumps that do not quote them
_MYSQL_HINT = re.compile(r"`|/\*!\d|\bengine\s*=", re.I)
_BACKSLASH_ESCAPE = re.compile(r"\\[\\'\"]")
_DELIMITER_LINE = re.compile(r"^[ \t]*delimiter[ \t]+(\S+)[ \t\r]*$", re.I | re.M)
_GO_LINE = re.compile(r"^[ \t]*go(?:[ \t]+\d+)?[ \t]*;?[ \t\r]*$", re.I | re.M)
_ROUTINE = re.compile(
    r"\s*(?:create|alter)\s+(?:or\s+(?:alter|replace)\s+)?"
    r"(?:proc|procedure|function|trigger|view|event)\b",
    re.I,
)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(text: str) -> str:
    """Spaces for every character but line breaks (positions, and lines, stay where they were)."""
    return _NOT_NEWLINE.sub(" ", text)


@functools.lru_cache(maxsize=4)
def _code_view(schema: str) -> str:
    """The schema, same length, with the inside of every string, quoted name, comment and dollar
    quote blanked (a quote's delimiters stay), and routine bodies blanked whole: what is left is
    the DDL's structure. Read a name from `schema` at the position it has here."""
    from sqlcomplete.sql.scan import quoted_spans  # not at the top: scan.py imports this module

    scanned = schema
    if "\\" in schema and _MYSQL_HINT.search(schema):
        scanned = _BACKSLASH_ESCAPE.sub("  ", schema)  # MySQL's 'it\'s': no quote for the scanner
    out, pos = [], 0
    for start, end, kind in quoted_spans(scanned):
        out.append(schema[pos:start])
        closed = kind in ("'", '"', "`") and end - start >= 2 and scanned[end - 1] == kind
        if closed:
            out.append(kind + _blank(schema[start + 1 : end - 1]) + kind)
        else:  # a comment, a dollar quote, or a quote left open: nothing in it is DDL
            out.append(_blank(schema[start:end]))
        pos = end
    out.append(schema[pos:])
    code = "".join(out)
    if _DELIMITER_LINE.search(code):  # mysqldump's routines: DELIMITER ;; ... DELIMITER ;
        code = _blank_delimiter_blocks(code)
    if _GO_LINE.search(code):  # T-SQL batches: a procedure's body is not quoted
        parts, pos = [], 0
        for m in [*_GO_LINE.finditer(code), None]:
            end = m.start() if m else len(code)
            batch = code[pos:end]
            parts.append(_blank(batch) if _ROUTINE.match(batch) else batch)
            if m:
                parts.append(_blank(m.group(0)))
                pos = m.end()
        code = "".join(parts)
    return code


def _blank_delimiter_blocks(code: str) -> str:
    out, pos, block_start = [], 0, None
    for m in _DELIMITER_LINE.finditer(code):
        if block_start is None and m.group(1) != ";":
            out.append(code[pos : m.start()])
            block_start = m.start()
        elif block_start is not None and m.group(1) == ";":
            out.append(_blank(code[block_start : m.end()]))
            pos, block_start = m.end(), None
    if block_start is not None:
        out.append(_blank(code[block_start:]))
    else:
        out.append(code[pos:])
    return "".join(out)


class TableDef(NamedTuple):
    """One CREATE TABLE (or SQLite virtual table) of a schema text."""

    start: int  # where its statement starts in the text
    end: int  # just past its closing parenthesis (and a ';' right after it)
    parts: tuple[str, ...]  # its name as written, split at the dots: ('[Sales]', '[Order Header]')
    items: tuple[tuple[str, str], ...]  # (code view, text) of each top-level item of its body
    virtual: bool = False

    @property
    def name(self) -> str:
        return unquote(self.parts[-1])

    @property
    def namespace(self) -> str | None:
        return unquote(self.parts[-2]) if len(self.parts) > 1 else None


class AlterFk(NamedTuple):
    """An ALTER TABLE statement that adds a foreign key."""

    start: int
    end: int
    table: str  # unquoted, its namespace dropped
    code: str  # the statement in code view, and as written
    text: str


def _name_parts(code: str, text: str, start: int, end: int) -> tuple[str, ...]:
    """A dotted name's parts as written, found in the code view and read from the text."""
    return tuple(text[m.start() : m.end()] for m in _NAME_PART.finditer(code, start, end))


def _items(code: str, text: str, start: int, end: int) -> tuple[tuple[str, str], ...]:
    """Top-level items of a body (commas outside parentheses), in code view and as written."""
    out, depth, item_start = [], 0, start
    for m in _TOP_LEVEL.finditer(code, start, end):
        ch = m.group()
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append((code[item_start : m.start()], text[item_start : m.start()]))
            item_start = m.end()
    out.append((code[item_start:end], text[item_start:end]))
    return tuple(out)


_TOP_LEVEL = re.compile(r"[(),]")


@functools.lru_cache(maxsize=4)
def _read(schema: str) -> tuple[tuple[TableDef, ...], tuple[AlterFk, ...]]:
    """The schema's tables and its ALTER TABLE foreign keys, in text order."""
    code = _code_view(schema)
    tables = []
    for pattern, virtual in ((_CREATE, False), (_CREATE_VIRTUAL, True)):
        for m in pattern.finditer(code):
            end = body_end(code, m.end())
            body_stop = end - 1 if code[end - 1 : end] in ")}" else end
            if end < len(code) and code[end] == ";":
                end += 1
            tables.append(
                TableDef(
                    m.start(),
                    end,
                    _name_parts(code, schema, *m.span(1)),
                    _items(code, schema, m.end(), body_stop),
                    virtual,
                )
            )
    tables.sort()
    alters = []
    for m in _ALTER_FK.finditer(code):
        end = m.end() + 1 if code[m.end() : m.end() + 1] == ";" else m.end()
        parts = _name_parts(code, schema, *m.span(1))
        statement = (code[m.start() : end], schema[m.start() : end])
        alters.append(AlterFk(m.start(), end, unquote(parts[-1]), *statement))
    return tuple(tables), tuple(alters)


_FIRST_NAME = re.compile(rf"\s*({DECLARED_NAME})")


def _column_name(code: str, text: str, virtual: bool = False) -> tuple[str, str] | None:
    """(name, as written) of the column an item declares; None for a constraint or an option."""
    word = _FIRST_NAME.match(code)
    if not word:
        return None
    written = text[word.start(1) : word.end(1)]
    low = written.lower()
    if written[0] not in "\"`['" and low in _NOT_COLUMNS:
        if low not in _COLUMN_WORDS or _INDEX_TAIL.match(code, word.end(1)):
            return None
    if virtual and ("=" in code or written[0] not in "\"`['" and not re.match(r"[^\W\d]", written)):
        return None  # a module's option (tokenize='porter'), not a column
    return unquote(written), written


def _usable(t: TableDef) -> bool:
    return not t.name.lower().startswith("sqlite_")  # SQLite's own (sqlite_sequence)


def parse_schema(schema: str) -> dict[str, list[str]]:
    """Tables of a schema as {table: [columns]} in schema order (unquoted, namespace dropped)."""
    # the completer, the n-gram and the fitter ask for the same schema: a long one is parsed once
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
    for t in _read(schema)[0]:
        columns = {}  # an ordered set: `name in list` made a 10,000-column table cost seconds
        for code, text in t.items:
            col = _column_name(code, text, t.virtual)
            if col:
                columns.setdefault(col[0])
        if columns and _usable(t):
            tables[t.name] = tuple(columns)
    return tuple(tables.items())


def split_tables(schema: str) -> list[str]:
    """The schema cut into its DDL, in text order: one text per CREATE TABLE statement (with its
    trailing ';' if any), and each ALTER TABLE statement that adds a foreign key."""
    return list(_named_tables(schema)[0])


def bare_name(written: str) -> str:
    """`sales."Order Lines"`, [Sales].[Order Lines] -> `Order Lines`: the last part, unquoted."""
    parts = _NAME_PART.findall(written)
    return unquote(parts[-1]) if parts else written


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
    """split_tables and each part's table name, lowercase (the completer refits by named tables)."""
    tables, alters = _read(schema)
    found = [(t.start, t.end, t.name) for t in tables if t.items and _usable(t)]
    found += [(a.start, a.end, a.table) for a in alters]
    found.sort()
    return [schema[s:e] for s, e, _ in found], [name.lower() for _, _, name in found]


def names_in(sql: str) -> set[str]:
    """The identifiers a statement names, lowercase (quoted names unquoted; strings, comments
    skipped)."""
    return {
        m.group(0).lower() for m in SQL_UNITS.finditer(sql) if m.group(0)[0] not in "'\"`-/"
    } | {unquote(m.group(0)).lower() for m in _QUOTED_NAME.finditer(sql)}


_QUOTED_NAME = re.compile(r'"[^"]+"|`[^`]+`|\[[^\]]+\]')  # "a b", `a b`, [a b]


_REFERENCES = re.compile(rf"\breferences\s+({_QUALIFIED})\s*(?:\(([^)]*)\))?", re.I)
_FOREIGN_KEY = re.compile(r"\bforeign\s+key\s*\(([^)]*)\)", re.I)
_TYPE = re.compile(rf"\s*{DECLARED_NAME}\s*((?:{WRITTEN_NAME}\s*\.\s*)?{WRITTEN_NAME})?")


def _names_at(code: str, text: str, span: tuple[int, int]) -> list[str]:
    """The comma-separated names in code[span], read from text, unquoted."""
    return [unquote(p) for p in _name_parts(code, text, *span)]


def _foreign_keys(code: str, text: str, table: str) -> list[tuple[str, str, str, str]]:
    """(table, column, referenced table, referenced column or "") of FOREIGN KEY (..) REFERENCES."""
    fk, ref = _FOREIGN_KEY.search(code), _REFERENCES.search(code)
    if not (fk and ref):
        return []
    ref_table = unquote(_name_parts(code, text, *ref.span(1))[-1])
    ref_cols = _names_at(code, text, ref.span(2)) if ref.group(2) is not None else []
    return [
        (table, c, ref_table, ref_cols[i] if i < len(ref_cols) else "")
        for i, c in enumerate(_names_at(code, text, fk.span(1)))
    ]


def column_types(schema: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, str, str]]]:
    """What parse_schema leaves out: each column's type (its first word after the name, lowercase,
    "" when none) as {table: {column: type}}, and the foreign keys as (table, column, referenced
    table, referenced column or "") from inline REFERENCES, FOREIGN KEY (...) REFERENCES items and
    ALTER TABLE ... ADD ... FOREIGN KEY statements."""
    types: dict[str, dict[str, str]] = {}
    fkeys: list[tuple[str, str, str, str]] = []
    tables, alters = _read(schema)
    for t in tables:
        if not _usable(t):
            continue
        cols = types.setdefault(t.name, {})
        for code, text in t.items:
            keys = _foreign_keys(code, text, t.name)
            if keys:
                fkeys += keys
                continue
            col = _column_name(code, text, t.virtual)
            if not col:
                continue
            m = _TYPE.match(code)
            type_ = bare_name(text[m.start(1) : m.end(1)]).lower() if m and m.group(1) else ""
            cols.setdefault(col[0], "" if t.virtual or type_ in _NOT_TYPES else type_)
            ref = _REFERENCES.search(code)
            if ref:
                ref_cols = _names_at(code, text, ref.span(2)) if ref.group(2) is not None else []
                ref_table = unquote(_name_parts(code, text, *ref.span(1))[-1])
                fkeys.append((t.name, col[0], ref_table, ref_cols[0] if ref_cols else ""))
    for a in alters:
        fkeys += _foreign_keys(a.code, a.text, a.table)
    return types, fkeys


# ---------------------------------------------------------------- writing names


class Spelling(NamedTuple):
    """How a suggestion writes the schema's names, by lowercase name: only those that are not
    written as parse_schema spells them."""

    quoted: dict[str, str]  # a name that must be quoted, in the quotes its declaration used
    qualified: dict[str, str]  # a table outside the default namespaces: `inventory.warehouses`
    namespace: dict[str, str]  # a table declared qualified: its namespace, lowercase


def _written(name: str, declared: str) -> str | None:
    """The name quoted as declared (`[a b]`, `` `a b` ``, "a b"; SQLite's 'a b' as "a b") when it
    must be: it is no identifier, or a reserved word the schema quotes. None when bare will do."""
    style = declared[0] if declared[0] in '"`[' else '"'
    if needs_quotes(name) or (declared[0] in "\"`['" and name.lower() in RESERVED):
        return quote(name, style)
    return None


@functools.lru_cache(maxsize=4)
def spelling_of(schema: str) -> Spelling:
    """The quoted and qualified spellings of a schema's tables and columns (the first declaration
    of a name decides)."""
    quoted: dict[str, str] = {}
    qualified: dict[str, str] = {}
    namespace: dict[str, str] = {}
    for t in _read(schema)[0]:
        if not t.items or not _usable(t):
            continue
        low = t.name.lower()
        written = _written(t.name, t.parts[-1])
        if written:
            quoted.setdefault(low, written)
        ns = t.namespace
        if ns is not None:
            namespace.setdefault(low, ns.lower())
        if ns is not None and ns.lower() not in DEFAULT_NAMESPACES and low not in qualified:
            qualified[low] = (_written(ns, t.parts[-2]) or ns) + "." + (written or t.name)
        for code, text in t.items:
            col = _column_name(code, text, t.virtual)
            if col and (w := _written(*col)):
                quoted.setdefault(col[0].lower(), w)
    return Spelling(quoted, qualified, namespace)


_TABLE_WORD = re.compile(r"\b(?:from|join|into|update|table)\s+\Z", re.I)


def requote(text: str, spelling: Spelling, lead: str = "", before: str = "") -> str:
    """A suggestion (continuing `lead`, the partly typed word, after the statement's `before`) with
    the schema's names written as they must be: `Order Items WHERE` -> `"Order Items" WHERE`, `FROM
    warehouses` -> `FROM inventory.warehouses`. A name that began in the typed text cannot be fixed
    by inserting text: then nothing is left. Strings, quoted names and comments are left alone."""
    if not (spelling.quoted or spelling.qualified):
        return text
    from sqlcomplete.sql.scan import quoted_spans

    bare = {unquote(w).lower(): w for w in spelling.quoted.values() if needs_quotes(unquote(w))}
    if not (bare or spelling.qualified):
        return text
    full = lead + text
    pattern = _names_pattern(frozenset(bare) | frozenset(spelling.qualified))
    skip = quoted_spans(full)
    out, pos = [], 0
    for m in pattern.finditer(full):
        if any(s <= m.start() < e for s, e, _ in skip):
            continue
        low = m.group(1).lower()
        if low in spelling.qualified and _TABLE_WORD.search(before[-32:] + full[: m.start()]):
            written = spelling.qualified[low]
        elif low in bare:
            written = bare[low]
        else:
            continue
        if m.start() < len(lead):
            return ""  # only the typed text could say `"Order` rather than `Order`
        out.append(full[pos : m.start()] + written)
        pos = m.end()
    if not out:
        return text
    return ("".join(out) + full[pos:])[len(lead) :]


@functools.lru_cache(maxsize=4)
def _names_pattern(names: frozenset[str]) -> re.Pattern:
    """Any of these names, whole (longest first), not already quoted or qualified."""
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    return re.compile(rf"(?<![\w$\"`\[.])({alternatives})(?![\w$\"`\]])", re.I)


# ---------------------------------------------------------------- shared scanning helpers


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
