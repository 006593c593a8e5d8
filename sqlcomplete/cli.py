"""The command line: suggestions for one prefix, the batch contract of the evaluation (EVAL.md),
or the curses editor (--interactive).

    sqlcomplete --schema schema.sql --prefix "SELECT * FROM "          # ranked suggestions
    sqlcomplete --batch IN.jsonl --out OUT.jsonl [--num 5] [--strict]  # the batch contract
    sqlcomplete --interactive [--schema schema.sql]                    # the editor: sqlcomplete.tui

`python sample.py ...` in a clone is the same program.
"""

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import fields

from sqlcomplete.completion.engine import (
    Completer,
    CompleterOptions,
    add_completer_flags,
    completer_options,
)
from sqlcomplete.completion.service import CompletionService
from sqlcomplete.db.database import add_db_args, db_flags, open_database
from sqlcomplete.db.sources import decode_text, has_tables, merge_schema
from sqlcomplete.sql.schema import split_tables

# ---------------------------------------------------------------- batch contract

_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str from JSON, a surrogate left is a lone one


def _finite(text: str) -> float:
    """json's parse_float: a number too large for a float is an error, not inf (not JSON)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN and Infinity unless told


def check_text(name: str, value) -> str:
    """A request's text field (null: ""): a str with no lone surrogate, which no tokenizer takes."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: must be a string, not {type(value).__name__}")
    m = _SURROGATE.search(value)
    if m:
        raise ValueError(f"{name}: invalid Unicode (lone surrogate) at character {m.start()}")
    return value


