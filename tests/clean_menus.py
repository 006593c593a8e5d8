"""Issue 26's examples and what a clean menu for them is: shared by the front ends' tests (language
server, TUI, page), which drive the shipped model through their own user interface."""

import re
from pathlib import Path

from sqlcomplete import evaluate as ev

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "sqlcomplete" / "models" / "default"
# the page's example schema, and a table the Neovim example named
SCHEMA = (ROOT / "examples" / "schema.sql").read_text() + (
    "\n\nCREATE TABLE languages (code STRING PRIMARY KEY, name STRING NOT NULL);\n"
)
PREFIXES = [
    "SELECT name, email FROM customers WHERE created_at = ",  # the page: a time column's value
    "SELECT name, email FROM customers WHERE name = 'Ann' AND em",  # the TUI: a text column next
    "INSERT INTO ord",  # the CLI: a table must come
    "SELECT na",  # the menus: whole words, not mixed case
    "SELECT count(*) FROM ",  # Neovim: not inside its own parenthesis
]


def problems(prefix: str, insert: str, shown: str | None = None) -> list[str]:
    """Why `insert` (text at the cursor after `prefix`), shown as `shown`, is no item to accept: the
    scorer's junk kinds (../shared/EVAL.md), an end inside a parenthesis or quote it opened, a
    first word shown in mixed case."""
    row = {"id": "x", "schema": SCHEMA, "statement": prefix + "x"}
    stmt = ev.build_requests([row])[1][0]
    typed = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", prefix)}
    out = sorted(ev.junk_kinds(prefix, insert, stmt, typed))
    at_table = re.search(r"\b(from|join|into|update)\s+(\w*)$", prefix, re.I)
    if at_table and not insert.lstrip().startswith("("):  # stricter than the scorer: a table
        word = at_table.group(2) + re.match(r"\s*(\w*)", insert).group(1)
        if word.lower() not in stmt["tables"]:
            out.append("not a table")
    plain = re.sub(r"'(?:[^']|'')*'", "''", insert)
    depth = 0
    for ch in plain:
        depth = max(depth + (ch == "(") - (ch == ")"), 0)  # a `)` may close the user's `(`
    if (
        "'" in plain.replace("''", "")
        or depth > 1
        or depth == 1
        and not plain.rstrip().endswith("(")
    ):
        out.append("open")
    if shown is not None:
        word = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", shown)
        w = word.group(1) if word else ""
        if (
            w
            and w not in re.findall(r"\w+", SCHEMA)
            and not (w.islower() or w.isupper() or w.istitle())
        ):
            out.append("mixed case")
    return out
