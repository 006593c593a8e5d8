"""Autocomplete accuracy and latency: models, the n-gram and DuckDB on the same requests.

    python -m sqlcomplete.evaluate DATA.jsonl [DATA.jsonl ...] --ckpt out/15m/best [--ckpt ...]
        --baseline ngram --baseline duckdb [--rows 200] [--out-dir results] [--readme README.md]

DATA rows are `{"id", "kind"?, "schema", "statement"}` (../shared/EVAL.md). Requests are the
scorer's: the cursor at the start of every word and symbol after the first, and after the
first 2 characters of every identifier of 4+ characters that is not a keyword. Each
completer runs in this process, requests grouped by schema; the schema's set-up (a model's
prefill, DuckDB's CREATE TABLEs) is timed once per schema, apart from the per-request
latency. Metrics (case-insensitive, the definitions of ../shared/eval/score.py):

  next@1, next@5  first word of the best / any top-5 completion is the next word
  ident@1         next@1 on words naming a table or column of the schema
  mid@1           cursor 2 characters into an identifier: the best completion finishes it
  saved           keystrokes saved when the best completion is accepted (one key) whenever
                  it covers one or more whole upcoming tokens
  unknown@1, @5   share of word-start requests whose best / any top-5 completion starts with a
                  name found nowhere: not in the schema, not typed before the cursor, not a SQL
                  keyword, function or type, not a short alias such as T1 (lower is better)
  junk@5          share of requests (word starts and mid-word) where some top-5 completion is one
                  no person would accept (lower is better), of three kinds, each also alone:
    cut@5           it ends inside a word (`... ORDER BY created_at D`)
    type@5          right after `column <op> `, a literal of the wrong kind for the column's type
    grammar@5       where a table must come, a word that is no table, no name typed before, not `(`

Writes OUT_DIR/results.md (a table per data set, then per statement kind), results.json and
accuracy_latency.png (next@1 and saved against median latency). --readme FILE replaces the
text between `<!-- results:start -->` and `<!-- results:end -->` with results.md.
"""

import argparse
import functools
import glob
import json
import os
import re
import site
import statistics
import sys
import time
from collections import defaultdict

from sqlcomplete.completion.service import CompletionService
from sqlcomplete.files import write_text_atomic
from sqlcomplete.sql.lexicon import KEYWORDS, SHORT_ALIAS, TOKEN
from sqlcomplete.sql.schema import parse_schema

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
FIRST_WORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\S)")
METRICS = (
    "next@1",
    "next@5",
    "ident@1",
    "mid@1",
    "saved",
    "unknown@1",
    "unknown@5",
    "junk@5",
    "cut@5",
    "type@5",
    "grammar@5",
)
JUNK_KINDS = ("cut", "type", "grammar")
# ../shared/eval/score.py's words that name no table or column, beside KEYWORDS: with the schema's
# words, the words typed before the cursor and short aliases (T1), what `unknown` does not count
SCORER_KNOWN = frozenset(
    """abs age all any array array_agg asc avg between bigint bool boolean by cascade case cast ceil
ceiling char coalesce collate concat conflict constraint count cross cume_dist current current_date
current_time current_timestamp date date_part date_trunc datetime day days decimal default delete
dense_rank desc distinct do double else end epoch escape except excluded exists extract false fetch
filter first first_value float floor following for from full generate_series glob greatest group
having hour if ifnull ilike in inner insert int integer intersect interval into is isnull join json
jsonb julianday key lag last last_value lateral lead least left length like limit ln log lower ltrim
max min minute mod month natural next not nothing now ntile null nullif nulls numeric offset on only
or order outer over partition percent_rank position power preceding precision random range rank real
recursive regexp replace returning right round row row_number rows rtrim second select serial set
similar some sqrt stddev strftime string_agg substr substring sum table text then time timestamp
to_char to_date to_timestamp top trim true truncate unbounded union unique unnest update upper
upsert using uuid values varchar variance week when where window with within year""".split()
)
MARKERS = ("<!-- results:start -->", "<!-- results:end -->")


