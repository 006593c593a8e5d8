"""A schema-aware n-gram SQL completer: the baseline a neural model must clearly beat, and the
proposer of next words that the shipped model reranks (sample.py). The shipped one,
sqlcomplete/models/ngram.safetensors, is a 6-gram (`make ngram` passes --order 6; the default
order is 4).

    python -m sqlcomplete.completion.ngram train SOURCE [SOURCE ...] \
        -o sqlcomplete/models/ngram.safetensors [--order 6] [--holdout evalsets/hard_cases.jsonl]
    # the page's format, or back
    python -m sqlcomplete.completion.ngram convert sqlcomplete/models/ngram.safetensors \
        -o web/model/ngram.json.gz
    python -m sqlcomplete.completion.ngram complete --schema examples/schema.sql \
        --prefix "SELECT name, email FROM "

Statements are cut into the scorer's tokens (words, numbers, quoted strings, symbols). Names
from the group's own schema become class tokens, <T> for a table and <C> for a column, so
counts carry over between schemas. At completion time a class is filled from the current
schema: each candidate gets a few features (already used? in a table the statement names?
the next column in schema order? its type? joined by a foreign key? the column compared on
the other side of `=`?) and is ranked by how often a candidate with the same features, after
the same two symbols (an alias left out), was the right one in training, times how often its
name's last word (`_at`, `Name`) was. The statement also constrains the next symbol: an INSERT
column list offers each column once, then `)`; a value gets its column's type (no number for
a UUID or text column, no string for a numeric one).
SOURCEs are prepare.py's: JSONL(.gz) groups, the seed layout, or PATH*N to repeat one.

The file is safetensors: the counts as flat sorted arrays (NgramTable), looked up by binary
search, so loading parses nothing but a small JSON header (~0.1 s instead of seconds for the
16 MB of JSON the counts make). `.json.gz` (the page reads that) is read and written too.
Suggestions name nothing found nowhere: a word that is neither a schema name, nor typed in the
statement, nor a word of SQL is never proposed, and a continuation stops before one.

As a library it has sample.Completer's interface:

    from sqlcomplete.completion.ngram import NgramCompleter
    c = NgramCompleter("sqlcomplete/models/ngram.safetensors")
    c.set_schema(schema)
    c.complete("SELECT name FROM cu")      # ['stomers WHERE ', ...]: only the missing text
"""

import argparse
import functools
import gzip
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict

import numpy as np

from sqlcomplete import MODELS_DIR
from sqlcomplete.sql.lexicon import (
    KEYWORDS,
    NAME,
    SHORT_ALIAS,
    SQL_VOCABULARY,
    TOKEN,
    is_known,
    known_words,
    schema_words,
)
from sqlcomplete.sql.lexicon import quote as quote_name
from sqlcomplete.sql.scan import string_start
from sqlcomplete.sql.schema import bare_name, column_types, parse_schema, spelling_of

DEFAULT_MODEL = os.path.join(MODELS_DIR, "ngram.safetensors")
MAX_TOKENS = 8  # longest continuation after a proposed word, in tokens
MIN_PROB = 0.2  # a continuation stops before a token less likely than this
CLASS_CACHE_SIZE = 32  # ranked name lists kept, oldest dropped first
BOS, EOS = "<s>", "</s>"
TABLE, COLUMN, QTABLE, QCOLUMN = "<T>", "<C>", '"<T>"', '"<C>"'
STRING, NUMBER, QUOTED = "<S>", "<N>", "<Q>"
ALIAS = "<A>"  # an alias in the class ranker's context keys
WORDS = "<W> "  # the class ranker's statistics of names' last words: context keys start with this
UNRENDERABLE = {STRING, NUMBER, QUOTED, EOS}
TABLE_CONTEXT = {"from", "join", "into", "update", "table", "truncate", "only"}
# a word after a table name is its alias unless it is one of these (web/ngram.js holds the same set)
NOT_ALIAS = KEYWORDS - {"count", "sum", "avg", "min", "max", "conflict", "do", "nothing"} | {
    "natural",
    "using",
    "intersect",
    "except",
}
# a column's type, coarsely: what the ranker learns which clause wants (ORDER BY a time, SUM a
# number)
TYPE_KINDS = ("", "int", "number", "text", "time", "bool", "uuid", "other")


def name_tail(name: str) -> str:
    """A name's last word, lowercase: created_at -> at, CustomerName -> name ("" when none)."""
    m = re.search(r"(?:[A-Z]?[a-z0-9]+|[A-Z]+)$", name)
    return m.group(0).lower() if m else ""


def type_kind(sql_type: str) -> int:
    """Index in TYPE_KINDS of a column's type word (lowercase)."""
    t = sql_type
    if not t:
        return 0
    if t.startswith(("date", "time")) or t in ("interval", "year"):
        return 4
    if "int" in t or "serial" in t:
        return 1
    if t.startswith(("dec", "num", "float", "real", "double", "money")):
        return 2
    if "char" in t or "text" in t or t in ("string", "clob"):
        return 3
    if t.startswith("bool") or t == "bit":
        return 5
    return 6 if t == "uuid" else 7


def tokenize(text: str) -> list[tuple[str, str]]:
    """(whitespace before, token) pairs; the scorer's tokens, so the n-gram predicts exactly what is
    scored."""
    out, pos = [], 0
    for m in TOKEN.finditer(text):
        out.append((text[pos : m.start()], m.group(0)))
        pos = m.end()
    return out


