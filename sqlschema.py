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

# ---------------------------------------------------------------- words

# the scorer's tokens (../shared/eval/score.py): words, numbers, '...' strings, "..." names, any other
# non-space character
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|'(?:[^']|'')*'|\"[^\"]*\"|\S")
# the scorer's keywords, lowercase: no mid-word request inside one, and none names a table or column
KEYWORDS = frozenset("""
select from where and or not null is in as on join left right inner outer full cross group by order having limit
offset insert into values update set delete truncate table upsert returning distinct case when then else end like
ilike between exists union all asc desc count sum avg min max with conflict do nothing cascade
""".split())
# every word of SQL: keywords, clause words, types and functions. A schema name that is one of these
# is never renamed by augmentation, never taken for a table alias, and never penalized as unknown.
SQL_WORDS = KEYWORDS | frozenset("""
natural using intersect except nulls first last recursive restrict default primary key foreign references
unique check constraint index create drop alter add column family coalesce nullif cast extract lower upper length
trim substring concat round floor ceil abs now current_date current_timestamp current_time date_trunc interval
true false excluded over partition row_number rank dense_rank lag lead filter any some array_agg string_agg
json_agg jsonb_build_object to_char date_part age year month day hour minute second epoch int int2 int4 int8
integer bigint smallint serial bigserial decimal numeric float float4 float8 real double precision text varchar
char string bool boolean date time timestamp timestamptz uuid jsonb json bytes bytea array only gen_random_uuid
unique_rowid if replace position strftime julianday ifnull instr public user type name value
ceiling collate cume_dist current datetime days escape fetch first_value following for generate_series glob
greatest isnull last_value lateral least ln log ltrim mod next ntile percent_rank power preceding range regexp rows
rtrim similar sqrt stddev substr to_date to_timestamp top unbounded unnest variance week window within random row
""".split())
# words of SQL that are far more often a table or column (or a schema qualifier) than SQL: a
# suggestion may name them only where the schema or the statement does
NAME_LIKE = frozenset({"name", "value", "type", "user", "public"})
SQL_VOCABULARY = SQL_WORDS - NAME_LIKE  # the words of SQL a suggestion may use anywhere
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
SHORT_ALIAS = re.compile(r"[a-z]\d*")  # T1, t2, c: short aliases are fine anywhere (the scorer's rule)


def known_words(*texts: str) -> set[str]:
    """The lowercase words of these texts (a schema, the statement typed so far): names a suggestion may use."""
    return {w.lower() for text in texts for w in NAME.findall(text)}


@functools.lru_cache(maxsize=4)
def schema_words(schema: str) -> frozenset[str]:
    """known_words of a schema, once per schema text: the completer, its lexicon and the n-gram all ask."""
    return frozenset(known_words(schema))


def is_known(word: str, known: set[str]) -> bool:
    """Whether a suggestion may name `word`: one of `known`, a word of SQL, or a short alias."""
    low = word.lower()
    return low in known or low in SQL_VOCABULARY or SHORT_ALIAS.fullmatch(low) is not None


def invented_at(text: str, known: set[str], lead: str = "") -> int | None:
    """Where `text` (a suggestion continuing `lead`, the partly typed word or an open quote) first
    names something found nowhere: the offset to cut it at (nothing but blanks is left when that is its
    first word), or None.
    Names inside string literals do not count; a name right after AS, past the first word, is an
    alias the suggestion defines. web/schema.js's inventedAt is the same."""
    full, first, defining = lead + text, True, False
    for m in TOKEN.finditer(full):
        tok = m.group(0)
        if tok in ("'", '"'):
            return None  # an unclosed literal or quoted name: the rest is inside it
        if m.end() > len(lead):
            word = tok[1:-1] if tok[0] == '"' else tok
            if NAME.fullmatch(word) and not is_known(word, known):
                if first or not defining:
                    return max(m.start() - len(lead), 0)
                known = known | {word.lower()}
            first = False
        defining = tok.lower() == "as"
    return None


