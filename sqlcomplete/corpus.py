"""Reading the corpus: groups of one schema and its statements, from JSONL(.gz) files or SQLPilot's
on-disk layout, with every bad line or file reported (file:line), counted and skipped. prepare.py
(tokens) and the n-gram's training read sources through here."""

import glob
import gzip
import json
import os
import re
import sys
import zlib
from collections import Counter

from sqlcomplete.sql.schema import parse_schema

KINDS = ("select", "insert", "update", "delete", "truncate", "upsert")


# ---------------------------------------------------------------- reading sources


def _lines(path: str, stats: Counter, strict: bool):
    """(line number, bytes) of a file, gunzipped if .gz. A truncated or corrupt stream ends the
    lines with a report naming the file and the last line read, counted in stats["damaged files"]
    (so in meta.json), the lines before it kept; with `strict` it is an error instead."""
    lineno = 0
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        lines = iter(f)
        while True:
            try:
                raw = next(lines)
            except StopIteration:
                return
            except (EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
                message = f"{path}: damaged after line {lineno} ({type(e).__name__}: {e})"
                if strict:
                    raise SystemExit(f"{message}; stopped (--strict)") from None
                print(f"{message}; the {lineno} lines before it are kept", file=sys.stderr)
                stats["damaged files"] += 1
                return
            lineno += 1
            yield lineno, raw


def read_jsonl(path: str, stats: Counter, strict: bool = False):
    """Groups of a JSONL(.gz) file; bad lines (invalid UTF-8, malformed JSON, missing fields)
    are reported with file:line, counted and skipped; so is damage to the file itself (_lines)."""
    for lineno, raw in _lines(path, stats, strict):
        if not raw.strip():
            continue
        try:
            group = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            print(f"{path}:{lineno}: invalid UTF-8 ({e.reason}); line skipped", file=sys.stderr)
            stats["skipped: invalid utf-8"] += 1
            continue
        except json.JSONDecodeError as e:
            print(f"{path}:{lineno}: malformed JSON ({e.msg}); line skipped", file=sys.stderr)
            stats["skipped: malformed json"] += 1
            continue
        if usable(group, f"{path}:{lineno}", stats):
            yield group


def group_problem(group) -> str | None:
    if not isinstance(group, dict):
        return "not a JSON object"
    if not isinstance(group.get("schema"), str) or not group["schema"].strip():
        return "missing or empty schema"
    stmts = group.get("statements")
    if not isinstance(stmts, dict):
        return "missing statements object"
    if not any(
        isinstance(v, list) and any(isinstance(s, str) and s.strip() for s in v)
        for v in stmts.values()
    ):
        return "empty statement lists"
    return None


def usable(group, where: str, stats: Counter) -> bool:
    """Whether a group can be used; one that cannot is reported with `where`, counted and
    skipped."""
    problem = group_problem(group)
    if problem:
        print(f"{where}: {problem}; skipped", file=sys.stderr)
        stats[f"skipped: {problem}"] += 1
        return False
    stats["groups read"] += 1
    return True


def read_seed_layout(root: str, stats: Counter):
    """Groups of SQLPilot's on-disk layout (tons_of_tables + diverse_statements).

    A schema file is a list of variants (text, {"schema": text} or the seed's
    {"tables": [{"table_schema": ...}]}); a statement file is a list whose entry k (a list
    of statements or {"statements": [...]}) belongs to variant k, or the seed's flat
    {"statements": [...]}, whose statements go to the first variant they are valid against.
    """
    for schema_file in sorted(glob.glob(os.path.join(root, "tons_of_tables", "*", "*.json"))):
        topic = os.path.basename(os.path.dirname(schema_file))
        detail = os.path.splitext(os.path.basename(schema_file))[0]
        try:
            with open(schema_file, encoding="utf-8") as f:
                variants = json.load(f)
            variants = variants if isinstance(variants, list) else [variants]
            texts = [
                v if isinstance(v, str) else v.get("schema") if "schema" in v else schema_text(v)
                for v in variants
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            print(f"{schema_file}: unreadable ({type(e).__name__}: {e}); skipped", file=sys.stderr)
            stats["skipped: unreadable schema file"] += 1
            continue
        statements = {}
        for kind_file in sorted(
            glob.glob(os.path.join(root, "diverse_statements", topic, detail, "*.json"))
        ):
            kind = os.path.splitext(os.path.basename(kind_file))[0]
            try:
                with open(kind_file, encoding="utf-8") as f:
                    entries = json.load(f)
                if isinstance(entries, dict):
                    statements[kind] = assign_flat(
                        entries.get("statements", []),
                        [{"tables": [{"table_schema": t}]} for t in texts],
                    )
                else:
                    statements[kind] = [
                        e.get("statements", [])
                        if isinstance(e, dict)
                        else e
                        if isinstance(e, list)
                        else [e]
                        for e in entries
                    ]
            except (OSError, ValueError, TypeError, AttributeError) as e:
                print(
                    f"{kind_file}: unreadable ({type(e).__name__}: {e}); skipped", file=sys.stderr
                )
                stats["skipped: unreadable statement file"] += 1
        for k, schema in enumerate(texts):
            group = {
                "topic": topic,
                "detail": detail,
                "variant": k,
                "schema": schema,
                "statements": {
                    kind: lists[k] for kind, lists in statements.items() if k < len(lists)
                },
            }
            if usable(group, f"{schema_file}: variant {k}", stats):
                yield group


def read_source(path: str, stats: Counter, strict: bool = False):
    if os.path.isdir(path):
        if os.path.isdir(os.path.join(path, "tons_of_tables")):
            yield from read_seed_layout(path, stats)
        else:
            for p in sorted(
                glob.glob(os.path.join(path, "*.jsonl"))
                + glob.glob(os.path.join(path, "*.jsonl.gz"))
            ):
                yield from read_jsonl(p, stats, strict)
    elif os.path.exists(path):
        yield from read_jsonl(path, stats, strict)
    else:
        raise FileNotFoundError(f"source not found: {path}")


def group_statements(group: dict) -> list[str]:
    out = []
    for stmts in group["statements"].values():
        if isinstance(stmts, list):
            out += [s.strip() for s in stmts if isinstance(s, str) and s.strip()]
    return out


def schema_text(variant: dict) -> str:
    """A schema variant as the text the statements were generated against (tables joined by a
    blank line)."""
    return "\n\n".join(t["table_schema"].strip() for t in variant["tables"])


def assign_flat(statements: list[str], variants: list[dict]) -> list[list[str]]:
    """The seed's Modal variant stored one flat {"statements": [...]} per kind, losing which schema
    variant each came from; give each statement to the first variant it is valid against."""
    from sqlcomplete.sql.check import statement_problem  # sqlglot: the data pipeline only

    tables = [parse_schema(schema_text(v)) for v in variants]
    out: list[list[str]] = [[] for _ in variants]
    for sql in statements:
        for k, t in enumerate(tables):
            if statement_problem(sql, t) is None:
                out[k].append(sql)
                break
    return out


def parse_source_arg(arg: str) -> tuple[str, int]:
    m = re.fullmatch(r"(.+)\*(\d+)", arg)
    return (m.group(1), int(m.group(2))) if m else (arg, 1)