class Schema:
    """Tables and columns of one schema, looked up case-insensitively."""

    def __init__(self, text: str):
        tables = parse_schema(text or "")
        self.tables = [t.lower() for t in tables]
        self.spelling = {}  # lowercase name -> schema spelling
        self.columns = {}  # table -> [columns], lowercase
        self.column_set = set()
        for t, cols in tables.items():
            self.spelling.setdefault(t.lower(), t)
            self.columns[t.lower()] = [c.lower() for c in cols]
            for c in cols:
                self.spelling.setdefault(c.lower(), c)
                self.column_set.add(c.lower())
        self.table_set = set(self.tables)
        self.column_sets = {t: set(cols) for t, cols in self.columns.items()}
        self.tails = {low: name_tail(name) for low, name in self.spelling.items()}
        # names that must be written quoted (in the schema's style) or qualified (inventory.stock)
        self.quoted, self.qualified, namespace = spelling_of(text or "")
        self.written = {w.lower() for w in self.qualified.values()}
        self.namespaces = defaultdict(set)  # `inventory` -> its tables
        for t, ns in namespace.items():
            self.namespaces[ns].add(t)
        types, fkeys = column_types(text or "")
        self.types = {
            t.lower(): {c.lower(): type_kind(k) for c, k in cols.items()}
            for t, cols in types.items()
        }
        # foreign keys both ways: (table, column) -> the tables it references / that reference it
        self.refs, self.referenced = defaultdict(set), defaultdict(set)
        self.table_links = defaultdict(set)
        for t, c, rt, rc in fkeys:
            t, c, rt, rc = t.lower(), c.lower(), rt.lower(), rc.lower()
            if t in self.table_set and rt in self.table_set:
                self.refs[(t, c)].add(rt)
                self.referenced[(rt, rc or self.columns[rt][0])].add(t)
                self.table_links[t].add(rt)
                self.table_links[rt].add(t)

    def namespace_tables(self, state: "TypedStatement") -> set[str] | None:
        """The tables of the namespace the statement ends with (`FROM inventory.`), else None."""
        if state.norms[-1:] != ["."] or len(state.words) < 2:
            return None
        qualifier = state.words[-2]
        if qualifier in state.aliases or qualifier in self.table_set:
            return None
        return self.namespaces.get(qualifier)

    def is_name(self, text: str) -> bool:
        """Whether `text` is a schema name as a suggestion writes it: bare, quoted or qualified."""
        low = text.strip().lower()
        return low.strip('"`[]') in self.spelling or low in self.written

    def linked(self, t: str, c: str, tables: list[str]) -> bool:
        """Whether column c of table t joins it to another of `tables`: a foreign key either way, or
        the same name (other than id)."""
        return any(
            u != t
            and (
                u in self.refs.get((t, c), ())
                or u in self.referenced.get((t, c), ())
                or (c != "id" and c in self.columns.get(u, ()))
            )
            for u in tables
        )

    def normalize(self, word: str, prev: str) -> str:
        """A token's n-gram symbol: a class for schema names, the lowercase word otherwise."""
        ch = word[0]
        if ch.isalpha() or ch == "_":
            low = word.lower()
            if low in self.table_set and (low not in self.column_set or prev in TABLE_CONTEXT):
                return TABLE
            if low in self.column_set:
                return COLUMN
            return low
        if ch.isdigit():
            return word if len(word) <= 3 else NUMBER
        if ch == "'":
            return STRING
        if ch == '"':
            low = word[1:-1].lower()
            if low in self.table_set and (low not in self.column_set or prev in TABLE_CONTEXT):
                return QTABLE
            return QCOLUMN if low in self.column_set else QUOTED
        return word


class TypedStatement:
    """What the statement typed so far says about the schema: tables named, columns used,
    aliases."""

    def __init__(self):
        self.norms: list[str] = []
        self.words: list[str] = []  # lowercase surface, quotes stripped
        self.tables: list[str] = []
        self.used: set[str] = set()
        self.aliases: dict[str, str] = {}
        self.last_col: tuple[str, int] | None = None
        self._alias_for: str | None = None

    @property
    def kind(self) -> str:
        return self.norms[0] if self.norms else BOS

    def resolve(self, name: str, schema: Schema) -> str | None:
        return self.aliases.get(name) or (name if name in schema.table_set else None)

    def dot_table(self, schema: Schema) -> str | None:
        """The table of `x.` when the statement ends with an alias or table name and a dot."""
        if len(self.norms) >= 2 and self.norms[-1] == ".":
            return self.resolve(self.words[-2], schema)
        return None

    def push(self, surface: str, norm: str, schema: Schema):
        named = norm in (TABLE, COLUMN, QTABLE, QCOLUMN)  # written bare, quoted or qualified
        low = (bare_name(surface) if named else surface.strip('"')).lower()
        dot = self.dot_table(schema)
        if norm in (TABLE, QTABLE):
            if low not in self.tables:
                self.tables.append(low)
            self._alias_for = low
        elif self._alias_for and norm == "as":
            pass
        elif self._alias_for and re.fullmatch(r"[a-z_][a-z0-9_]*", norm) and norm not in NOT_ALIAS:
            self.aliases[norm] = self._alias_for
            self._alias_for = None
        else:
            self._alias_for = None
        if norm in (COLUMN, QCOLUMN):
            self.used.add(low)
            owners = (
                [dot]
                if dot and low in schema.columns.get(dot, ())
                else [t for t in self.tables if low in schema.columns.get(t, ())]
                or [t for t in schema.tables if low in schema.columns[t]]
            )
            self.last_col = (owners[0], schema.columns[owners[0]].index(low)) if owners else None
        self.norms.append(norm)
        self.words.append(low)


def insert_slot(
    state: TypedStatement, schema: Schema
) -> tuple[str, str, list[str] | str | None] | None:
    """Where an INSERT's cursor is: ("list", table, columns listed so far) inside
    `INSERT INTO t (...`; ("value", table, the column this value goes to or None) at the start of a
    VALUES item; else None."""
    norms, words = state.norms, state.words
    if state.kind != "insert" or not (TABLE in norms or QTABLE in norms):
        return None
    i = min(k for k, n in enumerate(norms) if n in (TABLE, QTABLE))
    table, j = words[i], i + 1
    columns = schema.columns.get(table, [])
    if j < len(norms) and norms[j] == "(":
        listed, start = [], j + 1
        for j in range(start, len(norms)):
            if norms[j] == ")":
                break
            if norms[j] in (COLUMN, QCOLUMN):
                listed.append(words[j])
        else:
            return "list", table, listed
        columns, j = listed, j + 1
    if "values" not in norms[j:] or norms[-1] not in ("(", ","):
        return None
    depth, pos = 0, 0
    for n in norms[norms.index("values", j) + 1 :]:
        if n == "(":
            depth, pos = depth + 1, 0 if depth == 0 else pos
        elif n == ")":
            depth -= 1
        elif n == "," and depth == 1:
            pos += 1
    if depth != 1:
        return None
    return "value", table, columns[pos] if pos < len(columns) else None