# ---------------------------------------------------------------- requests and metrics


def statement_kind(row: dict) -> str:
    if row.get("kind"):
        return str(row["kind"]).lower()
    m = re.match(r"\s*([A-Za-z]+)", row["statement"])
    return m.group(1).lower() if m else "other"


def build_requests(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Requests {key, schema, prefix} and the statements they come from. A key is
    (statement index, "s" for a word start or "m" for mid-word, token index)."""
    requests, statements = [], []
    for r, row in enumerate(rows):
        text = row["statement"]
        spans = [m.span() for m in TOKEN.finditer(text)]
        statements.append(
            {
                "id": row.get("id", str(r)),
                "kind": statement_kind(row),
                "set": row.get("set"),
                "text": text,
                "spans": spans,
                "names": {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", row["schema"])},
                "kinds": scorer_column_kinds(row["schema"]),
                "tables": scorer_tables(row["schema"]),
            }
        )
        statements[-1]["vocab"] = statements[-1]["names"] | KEYWORDS | SCORER_KNOWN
        for i, (s, e) in enumerate(spans[1:], 1):
            requests.append({"key": (r, "s", i), "schema": row["schema"], "prefix": text[:s]})
            word = text[s:e]
            if WORD.match(word) and len(word) >= 4 and word.lower() not in KEYWORDS:
                requests.append(
                    {"key": (r, "m", i), "schema": row["schema"], "prefix": text[: s + 2]}
                )
    return requests, statements


def first_word(completion: str) -> str:
    m = FIRST_WORD.match(completion)
    return m.group(1).lower() if m else ""


def finishes(word: str, completion: str) -> bool:
    """Typed word[:2] + completion spells the word, then a non-word character or the end."""
    return re.match(r"[a-z0-9_]*", (word[:2] + completion).lower()).group(0) == word.lower()


def tokens_covered(low: str, spans: list, i: int, completion: str) -> int:
    """How many whole tokens from token i the completion types exactly (case-insensitive)."""
    start, k = spans[i][0], 0
    for _, end in spans[i:]:
        n = end - start
        if len(completion) < n or low[start : start + n] != completion[:n]:
            break
        k += 1
    return k


def keystrokes(text: str, spans: list, best) -> int:
    """Keys to type `text` token by token when best(i), the top completion at token i, is
    accepted with one key where it covers whole tokens (and saves more than one character)."""
    low, cost, i = text.lower(), 0, 0
    while i < len(spans):
        start = spans[i][0]
        comp = best(i) if i else None
        k = tokens_covered(low, spans, i, comp.lower()) if comp else 0
        if k and spans[i + k - 1][1] - start > 1:
            cost, i = cost + 1, i + k
        else:
            cost += (spans[i + 1][0] if i + 1 < len(spans) else len(text)) - start
            i += 1
    return cost


def unknown_name(completion: str, names: set[str], typed: set[str]) -> bool:
    """The completion starts with a name found nowhere (score.py's definition)."""
    w = first_word(completion)
    return (
        bool(WORD.match(w))
        and w not in names
        and w not in typed
        and w not in KEYWORDS
        and w not in SCORER_KNOWN
        and not SHORT_ALIAS.fullmatch(w)
    )


# ---- junk@5: ../shared/eval/score.py's rules, copied exactly (its own schema reading, not ours)

_NUM_TYPE = re.compile(
    r"^(int\w*|bigint|smallint|tinyint|mediumint|decimal|numeric|float\w*|double|real|serial"
    r"|bigserial|smallserial|number|money)$",
    re.I,
)
_TEXT_TYPE = re.compile(
    r"^(varchar\w*|nvarchar\w*|char\w*|nchar|text|string|clob|uuid|citext|enum)$", re.I
)
_TIME_TYPE = re.compile(r"^(date|datetime|timestamp\w*|time|timetz|interval)$", re.I)
_BOOL_TYPE = re.compile(r"^(bool|boolean)$", re.I)
_NOT_COLUMN = {"primary", "foreign", "constraint", "unique", "index", "key", "check", "family"}
_NOT_COLUMN |= {"inverted", "exclude"}
# literal kinds that are wrong for a column kind
BAD_LITERAL = {
    "num": {"string", "bool"},
    "text": {"number", "bool"},
    "time": {"number", "bool"},
    "bool": {"string"},
}
_TABLE_CONTEXT = re.compile(r"\b(from|join|into|update)\s+(\w*)$", re.I)
_IN_FUNCTION = re.compile(r"\b(extract|substring|trim|position|overlay)\s*\([^()]*$", re.I)
_COMPARED = re.compile(r"[`\"\[]?(\w+)[`\"\]]?\s*(=|<>|!=|<=|>=|<|>)\s*$")


def _body_items(schema: str, start: int) -> list[str]:
    """The top-level items of the body opened just before `start` (score.py's scan)."""
    depth, i = 1, start
    while i < len(schema) and depth:
        depth += {"(": 1, ")": -1}.get(schema[i], 0)
        i += 1
    items, depth, cur = [], 0, ""
    for ch in schema[start : i - 1]:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        cur += ch
    return items + [cur]


def _type_kind(sql_type: str) -> str | None:
    for kind, pattern in (
        ("num", _NUM_TYPE),
        ("text", _TEXT_TYPE),
        ("time", _TIME_TYPE),
        ("bool", _BOOL_TYPE),
    ):
        if pattern.match(sql_type):
            return kind
    return None


@functools.lru_cache(maxsize=64)
def scorer_column_kinds(schema: str) -> dict[str, str]:
    """Column name (lower) -> 'num' | 'text' | 'time' | 'bool', where every declaration agrees."""
    kinds = {}
    for m in re.finditer(r"create\s+table[^(]*\(", schema, re.I):
        for it in _body_items(schema, m.end()):
            w = re.match(r"\s*[`\"\[]?(\w+)[`\"\]]?\s+(\w+)", it)
            if not w or w.group(1).lower() in _NOT_COLUMN:
                continue
            k, name = _type_kind(w.group(2)), w.group(1).lower()
            kinds[name] = k if kinds.get(name, k) == k else None
    return {c: k for c, k in kinds.items() if k}


@functools.lru_cache(maxsize=64)
def scorer_tables(schema: str) -> frozenset[str]:
    """The tables (lower) of each CREATE TABLE with a column, as score.py reads them."""
    out = set()
    for m in re.finditer(
        r"create\s+table\s+(?:if\s+not\s+exists\s+)?([`\"\w.]+)\s*\(", schema, re.I
    ):
        heads = [re.match(r"\s*([`\"\w]+)", it) for it in _body_items(schema, m.end())]
        if any(w and w.group(1).strip('`"').lower() not in _NOT_COLUMN for w in heads):
            out.add(m.group(1).strip('`"').split(".")[-1].lower())
    return frozenset(out)


def literal_kind(completion: str) -> str | None:
    m = re.match(r"\s*('|-?\d|true\b|false\b)", completion, re.I)
    if not m:
        return None
    g = m.group(1).lower()
    return "string" if g == "'" else "bool" if g in ("true", "false") else "number"


def junk_kinds(prefix: str, completion: str, stmt: dict, typed: set[str]) -> set[str]:
    """The kinds of junk (cut, type, grammar) in one completion of prefix (score.py's)."""
    out = set()
    if prefix.count("'") % 2:  # inside a string literal: none of the three applies
        return out
    whole = prefix + completion
    tail = re.search(r"([A-Za-z_][A-Za-z0-9_]*)$", whole)
    if completion.strip() and tail and whole.count("'") % 2 == 0:
        w = tail.group(1).lower()
        known = (
            w in stmt["names"]
            or w in typed
            or w in KEYWORDS
            or w in SCORER_KNOWN
            or SHORT_ALIAS.fullmatch(w)
        )
        if not known and any(k.startswith(w) and k != w for k in stmt["vocab"]):
            out.add("cut")
    m = _COMPARED.search(prefix)
    if m:
        kind, lit = stmt["kinds"].get(m.group(1).lower()), literal_kind(completion)
        if kind and lit in BAD_LITERAL[kind]:
            out.add("type")
    m = _TABLE_CONTEXT.search(prefix)
    if m and not _IN_FUNCTION.search(prefix):
        word = re.match(r"[A-Za-z0-9_]*", completion).group(0)
        full = (m.group(2) + word).lower()
        rest = completion[len(word) :]
        if (
            full
            and not rest[:1] == "."
            and full not in stmt["tables"]
            and full not in typed
            and full not in ("lateral", "only", "if", "table")
            and full not in SCORER_KNOWN
        ):
            out.add("grammar")
        elif (
            not full
            and completion.strip()
            and not completion.lstrip().startswith(("(", '"', "`", "["))
        ):
            w2 = first_word(completion)
            if (
                w2 not in stmt["tables"]
                and w2 not in typed
                and w2 not in ("lateral", "only")
                and w2 not in SCORER_KNOWN
            ):
                out.add("grammar")
    return out


def count_hits(stmt: dict, r: int, results: dict) -> dict:
    """Per-statement counts; results maps request keys to completion lists (a missing mid-word
    key is not counted, as in score.py)."""
    c = dict.fromkeys(
        ("next", "next1", "next5", "ident", "ident1", "mid", "mid1", "unk1", "unk5", "asked"), 0
    ) | dict.fromkeys(("junk", *JUNK_KINDS), 0)
    text, spans = stmt["text"], stmt["spans"]
    for i, (s, e) in enumerate(spans[1:], 1):
        word = text[s:e]
        if WORD.match(word):
            completions = results.get((r, "s", i), [])[:5]
            firsts = [first_word(x) for x in completions]
            top = bool(firsts) and firsts[0] == word.lower()
            typed = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text[:s])}
            unknown = [unknown_name(x, stmt["names"], typed) for x in completions]
            c["unk1"] += bool(unknown) and unknown[0]
            c["unk5"] += any(unknown)
            c["next"] += 1
            c["next1"] += top
            c["next5"] += word.lower() in firsts
            if word.lower() in stmt["names"] and word.lower() not in KEYWORDS:
                c["ident"] += 1
                c["ident1"] += top
        typed_all = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text[:s])}
        for kind, prefix in (("s", text[:s]), ("m", text[: s + 2])):
            completions = results.get((r, kind, i))
            if completions is None:
                continue
            c["asked"] += 1
            junk = set().union(*(junk_kinds(prefix, x, stmt, typed_all) for x in completions[:5]))
            c["junk"] += bool(junk)
            for k in junk:
                c[k] += 1
        mids = results.get((r, "m", i))
        if mids is not None:
            c["mid"] += 1
            c["mid1"] += bool(mids) and finishes(word, mids[0])
    c["typed"] = keystrokes(text, spans, lambda i: (results.get((r, "s", i)) or [None])[0])
    c["chars"] = len(text)
    return c