def run_batch(completer: Completer, in_path: str, out_path: str, num: int) -> dict:
    """EVAL.md's contract: one output line per input line (a blank one too), `error` instead of a
    crash. A missing output directory is found before any request is computed."""
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise FileNotFoundError(f"no directory {out_dir} for the output {out_path}")
    requests, results = [], {}
    with open(in_path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():  # answered too: one line out per line in
                requests.append({"id": None, "_line": lineno, "_error": f"line {lineno}: blank"})
                continue
            try:
                req = json.loads(
                    raw.decode("utf-8"), parse_float=_finite, parse_constant=_no_constant
                )
                if not isinstance(req, dict):
                    raise ValueError("request is not a JSON object")
            except (UnicodeDecodeError, ValueError) as e:
                requests.append(
                    {
                        "id": None,
                        "_line": lineno,
                        "_error": f"line {lineno}: {type(e).__name__}: {e}",
                    }
                )
                continue
            req["_line"] = lineno
            requests.append(req)
    # schema work once per schema: serve requests grouped by schema, prefixes in order (cache reuse)
    order = sorted(
        range(len(requests)),
        key=lambda i: (str(requests[i].get("schema", "")), str(requests[i].get("prefix", ""))),
    )
    errors = 0
    t0 = time.time()
    for i in order:
        req = requests[i]
        try:
            if "_error" in req:
                raise ValueError(req["_error"])
            if "prefix" not in req:
                raise ValueError(f"line {req['_line']}: the request has no prefix")
            schema = check_text("schema", req.get("schema"))
            prefix = check_text("prefix", req["prefix"])
            suffix = check_text("suffix", req.get("suffix"))
            completer.set_schema(schema)
            results[i] = {
                "id": req.get("id"),
                "completions": completer.complete(prefix, suffix, num),
            }
        except Exception as e:  # one bad request must not stop the batch
            errors += 1
            results[i] = {"id": req.get("id"), "completions": [], "error": str(e)[:500]}
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        for i in range(len(requests)):
            f.write(json.dumps(results[i]) + "\n")
    os.replace(tmp, out_path)
    dt = time.time() - t0
    stats = {
        "requests": len(requests),
        "errors": errors,
        "seconds": round(dt, 2),
        "requests_per_s": round(len(requests) / max(dt, 1e-9), 1),
    }
    print(json.dumps(stats), file=sys.stderr)
    return stats


EDITOR_KEYS = """\
the editor (--interactive, or python -m sqlcomplete.tui): the best suggestion shows as dim ghost
text after the cursor, the top ones are listed below it.
  Tab            accept the best suggestion
  Alt-1..Alt-5   pick one from the list (Alt-1..Alt-N with --num N; plain digits are typed)
  Esc            hide the suggestions     Ctrl-Space  ask again
  Ctrl-S         edit the schema (type or paste CREATE TABLE statements), and back
  Ctrl-Q, Ctrl-D, Ctrl-C  quit (the SQL is printed on exit)"""


def read_schema(path: str | None) -> str:
    """The CREATE TABLE statements of a --schema file (UTF-8 or UTF-16; a dump's other statements
    left out; "" for none); exits when it cannot be read, and warns when it declares no table."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            text = decode_text(f.read(), strict=False)
    except OSError as e:
        sys.exit(f"cannot read schema {path}: {e.strerror}")
    ddl = split_tables(text)
    if not has_tables(ddl):
        print(f"warning: schema {path}: no CREATE TABLE with columns found in it", file=sys.stderr)
        return text
    return merge_schema(ddl)


def arg_parser() -> argparse.ArgumentParser:
    """The command line's flags (`sqlcomplete --help`)."""
    ap = argparse.ArgumentParser(
        description="Schema-aware SQL autocompletion with a tiny LLaMA.",
        epilog=EDITOR_KEYS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--ckpt",
        default=None,
        help="checkpoint directory (default: the shipped sqlcomplete/models/default)",
    )
    ap.add_argument("--schema", default=None, help="file with CREATE TABLE statements")
    ap.add_argument("--prefix", default=None, help="statement text before the cursor")
    ap.add_argument("--suffix", default="", help="text after the cursor")
    ap.add_argument(
        "--num", type=int, default=5, help="suggestions per request (the editor lists this many)"
    )
    ap.add_argument("--batch", default=None, help="JSONL requests {id, schema, prefix[, suffix]}")
    ap.add_argument("--out", default=None, help="JSONL output of --batch")
    ap.add_argument(
        "--strict",
        action="store_true",
        help="--batch exits with status 1 when any line had an error (the rest are still answered)",
    )
    ap.add_argument(
        "--interactive", action="store_true", help="the curses editor (tui.py): keys below"
    )
    add_completer_flags(ap)
    add_db_args(ap)  # --db URL: the live database's schema (and with --db-values its values)
    return ap


def main(argv: list[str] | None = None):
    """Suggestions for one prefix, a batch of requests, or the editor (--interactive)."""
    args = arg_parser().parse_args(argv)
    if (
        args.interactive
    ):  # the editor is tui.py's own program: hand this process over to it, same flags
        flags = ["ckpt", "schema", "num"] + [f.name for f in fields(CompleterOptions)]
        tui_argv = [
            a
            for name in flags
            if getattr(args, name) is not None
            for a in ("--" + name.replace("_", "-"), str(getattr(args, name)))
        ] + db_flags(args)
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "sqlcomplete.tui", *tui_argv])
    schema = read_schema(args.schema)
    if args.batch and not args.out:
        sys.exit("--batch needs --out")
    if not args.batch and args.prefix is None:
        sys.exit("give --prefix, --batch IN --out OUT, or --interactive")
    if args.batch:  # before loading anything: a bad path is a one-line error, not a traceback
        if not os.path.isfile(args.batch):
            sys.exit(f"--batch: no file {args.batch}")
        if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
            sys.exit(f"--out: no directory {os.path.dirname(os.path.abspath(args.out))}")
    db = open_database(args, "sample.py")
    try:
        completer = Completer(args.ckpt, options=completer_options(args))
    except (FileNotFoundError, ValueError) as e:
        sys.exit(str(e))
    # the database's schema where none is given, its values with --db-values
    completer = CompletionService(completer, db, args.db_values)
    if args.batch:
        try:
            stats = run_batch(completer, args.batch, args.out, args.num)
        except OSError as e:
            sys.exit(f"--batch: {e}")
        if args.strict and stats["errors"]:
            sys.exit(f"--strict: {stats['errors']} of {stats['requests']} lines had an error")
        return
    completer.set_schema(schema)
    t0 = time.time()
    suggestions = completer.complete(args.prefix, args.suffix, args.num)
    ms = 1000 * (time.time() - t0)
    for i, s in enumerate(suggestions, 1):
        print(
            f"{i}. {args.prefix}\033[2m{s}\033[0m"
            if sys.stdout.isatty()
            else f"{i}\t{json.dumps(s)}"
        )
    print(f"({ms:.0f} ms, including the schema prefill)", file=sys.stderr)


if __name__ == "__main__":
    main()