# the grammar of a next word, coarsely: where a table must come, where a value of some type does,
# and words that no DML statement has (web/ngram.js holds the same sets)
TABLE_WORDS = {"from", "join", "into", "update", "truncate"}
# a FROM inside these functions' parentheses names no table (EXTRACT(YEAR FROM created_at))
FROM_FUNCTIONS = {"extract", "substring", "trim", "position", "overlay"}
# besides the schema's tables and names typed before (a CTE): what may stand where a table must
AT_TABLE = {TABLE, QTABLE, "(", "`", "[", "lateral", "only", "table", "generate_series", "unnest"}
IN_COLUMN_LIST = {COLUMN, QCOLUMN, ",", ")"}  # INSERT INTO t (...: what the list holds
DML = {"select", "insert", "update", "delete", "with", "upsert", "replace"}
# type names: in a DML statement only in a cast (CAST(x AS int), x::int); DATE, TIME, TIMESTAMP and
# INTERVAL also start a literal (DATE '2024-01-01') or are functions, so they are not here
TYPE_NAMES = frozenset(
    """int int2 int4 int8 integer bigint smallint tinyint serial bigserial decimal numeric float
float4 float8 real double precision text varchar char string bool boolean timestamptz uuid jsonb
json bytes bytea""".split()
)
CASTS = {"cast", "try_cast", "convert"}
DDL_WORDS = frozenset(
    "primary foreign references check index create alter drop add column family restrict"
    " unique".split()
)
COMPARED = {"=", "<", ">", "!"}  # the scorer's tokens of =, <, >, <=, >=, <>, !=
LITERALS = {STRING, NUMBER, "true", "false", "null", "-", ","}  # and numbers of 1-3 digits


def is_literal(sym: str) -> bool:
    return sym in LITERALS or "0" <= sym[:1] <= "9"


# the literals a column's type rules out (TYPE_KINDS): no number or boolean for text, time or a
# UUID, no string or boolean for a number, no string for a boolean
WRONG_LITERALS = {
    "text": {"number", "true", "false", "-"},
    "time": {"number", "true", "false", "-"},
    "uuid": {"number", "true", "false", "-"},
    "int": {STRING, "true", "false"},
    "number": {STRING, "true", "false"},
    "bool": {STRING},
}


def paren_owner(norms: list[str]) -> str | None:
    """The symbol before the innermost `(` still open (BOS when it opens the statement), or None."""
    depth = 0
    for i in range(len(norms) - 1, -1, -1):
        if norms[i] == ")":
            depth += 1
        elif norms[i] == "(":
            if depth == 0:
                return norms[i - 1] if i else BOS
            depth -= 1
    return None


def at_table(state: TypedStatement) -> bool:
    """Whether a table must come next: after FROM, JOIN, INTO, UPDATE or TRUNCATE, but not in `IS
    DISTINCT FROM` or inside EXTRACT(... FROM ...) and the like."""
    norms = state.norms
    return (
        bool(norms)
        and norms[-1] in TABLE_WORDS
        and norms[-2:-1] != ["distinct"]
        and paren_owner(norms) not in FROM_FUNCTIONS
    )


def value_column(state: TypedStatement, schema: Schema) -> tuple[str, str] | None:
    """(table, column) whose value comes next: after `column <op>`, in `column IN (...`, after
    `column BETWEEN` (and its AND), at a VALUES item of an INSERT; else None."""
    norms = state.norms
    slot = insert_slot(state, schema)
    if slot:
        return (slot[1], slot[2]) if slot[0] == "value" and slot[2] else None
    j = len(norms) - 1
    if j >= 0 and norms[j] in COMPARED:
        while j > 0 and norms[j] in COMPARED:
            j -= 1
    elif j >= 0 and norms[j] in ("(", ","):  # an IN list of literals so far
        while j > 0 and norms[j] != "(" and is_literal(norms[j]):
            j -= 1
        if norms[j] != "(" or j < 2 or norms[j - 1] != "in":
            return None
        j -= 3 if norms[j - 2] == "not" else 2
    elif j >= 1 and norms[j] == "between":
        j -= 2 if j >= 2 and norms[j - 1] == "not" else 1
    elif j >= 3 and norms[j] == "and" and norms[j - 2] == "between" and is_literal(norms[j - 1]):
        j -= 3 + (norms[j - 3] == "not")
    else:
        return None
    if j < 0 or norms[j] not in (COLUMN, QCOLUMN) or not state.last_col:
        return None
    t, c = state.last_col
    return t, schema.columns[t][c]


def constrain(state: TypedStatement, schema: Schema, syms: dict[str, None]) -> dict[str, None]:
    """The next symbols the statement allows: where a table must come, a table of the schema, a
    name typed before (a CTE) or `(`; a full INSERT column list closes (no `,`, and `)` is offered);
    a value gets a literal of its column's type (no number or TRUE for text, time or a UUID, no
    string or TRUE for a number, no string for a boolean); no type name outside a cast and no word
    of DDL (PRIMARY, CHECK, ...) in a DML statement."""
    prev = state.norms[-1] if state.norms else BOS
    if at_table(state):
        typed = {w for w in state.words if w not in schema.column_set and w not in KEYWORDS}
        return {s: None for s in syms if s in AT_TABLE or s in typed}
    slot = insert_slot(state, schema)
    if slot and slot[0] == "list" and slot[1] in schema.table_set:  # the table's columns, `,`, `)`
        full = set(schema.columns[slot[1]]) <= set(slot[2])
        if full and prev in (COLUMN, QCOLUMN):
            return {s: None for s in syms if s != "," and s in IN_COLUMN_LIST} | {")": None}
        return {s: None for s in syms if s in IN_COLUMN_LIST}
    if state.kind in DML:
        cast = prev == ":" or paren_owner(state.norms) in CASTS
        syms = {s: None for s in syms if s not in DDL_WORDS and (cast or s not in TYPE_NAMES)}
    column = value_column(state, schema)
    kind = TYPE_KINDS[schema.types.get(column[0], {}).get(column[1], 0)] if column else ""
    wrong = WRONG_LITERALS.get(kind)
    if not wrong:
        return syms
    return {
        s: None
        for s in syms
        if s not in wrong and not ("number" in wrong and (s == NUMBER or "0" <= s[:1] <= "9"))
    }


def column_features(state: TypedStatement, schema: Schema) -> dict[str, tuple]:
    """Candidate column -> (relation to the statement's tables, used, next in schema order, first
    column, looks like a key, type kind, joins its table to another named one, the last column's
    name in another table: `ON a.x = b.x`, its table holds every column used so far: `SELECT a, `
    before FROM)."""
    dot = state.dot_table(schema)
    last = schema.columns[state.last_col[0]][state.last_col[1]] if state.last_col else None
    out = {}
    for t in schema.tables:
        if dot and t != dot:
            continue
        rel = 2 if t == dot else 1 if t in state.tables else 0
        holds = bool(state.used) and state.used <= schema.column_sets[t]
        # per table, not per column: a 30,000-column schema runs this loop on every new statement
        # state
        types = schema.types.get(t, {})
        after = state.last_col[1] + 1 if state.last_col and state.last_col[0] == t else -1
        elsewhere = state.last_col is not None and t != state.last_col[0]
        for j, c in enumerate(schema.columns[t]):
            f = (
                rel,
                c in state.used,
                j == after,
                j == 0,
                c.endswith("id"),
                types.get(c, 0),
                rel > 0 and schema.linked(t, c, state.tables),
                elsewhere and c == last,
                holds,
            )
            if c not in out or f > out[c]:
                out[c] = f
    return out