def metrics(counts: list[dict]) -> dict:
    t = defaultdict(int)
    for c in counts:
        for k, v in c.items():
            t[k] += v
    return {
        "next@1": t["next1"] / max(t["next"], 1),
        "next@5": t["next5"] / max(t["next"], 1),
        "ident@1": t["ident1"] / max(t["ident"], 1),
        "mid@1": t["mid1"] / max(t["mid"], 1),
        "saved": 1 - t["typed"] / max(t["chars"], 1),
        "unknown@1": t["unk1"] / max(t["next"], 1),
        "unknown@5": t["unk5"] / max(t["next"], 1),
        "junk@5": t["junk"] / max(t["asked"], 1),
        **{f"{k}@5": t[k] / max(t["asked"], 1) for k in JUNK_KINDS},
        "n_statements": len(counts),
        "n_next": t["next"],
        "n_ident": t["ident"],
        "n_mid": t["mid"],
    }


def score(statements: list[dict], results: dict) -> dict:
    """Overall metrics, per statement kind, and per subset where rows carry a `set` field."""
    counts = [count_hits(st, r, results) for r, st in enumerate(statements)]
    by_kind, by_set = defaultdict(list), defaultdict(list)
    for st, c in zip(statements, counts):
        by_kind[st["kind"]].append(c)
        if st["set"]:
            by_set[st["set"]].append(c)
    return {
        "overall": metrics(counts),
        "by_kind": {k: metrics(v) for k, v in sorted(by_kind.items())},
        "by_set": {k: metrics(v) for k, v in sorted(by_set.items())},
    }


