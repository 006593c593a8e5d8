"""Offline procedural generator of (schema, statements) groups: the default data source of
`make data`.

    python -m datagen.synth -o data/synth/groups.jsonl.gz --groups 20000 --seed 0 \
        [--mix select=0.4,insert=0.2,update=0.15,delete=0.1,truncate=0.05,upsert=0.1] \
        [--statements-per-group 16] [--long-rate 0.03] [--validate]

Each group is a schema of 1-5 related tables (8-12, up to ~3,000 characters, at --long-rate) from
one of 89 application domains (datagen/vocab.py), with styled names (snake_case, camelCase,
quoted PascalCase, Spider-like Title_Case), CockroachDB types and constraints, rendered in one of
six DDL layouts (SHOW CREATE TABLE output, hand-written inline or table-level constraints,
one-line, lowercase, SQLite-like quoted), plus statements of each kind over that schema only.
Lines have the seed corpus's format; topic is "synth/<domain>", detail the group index and
variant the DDL layout's index in LAYOUTS. Names the DDL quotes with mixed case are quoted in
statements too, except in the SQLite-like layout, whose statements write them bare as Spider does.

Validation decision: statements are correct by construction (every identifier comes from the
schema's own column objects, every literal from the column's kind), since sqlglot parses only a
few thousand statements/s per core and the generator must make 20,000+/s. Every statement gets
the cheap check (duplicates within a group are discarded); the full check (sqlcheck.parse_schema
of the rendered schema must give back the tables and columns built, then
sqlcheck.statement_problem) runs on a deterministic 1% sample (every VALIDATE_EVERY-th attempt),
or on every statement with --validate (about 20x slower). Failures are discarded and counted by
reason, so a non-duplicate discard in the summary flags a generator bug; tests/test_synth.py
checks thousands of statements with full validation and a stricter per-table column check.
The sample is chosen by attempt number, not by the random stream, so validation never changes
what is generated: the same arguments give byte-identical output (gzip header included).
Measured: ~33,000 statements/s per core of CPU time with the default 1% sample (~40,000 without).
"""

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from tqdm import tqdm

from datagen import vocab
from sqlcomplete.sql.check import statement_problem
from sqlcomplete.sql.schema import parse_schema

KINDS = ("select", "insert", "update", "delete", "truncate", "upsert")
DEFAULT_MIX = {
    "select": 0.4,
    "insert": 0.2,
    "update": 0.15,
    "delete": 0.1,
    "truncate": 0.05,
    "upsert": 0.1,
}
VALIDATE_EVERY = 100  # default sample: 1% of statements get the full sqlglot check
LONG_RATE = 0.03  # share of long schemas (8-12 tables)
MAX_LONG_CHARS = 3000
LAYOUTS = ("crdb", "hand", "tablecons", "oneline", "lower", "sqlite")
LAYOUT_WEIGHTS = (0.30, 0.30, 0.16, 0.06, 0.09, 0.09)