def table_features(state: TypedStatement, schema: Schema) -> dict[str, tuple]:
    """Candidate table -> (used, holds the columns typed outside named tables, first table,
    shares a column name other than id with a named table, a foreign key joins it to a named table,
    last table)."""
    pending = {
        c for c in state.used if not any(c in schema.columns.get(t, ()) for t in state.tables)
    }
    named = {c for t in state.tables for c in schema.columns.get(t, ())} - {"id"}
    out = {}
    for i, t in enumerate(schema.tables):
        cols = schema.columns[t]
        has = sum(c in cols for c in pending)
        cover = 3 if not pending else 2 if has == len(pending) else 1 if has else 0
        out[t] = (
            t in state.tables,
            cover,
            i == 0,
            t not in state.tables and not named.isdisjoint(cols),
            t not in state.tables and not schema.table_links.get(t, set()).isdisjoint(state.tables),
            i == len(schema.tables) - 1,
        )
    return out


def rank_buckets(state: TypedStatement) -> list[str]:
    """Context keys for the class ranker, most specific first: the first is the last two symbols
    before any `alias.` (ORDER BY is not GROUP BY, `ON t.` is not `= t.`), an alias as ALIAS
    whatever its name."""
    norms = state.norms
    dot = len(norms) > 1 and norms[-1] == "."
    core = [ALIAS if n in state.aliases else n for n in (norms[-4:-2] if dot else norms[-2:])]
    prev, p1, p2 = (norms or [BOS])[-1], (core or [BOS])[-1], (core[-2] if len(core) > 1 else BOS)
    return [f"{state.kind} {p2} {p1}{' .' if dot else ''}", f"{state.kind} {prev}", prev, ""]


@functools.lru_cache(maxsize=8192)  # few distinct tuples: a 30,000-column schema repeats them
def fkey(f: tuple) -> str:
    return "".join(str(int(x)) for x in f)


def count_rank(
    rank: dict, cls: str, word: str, state: TypedStatement, schema: Schema, repeat: int = 1
):
    """Count one class decision: per context bucket and feature key, [times right, times a
    candidate]."""
    feats = (table_features if cls == TABLE else column_features)(state, schema)
    truth = feats.get(word.lower().strip('"'))
    if truth is None:
        return
    buckets = rank_buckets(state)
    for b in buckets:
        for f in feats.values():
            rank[b][fkey(f)][1] += repeat
        rank[b][fkey(truth)][0] += repeat
    for b in buckets[
        1:
    ]:  # the names' last words (`_at`, `Name`, `status`), and the bucket's total under "*"
        words = rank[WORDS + b]
        for name in feats:
            words[schema.tails[name]][1] += repeat
        words[schema.tails[word.lower().strip('"')]][0] += repeat
        words["*"][0] += repeat
        words["*"][1] += len(feats) * repeat


def rank_tables(rank: dict) -> dict:
    """count_rank's counts as the model file keeps them: a last word seen as a candidate fewer than
    50 times is left out (its factor is 1)."""
    return {
        cls: {
            b: {f: hc for f, hc in fs.items() if not b.startswith(WORDS) or f == "*" or hc[1] >= 50}
            for b, fs in bs.items()
        }
        for cls, bs in rank.items()
    }


# ---------------------------------------------------------------- training


def train(
    sources: list[str],
    order: int = 4,
    top: int = 12,
    min_count: int = 2,
    rank_every: int = 3,
    holdout_topics: set[str] = frozenset(),
) -> dict:
    """Count n-grams, whitespace, spellings and class-ranking statistics over the groups of
    `sources`."""
    from sqlcomplete.corpus import group_statements, parse_source_arg, read_source

    counts = [defaultdict(Counter) for _ in range(order)]  # [n-1][context] -> Counter(next)
    ws = defaultdict(Counter)  # "prev next" -> Counter(whitespace)
    spelling = defaultdict(Counter)
    rank = {c: defaultdict(lambda: defaultdict(lambda: [0, 0])) for c in (TABLE, COLUMN)}
    stats, n_groups, n_stmts, t0 = Counter(), 0, 0, time.time()
    for arg in sources:
        path, repeat = parse_source_arg(arg)
        for group in read_source(path, stats):
            if group.get("topic") in holdout_topics:
                stats["held out"] += 1
                continue
            n_groups += 1
            schema = Schema(group["schema"])
            with_rank = n_groups % rank_every == 0
            for stmt in group_statements(group):
                n_stmts += 1
                state, prev = TypedStatement(), BOS
                norms = []
                for space, word in tokenize(stmt):
                    norm = schema.normalize(word, prev)
                    if (
                        len(space) > 4 or "\n" in space
                    ):  # long runs of whitespace: a newline or a space
                        space = "\n" if "\n" in space else " "
                    ws[f"{prev} {norm}"][space] += repeat
                    if norm[0] not in '<"' and (word[0].isalpha() or word[0] == "_"):
                        spelling[norm][word] += repeat
                    cls = {QTABLE: TABLE, QCOLUMN: COLUMN}.get(norm, norm)
                    if with_rank and cls in rank:
                        count_rank(rank[cls], cls, word, state, schema, repeat)
                    state.push(word, norm, schema)
                    norms.append(norm)
                    prev = norm
                seq = [BOS] * (order - 1) + norms + [EOS]
                for i in range(order - 1, len(seq)):
                    for n in range(order):
                        counts[n][" ".join(seq[i - n : i])][seq[i]] += repeat
            if n_groups % 5000 == 0:
                print(
                    f"{n_groups} groups, {n_stmts} statements, {time.time() - t0:.0f}s",
                    file=sys.stderr,
                )
    print(f"read {dict(stats)}; {n_stmts} statements", file=sys.stderr)
    ngrams = []
    for n, table in enumerate(counts):
        keep = {}
        for ctx, c in table.items():
            total = sum(c.values())
            if n and total < min_count:
                continue
            best = c.most_common(None if n == 0 else top)
            keep[ctx] = [
                total,
                len(c),
                [[w, k] for w, k in best if k >= min_count or k == best[0][1]],
            ]
        ngrams.append(keep)
    # whitespace: the usual one before each symbol, and pairs that differ from it
    by_next = defaultdict(Counter)
    for pair, c in ws.items():
        by_next[pair.split(" ", 1)[1]].update(c)
    ws_next = {
        w: c.most_common(1)[0][0] for w, c in by_next.items() if sum(c.values()) >= min_count
    }
    ws_pair = {}
    for pair, c in ws.items():
        best, k = c.most_common(1)[0]
        if k >= min_count and best != ws_next.get(pair.split(" ", 1)[1], " "):
            ws_pair[pair] = best
    return {
        "version": 1,
        "order": order,
        "sources": sources,
        "groups": n_groups,
        "statements": n_stmts,
        "ngrams": ngrams,
        "ws_next": ws_next,
        "ws_pair": ws_pair,
        "spelling": {
            w: c.most_common(1)[0][0] for w, c in spelling.items() if sum(c.values()) >= min_count
        },
        "rank": rank_tables(rank),
    }