# identifiers, and the units a rename must skip whole: strings, quoted names, comments
SQL_UNITS = re.compile(r"'(?:[^']|'')*'?|\"[^\"]*\"?|`[^`]*`?|--[^\n]*|/\*.*?(?:\*/|$)|[A-Za-z_][A-Za-z0-9_$]*", re.S)

# ---------------------------------------------------------------- the prompt

SCHEMA_HEADER = "### TABLEDATA"
STATEMENT_HEADER = "### STATEMENT"
STATEMENT_SEPARATOR = f"\n\n{STATEMENT_HEADER}\n\n"


def prompt_text(schema: str) -> str:
    """The text in front of a statement: the schema block and the statement marker."""
    return f"{SCHEMA_HEADER}\n\n{schema}{STATEMENT_SEPARATOR}"


def marker_piece(marker: str) -> str:
    """The vocabulary piece of a marker: SentencePiece sees spaces as U+2581 before matching symbols."""
    return marker.replace(" ", "\u2581")


# ---------------------------------------------------------------- CREATE TABLE

_CREATE = re.compile(r"create\s+table\s+(?:if\s+not\s+exists\s+)?((?:[`\"\w]+|\"[^\"]+\")(?:\.(?:[`\"\w]+|\"[^\"]+\"))*)\s*[({]", re.I)
_NOT_COLUMNS = {"primary", "foreign", "constraint", "unique", "index", "key", "check", "family", "inverted", "exclude"}


def _unquote(name: str) -> str:
    return name.strip().strip('`"[]')


def _table_name(qualified: str) -> str:
    """`sales."Order Lines"` -> `Order Lines`: the last dot-separated part outside quotes, unquoted."""
    return _unquote(re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", qualified)[-1])


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
            items.append(body[start:i - 1])
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
    parsed = _parse_schema_cached(schema) if len(schema) > _CACHE_FROM_CHARS else _parse_schema(schema)
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
        for item in split_top_level(schema[m.end():end - 1]):
            word = re.match(r"\s*(\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|[\w]+)", item)
            if not word:
                continue
            name = _unquote(word.group(1))
            if word.group(1)[0] not in "\"`[" and name.lower() in _NOT_COLUMNS:
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
        parts.append(schema[m.start():end])
        names.append(_table_name(m.group(1)).lower())
    return parts, names


def names_in(sql: str) -> set[str]:
    """The identifiers a statement names, lowercase (quoted names unquoted; strings and comments skipped)."""
    return {m.group(0).lower() for m in SQL_UNITS.finditer(sql) if m.group(0)[0] not in "'\"`-/"} | \
        {m.group(0)[1:-1].lower() for m in re.finditer(r"\"[^\"]+\"", sql)}


_NAME = r"(?:\"[^\"]+\"|`[^`]+`|\[[^\]]+\]|[\w]+)"
_REFERENCES = re.compile(rf"\breferences\s+((?:{_NAME}\s*\.\s*)*{_NAME})\s*(?:\(([^)]*)\))?", re.I)
_FOREIGN_KEY = re.compile(rf"\bforeign\s+key\s*\(([^)]*)\)", re.I)


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
        for item in split_top_level(schema[m.end():end - 1]):
            ref = _REFERENCES.search(item)
            ref_table = _unquote(re.split(r"\s*\.\s*", ref.group(1))[-1]) if ref else ""
            ref_cols = [_unquote(c) for c in split_top_level(ref.group(2) or "")] if ref else []
            fk = _FOREIGN_KEY.search(item)
            if fk and ref:
                for i, c in enumerate(split_top_level(fk.group(1))):
                    fkeys.append((table, _unquote(c), ref_table, ref_cols[i] if i < len(ref_cols) else ""))
                continue
            word = re.match(rf"\s*({_NAME})\s*([A-Za-z_]\w*)?", item)
            if not word or (word.group(1)[0] not in "\"`[" and word.group(1).lower() in _NOT_COLUMNS):
                continue
            name = _unquote(word.group(1))
            cols.setdefault(name, (word.group(2) or "").lower())
            if ref:
                fkeys.append((table, name, ref_table, ref_cols[0]))
    return types, fkeys