# ---------------------------------------------------------------- completers


class ModelRunner:
    """A checkpoint through sample.Completer (one CPU thread, as served)."""

    def __init__(
        self, ckpt: str, threads: int = 1, ngram: str | None = "default", backend: str = "auto"
    ):
        from sqlcomplete.completion.engine import Completer

        self.c = Completer(ckpt, threads=threads, ngram=ngram, backend=backend)
        self.service = CompletionService(self.c)  # as every front end serves it
        params = self.c.backend.num_params
        parts = os.path.normpath(self.c.ckpt).split(os.sep)
        how = f"reranking {self.c.ngram.order}-gram proposals" if self.c.ngram else "alone"
        on = f"{params / 1e6:.1f}M, {self.c.backend.name}"
        self.name = f"model {'/'.join(parts[-2:])} ({on}), {how}"

    def set_schema(self, schema: str):
        self.service.set_schema(schema)
        self.c.prefill()  # timed as the schema's set-up, not as the first request

    def complete(self, prefix: str, suffix: str, n: int) -> list[str]:
        return self.service.complete(prefix, suffix, n)


class NgramRunner:
    def __init__(self, path: str | None = None):
        from sqlcomplete.completion.ngram import NgramCompleter

        self.c = NgramCompleter(path)
        self.service = CompletionService(self.c)
        self.name = f"{self.c.order}-gram (schema-aware)"

    def set_schema(self, schema: str):
        self.service.set_schema(schema)

    def complete(self, prefix: str, suffix: str, n: int) -> list[str]:
        return self.service.complete(prefix, suffix, n)


