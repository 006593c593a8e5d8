"""SQL's words and names: the one definition of an identifier, of how a quoted name is unquoted and
of the words of SQL (keywords, types, functions) that a suggestion may use anywhere."""

import functools
import re

# ---------------------------------------------------------------- words

# the scorer's tokens (../shared/eval/score.py): words, numbers, '...' strings, "..." names, any
# other non-space character
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|'(?:[^']|'')*'|\"[^\"]*\"|\S")
# the scorer's keywords, lowercase: no mid-word request inside one, and none names a table or column
KEYWORDS = frozenset(
    """
select from where and or not null is in as on join left right inner outer full cross group by order
having limit offset insert into values update set delete truncate table upsert returning distinct
case when then else end like ilike between exists union all asc desc count sum avg min max with
conflict do nothing cascade
""".split()
)
# every word of SQL: keywords, clause words, types and functions. A schema name that is one of these
# is never renamed by augmentation, never taken for a table alias, and never penalized as unknown.
SQL_WORDS = KEYWORDS | frozenset(
    """
natural using intersect except nulls first last recursive restrict default primary key foreign
references unique check constraint index create drop alter add column family coalesce nullif cast
extract lower upper length trim substring concat round floor ceil abs now current_date
current_timestamp current_time date_trunc interval true false excluded over partition row_number
rank dense_rank lag lead filter any some array_agg string_agg json_agg jsonb_build_object to_char
date_part age year month day hour minute second epoch int int2 int4 int8 integer bigint smallint
serial bigserial decimal numeric float float4 float8 real double precision text varchar char string
bool boolean date time timestamp timestamptz uuid jsonb json bytes bytea array only gen_random_uuid
unique_rowid if replace position strftime julianday ifnull instr public user type name value
ceiling collate cume_dist current datetime days escape fetch first_value following for
generate_series glob greatest isnull last_value lateral least ln log ltrim mod next ntile
percent_rank power preceding range regexp rows rtrim similar sqrt stddev substr to_date to_timestamp
top unbounded unnest variance week window within random row
""".split()
)
# words of SQL that are far more often a table or column (or a schema qualifier) than SQL: a
# suggestion may name them only where the schema or the statement does
NAME_LIKE = frozenset({"name", "value", "type", "user", "public"})
SQL_VOCABULARY = SQL_WORDS - NAME_LIKE  # the words of SQL a suggestion may use anywhere
# an unquoted identifier, the one definition: a letter (of any script: PostgreSQL, MySQL, SQL Server
# and SQLite all take 客户 or café bare) or _, then letters, digits, _ and $
IDENT = r"[^\W\d][\w$]*"
NAME = re.compile(IDENT)
# a name as written in DDL or SQL, in any dialect's quoting: "a ""b""", `a b`, [a]]b], or bare
WRITTEN_NAME = r'(?:"(?:[^"]|"")*"|`[^`]*`|\[(?:[^\]]|\]\])*\]|[\w$]+)'
# a name as CREATE TABLE declares it: SQLite also takes a string there (CREATE TABLE 'lyrics_data')
DECLARED_NAME = rf"(?:{WRITTEN_NAME}|'(?:[^']|'')*')"
# words some dialect reserves: a name among them is written quoted where the schema quotes it
RESERVED = frozenset(
    """all and any as asc between by case check collate column constraint create cross current_date
current_time current_timestamp default delete desc distinct drop else end except exists false for
foreign from full group having in index inner insert intersect into is join key left like limit
natural not null offset on or order outer primary references right select set table then to true
union unique update user using values when where with""".split()
)
WORD_CHAR = re.compile(r"[A-Za-z0-9_$]")  # a character of a word being typed (the completer's word)
SHORT_ALIAS = re.compile(
    r"[a-z]\d*"
)  # T1, t2, c: short aliases are fine anywhere (the scorer's rule)


def known_words(*texts: str) -> set[str]:
    """The lowercase words of these texts (a schema, the statement typed so far): names a
    suggestion may use."""
    return {w.lower() for text in texts for w in NAME.findall(text)}


@functools.lru_cache(maxsize=4)
def schema_words(schema: str) -> frozenset[str]:
    """known_words of a schema, once per schema text: the completer, its lexicon and the n-gram
    all ask."""
    return frozenset(known_words(schema))


def is_known(word: str, known: set[str]) -> bool:
    """Whether a suggestion may name `word`: one of `known`, a word of SQL, or a short alias."""
    low = word.lower()
    return low in known or low in SQL_VOCABULARY or SHORT_ALIAS.fullmatch(low) is not None


# invented_at's units: the scorer's tokens, but any identifier is one word (主键, not 2 symbols)
_UNITS = re.compile(rf"{IDENT}|\d+(?:\.\d+)?|'(?:[^']|'')*'|\"[^\"]*\"|\S")


def invented_at(text: str, known: set[str], lead: str = "") -> int | None:
    """Where `text` (a suggestion continuing `lead`, the partly typed word or an open quote) first
    names something found nowhere: the offset to cut it at (nothing but blanks is left when that is
    its first word), or None.
    Names inside string literals do not count; a name right after AS, past the first word, is an
    alias the suggestion defines. web/schema.js's inventedAt is the same."""
    full, first, defining = lead + text, True, False
    for m in _UNITS.finditer(full):
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
SQL_UNITS = re.compile(
    r"'(?:[^']|'')*'?|\"[^\"]*\"?|`[^`]*`?|--[^\n]*|/\*.*?(?:\*/|$)|[A-Za-z_][A-Za-z0-9_$]*", re.S
)


def unquote(name: str) -> str:
    """A name as written in DDL or SQL without its quotes: "a b", `a b`, [a b] (with ]] for ]) or
    'a'."""
    name = name.strip()
    if len(name) >= 2 and name[0] + name[-1] in ('""', "``", "[]", "''"):
        close = name[-1]
        return name[1:-1].replace(close * 2, close)
    return name


def needs_quotes(name: str) -> bool:
    """Whether a name cannot be written bare: it is no identifier (`Order Items`, `2fa`, `a-b`)."""
    return NAME.fullmatch(name) is None


def quote(name: str, style: str = '"') -> str:
    """unquote's inverse: the name in a dialect's quotes, style `"` (standard), `` ` `` (MySQL) or
    `[` (SQL Server), its closing quote doubled inside."""
    close = "]" if style == "[" else style
    return style + name.replace(close, close * 2) + close