def save(model: dict, path: str):
    """Write a trained model (train()'s dict): safetensors, or gzipped JSON for a path ending in
    .json.gz."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    if path.endswith(".json.gz"):
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as f:
            # the page (web/ngram.js) needs SQL's words to tell an invented name
            json.dump({**model, "sql_vocabulary": sorted(SQL_VOCABULARY)}, f, separators=(",", ":"))
    else:
        from safetensors.numpy import save_file

        arrays, meta = to_arrays(model)
        save_file(arrays, tmp, metadata={"ngram": json.dumps(meta, separators=(",", ":"))})
    os.replace(tmp, path)


def read_model(path: str) -> dict:
    """A model file (safetensors or .json.gz) as train()'s dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no n-gram model at {path} (train one: "
            f"python -m sqlcomplete.completion.ngram train SOURCES -o {path})"
        )
    if path.endswith(".json.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            model = json.load(f)
        model.pop("sql_vocabulary", None)
        return model
    table, meta = load_table(path)
    return {**meta, "ngrams": table.as_dicts()}


# ---------------------------------------------------------------- the file: flat arrays


def _index_dtype(bound: int):
    return np.int32 if bound < 2**31 else np.int64


def to_arrays(model: dict) -> tuple[dict[str, np.ndarray], dict]:
    """train()'s dict as NgramTable's arrays, and the rest as JSON metadata.

    Symbols get ids (the unigram's order first). For each order n, context i is stored at a key,
    parent * V + id of its first symbol, where parent is the index of its last n-1 symbols in
    order n-1 (their counts cover its own, so it is always kept); keys are sorted, and a
    context's continuations are the slice offsets[i]:offsets[i + 1] of next/count."""
    vocab, ids = [], {}

    def sym_id(w: str) -> int:
        if w not in ids:
            if not w or any(ch.isspace() for ch in w):
                raise ValueError(f"n-gram symbol {w!r} is empty or holds whitespace")
            ids[w] = len(vocab)
            vocab.append(w)
        return ids[w]

    for w, _ in model["ngrams"][0][""][2]:
        sym_id(w)
    for table in model["ngrams"][1:]:
        for ctx, (_, _, best) in table.items():
            for w in ctx.split(" ") + [w for w, _ in best]:
                sym_id(w)
    V, arrays, index = len(vocab), {}, {"": 0}
    for n, table in enumerate(model["ngrams"]):
        if n == 0:
            items = [(0, "", table[""])]
        else:
            items = []
            for ctx, entry in table.items():
                first, _, rest = ctx.partition(" ")
                items.append((index[rest] * V + ids[first], ctx, entry))
            items.sort()
        key_bound = len(index) * V
        index = {ctx: i for i, (_, ctx, _) in enumerate(items)}
        nxt, cnt, offsets = [], [], [0]
        for _, _, (_, _, best) in items:
            nxt += [ids[w] for w, _ in best]
            cnt += [c for _, c in best]
            offsets.append(len(nxt))
        totals = [e[0] for _, _, e in items]
        arrays[f"keys.{n}"] = np.array([k for k, _, _ in items], dtype=_index_dtype(key_bound))
        arrays[f"total.{n}"] = np.array(totals, dtype=_index_dtype(max(totals, default=0) + 1))
        arrays[f"distinct.{n}"] = np.array([e[1] for _, _, e in items], dtype=np.int32)
        arrays[f"offsets.{n}"] = np.array(offsets, dtype=_index_dtype(len(nxt) + 1))
        arrays[f"next.{n}"] = np.array(nxt, dtype=np.uint16 if V <= 2**16 else np.int32)
        arrays[f"count.{n}"] = np.array(cnt, dtype=_index_dtype(max(cnt, default=0) + 1))
    arrays["vocab"] = np.frombuffer("\n".join(vocab).encode(), dtype=np.uint8).copy()
    meta = {k: v for k, v in model.items() if k != "ngrams"}
    # the lookups' defaults (a space, the symbol itself) need no entry: 10x less JSON to parse
    meta["ws_next"] = {w: ws for w, ws in model["ws_next"].items() if ws != " "}
    meta["spelling"] = {w: sp for w, sp in model["spelling"].items() if sp != w}
    return arrays, meta


def load_table(path: str) -> tuple["NgramTable", dict]:
    """A safetensors model file: its NgramTable and its metadata (order, whitespace, spelling,
    rank)."""
    from safetensors import safe_open

    try:
        with safe_open(path, "np") as f:
            meta = json.loads((f.metadata() or {}).get("ngram", "null"))
            if not isinstance(meta, dict):
                raise ValueError("no n-gram metadata")
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types
        raise ValueError(f"{path}: not an n-gram model file ({type(e).__name__}: {e})") from None
    vocab = arrays.pop("vocab").tobytes().decode().split("\n")
    return NgramTable(arrays, vocab, meta["order"]), meta


class NgramTable:
    """The n-gram counts as flat sorted arrays (to_arrays): the entries of a context are found by
    one binary search per order, and kept once found."""

    def __init__(self, arrays: dict[str, np.ndarray], vocab: list[str], order: int):
        self.vocab, self.order, self.V = vocab, order, len(vocab)
        self.ids = {w: i for i, w in enumerate(vocab)}
        self.keys, self.total, self.distinct, self.offsets, self.next, self.count = (
            [arrays[f"{name}.{n}"] for n in range(order)]
            for name in ("keys", "total", "distinct", "offsets", "next", "count")
        )
        self._chains: dict[tuple, list] = {}

    def entry(self, n: int, i: int) -> tuple[int, int, list[tuple[str, int]]]:
        """(count of the context, distinct continuations, [(continuation, count), ...] most frequent
        first)."""
        a, b = int(self.offsets[n][i]), int(self.offsets[n][i + 1])
        words = [self.vocab[j] for j in self.next[n][a:b].tolist()]
        return (
            int(self.total[n][i]),
            int(self.distinct[n][i]),
            list(zip(words, self.count[n][a:b].tolist())),
        )

    def chain(self, ctx: list[str]) -> list[tuple[int, int, list[tuple[str, int]]]]:
        """The entries of ctx's last 1, 2, ... symbols, up to the first unseen one."""
        key = tuple(ctx[len(ctx) - self.order + 1 :])
        out = self._chains.get(key)
        if out is None:
            out, parent = [], 0
            for n in range(1, min(self.order, len(ctx) + 1)):
                sid = self.ids.get(ctx[-n])
                if sid is None:
                    break
                k, keys = parent * self.V + sid, self.keys[n]
                i = int(keys.searchsorted(k))
                if i == len(keys) or keys[i] != k:
                    break
                out.append(self.entry(n, i))
                parent = i
            if len(self._chains) >= 100_000:  # a long-running server: bound the memory
                self._chains.clear()
            self._chains[key] = out
        return out

    def as_dicts(self) -> list[dict]:
        """train()'s `ngrams`: per order, {"space-joined context": [total, distinct, [[w, count],
        ...]]}."""
        out, names = [], [""]
        for n in range(self.order):
            keys = self.keys[n].tolist()
            ctxs = (
                [""]
                if n == 0
                else [
                    self.vocab[k % self.V] + (" " + names[k // self.V] if n > 1 else "")
                    for k in keys
                ]
            )
            out.append(
                {
                    ctx: [t, d, [list(x) for x in best]]
                    for ctx, (t, d, best) in zip(ctxs, (self.entry(n, i) for i in range(len(keys))))
                }
            )
            names = ctxs
        return out


# ---------------------------------------------------------------- completion


class NgramCompleter:
    """Same interface as sample.Completer: set_schema(schema), complete(prefix, suffix, n)."""

    def __init__(
        self, path: str | None = None, max_tokens: int = MAX_TOKENS, min_prob: float = MIN_PROB
    ):
        path = path or DEFAULT_MODEL
        if path.endswith(".json.gz"):  # the page's format: slow to parse, converted here
            arrays, m = to_arrays(read_model(path))
            self.table = NgramTable(
                arrays, arrays.pop("vocab").tobytes().decode().split("\n"), m["order"]
            )
        else:
            if not os.path.isfile(path):
                raise FileNotFoundError(
                    f"no n-gram model at {path} "
                    f"(train one: python -m sqlcomplete.completion.ngram train SOURCES -o {path})"
                )
            self.table, m = load_table(path)
        self.order = m["order"]
        self.ws_next, self.ws_pair, self.spelling, self.rank = (
            m["ws_next"],
            m["ws_pair"],
            m["spelling"],
            m["rank"],
        )
        self.max_tokens = max_tokens
        self.min_prob = min_prob
        total, _, uni = self.table.entry(0, 0)
        self.unigram = {w: c / total for w, c in uni}
        self.floor = 0.5 / total
        self.frequent = [w for w, _ in uni[:50]]
        self.by_start = defaultdict(list)  # first 1 and 2 characters -> words, most frequent first
        for w, _c in uni:
            if w[0].isalnum() or w[0] == "_":
                self.by_start[w[:1]].append(w)
                if len(w) > 1:
                    self.by_start[w[:2]].append(w)
        self.set_schema("")

    def set_schema(self, schema: str):
        """Use this schema (CREATE TABLE statements; may be empty) for the following completions."""
        if getattr(self, "_schema_text", None) != schema:
            self._schema_text = schema
            self.schema = Schema(schema)
            self._class_cache: dict[tuple, list[tuple[str, float]]] = {}
            self.schema_words = schema_words(schema)  # every word of the schema text is a real name

    # -------------------------------------------------------- probabilities

    def prob(self, ctx: list[str], words) -> dict[str, float]:
        """Interpolated (Witten-Bell) P(word | the last order-1 symbols of ctx)."""
        p = {w: self.unigram.get(w, self.floor) for w in words}
        for total, distinct, best in self.table.chain(ctx):  # up to the first unseen context
            c = dict(best)
            for w in p:
                p[w] = (c.get(w, 0) + distinct * p[w]) / (total + distinct)
        return p

    def candidates(self, ctx: list[str]) -> dict[str, None]:
        """Symbols seen after the context's last 1, 2, ... symbols. An ordered set (a dict), so that
        probability ties rank the same in every process and in web/ngram.js."""
        out = {}
        for _, _, best in self.table.chain(ctx):
            out.update(dict.fromkeys(w for w, _ in best))
        return out or dict.fromkeys(self.frequent)

    def class_names(self, cls: str, state: TypedStatement) -> list[tuple[str, float]]:
        """Schema names for a class, with P(name | class) from the feature hit rates (do not modify
        the list)."""
        # a statement's state follows from its symbols: typing a word re-ranks nothing (a
        # 30,000-column
        # schema cost 0.9 s per keystroke)
        key = (cls, tuple(state.norms), tuple(state.words))
        if key not in self._class_cache:
            if len(self._class_cache) >= CLASS_CACHE_SIZE:
                del self._class_cache[next(iter(self._class_cache))]
            self._class_cache[key] = self._class_names(cls, state)
        return self._class_cache[key]

    def _class_names(self, cls: str, state: TypedStatement) -> list[tuple[str, float]]:
        feats = (table_features if cls == TABLE else column_features)(state, self.schema)
        slot = insert_slot(state, self.schema) if cls == COLUMN else None
        if (
            slot and slot[0] == "list" and slot[1] in self.schema.table_set
        ):  # the table's columns not yet listed
            feats = {
                c: f
                for c, f in feats.items()
                if c in self.schema.column_sets[slot[1]] and c not in slot[2]
            }
        if not feats:
            return []
        table = self.rank.get(cls, {})
        for b in rank_buckets(state):
            rates = table.get(b)
            if rates and sum(hc[1] for hc in rates.values()) >= 50:
                break
        rates = rates or {}
        scores = {}
        for name, f in feats.items():
            hits, cands = rates.get(fkey(f), (0, 0))
            scores[name] = (hits + 0.01) / (cands + 1)
        # times how much likelier than its peers a name's last word is; not after `alias.`, where it
        # cost
        # human-written queries (Spider's T1.name) more than it gained
        for b in [] if state.norms[-1:] == ["."] else rank_buckets(state)[1:]:
            words = table.get(WORDS + b)
            if words and words["*"][1] >= 1000:
                rate = words["*"][0] / words["*"][1]
                for name in scores:
                    hits, cands = words.get(self.schema.tails[name], (0, 0))
                    scores[name] *= (hits + 20 * rate) / ((cands + 20) * rate)
                break
        z = sum(scores.values())
        order = {name: i for i, name in enumerate(feats)}
        return sorted(
            ((name, s / z) for name, s in scores.items()), key=lambda x: (-x[1], order[x[0]])
        )

    def ranked(
        self, state: TypedStatement, ctx: list[str], partial: str = "", opener: str = ""
    ) -> list[tuple[float, str, str]]:
        """(probability, symbol, surface) of the next token, best first; with `partial`, only those
        that continue it; after `opener` (a quote typed before `partial`: " ` [) only names, quoted
        in its style."""
        syms = self.candidates(ctx)
        low = partial.lower()
        if partial:
            syms |= dict.fromkeys(
                w for w in self.by_start.get(low[:2], ())[:300] if w.startswith(low)
            )
            syms |= dict.fromkeys((TABLE, COLUMN))
        syms = constrain(state, self.schema, syms)  # a partly typed word's completion too
        in_namespace = self.schema.namespace_tables(state)
        if in_namespace is not None:  # `inventory.`: one of its tables
            syms = {TABLE: None}
        p = self.prob(ctx, syms)
        out, names_of = [], {}
        for sym, ps in p.items():
            if sym in (TABLE, COLUMN, QTABLE, QCOLUMN):
                base = {QTABLE: TABLE, QCOLUMN: COLUMN}.get(sym, sym)
                if partial and sym[0] == '"':
                    continue
                if base not in names_of:
                    names_of[base] = [
                        (name, pn)
                        for name, pn in self.class_names(base, state)
                        if in_namespace is None or name in in_namespace
                    ]
                after_dot = state.norms[-1:] == ["."]
                for name, pn in names_of[base]:
                    surface = (
                        quote_name(self.schema.spelling[name], opener)
                        if opener
                        else self._render(sym, name, after_dot)
                    )  # a name that must be quoted or qualified continues only what starts so
                    if not partial or surface.lower().startswith(opener + low):
                        out.append((ps * pn, sym, surface))
            elif opener:
                continue  # inside a quote only a name can follow
            elif sym in UNRENDERABLE or sym == BOS:
                if not partial:
                    out.append((ps, sym, ""))
            else:
                surface = self.spelling.get(sym, sym)
                if not partial or sym.startswith(low):
                    out.append((ps, sym, surface))
        out.sort(key=lambda x: -x[0])
        return out

    # -------------------------------------------------------- completion

    def _foreign_qualifier(self, word: str, prefix: str) -> bool:
        """Whether `word.` qualifies a name by a schema the schema text never names (`public.`): not
        a table, not an alias typed in the statement, not a short alias (`T1.name` comes before
        `AS T1`)."""
        low = word.lower()
        return (
            low not in self.schema.table_set
            and low not in known_words(prefix)
            and not SHORT_ALIAS.fullmatch(low)
            and low + "." not in self._schema_text.lower()
        )

    def _render(self, sym: str, name: str, after_dot: bool = False) -> str:
        """A schema name as the schema spells it; quoted only where it must be (`"Order Items"`,
        in the schema's own quotes), so that `author` and `"author"` are one suggestion; a table
        outside the default namespace qualified (`inventory.stock`) unless a qualifier precedes."""
        written = self.schema.quoted.get(name, self.schema.spelling[name])
        if sym in (TABLE, QTABLE) and not after_dot:
            written = self.schema.qualified.get(name, written)
        return written

    def _whitespace(self, prev: str, sym: str) -> str:
        return self.ws_pair.get(f"{prev} {sym}", self.ws_next.get(sym, " "))

    def complete(self, prefix: str, suffix: str = "", n: int = 5) -> list[str]:
        """Up to n distinct suggestions, best first, each the exact text to insert at the cursor."""
        out = [
            first + rest
            for _, first, rest in self.proposals(prefix, suffix, n)
            if first is not None
        ]
        return [t for t in out if t.strip()]

    def proposals(
        self, prefix: str, suffix: str = "", n: int = 5
    ) -> list[tuple[float, str | None, str]]:
        """Up to n distinct (probability, first word's text to insert, continuation) for the next
        word, best first (n spelled ones, and the unspellable ones ranked among them). A literal
        (string, number) or the end of the statement can be the likeliest next thing, and the n-gram
        cannot spell it: its text is None (sample.py then lets the model decode)."""
        if string_start(prefix) is not None:
            return []  # inside a string literal: nothing to predict
        toks = tokenize(prefix)
        partial = ""
        if toks and re.search(r"[A-Za-z0-9_]\Z", prefix) and toks[-1][1][0] not in "'\"":
            partial = toks.pop()[1]
        opener = ""  # `FROM "Ord`, `[Ord`: a quoted name is being typed
        if partial and toks and toks[-1][1] in ('"', "`", "["):
            if prefix[: len(prefix) - len(partial)].endswith(toks[-1][1]):  # right before it
                opener = toks.pop()[1]
        state, prev = TypedStatement(), BOS
        for _, word in toks:
            norm = self.schema.normalize(word, prev)
            state.push(word, norm, self.schema)
            prev = norm
        lower = self._lowercase_style(toks)
        typed_space = prefix[len(prefix.rstrip()) :] if prefix.strip() else prefix
        ctx = [BOS] * (self.order - 1) + state.norms
        known = self.schema_words | known_words(prefix, suffix)  # and SQL's words (is_known)
        out, seen = [], set()
        for p, sym, surface in self.ranked(state, ctx, partial, opener):
            if sym == BOS:
                continue
            if sym in UNRENDERABLE:
                if sym not in seen:
                    seen.add(sym)
                    out.append((p, None, ""))
                continue
            if (
                sym not in (TABLE, COLUMN, QTABLE, QCOLUMN)
                and NAME.fullmatch(surface)
                and not is_known(surface, known)
            ):
                continue  # a name found nowhere (a table of another schema, an alias not defined)
            surface = self._style(sym, surface, lower)
            if partial:
                text = surface[len(opener) + len(partial) :]
            else:
                space = "" if typed_space or not toks else self._whitespace(prev, sym)
                text = space + surface
            key = text.lower()
            if key in seen:
                continue
            seen.add(key)
            rest = "" if suffix.strip() else self._extend(state, ctx, sym, surface, lower, known)
            if rest.startswith(".") and self._foreign_qualifier(surface, prefix):
                # `public.t` where the schema writes `t`: the same table, proposed unqualified
                continue
            out.append((p, text, rest))
            if sum(t is not None for _, t, _ in out) == n:
                break
        return out

    def _extend(
        self,
        state: TypedStatement,
        ctx: list[str],
        sym: str,
        surface: str,
        lower: bool,
        known: set[str],
    ) -> str:
        """Greedy continuation after a chosen first token, up to max_tokens, to the end of the
        statement; it stops before a name found nowhere (one right after AS is an alias it defines),
        and it is cut back to its last clean point: never inside a parenthesis it opened itself
        (right after the `(` is fine: the user fills it in)."""
        if sym == ";":
            return ""
        state = copy_state(state)
        state.push(surface, sym, self.schema)
        ctx = ctx + [sym]
        text, prev = "", sym
        depth, clean = int(sym == "("), 0  # parentheses this suggestion opened; where it may end
        for _ in range(self.max_tokens - 1):
            p = self.prob(ctx, constrain(state, self.schema, self.candidates(ctx)))
            if not p:  # the statement allows none of the n-gram's next symbols
                break
            nsym = max(p, key=p.get)
            if nsym in UNRENDERABLE or nsym == BOS or p[nsym] < self.min_prob:
                break
            if nsym in (TABLE, COLUMN, QTABLE, QCOLUMN):
                names = self.class_names({QTABLE: TABLE, QCOLUMN: COLUMN}.get(nsym, nsym), state)
                if not names or p[nsym] * names[0][1] < self.min_prob:
                    break
                nsurface = self._render(nsym, names[0][0], prev == ".")
            else:
                nsurface = self._style(nsym, self.spelling.get(nsym, nsym), lower)
                if NAME.fullmatch(nsurface) and not is_known(nsurface, known):
                    if prev != "as":
                        break
                    known = known | {nsurface.lower()}
            text += self._whitespace(prev, nsym) + nsurface
            depth = depth + 1 if nsym == "(" else max(depth - (nsym == ")"), 0)
            if depth == 0 or depth == 1 and nsym == "(":
                clean = len(text)
            if nsym == ";":
                break
            state.push(nsurface, nsym, self.schema)
            ctx.append(nsym)
            prev = nsym
        return text[:clean]

    def _lowercase_style(self, toks) -> bool:
        """Whether the user types keywords in lower case (the last keyword typed decides)."""
        for _, word in reversed(toks):
            low = word.lower()
            if (
                low in self.spelling
                and self.spelling[low].isupper()
                and low not in self.schema.spelling
            ):
                return word.islower()
        return False

    def _style(self, sym: str, surface: str, lower: bool) -> str:
        return surface.lower() if lower and sym not in (TABLE, COLUMN, QTABLE, QCOLUMN) else surface


def copy_state(s: TypedStatement) -> TypedStatement:
    c = TypedStatement()
    c.norms, c.words, c.tables = list(s.norms), list(s.words), list(s.tables)
    c.used, c.aliases, c.last_col, c._alias_for = (
        set(s.used),
        dict(s.aliases),
        s.last_col,
        s._alias_for,
    )
    return c


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Schema-aware n-gram SQL completer (a baseline, and sample.py's proposer)."
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="count n-grams over prepare.py sources")
    t.add_argument(
        "sources",
        nargs="+",
        help="JSONL(.gz) group files or directories; PATH*N repeats one N times",
    )
    t.add_argument("-o", "--out", default=DEFAULT_MODEL)
    t.add_argument("--order", type=int, default=4, help="n-gram order (the shipped model: 6)")
    t.add_argument("--top", type=int, default=12, help="continuations kept per context")
    t.add_argument(
        "--min-count", type=int, default=2, help="drop contexts and continuations seen fewer times"
    )
    t.add_argument(
        "--rank-every",
        type=int,
        default=3,
        help="class-ranking statistics from every k-th group (speed)",
    )
    t.add_argument(
        "--holdout",
        default=None,
        help="JSONL rows whose topics are left out (e.g. evalsets/hard_cases.jsonl)",
    )
    v = sub.add_parser(
        "convert", help="rewrite a model file in another format (.safetensors or .json.gz)"
    )
    v.add_argument("model")
    v.add_argument("-o", "--out", required=True)
    c = sub.add_parser("complete", help="print suggestions for one prefix")
    c.add_argument("--model", default=DEFAULT_MODEL)
    c.add_argument("--schema", default=None, help="file with CREATE TABLE statements")
    c.add_argument("--prefix", required=True)
    c.add_argument("--num", type=int, default=5)
    args = ap.parse_args(argv)
    if args.cmd == "train":
        holdout = set()
        if args.holdout:
            with open(args.holdout, encoding="utf-8") as f:
                holdout = {json.loads(line).get("topic") for line in f if line.strip()} - {None}
        t0 = time.time()
        model = train(args.sources, args.order, args.top, args.min_count, args.rank_every, holdout)
        save(model, args.out)
        print(
            f"{args.out}: {model['statements']} statements from {model['groups']} groups "
            f"({len(holdout)} topics held out), {sum(len(g) for g in model['ngrams'])} contexts, "
            f"{os.path.getsize(args.out) / 1e6:.1f} MB, {time.time() - t0:.0f}s"
        )
        return
    if args.cmd == "convert":
        try:
            save(read_model(args.model), args.out)
        except (OSError, ValueError) as e:
            sys.exit(f"cannot convert {args.model}: {e}")
        print(f"{args.out}: {os.path.getsize(args.out) / 1e6:.1f} MB")
        return
    completer = NgramCompleter(args.model)
    if args.schema:
        with open(args.schema, encoding="utf-8", errors="replace") as f:
            completer.set_schema(f.read())
    t0 = time.perf_counter()
    suggestions = completer.complete(args.prefix, n=args.num)
    ms = 1000 * (time.perf_counter() - t0)
    for i, s in enumerate(suggestions, 1):
        print(f"{i}\t{json.dumps(s)}")
    print(f"({ms:.1f} ms)", file=sys.stderr)


if __name__ == "__main__":
    main()