def duckdb_extension() -> str:
    """Path of the autocomplete extension shipped by the duckdb-ext-autocomplete package."""
    import duckdb  # noqa: F401 (ImportError: not installed)

    found = []
    for d in site.getsitepackages() + [site.getusersitepackages()]:
        found += glob.glob(
            os.path.join(d, "duckdb_ext/extensions/*/*/autocomplete.duckdb_extension")
        )
    if not found:
        raise ImportError("duckdb-ext-autocomplete is not installed")
    return found[0]


class DuckDBRunner:
    """DuckDB's rule-based sql_auto_complete over the schema's tables (every column VARCHAR),
    the extension loaded offline from its package, as ../shared/eval/score.py does."""

    def __init__(self):
        import duckdb

        self.duckdb, self.ext, self.con = duckdb, duckdb_extension(), None
        self.name = f"DuckDB {duckdb.__version__} sql_auto_complete"

    def set_schema(self, schema: str):
        if self.con is not None:
            self.con.close()
        # one thread, as the models get: a request is tiny, and waking worker threads costs more
        self.con = self.duckdb.connect(config={"allow_unsigned_extensions": "true", "threads": 1})
        self.con.execute(f"LOAD '{self.ext}'")
        for table, cols in parse_schema(schema).items():
            try:
                self.con.execute(
                    f'CREATE TABLE "{table}" (' + ", ".join(f'"{c}" VARCHAR' for c in cols) + ")"
                )
            except self.duckdb.Error:
                pass

    def complete(self, prefix: str, suffix: str, n: int) -> list[str]:
        # sql_auto_complete reads the text before the cursor only
        rows = self.con.execute(
            f"SELECT suggestion, suggestion_start FROM sql_auto_complete(?) LIMIT {int(n)}",
            [prefix],
        ).fetchall()
        out = []
        for sug, start in rows:
            typed, sug = prefix[start:], sug.strip('"')
            out.append(sug[len(typed) :] if sug.lower().startswith(typed.lower()) else sug)
        return out