# words that must not become bare identifiers or aliases
# (SQL reserved words, parse_schema's non-columns)
RESERVED = set(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
concurrently constraint create current_catalog current_date current_role current_schema current_time
current_timestamp current_user default deferrable desc distinct do else end except false fetch for
foreign from grant group having in index initially intersect into lateral leading limit localtime
localtimestamp not nothing null offset on only or order placing primary references returning select
session_user some symmetric table then to trailing true union unique user using variadic when where
window with key family inverted exclude is by at if of set no go like ilike between exists join left
right inner outer full cross natural values update delete insert over filter similar""".split()
)

# ---------------------------------------------------------------------------------------------
# vocabulary: domains of tables with column kinds


@dataclass
class ColSpec:
    base: str  # snake_case name
    kind: str
    values: tuple[str, ...] = ()  # for enum
    ref: str = ""  # referenced table (base name) for foreign keys


@dataclass
class TableSpec:
    base: str
    cols: list[ColSpec]
    pk: list[str]  # composite/explicit primary key columns; empty: an id column is added


def infer_kind(n: str) -> tuple[str, tuple[str, ...]]:
    """Column kind from its snake_case name (and enum values when the name implies them)."""
    if n in vocab.ENUMS:
        return "enum", tuple(vocab.ENUMS[n].split("|"))
    if n in vocab.POOLS:
        return "pool", tuple(vocab.POOLS[n].split("|"))
    if (
        n.startswith(("is_", "has_", "can_"))
        or n in vocab.BOOL_NAMES
        or n.endswith(("_enabled", "_verified", "_sent", "_notified", "_covered"))
    ):
        return "bool", ()
    if (
        n in vocab.DATE_NAMES
        or n.endswith(("_date", "_on", "_until", "_from", "_since"))
        or n.startswith("period_")
    ):
        return "date", ()
    if n.endswith(("_at", "_for", "_start", "_end")) or n in ("kickoff", "recorded"):
        return "ts", ()
    if n.endswith("year") or n == "season" or n.startswith("year_"):
        return "year", ()
    if n in ("email",) or n.endswith("_email"):
        return "email", ()
    if n in ("phone", "msisdn", "called_number") or n.endswith("_phone"):
        return "phone", ()
    if n == "first_name":
        return "first", ()
    if n == "last_name":
        return "last", ()
    if n in vocab.PERSON_NAMES or (
        n.endswith(("_name", "_by")) and n.split("_")[0] in vocab.PERSON_WORDS
    ):
        return "person", ()
    if n in ("username", "login", "display_name", "twitter_handle"):
        return "username", ()
    if n in ("text_value", "setting_value", "default_value", "secret"):
        return ("text" if n == "text_value" else "code"), ()
    if n in ("currency",):
        return "currency", ()
    if n in ("language", "native_language", "target_language"):
        return "language", ()
    if n == "timezone":
        return "timezone", ()
    if n in ("country", "nationality", "origin_country", "flag_country", "party_affiliation"):
        return "country", ()
    if n in ("city", "headquarters", "location") or n.endswith("_city"):
        return "city", ()
    if n == "address" or n.endswith("_address") and n != "ip_address":
        return "address", ()
    if n in ("postal_code", "zip", "zip_code"):
        return "zip", ()
    if n == "ip_address":
        return "inet", ()
    if n == "color":
        return "color", ()
    if n in ("url", "website", "landing_page", "referrer") or n.endswith("_url"):
        return "url", ()
    if n in ("file_name", "path", "storage_path", "config_path", "storage_key"):
        return "file", ()
    if n in vocab.JSON_NAMES:
        return "json", ()
    if n in vocab.TAG_NAMES:
        return "tags", ()
    if n in (
        "duration",
        "estimated_duration",
        "prep_time",
        "cook_time",
        "expected_duration",
    ) or n.endswith("_interval"):
        return "interval", ()
    if n in ("checksum", "password_hash", "client_secret_hash", "signature"):
        return "bytes", ()
    if n in ("anonymous_id", "trace_id", "thread_root_id", "payment_token", "session_token"):
        return "uuid", ()
    if n in vocab.INT_NAMES or n.endswith(vocab.INT_SUFFIXES):
        return "int", ()
    if n in ("rating", "stars") or n.endswith(("_stars", "_rating")):
        return "rating5", ()
    if n in ("latitude", "current_latitude"):
        return "lat", ()
    if n in ("longitude", "current_longitude"):
        return "lng", ()
    if n.endswith(("_pct", "_ratio", "_multiplier", "probability", "_chance")) or n in (
        "rate",
        "tax_rate",
        "interest_rate",
        "commission_rate",
        "earn_rate",
    ):
        return "pct", ()
    if n in vocab.FLOAT_NAMES or n.endswith(vocab.FLOAT_SUFFIXES):
        return "float", ()
    if n in vocab.MONEY_NAMES or n.endswith(vocab.MONEY_SUFFIXES):
        return "money", ()
    if n.endswith("_id") and n not in ("national_id", "tax_id", "microchip_id"):
        return "ref", ()
    if n in vocab.CODE_NAMES or n.endswith(
        ("_code", "_number", "_ref", "_hash", "_token", "_key", "_prefix", "_last4")
    ):
        return "code", ()
    if n in vocab.TEXT_NAMES or n.endswith(
        ("_notes", "_text", "_summary", "_reason", "_comment", "_instructions", "_requests")
    ):
        return "text", ()
    if n in ("name", "title", "headline", "subject", "subheadline") or n.endswith("_name"):
        return "title", ()
    return "word", ()


def _parse_domains(text: str) -> list[tuple[str, list[TableSpec]]]:
    domains: list[tuple[str, list[TableSpec]]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("== "):
            domains.append((line[3:].strip(), []))
        elif line:
            table, rest = line.split(":", 1)
            rest, _, pk = rest.partition("| pk")
            cols = []
            for item in rest.split(","):
                item = item.strip()
                if ">" in item:
                    base, ref = item.split(">")
                    cols.append(ColSpec(base, "fk", ref=ref))
                elif "=" in item:
                    base, values = item.split("=")
                    cols.append(ColSpec(base, "enum", tuple(values.split("|"))))
                elif ":" in item:
                    base, kind = item.split(":")
                    cols.append(ColSpec(base, kind))
                else:
                    kind, values = infer_kind(item)
                    cols.append(ColSpec(item, kind, values))
            domains[-1][1].append(
                TableSpec(table.strip(), cols, [c.strip() for c in pk.split(",") if c.strip()])
            )
    return domains


DOMAINS = _parse_domains(vocab.DOMAINS_TEXT)
COMMON = _parse_domains(vocab.COMMON_TEXT)[0][1]

# ---------------------------------------------------------------------------------------------
# schema objects


@dataclass(eq=False)
class Col:
    name: str  # as written in the DDL
    ref: str  # as written in statements (quoted when the DDL quotes a mixed-case name)
    base: str
    kind: str
    type: str  # canonical upper-case type, e.g. INT8, VARCHAR(100), DECIMAL(10,2), STRING[]
    values: tuple[str, ...] = ()
    not_null: bool = False
    default: str = ""  # SQL expression, "" for none
    serial: bool = False
    unique: bool = False
    check: str = ""  # CHECK condition (with the column's ref)
    fk: "Table | None" = None
    pk: bool = False
    index: bool = False
    noun: str = ""  # what a title-like value names, e.g. "Product" for products.name


@dataclass(eq=False)
class Table:
    name: str
    ref: str
    base: str
    cols: list[Col]
    pk: list[Col] = field(default_factory=list)
    # statement helpers, filled by _prepare
    filt: list[Col] = field(default_factory=list)  # usable in WHERE
    num: list[Col] = field(default_factory=list)  # aggregatable
    group: list[Col] = field(default_factory=list)  # GROUP BY candidates
    order: list[Col] = field(default_factory=list)  # ORDER BY candidates
    settable: list[Col] = field(default_factory=list)  # UPDATE SET candidates
    required: list[Col] = field(default_factory=list)  # INSERT must name these
    optional: list[Col] = field(default_factory=list)
    children: list[tuple["Table", Col]] = field(
        default_factory=list
    )  # tables whose col references our pk
    parents: list[tuple[Col, "Table"]] = field(default_factory=list)


@dataclass
class Schema:
    domain: str
    tables: list[Table]
    layout: str
    style: str  # naming style
    text: str = ""
    qualify: bool = False  # statements sometimes say public.t


_NUMERIC = {"int", "money", "float", "rating5", "pct", "lat", "lng", "year"}
_GROUPABLE = {
    "enum",
    "pool",
    "bool",
    "fk",
    "city",
    "country",
    "year",
    "currency",
    "language",
    "timezone",
    "color",
    "date",
}
_UNORDERABLE = {"json", "tags", "bytes", "inet", "text", "url", "file", "bool", "uuid", "fkuuid"}
_MINMAX = _NUMERIC | {"date", "ts", "interval"}


def _words(base: str) -> list[str]:
    return base.split("_")


def singular(word: str) -> str:
    """English singular of a snake_case plural table name (last word only)."""
    head, _, last = word.rpartition("_")
    for end, rep in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("xes", "x"),
        ("status", "status"),
        ("news", "news"),
        ("ss", "ss"),
        ("us", "us"),
        ("s", ""),
    ):
        if last.endswith(end):
            last = last[: len(last) - len(end)] + rep
            break
    return f"{head}_{last}" if head else last


def _style_name(base: str, style: str, is_table: bool, rng: random.Random) -> tuple[str, str]:
    """(DDL name, statement reference) of a snake_case base name under a naming style."""
    parts = _words(base)
    if style == "camel":
        name = (
            "".join(p.capitalize() for p in parts)
            if is_table and rng.random() < 0.7
            else parts[0] + "".join(p.capitalize() for p in parts[1:])
        )
        return name, name
    if style == "pascal_q" or (style == "mixed" and rng.random() < (0.25 if is_table else 0.3)):
        name = "".join(p.capitalize() for p in parts)
        if style == "mixed" and not is_table and rng.random() < 0.5:
            name = parts[0] + "".join(p.capitalize() for p in parts[1:])
        if name.islower():
            return name, name
        return f'"{name}"', f'"{name}"'
    if style == "spider":
        if is_table and rng.random() < 0.5:
            return base, base
        name = "_".join("ID" if p == "id" else p.capitalize() for p in parts)
        return name, name
    return base, base


_TYPE_FLAVOURS = {
    "int": (("INT", 4), ("INT8", 3), ("INTEGER", 2), ("BIGINT", 1), ("INT4", 0.5)),
    "str": (("STRING", 3), ("VARCHAR", 4), ("TEXT", 3)),
    "money": (
        ("DECIMAL(10,2)", 4),
        ("DECIMAL(12,2)", 2),
        ("NUMERIC(10,2)", 2),
        ("DECIMAL", 1),
        ("DECIMAL(8,2)", 1),
    ),
    "float": (("FLOAT8", 4), ("FLOAT", 2), ("REAL", 1), ("DOUBLE PRECISION", 1)),
    "bool": (("BOOL", 1), ("BOOLEAN", 1)),
    "ts": (("TIMESTAMP", 1), ("TIMESTAMPTZ", 1)),
    "json": (("JSONB", 6), ("JSON", 1)),
}
_VARCHAR_LEN = {
    "email": 255,
    "phone": 20,
    "first": 50,
    "last": 50,
    "person": 100,
    "username": 50,
    "title": 200,
    "code": 32,
    "url": 500,
    "city": 100,
    "country": 64,
    "address": 255,
    "zip": 10,
    "enum": 20,
    "currency": 3,
    "language": 8,
    "timezone": 64,
    "color": 20,
    "word": 64,
    "text": 1000,
    "pool": 100,
    "file": 255,
}


def _ch(rng: random.Random, seq):
    """rng.choice without its overhead (the generator's hot path)."""
    return seq[int(rng.random() * len(seq))]


def _ri(rng: random.Random, a: int, b: int) -> int:
    """rng.randint without its overhead."""
    return a + int(rng.random() * (b - a + 1))


def _pick(rng: random.Random, options: tuple) -> str:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, w in options:
        x -= w
        if x < 0:
            return value
    return options[-1][0]


def _col_type(kind: str, fl: dict, rng: random.Random) -> str:
    if kind in ("int", "rating5", "year", "ref"):
        return fl["int"] if kind != "year" or rng.random() < 0.8 else "INT4"
    if kind == "money":
        return fl["money"]
    if kind in ("float", "lat", "lng"):
        return fl["float"]
    if kind == "pct":
        return fl["money"] if rng.random() < 0.3 else fl["float"]
    if kind == "bool":
        return fl["bool"]
    if kind == "date":
        return "DATE"
    if kind == "ts":
        return fl["ts"]
    if kind == "uuid":
        return "UUID"
    if kind == "json":
        return fl["json"]
    if kind == "tags":
        return (
            "STRING[]" if fl["str"] == "STRING" else "TEXT[]" if rng.random() < 0.6 else "VARCHAR[]"
        )
    if kind == "interval":
        return "INTERVAL"
    if kind == "bytes":
        return "BYTES"
    if kind == "inet":
        return "INET"
    if kind == "text":
        return "TEXT" if fl["str"] != "STRING" else "STRING"
    if fl["str"] == "VARCHAR":
        n = _VARCHAR_LEN.get(kind, 100)
        return f"VARCHAR({n if rng.random() < 0.7 else _ch(rng, (50, 100, 255))})"
    return fl["str"]


def _pick_tables(rng: random.Random, specs: list[TableSpec], n: int) -> list[TableSpec]:
    """n tables connected by foreign keys where possible, in vocabulary (referenced-first) order."""
    by_name = {t.base: t for t in specs}
    nbrs: dict[str, list[str]] = {t.base: [] for t in specs}
    for t in specs:
        for c in t.cols:
            if c.kind == "fk" and c.ref in by_name and c.ref != t.base:
                nbrs[t.base].append(c.ref)
                nbrs[c.ref].append(t.base)
    chosen = [_ch(rng, specs).base]
    frontier = list(nbrs[chosen[0]])
    while len(chosen) < n and len(chosen) < len(specs):
        frontier = [f for f in frontier if f not in chosen]
        nxt = (
            _ch(rng, frontier)
            if frontier
            else _ch(rng, [t.base for t in specs if t.base not in chosen])
        )
        chosen.append(nxt)
        frontier.extend(nbrs[nxt])
    return [t for t in specs if t.base in chosen]


def build_schema(rng: random.Random, long: bool = False) -> Schema:
    """A random schema: tables of one domain with styled names, types and constraints."""
    domain, specs = _ch(rng, DOMAINS)
    if long:
        n = _ri(rng, 8, 12)
        picked = _pick_tables(rng, specs, n)
        names = {t.base for t in picked}
        picked += [t for t in COMMON if t.base not in names][: n - len(picked)]
    else:
        n = _pick(rng, ((1, 25), (2, 25), (3, 22), (4, 16), (5, 12)))
        picked = _pick_tables(rng, specs, n)
    style = _pick(rng, (("snake", 68), ("camel", 10), ("pascal_q", 7), ("spider", 9), ("mixed", 6)))
    layout = _pick(rng, tuple(zip(LAYOUTS, LAYOUT_WEIGHTS)))
    if layout == "sqlite" and style in ("camel", "mixed"):
        style = "snake"
    fl = {k: _pick(rng, v) for k, v in _TYPE_FLAVOURS.items()}
    pk_style = _pick(
        rng,
        (
            ("serial", 3),
            ("int", 3),
            ("uuid", 2),
            ("rowid", 1.5),
            ("named_int", 2),
            ("named_serial", 1),
            ("named_uuid", 1),
        ),
    )
    singular_tables = rng.random() < 0.22
    keep = 0.62 if long else 0.85
    max_cols = 7 if long else 11

    tables: dict[str, Table] = {}
    for spec in picked:
        tbase = spec.base
        if singular_tables and singular(tbase).split("_")[-1] not in RESERVED:
            tbase = singular(tbase)
        tname, tref = _style_name(tbase, style, True, rng)
        cols: list[Col] = []
        pk: list[Col] = []
        if not spec.pk:
            pbase = "id" if not pk_style.startswith("named") else singular(spec.base) + "_id"
            kind = "uuid" if pk_style.endswith("uuid") else "int"
            name, ref = _style_name(pbase, style, False, rng)
            c = Col(
                name,
                ref,
                pbase,
                kind,
                "UUID" if kind == "uuid" else fl["int"],
                not_null=True,
                pk=True,
            )
            if kind == "uuid":
                c.default = "gen_random_uuid()"
            elif pk_style.endswith("serial"):
                c.serial = True
            elif pk_style == "rowid":
                c.type, c.default = "INT8", "unique_rowid()"
            cols.append(c)
            pk.append(c)
        specs_cols = [
            c for c in spec.cols if c.kind == "fk" or c.base in spec.pk or rng.random() < keep
        ]
        if len(specs_cols) < 2:
            specs_cols = spec.cols[:3]
        if len(specs_cols) > max_cols:
            specs_cols = [c for c in specs_cols if c.kind == "fk" or c.base in spec.pk][
                :max_cols
            ] + [c for c in specs_cols if c.kind != "fk" and c.base not in spec.pk][
                : max(2, max_cols - 3)
            ]
            specs_cols = [c for c in spec.cols if c in specs_cols]
        extra, have = [], {c.base for c in spec.cols}
        if not long and "created_at" not in have and rng.random() < 0.15:
            extra.append(ColSpec("created_at", "ts"))
        if not long and "updated_at" not in have and rng.random() < 0.08:
            extra.append(ColSpec("updated_at", "ts"))
        for cs in specs_cols + extra:
            name, ref = _style_name(cs.base, style, False, rng)
            kind = cs.kind
            parent = None
            if kind == "fk":
                parent = tables.get(cs.ref)
                ptarget = (
                    parent.pk[0].kind
                    if parent and len(parent.pk) == 1
                    else ("uuid" if pk_style.endswith("uuid") else "int")
                )
                kind = "uuid" if ptarget == "uuid" else "fk"
                ctype = "UUID" if kind == "uuid" else ("INT8" if pk_style == "rowid" else fl["int"])
            else:
                ctype = _col_type(kind, fl, rng)
            c = Col(name, ref, cs.base, kind, ctype, cs.values)
            if kind == "title":
                words = (
                    cs.base.replace("_name", "").replace("title", "").strip("_")
                    if cs.base not in ("name", "title")
                    else ""
                )
                c.noun = (words or singular(spec.base)).replace("_", " ").title()
            if kind == "uuid" and cs.kind == "fk":
                c.kind = "fkuuid"
            c.fk = parent if parent is not None and len(parent.pk) == 1 else None
            if cs.base in spec.pk:
                c.pk, c.not_null = True, True
                pk.append(c)
            _decorate(c, rng)
            cols.append(c)
        t = Table(tname, tref, spec.base, cols, pk)
        tables[spec.base] = t
    schema = Schema(
        domain,
        list(tables.values()),
        layout,
        style,
        qualify=layout == "crdb" and rng.random() < 0.3,
    )
    for t in schema.tables:
        _prepare(t)
    return schema


def _decorate(c: Col, rng: random.Random) -> None:
    """NOT NULL, DEFAULT, UNIQUE, CHECK and index choices for a non-key column."""
    r = rng.random
    k = c.kind
    if c.fk is not None or k in ("fk", "fkuuid"):
        c.not_null = c.not_null or r() < 0.6
        c.index = r() < 0.45
        return
    c.not_null = c.not_null or r() < {
        "title": 0.5,
        "email": 0.6,
        "first": 0.6,
        "last": 0.6,
        "username": 0.6,
        "code": 0.5,
    }.get(k, 0.2)
    if (
        k == "ts"
        and c.base
        in ("created_at", "updated_at", "placed_at", "recorded_at", "occurred_at", "logged_at")
        and r() < 0.6
    ):
        c.default = "now()"
    elif k == "ts" and r() < 0.06:
        c.default = "current_timestamp()"
    elif k == "bool" and r() < 0.5:
        c.default = (
            "false"
            if c.base.startswith(("is_", "has_")) and r() < 0.6
            else _ch(rng, ("true", "false"))
        )
        c.not_null = c.not_null or r() < 0.4
    elif k == "enum" and r() < 0.35:
        c.default = f"'{c.values[0]}'"
    elif (
        k in ("int", "money")
        and ("count" in c.base or "qty" in c.base or "balance" in c.base or "points" in c.base)
        and r() < 0.4
    ):
        c.default = "0"
    elif k == "json" and r() < 0.2:
        c.default = "'{}'"
    elif k == "date" and r() < 0.05:
        c.default = "current_date()"
    if (
        k in ("email", "code", "username")
        and r() < 0.5
        and not c.base.endswith(("_number", "_hash"))
    ):
        c.unique = True
    if k in ("money", "int") and r() < 0.12:
        c.check = f"{c.ref} >= 0"
    elif k == "rating5" and r() < 0.3:
        c.check = f"{c.ref} BETWEEN 1 AND 5"
    elif k == "pct" and r() < 0.15:
        c.check = f"{c.ref} >= 0 AND {c.ref} <= 100"
    elif k == "enum" and r() < 0.12:
        c.check = f"{c.ref} IN ({', '.join(repr(v) for v in c.values)})"
    if k in ("enum", "ts", "date", "title", "city") and r() < 0.08:
        c.index = True


def _prepare(t: Table) -> None:
    for c in t.cols:
        k = c.kind
        if k not in ("bytes",):
            t.filt.append(c)
        if k in _NUMERIC and not c.pk:
            t.num.append(c)
        if k in _GROUPABLE or (k in ("ref", "code", "word", "title") and not c.unique):
            t.group.append(c)
        if k not in _UNORDERABLE:
            t.order.append(c)
        if not c.pk and c.fk is None:
            t.settable.append(c)
        if c.pk and (c.serial or c.default):
            continue
        if (c.not_null and not c.default) or c.pk:
            t.required.append(c)
        else:
            t.optional.append(c)
        if c.fk is not None:
            t.parents.append((c, c.fk))
            c.fk.children.append((t, c))
    if not t.order:
        t.order = [c for c in t.cols if c.kind not in ("json", "tags", "bytes")] or t.cols[:1]
    if not t.group:
        t.group = [c for c in t.order if not c.pk][:3] or t.order[:1]
    if not t.settable:
        t.settable = [c for c in t.cols if not c.pk] or t.cols


# ---------------------------------------------------------------------------------------------
# DDL rendering

_CRDB_TYPES = {
    "INT": "INT8",
    "INTEGER": "INT8",
    "BIGINT": "INT8",
    "TEXT": "STRING",
    "NUMERIC(10,2)": "DECIMAL(10,2)",
    "FLOAT": "FLOAT8",
    "DOUBLE PRECISION": "FLOAT8",
    "REAL": "FLOAT4",
    "BOOLEAN": "BOOL",
    "JSON": "JSONB",
    "TEXT[]": "STRING[]",
    "VARCHAR[]": "VARCHAR[]",
}


def _crdb_type(c: Col) -> str:
    return "INT8" if c.serial else _CRDB_TYPES.get(c.type, c.type)


def _crdb_default(c: Col) -> str:
    d = c.default
    if c.serial:
        return "unique_rowid()"
    if not d or d in ("gen_random_uuid()", "unique_rowid()", "true", "false"):
        return d
    t = _crdb_type(c)
    if d in ("now()", "current_timestamp()"):
        return f"{d}:::{t}"
    if d == "current_date()":
        return d
    tname = t.split("(")[0]
    return f"{d}:::{'STRING' if tname == 'VARCHAR' else tname}"


def _bare(name: str) -> str:
    return name.strip('"')


def _cname(t: Table, suffix: str) -> str:
    """A constraint/index name derived from the table's name, quoted when it must be."""
    n = f"{_bare(t.name)}_{suffix}"
    return f'"{n}"' if not n.islower() and t.name.startswith('"') else n


def render_crdb(t: Table, qual: str) -> str:
    """CockroachDB SHOW CREATE TABLE style."""
    lines = []
    for c in t.cols:
        s = f"{c.name} {_crdb_type(c)} {'NOT NULL' if c.not_null or c.serial else 'NULL'}"
        d = _crdb_default(c)
        if d:
            s += f" DEFAULT {d}"
        lines.append(s)
    lines.append(
        f"CONSTRAINT {_cname(t, 'pkey')} PRIMARY KEY ({', '.join(c.name + ' ASC' for c in t.pk)})"
    )
    for c in t.cols:
        if c.fk is not None:
            lines.append(
                f"CONSTRAINT {_cname(t, _bare(c.name) + '_fkey')} FOREIGN KEY ({c.name}) "
                f"REFERENCES {qual}{c.fk.name}({c.fk.pk[0].name})"
            )
    for c in t.cols:
        if c.unique:
            lines.append(f"UNIQUE INDEX {_cname(t, _bare(c.name) + '_key')} ({c.name} ASC)")
        elif c.index:
            lines.append(f"INDEX {_cname(t, _bare(c.name) + '_idx')} ({c.name} ASC)")
    for c in t.cols:
        if c.check:
            name = f"check_{_bare(c.name)}"
            name = name if name.islower() else f'"{name}"'
            lines.append(f"CONSTRAINT {name} CHECK ({_crdb_check(c)})")
    return f"CREATE TABLE {qual}{t.name} (\n\t" + ",\n\t".join(lines) + "\n);"


def _crdb_check(c: Col) -> str:
    if c.kind == "enum":
        return c.check.replace("', '", "':::STRING, '").replace("')", "':::STRING)")
    tname = _crdb_type(c).split("(")[0]
    return (
        re.sub(r"(?<![\w.])(\d+)(?![\w.])", lambda m: f"{m.group(1)}:::{tname}", c.check)
        if tname in ("INT8", "DECIMAL", "INT4")
        else c.check
    )


def render_hand(
    t: Table, rng: random.Random, inline: bool, indent: str, lower: bool, one_line: bool
) -> tuple[str, list[str]]:
    """Hand-written styles: inline or table-level constraints.

    Returns (CREATE TABLE, extra CREATE INDEX lines)."""
    composite = len(t.pk) > 1
    lines, tail, extra = [], [], []
    cascade = rng.random() < 0.2
    for c in t.cols:
        s = f"{c.name} {'SERIAL' if c.serial else c.type}"
        if inline and c.pk and not composite:
            s += " PRIMARY KEY"
        elif c.not_null and not (c.pk and not composite and not inline and rng.random() < 0.5):
            s += " NOT NULL"
        if c.default:
            s += f" DEFAULT {c.default}"
        if c.unique:
            if inline:
                s += " UNIQUE"
            else:
                tail.append(f"UNIQUE ({c.name})")
        if c.fk is not None:
            target = (
                f"{c.fk.name}({c.fk.pk[0].name})"
                if rng.random() < 0.6
                else f"{c.fk.name} ({c.fk.pk[0].name})"
            )
            on_del = " ON DELETE CASCADE" if cascade else ""
            if inline:
                s += f" REFERENCES {target}{on_del}"
            else:
                named = (
                    f"CONSTRAINT fk_{_bare(t.name).lower()}_{_bare(c.name).lower()} "
                    if rng.random() < 0.4
                    else ""
                )
                tail.append(f"{named}FOREIGN KEY ({c.name}) REFERENCES {target}{on_del}")
        if c.check:
            if inline:
                s += f" CHECK ({c.check})"
            else:
                tail.append(
                    f"CONSTRAINT chk_{_bare(t.name).lower()}_{_bare(c.name).lower()} "
                    f"CHECK ({c.check})"
                    if rng.random() < 0.5
                    else f"CHECK ({c.check})"
                )
        lines.append(s)
        if c.index and not c.unique:
            extra.append(
                f"CREATE INDEX idx_{_bare(t.name).lower()}_{_bare(c.name).lower()} "
                f"ON {t.name} ({c.name});"
            )
    if composite or not inline:
        tail.insert(0, f"PRIMARY KEY ({', '.join(c.name for c in t.pk)})")
    if not inline and extra and rng.random() < 0.5:  # CockroachDB accepts inline INDEX definitions
        tail += [
            e.split(" ON ")[0].replace("CREATE INDEX ", "INDEX ")
            + " ("
            + e.split(" (", 1)[1].rstrip(";")
            for e in extra
        ]
        extra = []
    head = "CREATE TABLE IF NOT EXISTS " if rng.random() < 0.08 else "CREATE TABLE "
    if one_line:
        text = f"{head}{t.name} ({', '.join(lines + tail)});"
        extra = []
    else:
        text = f"{head}{t.name} (\n{indent}" + f",\n{indent}".join(lines + tail) + "\n);"
    if lower:
        text = _lower_ddl(text)
        extra = [_lower_ddl(e) for e in extra]
    return text, extra


_DDL_WORDS = re.compile(
    r"'[^']*'|\"[^\"]*\"|\b(?:CREATE|TABLE|IF|NOT|EXISTS|NULL|PRIMARY|KEY|REFERENCES|DEFAULT|UNIQUE|CHECK|"
    r"FOREIGN|CONSTRAINT|ON|DELETE|CASCADE|INDEX|SERIAL|INT8|INT4|INT|INTEGER|BIGINT|STRING|VARCHAR|TEXT|"
    r"DECIMAL|NUMERIC|FLOAT8|FLOAT|REAL|DOUBLE|PRECISION|BOOL|BOOLEAN|DATE|TIMESTAMPTZ|TIMESTAMP|UUID|"
    r"JSONB|JSON|INTERVAL|BYTES|INET|BETWEEN|AND|IN)\b"
)


def _lower_ddl(text: str) -> str:
    return _DDL_WORDS.sub(
        lambda m: m.group(0) if m.group(0)[0] in "'\"" else m.group(0).lower(), text
    )


def render_sqlite(t: Table) -> str:
    """Spider/SQLite-like: every name double-quoted, lower-case types, table-level keys."""

    def q(name: str) -> str:
        return name if name.startswith('"') else f'"{name}"'

    lines = [
        f"{q(c.name)} {('int' if c.serial else c.type.lower())}"
        f"{' NOT NULL' if c.not_null and not c.pk else ''}"
        for c in t.cols
    ]
    lines.append(f"primary key ({', '.join(q(c.name) for c in t.pk)})")
    for c in t.cols:
        if c.fk is not None:
            lines.append(
                f"foreign key ({q(c.name)}) references {q(c.fk.name)}({q(c.fk.pk[0].name)})"
            )
    return f"CREATE TABLE {q(t.name)} (\n" + ",\n".join(lines) + "\n);"


def render_schema(s: Schema, rng: random.Random) -> str:
    """The schema's DDL text in its layout, tables separated by blank lines."""
    parts, extras = [], []
    lay = s.layout
    indent = "    " if rng.random() < 0.7 else "  "
    for t in s.tables:
        if lay == "crdb":
            parts.append(render_crdb(t, "public."))
        elif lay == "sqlite":
            parts.append(render_sqlite(t))
        else:
            text, extra = render_hand(
                t,
                rng,
                inline=lay in ("hand", "oneline", "lower") and rng.random() < 0.85,
                indent="  " if lay == "lower" else indent,
                lower=lay == "lower",
                one_line=lay == "oneline",
            )
            parts.append(text)
            extras += extra
    if extras and rng.random() < 0.6:
        parts.append("\n".join(extras))
    return "\n\n".join(parts)


# ---------------------------------------------------------------------------------------------
# literals


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[rng.getrandbits(2)]}{h[17:20]}-{h[20:]}"


def _date(rng: random.Random) -> str:
    return f"{_ri(rng, 2019, 2025)}-{_ri(rng, 1, 12):02d}-{_ri(rng, 1, 28):02d}"


def _ts(rng: random.Random) -> str:
    return f"{_date(rng)} {_ri(rng, 0, 23):02d}:{_ch(rng, ('00', '15', '30', '45', '05', '20'))}:00"


def raw_value(rng: random.Random, c: Col) -> str:
    """A plausible value for a text-like column, unquoted."""
    k = c.kind
    if k in ("enum", "pool"):
        return _ch(rng, c.values)
    if k == "email":
        return (
            f"{_ch(rng, vocab.FIRST_NAMES).lower()}.{_ch(rng, vocab.LAST_NAMES).lower()}"
            f"@{_ch(rng, vocab.EMAIL_DOMAINS)}"
        )
    if k == "first":
        return _ch(rng, vocab.FIRST_NAMES)
    if k == "last":
        return _ch(rng, vocab.LAST_NAMES)
    if k == "person":
        return f"{_ch(rng, vocab.FIRST_NAMES)} {_ch(rng, vocab.LAST_NAMES)}"
    if k == "username":
        return f"{_ch(rng, vocab.FIRST_NAMES).lower()}{_ch(rng, ('_', '', '.'))}{_ri(rng, 1, 999)}"
    if k == "phone":
        return f"+1-555-{_ri(rng, 100, 999)}-{_ri(rng, 1000, 9999)}"
    if k == "city":
        return _ch(rng, vocab.CITIES)
    if k == "country":
        return _ch(rng, vocab.COUNTRIES) if rng.random() < 0.6 else _ch(rng, vocab.COUNTRY_CODES)
    if k == "address":
        return f"{_ri(rng, 1, 999)} {_ch(rng, vocab.STREETS)}"
    if k == "zip":
        return f"{_ri(rng, 10000, 99999)}"
    if k == "url":
        return f"https://{_ch(rng, vocab.EMAIL_DOMAINS)}/{_ch(rng, vocab.WORDS)}/{_ri(rng, 1, 999)}"
    if k == "code":
        if c.base in ("sha", "commit_sha", "tx_hash"):
            return f"{rng.getrandbits(160):040x}"[: 40 if c.base != "tx_hash" else 64]
        if c.base.endswith("last4"):
            return f"{_ri(rng, 0, 9999):04d}"
        return f"{c.base[:3].upper()}-{_ri(rng, 1000, 99999)}"
    if k == "file":
        extensions = ("pdf", "png", "csv", "jpg", "yml", "txt")
        return f"{_ch(rng, vocab.WORDS)}_{_ri(rng, 1, 99)}.{_ch(rng, extensions)}"
    if k == "currency":
        return _ch(rng, vocab.CURRENCIES)
    if k == "language":
        return _ch(rng, vocab.LANGUAGES)
    if k == "timezone":
        return _ch(rng, vocab.TIMEZONES)
    if k == "color":
        return _ch(rng, vocab.COLORS)
    if k == "text":
        return _ch(rng, vocab.PHRASES)
    if k == "title":
        noun = c.noun or "Item"
        return (
            f"{_ch(rng, vocab.ADJECTIVES)} {noun}"
            if rng.random() < 0.7
            else f"{noun} {_ri(rng, 1, 99)}"
        )
    return _ch(rng, vocab.WORDS)


_TEXTY = {
    "enum",
    "pool",
    "file",
    "email",
    "first",
    "last",
    "person",
    "username",
    "phone",
    "city",
    "country",
    "address",
    "zip",
    "url",
    "code",
    "currency",
    "language",
    "timezone",
    "color",
    "text",
    "title",
    "word",
}


def value(rng: random.Random, c: Col) -> str:
    """A type-correct SQL literal for column c."""
    k = c.kind
    if k in _TEXTY:
        return f"'{raw_value(rng, c)}'"
    if k in ("int", "fk", "ref"):
        b = c.base
        if "age" == b:
            return str(_ri(rng, 18, 85))
        if (
            "quantity" in b
            or "qty" in b
            or b in ("seats", "guests", "adults", "servings", "party_size")
        ):
            return str(_ri(rng, 1, 20))
        if "score" in b:
            return str(_ri(rng, 0, 100))
        return str(_ri(rng, 1, 500) if rng.random() < 0.8 else _ri(rng, 500, 20000))
    if k == "money":
        return (
            f"{_ri(rng, 1, 2000)}.{_ch(rng, ('00', '99', '50', '95', '25', str(_ri(rng, 10, 99))))}"
            if rng.random() < 0.8
            else str(_ri(rng, 1, 5000))
        )
    if k == "float":
        return f"{rng.uniform(0, 200):.{_ri(rng, 1, 2)}f}"
    if k == "pct":
        return f"{rng.uniform(0, 100):.1f}" if rng.random() < 0.5 else str(_ri(rng, 0, 100))
    if k == "rating5":
        return str(_ri(rng, 1, 5)) if rng.random() < 0.6 else f"{rng.uniform(1, 5):.1f}"
    if k == "year":
        return str(_ri(rng, 1990, 2025))
    if k == "lat":
        return f"{rng.uniform(-60, 70):.4f}"
    if k == "lng":
        return f"{rng.uniform(-170, 170):.4f}"
    if k == "bool":
        return _ch(rng, ("true", "false", "TRUE", "FALSE")) if rng.random() < 0.9 else "true"
    if k == "date":
        if "birth" in c.base:
            return f"'{_ri(rng, 1950, 2008)}-{_ri(rng, 1, 12):02d}-{_ri(rng, 1, 28):02d}'"
        return f"'{_date(rng)}'"
    if k == "ts":
        return f"'{_ts(rng)}'"
    if k in ("uuid", "fkuuid"):
        return f"'{_uuid(rng)}'"
    if k == "json":
        n = _ri(rng, 1, 2)
        pairs = ", ".join(
            f'"{_ch(rng, vocab.JSON_KEYS)}": "{_ch(rng, vocab.JSON_VALUES)}"' for _ in range(n)
        )
        return (
            "'{" + pairs + "}'"
            if rng.random() < 0.8
            else "'{" + f'"{_ch(rng, vocab.JSON_KEYS)}": {_ri(rng, 1, 9)}' + "}'"
        )
    if k == "tags":
        items = rng.sample(vocab.WORDS, _ri(rng, 1, 3))
        return (
            "ARRAY[" + ", ".join(f"'{w}'" for w in items) + "]"
            if rng.random() < 0.7
            else "'{" + ",".join(items) + "}'"
        )
    if k == "interval":
        iv = _ch(rng, vocab.INTERVALS)
        return f"INTERVAL '{iv}'" if rng.random() < 0.6 else f"'{iv}'"
    if k == "bytes":
        return (
            f"x'{rng.getrandbits(32):08x}'"
            if rng.random() < 0.6
            else f"'\\x{rng.getrandbits(32):08x}'"
        )
    if k == "inet":
        return (
            f"'{_ch(rng, (10, 192, 172))}.{_ri(rng, 0, 255)}.{_ri(rng, 0, 255)}.{_ri(rng, 1, 254)}'"
        )
    return "NULL"


# ---------------------------------------------------------------------------------------------
# statements

_KEYWORDS = re.compile(
    r"'(?:[^']|'')*'|\"[^\"]*\"|\b(?:SELECT|FROM|WHERE|AND|OR|NOT|IN|IS|NULL|AS|JOIN|LEFT|RIGHT|INNER|"
    r"OUTER|ON|GROUP|BY|ORDER|HAVING|LIMIT|OFFSET|ASC|DESC|DISTINCT|INSERT|INTO|VALUES|UPDATE|SET|"
    r"DELETE|TRUNCATE|TABLE|CASCADE|RESTRICT|UPSERT|RETURNING|CONFLICT|DO|NOTHING|WITH|BETWEEN|LIKE|"
    r"ILIKE|EXISTS|CASE|WHEN|THEN|ELSE|END|INTERVAL|TRUE|FALSE|USING|ANY|ARRAY|NULLS|LAST|FIRST|OVER|"
    r"PARTITION|EXTRACT|YEAR|MONTH|DEFAULT|ALL|UNION|INTERSECT|EXCEPT)\b"
)
_FUNCS = re.compile(
    r"\b(count|sum|avg|min|max|coalesce|lower|upper|now|round|length|date_trunc|row_number|rank|"
    r"array_length|array_append|concat)\("
)
_SPACING = re.compile(r"'(?:[^']|'')*'|, | = ")


def _lower_keywords(sql: str) -> str:
    return _KEYWORDS.sub(
        lambda m: m.group(0) if m.group(0)[0] in "'\"" else m.group(0).lower(), sql
    )


def _respace(sql: str, comma: str, eq: str) -> str:
    return _SPACING.sub(
        lambda m: comma if m.group(0) == ", " else eq if m.group(0) == " = " else m.group(0), sql
    )


def _initials(base: str) -> str:
    return "".join(p[0] for p in base.split("_") if p)


class Writer:
    """Writes random statements of each kind over one schema."""

    def __init__(self, schema: Schema, rng: random.Random):
        self.s = schema
        self.rng = rng
        self.tables = schema.tables
        self.edges = [
            (child, col, parent) for child in schema.tables for col, parent in child.parents
        ]
        self.ml = False

    # -- small helpers ------------------------------------------------------------------------
    def tref(self, t: Table) -> str:
        return f"public.{t.ref}" if self.s.qualify and self.rng.random() < 0.5 else t.ref

    def cols(self, t: Table, lo: int, hi: int, pool: list[Col] | None = None) -> list[Col]:
        pool = pool or t.cols
        k = min(len(pool), _ri(self.rng, lo, hi))
        picked = self.rng.sample(pool, k)
        if self.rng.random() < 0.6:
            order = {id(c): i for i, c in enumerate(pool)}
            picked.sort(key=lambda c: order[id(c)])
        return picked

    def aliases(self, ts: list[Table]) -> list[str]:
        """Aliases for the tables of one query ("" means none: qualify with the table name)."""
        r = self.rng.random()
        if r < 0.3:
            return [f"T{i + 1}" for i in range(len(ts))]
        if r < 0.38:
            return [f"t{i + 1}" for i in range(len(ts))]
        if r < 0.9:
            out = []
            for t in ts:
                a = _initials(t.base)
                if a in RESERVED or a in out:
                    a = (
                        t.base[:3]
                        if t.base[:3] not in RESERVED and t.base[:3] not in out
                        else f"{a}{len(out) + 1}"
                    )
                out.append(a)
            return out
        return [""] * len(ts)

    def from_item(self, t: Table, alias: str) -> str:
        if not alias:
            return self.tref(t)
        return (
            f"{self.tref(t)} AS {alias}"
            if alias[0] == "T" or self.rng.random() < 0.45
            else f"{self.tref(t)} {alias}"
        )

    def q(self, alias: str, t: Table, c: Col) -> str:
        """Column reference qualified by the alias (or the table name when alias is "-")."""
        if alias == "-":
            return f"{t.ref}.{c.ref}"
        return f"{alias}.{c.ref}" if alias else c.ref

    def lit(self, c: Col) -> str:
        return value(self.rng, c)

    def pred(self, c: Col, ref: str) -> str:
        """A type-correct condition on column c written as ref."""
        rng = self.rng
        r = rng.random()
        k = c.kind
        if not c.not_null and not c.pk and r < 0.07:
            return f"{ref} IS NULL" if rng.random() < 0.5 else f"{ref} IS NOT NULL"
        if c.pk or k in ("fk", "fkuuid", "uuid"):
            if r < 0.8:
                return f"{ref} = {self.lit(c)}"
            return f"{ref} IN ({', '.join(self.lit(c) for _ in range(_ri(rng, 2, 3)))})"
        if k in _NUMERIC or k == "ref":
            if r < 0.35:
                return f"{ref} {_ch(rng, ('>', '<', '>=', '<=', '>'))} {self.lit(c)}"
            if r < 0.6:
                return f"{ref} = {self.lit(c)}"
            if r < 0.75:
                a, b = sorted((self.lit(c), self.lit(c)), key=float)
                return f"{ref} BETWEEN {a} AND {b}"
            if r < 0.88 and k in ("int", "ref", "year", "rating5"):
                items = sorted({self.lit(c) for _ in range(_ri(rng, 2, 4))}, key=float)
                return f"{ref} IN ({', '.join(items)})"
            return f"{ref} {_ch(rng, ('<>', '!='))} {self.lit(c)}"
        if k in ("enum", "pool"):
            if r < 0.55:
                return f"{ref} = {self.lit(c)}"
            vals = rng.sample(c.values, min(len(c.values), _ri(rng, 2, 3)))
            neg = "NOT IN" if r < 0.65 else "IN"
            if r > 0.9:
                return f"{ref} {_ch(rng, ('<>', '!='))} {self.lit(c)}"
            return f"{ref} {neg} ({', '.join(repr(v) for v in vals)})"
        if k in _TEXTY:
            v = raw_value(rng, c)
            if r < 0.45 and k != "text":
                return f"{ref} = '{v}'"
            if r < 0.8:
                op = "LIKE" if rng.random() < 0.65 else "ILIKE"
                cut = v[: _ri(rng, 1, max(1, min(6, len(v))))]
                pat = f"{cut}%" if rng.random() < 0.5 else f"%{v.split()[-1][:6]}%"
                return f"{ref} {op} '{pat}'"
            if r < 0.9 and k != "text":
                return f"{ref} IN ('{v}', '{raw_value(rng, c)}')"
            if r < 0.95:
                return f"lower({ref}) = '{v.lower()}'"
            return f"{ref} IS NOT NULL"
        if k == "bool":
            if r < 0.5:
                return f"{ref} = {self.lit(c)}"
            return ref if r < 0.8 else f"NOT {ref}"
        if k in ("date", "ts"):
            if r < 0.45:
                return f"{ref} {_ch(rng, ('>', '<', '>=', '<='))} {self.lit(c)}"
            if r < 0.7:
                a, b = sorted((self.lit(c), self.lit(c)))
                return f"{ref} BETWEEN {a} AND {b}"
            if r < 0.9:
                base = "now()" if k == "ts" and rng.random() < 0.7 else "current_date"
                spans = ("7 days", "30 days", "90 days", "1 day", "14 days", "1 year", "6 months")
                return f"{ref} {_ch(rng, ('>', '>=', '<'))} {base} - INTERVAL '{_ch(rng, spans)}'"
            return f"{ref} = {self.lit(c)}"
        if k == "json":
            if r < 0.5:
                return f"{ref}->>'{_ch(rng, vocab.JSON_KEYS)}' = '{_ch(rng, vocab.JSON_VALUES)}'"
            if r < 0.8:
                return (
                    f'{ref} @> \'{{"{_ch(rng, vocab.JSON_KEYS)}": '
                    f'"{_ch(rng, vocab.JSON_VALUES)}"}}\''
                )
            return f"{ref} IS NOT NULL"
        if k == "tags":
            if r < 0.5:
                return f"'{_ch(rng, vocab.WORDS)}' = ANY({ref})"
            if r < 0.8:
                return f"{ref} @> ARRAY['{_ch(rng, vocab.WORDS)}']"
            return f"array_length({ref}, 1) > {_ri(rng, 1, 3)}"
        if k == "interval":
            return f"{ref} {_ch(rng, ('>', '<', '>='))} INTERVAL '{_ch(rng, vocab.INTERVALS)}'"
        if k == "inet":
            return f"{ref} = {self.lit(c)}"
        return f"{ref} IS NOT NULL"

    def where(
        self, items: list[tuple[str, Table]], lo: int = 1, hi: int = 3, nopk: bool = False
    ) -> str:
        """WHERE with lo-hi conditions on distinct columns of (alias, table) items."""
        rng = self.rng
        n = _ri(rng, lo, hi) if rng.random() < 0.5 else lo
        preds, used = [], set()
        for _ in range(n):
            alias, t = _ch(rng, items)
            c = _ch(rng, t.filt)
            if nopk and c.pk:
                c = _ch(rng, t.filt)
            if id(c) in used:
                continue
            used.add(id(c))
            preds.append(self.pred(c, self.q(alias, t, c)))
        if len(preds) > 1 and rng.random() < 0.2:
            if len(preds) > 2 and rng.random() < 0.5:
                return f"WHERE ({preds[0]} OR {preds[1]}) AND {' AND '.join(preds[2:])}"
            return "WHERE " + " OR ".join(preds)
        return "WHERE " + (" AND " if not self.ml else "\n  AND ").join(preds)

    def order_by(self, items: list[tuple[str, Table]], n: int = 1) -> str:
        rng = self.rng
        parts = []
        for _ in range(n if rng.random() < 0.8 else n + 1):
            alias, t = _ch(rng, items)
            c = _ch(rng, t.order)
            d = rng.random()
            parts.append(self.q(alias, t, c) + (" DESC" if d < 0.45 else " ASC" if d < 0.7 else ""))
        return "ORDER BY " + ", ".join(dict.fromkeys(parts))

    def limit(self) -> str:
        n = _ch(self.rng, (1, 5, 10, 10, 20, 25, 50, 100, 3))
        return f"LIMIT {n}" + (
            f" OFFSET {_ch(self.rng, (10, 20, 50, 100, 5))}" if self.rng.random() < 0.25 else ""
        )

    def select_list(self, exprs: list[str]) -> str:
        if self.ml and len(exprs) > 2:
            return "SELECT\n    " + ",\n    ".join(exprs)
        return "SELECT " + ", ".join(exprs)

    def join(self, clauses: list[str]) -> str:
        return ("\n" if self.ml else " ").join(clauses)

    def agg(self, ref_of, t: Table, avoid: list[Col] = ()) -> tuple[str, str, str]:
        """An aggregate expression, a name for its alias and a type-correct HAVING threshold."""
        rng = self.rng
        r = rng.random()
        num = [c for c in t.num if c not in avoid]
        if num and r < 0.55:
            c = _ch(rng, num)
            fn = _ch(rng, ("sum", "avg", "max", "min", "avg", "sum"))
            e = f"{fn}({ref_of(c)})"
            if fn == "avg" and rng.random() < 0.2:
                e = f"round({e}, 2)"
            return e, f"{'total' if fn == 'sum' else fn}_{c.base}", self.lit(c)
        pool = [c for c in t.order if c not in avoid and not c.pk and c.kind in _MINMAX]
        if pool and r < 0.65:
            c = _ch(rng, pool)
            fn = _ch(rng, ("max", "min"))
            name = (
                f"{'latest' if fn == 'max' else 'earliest'}_{c.base}"
                if c.kind in ("ts", "date")
                else f"{fn}_{c.base}"
            )
            return f"{fn}({ref_of(c)})", name, self.lit(c)
        pool = [c for c in t.filt if c not in avoid]
        if pool and r < 0.75:
            c = _ch(rng, pool)
            name = f"distinct_{c.base}s" if not c.base.endswith("s") else f"distinct_{c.base}"
            return f"count(DISTINCT {ref_of(c)})", name, str(_ri(rng, 1, 10))
        return (
            "count(*)",
            _ch(rng, ("cnt", "total", "n", f"{t.base}_count", f"num_{t.base}", "count")),
            str(_ri(rng, 1, 10)),
        )

    # -- SELECT -------------------------------------------------------------------------------
    def select(self) -> str:
        r = self.rng.random()
        if self.edges and r < 0.27:
            return self.select_join()
        if r < 0.5:
            return self.select_simple()
        if r < 0.72:
            return self.select_group()
        if r < 0.84:
            return self.select_subquery()
        if r < 0.91:
            return self.select_cte()
        if r < 0.95:
            return self.select_distinct()
        if r < 0.975:
            return self.select_setop()
        return self.select_window()

    def one_table(self) -> tuple[Table, str]:
        """A table and its alias for a single-table query ("" mostly)."""
        t = _ch(self.rng, self.tables)
        r = self.rng.random()
        alias = (
            ""
            if r < 0.82
            else (
                "T1"
                if r < 0.87
                else _initials(t.base)
                if _initials(t.base) not in RESERVED
                else "x"
            )
        )
        return t, alias

    def select_simple(self) -> str:
        rng = self.rng
        t, a = self.one_table()
        qual = a or ("-" if rng.random() < 0.05 else "")
        items = [(qual, t)]
        r = rng.random()
        if r < 0.22:
            exprs = ["*" if not a or rng.random() < 0.5 else f"{a}.*"]
        else:
            exprs = [self.q(qual, t, c) for c in self.cols(t, 1, 5)]
            if rng.random() < 0.08:  # SELECT name AS customer_name
                i = _ri(rng, 0, len(exprs) - 1)
                exprs[i] += (
                    f" AS {singular(t.base)}_{exprs[i].split('.')[-1].strip(chr(34)).lower()}"
                )
            if rng.random() < 0.05:
                c = _ch(rng, t.cols)
                if c.kind in _TEXTY:
                    exprs.append(f"coalesce({self.q(qual, t, c)}, '') AS {c.base}_or_blank")
        clauses = [self.select_list(exprs), f"FROM {self.from_item(t, a)}"]
        return self.join(clauses + self.filter_order_limit(items, 0.72, 0.35, 0.22))

    def select_group(self) -> str:
        rng = self.rng
        t, a = self.one_table()
        items = [(a, t)]

        def ref(c: Col) -> str:
            return self.q(a, t, c)

        r = rng.random()
        if r < 0.22:  # plain aggregates over the table
            exprs = []
            for _ in range(_ri(rng, 1, 2)):
                e, name, _ = self.agg(ref, t)
                exprs.append(e + (f" AS {name}" if rng.random() < 0.3 else ""))
            clauses = [self.select_list(list(dict.fromkeys(exprs))), f"FROM {self.from_item(t, a)}"]
            if rng.random() < 0.6:
                clauses.append(self.where(items))
            return self.join(clauses)
        gs = self.cols(t, 1, 2 if rng.random() < 0.2 else 1, t.group)
        gref = [ref(c) for c in gs]
        e, name, thr = self.agg(ref, t, gs)
        named = rng.random() < 0.4
        if rng.random() < 0.12 and any(c.kind == "ts" for c in t.cols):  # bucket by month
            c = next(c for c in t.cols if c.kind == "ts")
            gref = [f"date_trunc('month', {ref(c)})"]
            clauses = [
                self.select_list([f"{gref[0]} AS month", e + f" AS {name}"]),
                f"FROM {self.from_item(t, a)}",
            ]
            clauses.append("GROUP BY " + ("month" if rng.random() < 0.5 else "1"))
            clauses.append("ORDER BY month" + (" DESC" if rng.random() < 0.5 else ""))
            return self.join(clauses)
        spider_top = rng.random() < 0.15
        exprs = gref + ([] if spider_top else [e + (f" AS {name}" if named else "")])
        clauses = [self.select_list(exprs), f"FROM {self.from_item(t, a)}"]
        if rng.random() < 0.3:
            clauses.append(self.where(items, 1, 2))
        clauses.append("GROUP BY " + ", ".join(gref))
        if spider_top:
            clauses.append(f"ORDER BY count(*) {_ch(rng, ('DESC', 'DESC', 'ASC'))}")
            clauses.append("LIMIT 1")
            return self.join(clauses)
        if rng.random() < 0.3:
            clauses.append(f"HAVING {e} {_ch(rng, ('>', '>=', '<'))} {thr}")
        if rng.random() < 0.55:
            key = name if named and rng.random() < 0.6 else e
            clauses.append(
                f"ORDER BY {key} {_ch(rng, ('DESC', 'DESC', 'ASC'))}"
                if rng.random() < 0.8
                else f"ORDER BY {gref[0]}"
            )
            if rng.random() < 0.4:
                clauses.append(self.limit())
        return self.join(clauses)

    def pick_join(self, n: int) -> tuple[list[Table], list[tuple[Table, Col, Table]]]:
        """Up to n tables linked by foreign keys, and the edges used (child, fk column, parent)."""
        rng = self.rng
        child, col, parent = _ch(rng, self.edges)
        ts = [child, parent] if rng.random() < 0.5 else [parent, child]
        used = [(child, col, parent)]
        while len(ts) < n:
            nxt = [e for e in self.edges if (e[0] in ts) != (e[2] in ts)]
            if not nxt:
                break
            e = _ch(rng, nxt)
            ts.append(e[2] if e[0] in ts else e[0])
            used.append(e)
        return ts, used

    def join_clauses(
        self, ts: list[Table], used: list, als: list[str], left: bool = False
    ) -> list[str]:
        """FROM ts[0] JOIN ts[1] ON <foreign key> ..., each table joined by the edge linking it to
        an earlier one."""
        rng = self.rng
        out = [f"FROM {self.from_item(ts[0], als[0])}"]
        spider = als[0] == "T1"
        for i, t in enumerate(ts[1:], 1):
            child, col, parent = next(
                e for e in used if (e[0] is t and e[2] in ts[:i]) or (e[2] is t and e[0] in ts[:i])
            )
            ca, pa = als[ts.index(child)] or "-", als[ts.index(parent)] or "-"
            cond = [self.q(ca, child, col), self.q(pa, parent, parent.pk[0])]
            if rng.random() < 0.5:
                cond.reverse()
            kw = (
                "LEFT JOIN"
                if left
                else (
                    "JOIN"
                    if spider or rng.random() < 0.7
                    else _ch(rng, ("INNER JOIN", "LEFT JOIN", "JOIN"))
                )
            )
            out.append(f"{kw} {self.from_item(t, als[i])} ON {cond[0]} = {cond[1]}")
        return out

    def select_join(self) -> str:
        rng = self.rng
        ts, used = self.pick_join(2 if rng.random() < 0.75 else 3)
        als = self.aliases(ts)
        items = [(a or "-", t) for a, t in zip(als, ts)]
        r = rng.random()
        if r < 0.3 and len(ts) == 2:  # count children per parent
            child, col, parent = used[0]
            pa, ca = als[ts.index(parent)] or "-", als[ts.index(child)] or "-"
            gc = _ch(rng, [c for c in parent.group if c is not col] or parent.order)
            left = rng.random() < 0.3
            cnt = f"count({self.q(ca, child, col)})" if left else "count(*)"
            name = f"{child.base}_count" if rng.random() < 0.5 else _ch(rng, ("n", "cnt", "total"))
            exprs = [self.q(pa, parent, gc), f"{cnt} AS {name}" if rng.random() < 0.6 else cnt]
            clauses = [self.select_list(exprs)] + self.join_clauses(ts, used, als, left=left)
            if rng.random() < 0.3:
                clauses.append(self.where(items, 1, 1))
            clauses.append(f"GROUP BY {self.q(pa, parent, gc)}")
            if rng.random() < 0.25:
                clauses.append(f"HAVING {cnt} > {_ri(rng, 1, 10)}")
            if rng.random() < 0.6:
                clauses.append(
                    f"ORDER BY {cnt} DESC"
                    if rng.random() < 0.6
                    else f"ORDER BY {self.q(pa, parent, gc)}"
                )
                if rng.random() < 0.4:
                    clauses.append(self.limit())
            return self.join(clauses)
        if r < 0.4 and len(ts) == 2:  # parents without children
            child, col, parent = used[0]
            ts2 = [parent, child]
            als2 = [als[ts.index(parent)], als[ts.index(child)]]
            pa = als2[0] or "-"
            exprs = [self.q(pa, parent, c) for c in self.cols(parent, 1, 3)]
            clauses = [self.select_list(exprs)] + self.join_clauses(ts2, used, als2, left=True)
            clauses.append(f"WHERE {self.q(als2[1] or '-', child, col)} IS NULL")
            return self.join(clauses)
        exprs = []
        for a, t in zip(als, ts):
            if rng.random() < 0.08:
                exprs.append(f"{a or t.ref}.*")
            else:
                exprs += [self.q(a or "-", t, c) for c in self.cols(t, 0 if exprs else 1, 3)]
        if not exprs:
            exprs = [self.q(als[0] or "-", ts[0], ts[0].cols[0])]
        clauses = [self.select_list(exprs)] + self.join_clauses(ts, used, als)
        return self.join(clauses + self.filter_order_limit(items, 0.75, 0.35, 0.2))

    def filter_order_limit(
        self, items, p_where: float, p_order: float, p_limit: float
    ) -> list[str]:
        """WHERE, ORDER BY and LIMIT clauses, each drawn with its probability (in this order)."""
        rng, out = self.rng, []
        if rng.random() < p_where:
            out.append(self.where(items))
        if rng.random() < p_order:
            out.append(self.order_by(items))
        if rng.random() < p_limit:
            out.append(self.limit())
        return out

    def select_subquery(self) -> str:
        rng = self.rng
        r = rng.random()
        if self.edges and r < 0.5:
            child, col, parent = _ch(rng, self.edges)
            if r < 0.25:  # child rows whose parent matches
                exprs = [c.ref for c in self.cols(child, 1, 4)] if rng.random() < 0.8 else ["*"]
                inner = (
                    f"SELECT {parent.pk[0].ref} FROM {self.tref(parent)} "
                    f"{self.where([('', parent)], 1, 2, nopk=True)}"
                )
                neg = "NOT IN" if rng.random() < 0.15 else "IN"
                return self.join(
                    [
                        self.select_list(exprs),
                        f"FROM {self.tref(child)}",
                        f"WHERE {col.ref} {neg} ({inner})",
                    ]
                )
            pa, ca = (
                (_initials(parent.base), _initials(child.base))
                if rng.random() < 0.6
                else ("p", "c")
            )
            if pa == ca or pa in RESERVED or ca in RESERVED:
                pa, ca = "p", "c"
            if r < 0.4:  # EXISTS
                neg = "NOT EXISTS" if rng.random() < 0.35 else "EXISTS"
                inner = (
                    f"SELECT 1 FROM {self.tref(child)} {ca} "
                    f"WHERE {ca}.{col.ref} = {pa}.{parent.pk[0].ref}"
                )
                if rng.random() < 0.5:
                    c = _ch(rng, child.filt)
                    inner += f" AND {self.pred(c, f'{ca}.{c.ref}')}"
                exprs = [f"{pa}.{c.ref}" for c in self.cols(parent, 1, 3)]
                return self.join(
                    [
                        self.select_list(exprs),
                        f"FROM {self.tref(parent)} {pa}",
                        f"WHERE {neg} ({inner})",
                    ]
                )
            # correlated scalar subquery in the select list
            exprs = [f"{pa}.{c.ref}" for c in self.cols(parent, 1, 2)]
            exprs.append(
                f"(SELECT count(*) FROM {self.tref(child)} {ca} "
                f"WHERE {ca}.{col.ref} = {pa}.{parent.pk[0].ref}) AS {child.base}_count"
            )
            return self.join([self.select_list(exprs), f"FROM {self.tref(parent)} {pa}"])
        t = _ch(rng, self.tables)
        if t.num and r < 0.8:  # compare with an aggregate of the same table
            c = _ch(rng, t.num)
            exprs = [x.ref for x in self.cols(t, 1, 4)] if rng.random() < 0.8 else ["*"]
            fn = _ch(rng, ("avg", "avg", "max", "min"))
            inner = f"SELECT {fn}({c.ref}) FROM {self.tref(t)}"
            if rng.random() < 0.3:
                inner += " " + self.where([("", t)], 1, 1)
            op = {"avg": _ch(rng, (">", "<", ">=")), "max": "=", "min": "="}[fn]
            return self.join(
                [self.select_list(exprs), f"FROM {self.tref(t)}", f"WHERE {c.ref} {op} ({inner})"]
            )
        # derived table
        inner_cols = self.cols(t, 1, 4)
        sub = _ch(rng, ("sub", "x", "q", "t", "filtered"))
        inner = (
            f"SELECT {', '.join(c.ref for c in inner_cols)} "
            f"FROM {self.tref(t)} {self.where([('', t)], 1, 2)}"
        )
        outer = [f"{sub}.{c.ref}" for c in inner_cols[: _ri(rng, 1, len(inner_cols))]]
        clauses = [self.select_list(outer), f"FROM ({inner}) AS {sub}"]
        if rng.random() < 0.4:
            clauses.append(f"ORDER BY {sub}.{_ch(rng, inner_cols).ref}")
        if rng.random() < 0.3:
            clauses.append(self.limit())
        return self.join(clauses)

    def select_cte(self) -> str:
        rng = self.rng
        t = _ch(rng, self.tables)
        adjectives = ("recent", "active", "top", "filtered", "selected", "big", "open")
        name = f"{_ch(rng, adjectives)}_{t.base}"
        if rng.random() < 0.5 and t.group:  # aggregate CTE
            g = _ch(rng, t.group)
            e, agg_name, thr = self.agg(lambda c: c.ref, t, [g])
            if agg_name == g.base:
                agg_name += "_value"
            inner = f"SELECT {g.ref}, {e} AS {agg_name} FROM {self.tref(t)}"
            if rng.random() < 0.4:
                inner += " " + self.where([("", t)], 1, 1)
            inner += f" GROUP BY {g.ref}"
            name = f"{t.base}_stats" if rng.random() < 0.5 else name
            outer = [
                f"SELECT {g.ref}, {agg_name} FROM {name}"
                if rng.random() < 0.6
                else f"SELECT * FROM {name}"
            ]
            if rng.random() < 0.5:
                outer.append(f"WHERE {agg_name} > {thr}")
            outer.append(f"ORDER BY {agg_name} DESC")
            if rng.random() < 0.5:
                outer.append(self.limit())
        else:
            inner = f"SELECT * FROM {self.tref(t)} {self.where([('', t)], 1, 2)}"
            parents = [(c, p) for c, p in t.parents]
            if parents and rng.random() < 0.6:
                col, p = _ch(rng, parents)
                ra, pa = "r", "p"
                gc = _ch(rng, p.group or p.order)
                outer = [
                    f"SELECT {pa}.{gc.ref}, count(*) AS n",
                    f"FROM {name} {ra}",
                    f"JOIN {self.tref(p)} {pa} ON {pa}.{p.pk[0].ref} = {ra}.{col.ref}",
                    f"GROUP BY {pa}.{gc.ref}",
                    "ORDER BY n DESC",
                ]
            else:
                outer = [self.select_list([c.ref for c in self.cols(t, 1, 3)]), f"FROM {name}"]
                if rng.random() < 0.5:
                    outer.append(self.order_by([("", t)]))
        sep = "\n" if self.ml or rng.random() < 0.3 else " "
        return f"WITH {name} AS ({inner}){sep}{self.join(outer)}"

    def select_distinct(self) -> str:
        rng = self.rng
        t, a = self.one_table()
        if rng.random() < 0.3:
            c = _ch(rng, t.filt)
            clauses = [f"SELECT count(DISTINCT {self.q(a, t, c)})", f"FROM {self.from_item(t, a)}"]
        else:
            cs = self.cols(t, 1, 2, t.group)
            clauses = [
                f"SELECT DISTINCT {', '.join(self.q(a, t, c) for c in cs)}",
                f"FROM {self.from_item(t, a)}",
            ]
            if rng.random() < 0.4:
                clauses.append(self.where([(a, t)], 1, 1))
            if rng.random() < 0.4:
                clauses.append(f"ORDER BY {self.q(a, t, cs[0])}")
        return self.join(clauses)

    def select_setop(self) -> str:
        """Spider-style UNION / INTERSECT / EXCEPT of two single-table selects of the same
        columns."""
        rng = self.rng
        t = _ch(rng, self.tables)
        cs = self.cols(t, 1, 2, [c for c in t.order if not c.pk] or t.order)
        head = f"SELECT {', '.join(c.ref for c in cs)} FROM {self.tref(t)}"
        op = _ch(rng, ("UNION", "INTERSECT", "EXCEPT", "UNION ALL", "INTERSECT", "EXCEPT"))
        left = f"{head} {self.where([('', t)], 1, 1)}"
        right = f"{head} {self.where([('', t)], 1, 1)}"
        return f"{left}{chr(10) if self.ml else ' '}{op}{chr(10) if self.ml else ' '}{right}"

    def select_window(self) -> str:
        rng = self.rng
        t = _ch(rng, self.tables)
        g = _ch(rng, t.group)
        o = _ch(rng, [c for c in t.order if c is not g] or t.order)
        cs = self.cols(t, 1, 3)
        r = rng.random()
        if r < 0.5:
            w = f"row_number() OVER (PARTITION BY {g.ref} ORDER BY {o.ref} DESC) AS rn"
        elif r < 0.75 or not t.num:
            w = f"rank() OVER (ORDER BY {o.ref} DESC) AS {o.base}_rank"
        else:
            n = _ch(rng, t.num)
            w = f"sum({n.ref}) OVER (PARTITION BY {g.ref}) AS {n.base}_by_{g.base}"
        return self.join([self.select_list([c.ref for c in cs] + [w]), f"FROM {self.tref(t)}"])

    # -- INSERT / UPSERT ----------------------------------------------------------------------
    def insert_cols(self, t: Table, with_pk: bool = False) -> list[Col]:
        rng = self.rng
        cols = list(t.required)
        for c in t.optional:
            if rng.random() < 0.55:
                cols.append(c)
        if with_pk:
            cols = [c for c in t.pk if c not in cols] + cols
        if not cols:
            cols = [_ch(rng, t.settable or t.cols)]
        order = {id(c): i for i, c in enumerate(t.cols)}
        cols.sort(key=lambda c: order[id(c)])
        if rng.random() < 0.2:
            rng.shuffle(cols)
        return cols

    def values_rows(self, cols: list[Col], default_ok: bool = False) -> str:
        rng = self.rng
        n = 1 if rng.random() < 0.6 else _ri(rng, 2, 4)
        rows = []
        for _ in range(n):
            vals = [
                "DEFAULT"
                if default_ok and (c.default or c.serial) and rng.random() < 0.5
                else self.lit(c)
                for c in cols
            ]
            rows.append(f"({', '.join(vals)})")
        if n > 1 and (self.ml or rng.random() < 0.3):
            return "VALUES\n    " + ",\n    ".join(rows)
        return "VALUES " + ", ".join(rows)

    def returning(self, t: Table) -> str:
        r = self.rng.random()
        if r < 0.5:
            return "RETURNING " + ", ".join(c.ref for c in t.pk)
        if r < 0.75:
            return "RETURNING *"
        return "RETURNING " + ", ".join(c.ref for c in dict.fromkeys(t.pk + self.cols(t, 1, 2)))

    def insert_select(self, t: Table, verb: str) -> str:
        """INSERT ... SELECT: copy rows from a table sharing column names (or from t itself)."""
        rng = self.rng
        cols = self.insert_cols(t)
        names = {c.base for c in cols if not c.pk}
        srcs = [x for x in self.tables if x is not t and len(names & {c.base for c in x.cols}) >= 2]
        src = _ch(rng, srcs) if srcs and rng.random() < 0.7 else t
        by_base = {c.base: c for c in src.cols}
        exprs = []
        for c in cols:
            s = by_base.get(c.base)
            exprs.append(
                s.ref
                if s is not None and s.kind == c.kind and not (src is t and c.pk)
                else self.lit(c)
            )
        clauses = [
            f"{verb} {self.tref(t)} ({', '.join(c.ref for c in cols)})",
            f"SELECT {', '.join(exprs)}",
            f"FROM {self.tref(src)}",
        ]
        if rng.random() < 0.8:
            clauses.append(self.where([("", src)], 1, 2))
        if rng.random() < 0.1:
            clauses.append(self.limit())
        return self.join(clauses)

    def insert(self) -> str:
        rng = self.rng
        t = _ch(rng, self.tables)
        r = rng.random()
        if r < 0.1:
            return self.insert_select(t, "INSERT INTO")
        if r < 0.17:  # no column list: every column in order
            clauses = [f"INSERT INTO {self.tref(t)}", self.values_rows(t.cols, default_ok=True)]
            return self.join(clauses)
        with_pk = any(c.pk for c in t.cols if c not in t.required) and rng.random() < 0.15
        cols = self.insert_cols(t, with_pk)
        clauses = [
            f"INSERT INTO {self.tref(t)} ({', '.join(c.ref for c in cols)})",
            self.values_rows(cols),
        ]
        r = rng.random()
        if r < 0.1:
            clauses.append("ON CONFLICT DO NOTHING")
        elif r < 0.18:
            target = self.conflict_target(t, cols)
            clauses.append(
                f"ON CONFLICT ({', '.join(c.ref for c in target)}) DO NOTHING"
                if target
                else "ON CONFLICT DO NOTHING"
            )
        elif r < 0.24:
            self.on_conflict_update(t, cols, clauses)
        if rng.random() < 0.14:
            clauses.append(self.returning(t))
        return self.join(clauses)

    def conflict_target(self, t: Table, cols: list[Col]) -> list[Col]:
        uniq = [c for c in cols if c.unique]
        if uniq and self.rng.random() < 0.5:
            return [_ch(self.rng, uniq)]
        return t.pk if all(c in cols for c in t.pk) else uniq[:1]

    def on_conflict_update(self, t: Table, cols: list[Col], clauses: list[str]) -> None:
        target = self.conflict_target(t, cols)
        rest = [c for c in cols if c not in target]
        if not target or not rest:
            clauses.append("ON CONFLICT DO NOTHING")
            return
        sets = self.rng.sample(rest, min(len(rest), _ri(self.rng, 1, 3)))
        assign = ", ".join(
            f"{c.ref} = excluded.{c.ref}"
            if self.rng.random() < 0.6
            else f"{c.ref} = EXCLUDED.{c.ref}"
            for c in sets
        )
        clauses.append(f"ON CONFLICT ({', '.join(c.ref for c in target)}) DO UPDATE SET {assign}")

    def upsert(self) -> str:
        rng = self.rng
        t = _ch(rng, self.tables)
        r = rng.random()
        if r < 0.07:
            return self.insert_select(t, "UPSERT INTO")
        cols = self.insert_cols(t, with_pk=True)
        verb = "UPSERT INTO" if r < 0.72 else "INSERT INTO"
        clauses = [
            f"{verb} {self.tref(t)} ({', '.join(c.ref for c in cols)})",
            self.values_rows(cols),
        ]
        if verb == "INSERT INTO":
            self.on_conflict_update(t, cols, clauses)
        if rng.random() < 0.1:
            clauses.append(self.returning(t))
        return self.join(clauses)

    # -- UPDATE / DELETE / TRUNCATE -----------------------------------------------------------
    def assignment(self, c: Col) -> str:
        rng = self.rng
        r = rng.random()
        k = c.kind
        if k in ("int", "money", "float") and r < 0.35:
            op = _ch(rng, ("+", "-", "*")) if k != "int" else _ch(rng, ("+", "-", "+"))
            amt = _ch(rng, ("1", "5", "10")) if op != "*" else _ch(rng, ("1.1", "0.9", "1.05", "2"))
            return f"{c.ref} = {c.ref} {op} {amt}"
        if k == "ts" and r < 0.5:
            return f"{c.ref} = {_ch(rng, ('now()', 'now()', 'current_timestamp'))}"
        if k == "bool" and r < 0.2:
            return f"{c.ref} = NOT {c.ref}"
        if k == "json" and r < 0.3:
            return f"{c.ref} = {c.ref} || {self.lit(c)}"
        if k == "tags" and r < 0.4:
            return f"{c.ref} = array_append({c.ref}, '{_ch(rng, vocab.WORDS)}')"
        if not c.not_null and r > 0.95:
            return f"{c.ref} = NULL"
        return f"{c.ref} = {self.lit(c)}"

    def row_filter(self, t: Table, verb_clauses: list[str]) -> None:
        """Append a WHERE (or FROM/USING join) to an UPDATE/DELETE."""
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            pk = t.pk
            verb_clauses.append("WHERE " + " AND ".join(f"{c.ref} = {self.lit(c)}" for c in pk))
        elif r < 0.82:
            verb_clauses.append(self.where([("", t)], 1, 2))
        elif r < 0.92 and t.parents:
            col, p = _ch(rng, t.parents)
            inner = (
                f"SELECT {p.pk[0].ref} FROM {self.tref(p)} {self.where([('', p)], 1, 1, nopk=True)}"
            )
            verb_clauses.append(f"WHERE {col.ref} IN ({inner})")
        elif r < 0.97 and t.parents:
            col, p = _ch(rng, t.parents)
            kw = "FROM" if verb_clauses[0].startswith("UPDATE") else "USING"
            c = _ch(rng, p.filt)
            verb_clauses.append(f"{kw} {p.ref}")
            verb_clauses.append(
                f"WHERE {t.ref}.{col.ref} = {p.ref}.{p.pk[0].ref} "
                f"AND {self.pred(c, f'{p.ref}.{c.ref}')}"
            )
        elif r < 0.97:
            verb_clauses.append(self.where([("", t)], 1, 1))

    def update(self) -> str:
        rng = self.rng
        t = _ch(rng, self.tables)
        pool = t.settable or t.cols
        sets = self.cols(t, 1, 3, pool)
        assigns = [self.assignment(c) for c in sets]
        stamp = next((c for c in t.cols if c.base == "updated_at"), None)
        if stamp is not None and stamp not in sets and rng.random() < 0.7:
            assigns.append(f"{stamp.ref} = now()")
        sep = ",\n    " if self.ml else ", "
        clauses = [f"UPDATE {self.tref(t)}", f"SET {sep.join(assigns)}"]
        self.row_filter(t, clauses)
        if rng.random() < 0.1:
            clauses.append(self.returning(t))
        return self.join(clauses)

    def delete(self) -> str:
        t = _ch(self.rng, self.tables)
        clauses = [f"DELETE FROM {self.tref(t)}"]
        self.row_filter(t, clauses)
        if self.rng.random() < 0.08:
            clauses.append(self.returning(t))
        return self.join(clauses)

    def truncate(self) -> str:
        rng = self.rng
        ts = [_ch(rng, self.tables)]
        if len(self.tables) > 1 and rng.random() < 0.15:
            ts.append(_ch(rng, [x for x in self.tables if x is not ts[0]]))
        sql = ("TRUNCATE TABLE " if rng.random() < 0.6 else "TRUNCATE ") + ", ".join(
            self.tref(t) for t in ts
        )
        # CockroachDB refuses to truncate a table referenced from outside the list without CASCADE
        if any(c not in ts for t in ts for c, _ in t.children) or rng.random() < 0.25:
            sql += " CASCADE"
        elif rng.random() < 0.05:
            sql += " RESTRICT"
        return sql

    # -- one styled statement -----------------------------------------------------------------
    def statement(self, kind: str) -> str:
        rng = self.rng
        self.ml = rng.random() < 0.14
        sql = getattr(self, kind)()
        r = rng.random()
        if r < 0.12:
            sql = _lower_keywords(sql)
        elif r < 0.3:
            sql = _FUNCS.sub(lambda m: m.group(0).upper(), sql)
        r = rng.random()
        if r < 0.05 or (r < 0.5 and kind == "select" and " AS T1" in sql):
            sql = _respace(sql, " ,  ", "  =  ")  # Spider's spacing
        elif r < 0.08:
            sql = _respace(sql, ",", "=")
        if rng.random() < 0.65:
            sql += ";"
        return sql


# ---------------------------------------------------------------------------------------------
# groups


def parse_mix(text: str) -> dict[str, float]:
    """'select=0.4,insert=0.2,...' -> normalised weights; kinds not named get 0."""
    mix = {k: 0.0 for k in KINDS}
    for item in text.split(","):
        if not item.strip():
            continue
        kind, _, w = item.partition("=")
        kind = kind.strip().lower()
        if kind not in mix:
            raise ValueError(
                f"unknown statement kind {kind!r} (expected one of {', '.join(KINDS)})"
            )
        mix[kind] = float(w)
        if mix[kind] < 0:
            raise ValueError(f"negative weight for {kind}")
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("mix weights sum to zero")
    return {k: v / total for k, v in mix.items()}


def _reason(problem: str) -> str:
    """A discard reason short enough to count: 'unknown column foo' -> 'unknown column'."""
    return " ".join(problem.split(":")[0].split()[:2])


def generate_groups(
    n_groups: int,
    seed: int,
    mix: dict[str, float] | None = None,
    statements_per_group: int = 16,
    validate: bool = False,
    long_rate: float = LONG_RATE,
    stats: Counter | None = None,
) -> Iterator[dict]:
    """Yield n_groups schema groups in the seed corpus format, deterministic in (seed, arguments).

    validate=True checks every statement with sqlglot; otherwise every VALIDATE_EVERY-th attempt.
    stats, when given, counts 'attempted', 'written' and 'discarded: <reason>'."""
    mix = mix or DEFAULT_MIX
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    cum, acc = [], 0.0
    for k in kinds:
        acc += mix[k]
        cum.append(acc)
    stats = stats if stats is not None else Counter()
    attempt = 0
    for i in range(n_groups):
        rng = random.Random(
            seed * 1_000_003 + i
        )  # per-group stream: group i does not depend on the others
        schema = build_schema(rng, long=rng.random() < long_rate)
        text = render_schema(schema, rng)
        if len(schema.tables) >= 8:
            while len(text) > MAX_LONG_CHARS and len(schema.tables) > 8:
                # tables only reference earlier ones, so the rest stay consistent
                schema.tables.pop()
                for t in schema.tables:
                    t.children = [(c, col) for c, col in t.children if c in schema.tables]
                text = render_schema(schema, rng)
        schema.text = text
        writer = Writer(schema, rng)
        out: dict[str, list[str]] = {k: [] for k in KINDS}
        seen: set[str] = set()
        parsed = None
        for _ in range(statements_per_group):
            kind = kinds[_bisect(cum, rng.random() * acc)]
            sql = writer.statement(kind)
            attempt += 1
            stats["attempted"] += 1
            if sql in seen:
                stats["discarded: duplicate"] += 1
                continue
            seen.add(sql)
            if validate or attempt % VALIDATE_EVERY == 0:
                if parsed is None:
                    parsed = parse_schema(text)
                problem = _schema_problem(schema, parsed) or statement_problem(sql, parsed)
                stats["validated"] += 1
                if problem:
                    stats[f"discarded: {_reason(problem)}"] += 1
                    continue
            out[kind].append(sql)
            stats["written"] += 1
        yield {
            "topic": f"synth/{schema.domain}",
            "detail": i,
            "variant": LAYOUTS.index(schema.layout),
            "schema": text,
            "statements": out,
        }


def _bisect(cum: list[float], x: float) -> int:
    for j, c in enumerate(cum):
        if x < c:
            return j
    return len(cum) - 1


def _schema_problem(schema: Schema, parsed: dict[str, list[str]]) -> str | None:
    """The rendered schema must read back (through parse_schema) as the tables and columns we
    built."""
    if len(parsed) != len(schema.tables):
        return "schema mismatch: table count"
    for t in schema.tables:
        cols = parsed.get(_bare(t.name))
        if cols is None or [c.lower() for c in cols] != [_bare(c.name).lower() for c in t.cols]:
            return f"schema mismatch: {_bare(t.name)}"
    return None


def write_groups(path: str, groups: Iterator[dict]) -> int:
    """Write JSONL atomically (gzip when path ends in .gz, with a fixed header so bytes repeat);
    returns lines."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.{os.getpid()}"
    n = 0
    try:
        with open(tmp, "wb") as raw:
            f = (
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                if path.endswith(".gz")
                else raw
            )
            for g in groups:
                f.write((json.dumps(g, ensure_ascii=False) + "\n").encode("utf-8"))
                n += 1
            if f is not raw:
                f.close()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return n


def main(argv: list[str] | None = None) -> None:
    """CLI: write procedurally generated schema groups to a JSONL(.gz) file."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("-o", "--out", required=True, help="output .jsonl or .jsonl.gz")
    p.add_argument("--groups", type=int, default=1000, help="schema groups to write (default 1000)")
    p.add_argument(
        "--seed", type=int, default=0, help="same seed and arguments, same bytes (default 0)"
    )
    p.add_argument(
        "--mix",
        default=",".join(f"{k}={v}" for k, v in DEFAULT_MIX.items()),
        help="statement kind weights",
    )
    p.add_argument(
        "--statements-per-group",
        type=int,
        default=16,
        help="statements attempted per schema (default 16)",
    )
    p.add_argument(
        "--long-rate", type=float, default=LONG_RATE, help="share of long (8-12 table) schemas"
    )
    p.add_argument(
        "--validate",
        action="store_true",
        help=f"sqlglot-check every statement (default: every {VALIDATE_EVERY}th)",
    )
    args = p.parse_args(argv)
    try:
        mix = parse_mix(args.mix)
    except ValueError as e:
        p.error(str(e))
    stats: Counter = Counter()
    t0 = time.time()
    groups = tqdm(
        generate_groups(
            args.groups,
            args.seed,
            mix,
            args.statements_per_group,
            args.validate,
            args.long_rate,
            stats,
        ),
        total=args.groups,
        unit="group",
        file=sys.stderr,
        mininterval=1.0,
    )
    n = write_groups(args.out, groups)
    dt = max(time.time() - t0, 1e-9)
    discarded = {
        k.split(": ", 1)[1]: v for k, v in sorted(stats.items()) if k.startswith("discarded: ")
    }
    checked = "all" if args.validate else f"{stats['validated']} sampled"
    print(
        f"{args.out}: {n} groups, {stats['written']} statements written, "
        f"{sum(discarded.values())} discarded "
        f"{json.dumps(discarded)} of {stats['attempted']} attempted "
        f"({checked} checked with sqlglot), "
        f"{stats['attempted'] / dt:,.0f} statements/s"
    )


if __name__ == "__main__":
    main()