def run_completer(
    runner, requests: list[dict], n: int = 5
) -> tuple[dict, list[float], list[float], list[float], int]:
    """Completions by request key, per-request wall and CPU times (ms), per-schema set-up times
    (ms), errors."""
    by_schema = defaultdict(list)
    for q in requests:
        by_schema[q["schema"]].append(q)
    results, latency, cpu, setup, errors = {}, [], [], [], 0
    for schema, qs in by_schema.items():
        t = time.perf_counter()
        runner.set_schema(schema)
        setup.append(1000 * (time.perf_counter() - t))
        for q in sorted(qs, key=lambda q: q["prefix"]):  # as sample.py's batch mode: cache reuse
            t, c = time.perf_counter(), time.process_time()
            try:
                results[q["key"]] = runner.complete(q["prefix"], q.get("suffix", ""), n)
            except Exception as e:  # one bad request must not stop the run
                errors += 1
                results[q["key"]] = []
                if errors <= 3:
                    print(f"  {runner.name}: {type(e).__name__}: {e}", file=sys.stderr)
            latency.append(1000 * (time.perf_counter() - t))
            cpu.append(
                1000 * (time.process_time() - c)
            )  # steadier than wall time on a busy machine
    return results, latency, cpu, setup, errors


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


# ---------------------------------------------------------------- reports


def markdown(report: dict) -> str:
    lines = []
    for name, ds in report["datasets"].items():
        lines += [
            f"**{name}** ({ds['rows']} statements, {ds['requests']} requests)",
            "",
            "| completer | "
            + " | ".join(METRICS)
            + " | p50 ms | p95 ms | CPU p50 ms | schema ms |",
            "|---" * (len(METRICS) + 5) + "|",
        ]
        for cname, r in ds["completers"].items():
            m, lat = r["overall"], r["latency_ms"]
            times = [lat["p50"], lat["p95"], lat["cpu_p50"]]
            lines.append(
                f"| {cname} | "
                + " | ".join(f"{m[k]:.3f}" for k in METRICS)
                + " | "
                + " | ".join(f"{t:.2f}" for t in times)
                + f" | {r['schema_ms']['mean']:.1f} |"
            )
        lines += [
            "",
            "<details><summary>per statement kind (and subset)</summary>",
            "",
            "| completer | kind / *subset* | statements | " + " | ".join(METRICS) + " |",
            "|---" * (len(METRICS) + 3) + "|",
        ]
        for cname, r in ds["completers"].items():
            for kind, m in list(r["by_kind"].items()) + [
                (f"*{s}*", m) for s, m in r.get("by_set", {}).items()
            ]:
                values = " | ".join(f"{m[k]:.3f}" for k in METRICS)
                lines.append(f"| {cname} | {kind} | {m['n_statements']} | {values} |")
        lines += ["", "</details>", ""]
    if report["notes"]:
        lines += [f"- {note}" for note in report["notes"]] + [""]
    lines.append(
        f"Latency: one request at a time, in process, on {report['machine']}: wall time, and the "
        "process's CPU time (steadier on a busy machine; all threads); "
        "schema ms is the once-per-schema set-up (a model's prefill), not in the per-request times."
    )
    return "\n".join(lines) + "\n"


def plot(report: dict, path: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    sets = list(report["datasets"].items())
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5), squeeze=False)
    names = sorted({c for _, ds in sets for c in ds["completers"]})
    colors = {c: plt.cm.tab10(i % 10) for i, c in enumerate(names)}
    for ax, (name, ds) in zip(axes[0], sets):
        for cname, r in ds["completers"].items():
            x = max(r["latency_ms"]["p50"], 1e-3)
            ax.scatter(
                [x],
                [r["overall"]["next@1"]],
                color=colors[cname],
                marker="o",
                s=60,
                label=f"{cname}: next@1",
            )
            ax.scatter(
                [x],
                [r["overall"]["saved"]],
                color=colors[cname],
                marker="s",
                s=60,
                facecolors="none",
                label=f"{cname}: saved",
            )
            ax.annotate(
                cname,
                (x, r["overall"]["next@1"]),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.set_xscale("log")
        xs = [max(r["latency_ms"]["p50"], 1e-3) for r in ds["completers"].values()] or [1.0]
        ax.set_xlim(min(xs) / 3, max(xs) * 6)  # room for the labels
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(0, 1)
        ax.set_xlabel("median latency per request (ms, log scale)")
        ax.set_ylabel("next@1 (filled) / saved (hollow)")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def update_readme(path: str, text: str) -> bool:
    """Replace the text between the results markers; False (file untouched) when they are
    missing."""
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    a, b = doc.find(MARKERS[0]), doc.find(MARKERS[1])
    if a < 0 or b < a:
        return False
    doc = doc[: a + len(MARKERS[0])] + "\n" + text + doc[b:]
    write_text_atomic(path, doc)
    return True


def readme_datasets(path: str) -> list[str]:
    """The data sets the results section of a README shows (its `**name**` headings)."""
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    a, b = doc.find(MARKERS[0]), doc.find(MARKERS[1])
    return re.findall(r"^\*\*([^*]+)\*\* \(", doc[a:b], re.M) if 0 <= a < b else []


def read_rows(path: str, max_rows: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row.get("schema"), str) or not isinstance(row.get("statement"), str):
                raise ValueError(f"{path}:{lineno}: a row needs string fields schema and statement")
            rows.append(row)
            if len(rows) == max_rows:
                break
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "data",
        nargs="+",
        help="JSONL of {id, kind?, schema, statement}; each file is its own table",
    )
    ap.add_argument(
        "--ckpt", action="append", default=[], help="a model checkpoint (repeatable: one row each)"
    )
    ap.add_argument(
        "--baseline", action="append", default=[], choices=("ngram", "duckdb"), help="repeatable"
    )
    ap.add_argument(
        "--ngram",
        default=None,
        help="n-gram model file (default sqlcomplete/models/ngram.safetensors)",
    )
    ap.add_argument(
        "--model-alone",
        action="store_true",
        help="also evaluate each --ckpt without the n-gram's proposals (its own decoding only)",
    )
    ap.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "onnx", "torch"),
        help="what runs each --ckpt (the completer's --backend)",
    )
    ap.add_argument("--rows", type=int, default=200, help="statements per data file")
    ap.add_argument("--num", type=int, default=5, help="completions per request")
    ap.add_argument("--out-dir", default="results")
    ap.add_argument(
        "--readme", default=None, help="rewrite this file's results section with results.md"
    )
    args = ap.parse_args(argv)
    if not args.ckpt and not args.baseline:
        ap.error("nothing to evaluate: give --ckpt and/or --baseline")
    for path in args.data:  # before loading anything: a one-line error, not a traceback
        if not os.path.isfile(path):
            ap.error(f"no data file {path}")

    names = [os.path.splitext(os.path.basename(p))[0] for p in args.data]
    missing = [n for n in readme_datasets(args.readme) if n not in names] if args.readme else []
    suffix = "-partial" if missing else ""
    if missing:  # a run without the full data must not replace the published results
        print(
            f"the results in {args.readme} show {', '.join(missing)}, which this run lacks "
            f"(is ../shared there?): {args.readme} stays as it is, and this report goes to "
            f"{args.out_dir}/results{suffix}.md",
            file=sys.stderr,
        )
    datasets = {}
    for path in args.data:
        rows = read_rows(path, args.rows)
        name = os.path.splitext(os.path.basename(path))[0]
        datasets[name] = build_requests(rows)
        print(f"{path}: {len(rows)} statements, {len(datasets[name][0])} requests", file=sys.stderr)

    notes = []
    ngram = args.ngram or "default"
    makers = [
        (lambda ckpt=ckpt: ModelRunner(ckpt, ngram=ngram, backend=args.backend), False)
        for ckpt in args.ckpt
    ]
    if args.model_alone:
        makers += [
            (lambda ckpt=ckpt: ModelRunner(ckpt, ngram=None, backend=args.backend), False)
            for ckpt in args.ckpt
        ]
    for b in args.baseline:  # a baseline that cannot run is skipped with a note; a model cannot be
        makers.append(
            (lambda: NgramRunner(args.ngram), True) if b == "ngram" else (DuckDBRunner, True)
        )
    report = {
        "datasets": {
            name: {"rows": len(st), "requests": len(rq), "completers": {}}
            for name, (rq, st) in datasets.items()
        },
        "notes": notes,
        "machine": f"{os.cpu_count()} CPU cores, 1 thread",
    }
    for make, optional in makers:
        try:
            runner = make()
        except (ImportError, FileNotFoundError, ValueError) as e:
            if not optional:
                sys.exit(f"cannot load a model: {e}")
            note = f"skipped a baseline: {type(e).__name__}: {e}"
            if "duckdb" in str(e).lower():
                note += (
                    ' (install: pip install "duckdb==1.4.4" duckdb-ext-autocomplete, '
                    "or the eval extra)"
                )
            print(note, file=sys.stderr)
            notes.append(note)
            continue
        for name, (requests, statements) in datasets.items():
            t = time.time()
            results, latency, cpu, setup, errors = run_completer(runner, requests, args.num)
            r = score(statements, results)
            r["latency_ms"] = {
                "p50": percentile(latency, 50),
                "p95": percentile(latency, 95),
                "mean": statistics.fmean(latency) if latency else float("nan"),
                "cpu_p50": percentile(cpu, 50),
                "cpu_p95": percentile(cpu, 95),
            }
            r["schema_ms"] = {
                "mean": statistics.fmean(setup) if setup else 0.0,
                "max": max(setup, default=0.0),
                "schemas": len(setup),
            }
            r["errors"] = errors
            report["datasets"][name]["completers"][runner.name] = r
            m = r["overall"]
            print(
                f"{runner.name} on {name}: "
                + " ".join(f"{k} {m[k]:.3f}" for k in METRICS)
                + f" p50 {r['latency_ms']['p50']:.2f} ms p95 {r['latency_ms']['p95']:.2f} ms"
                f" (CPU p50 {r['latency_ms']['cpu_p50']:.2f} ms)"
                f" ({time.time() - t:.0f}s, {errors} errors)",
                file=sys.stderr,
            )

    os.makedirs(args.out_dir, exist_ok=True)
    md = markdown(report)
    write_text_atomic(os.path.join(args.out_dir, f"results{suffix}.md"), md)
    report_json = json.dumps(report, indent=1) + "\n"
    write_text_atomic(os.path.join(args.out_dir, f"results{suffix}.json"), report_json)
    plot(report, os.path.join(args.out_dir, f"accuracy_latency{suffix}.png"))
    print(md)
    print(
        f"wrote {args.out_dir}/results{suffix}.md, results{suffix}.json, "
        f"accuracy_latency{suffix}.png",
        file=sys.stderr,
    )
    if args.readme and not missing:
        if not os.path.isfile(args.readme):
            sys.exit(f"--readme: {args.readme} not found; results are in {args.out_dir}/results.md")
        if not update_readme(args.readme, md):
            sys.exit(
                f"--readme: {args.readme} has no results section: add the lines {MARKERS[0]} and "
                f"{MARKERS[1]} where the results go, then run again "
                f"(results are in {args.out_dir}/results.md)"
            )
        print(f"updated the results section of {args.readme}", file=sys.stderr)


if __name__ == "__main__":
    main()
