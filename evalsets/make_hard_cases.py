"""Build evalsets/hard_cases.jsonl: (schema, statement) pairs unlike the LLM-written corpus.

    python -m evalsets.make_hard_cases [--spider ../shared/spider/train.jsonl.gz] \\
        [--dev ../shared/seed_corpus/dev_seed.jsonl] [-o evalsets/hard_cases.jsonl]

Four parts, each row tagged with its `set`:
- spider-long: human-written Spider queries (aliases such as T1.name, count(*), nesting)
  over the longest Spider schemas (8+ tables or 2,500+ characters of DDL).
- spider-renamed: Spider queries over mid-sized schemas with the schema's names restyled
  (camelCase, PascalCase, UPPER, abbreviated or swapped for unrelated words) in both texts.
- llm-long: dev-pool statements (dev_seed rows 200-399, outside the 200-row dev set) whose
  schema is buried among unrelated dev tables (10+ tables, ~3,000 characters), half restyled.
- hand: a few hand-written queries over a quoted, PascalCase schema.
A row's `topic` is its Spider database (or dev topic): `ngram.py train --holdout` leaves
those databases out of the n-gram. Seeded, so the file is reproducible.
"""

import argparse
import gzip
import json
import os
import random
import re
import sys

from prepare import rename_identifiers, rename_map
from sqlcomplete.sql.schema import parse_schema, split_tables

SHARED = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared"
)

HAND_SCHEMA = """CREATE TABLE "Employee" (
    "EmployeeId" INTEGER PRIMARY KEY,
    "LastName" NVARCHAR(20) NOT NULL,
    "FirstName" NVARCHAR(20) NOT NULL,
    "Title" NVARCHAR(30),
    "ReportsTo" INTEGER REFERENCES "Employee" ("EmployeeId"),
    "HireDate" DATETIME
);

CREATE TABLE "Customer" (
    "CustomerId" INTEGER PRIMARY KEY,
    "FirstName" NVARCHAR(40) NOT NULL,
    "LastName" NVARCHAR(20) NOT NULL,
    "Company" NVARCHAR(80),
    "Country" NVARCHAR(40),
    "Email" NVARCHAR(60) NOT NULL,
    "SupportRepId" INTEGER REFERENCES "Employee" ("EmployeeId")
);

CREATE TABLE "Invoice" (
    "InvoiceId" INTEGER PRIMARY KEY,
    "CustomerId" INTEGER NOT NULL REFERENCES "Customer" ("CustomerId"),
    "InvoiceDate" DATETIME NOT NULL,
    "BillingCountry" NVARCHAR(40),
    "Total" NUMERIC(10,2) NOT NULL
);

CREATE TABLE "InvoiceLine" (
    "InvoiceLineId" INTEGER PRIMARY KEY,
    "InvoiceId" INTEGER NOT NULL REFERENCES "Invoice" ("InvoiceId"),
    "TrackId" INTEGER NOT NULL,
    "UnitPrice" NUMERIC(10,2) NOT NULL,
    "Quantity" INTEGER NOT NULL
);"""

HAND_STATEMENTS = [
    "SELECT T1.FirstName, T1.LastName, count(*) FROM Customer AS T1 "
    "JOIN Invoice AS T2 ON T1.CustomerId = T2.CustomerId "
    "GROUP BY T1.CustomerId ORDER BY count(*) DESC LIMIT 5",
    'SELECT "BillingCountry", sum("Total") FROM "Invoice" GROUP BY "BillingCountry" '
    'HAVING sum("Total") > 100',
    "SELECT e.LastName, m.LastName FROM Employee e "
    "LEFT JOIN Employee m ON e.ReportsTo = m.EmployeeId",
    "UPDATE Customer SET Email = 'ada@example.com' WHERE CustomerId = 7",
    "DELETE FROM InvoiceLine "
    "WHERE InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE InvoiceDate < '2010-01-01')",
    "INSERT INTO Customer (CustomerId, FirstName, LastName, Email) "
    "VALUES (60, 'Ada', 'Lovelace', 'ada@example.com')",
]


def unquote_names(schema: str) -> str:
    """ "name" and `name` -> name, so renaming (which skips quoted text) reaches them."""
    return re.sub(r"[\"`]([A-Za-z_][A-Za-z0-9_]*)[\"`]", r"\1", schema)


def restyle(tables: dict, rng: random.Random, pool: list[str]) -> dict[str, str]:
    """prepare.rename_map, redrawn until some new name has upper case (mixed-case names are the
    point)."""
    for _ in range(20):
        mapping = rename_map(tables, rng, pool)
        if any(v != v.lower() for v in mapping.values()):
            break
    return mapping


def hardness(stmt: str) -> int:
    return (
        2 * bool(re.search(r"\bT\d\.", stmt))
        + bool(re.search(r"count\(\*\)", stmt, re.I))
        + bool(re.search(r"\((\s*)select", stmt, re.I))
        + bool(re.search(r"group by|order by", stmt, re.I))
    )


def spider_rows(groups: list[dict], rng: random.Random) -> list[dict]:
    rows = []
    big = [
        g
        for g in groups
        if (len(parse_schema(g["schema"])) >= 8 or len(g["schema"]) >= 2500)
        and len(g["schema"]) <= 4000
    ]
    mid = [
        g
        for g in groups
        if g not in big and 4 <= len(parse_schema(g["schema"])) and len(g["schema"]) < 2500
    ]
    pool = sorted(
        {
            c
            for g in groups
            for cols in parse_schema(g["schema"]).values()
            for c in cols
            if c.isidentifier()
        }
    )
    for g in rng.sample(big, min(10, len(big))):
        stmts = sorted(set(g["statements"]["select"]), key=lambda s: (-hardness(s), s))[:12]
        for s in rng.sample(stmts, min(2, len(stmts))):
            rows.append(
                {"set": "spider-long", "topic": g["topic"], "schema": g["schema"], "statement": s}
            )
    for g in rng.sample(mid, min(6, len(mid))):
        schema = unquote_names(g["schema"])
        mapping = restyle(parse_schema(schema), rng, pool)
        stmts = sorted(set(g["statements"]["select"]), key=lambda s: (-hardness(s), s))[:12]
        for s in rng.sample(stmts, min(2, len(stmts))):
            rows.append(
                {
                    "set": "spider-renamed",
                    "topic": g["topic"],
                    "schema": rename_identifiers(schema, mapping),
                    "statement": rename_identifiers(s, mapping),
                }
            )
    return rows


def llm_long_rows(dev: list[dict], rng: random.Random) -> list[dict]:
    pool = dev[200:400]
    want = {"select": 6, "insert": 4, "update": 3, "delete": 2, "truncate": 1}
    picked = []
    for row in rng.sample(pool, len(pool)):
        sql = re.match(r"\s*(select|insert|update|delete|truncate|with)\b", row["statement"], re.I)
        if sql and want.get(row["kind"], 0) > 0:
            want[row["kind"]] -= 1
            picked.append(row)
    words = sorted(
        {
            c
            for r in pool
            for cols in parse_schema(r["schema"]).values()
            for c in cols
            if c.isidentifier()
        }
    )
    rows = []
    for k, row in enumerate(picked):
        own = split_tables(row["schema"])
        names = {t.lower() for t in parse_schema(row["schema"])}
        tables = list(own)
        for other in rng.sample(dev, len(dev)):
            if other["topic"] == row["topic"]:
                continue
            for t in split_tables(other["schema"]):
                name = next(iter(parse_schema(t)), "").lower()
                if name and name not in names:
                    names.add(name)
                    tables.insert(rng.randrange(len(tables) + 1), t)
            if len(tables) >= 10 and sum(len(t) + 2 for t in tables) >= 2800:
                break
        schema, stmt = "\n\n".join(tables), row["statement"]
        if k % 2:
            mapping = restyle(parse_schema(row["schema"]), rng, words)
            schema, stmt = rename_identifiers(schema, mapping), rename_identifiers(stmt, mapping)
        rows.append(
            {
                "set": "llm-long",
                "topic": row["topic"],
                "kind": row["kind"],
                "schema": schema,
                "statement": stmt,
            }
        )
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the hard-case evaluation set.")
    ap.add_argument("--spider", default=os.path.join(SHARED, "spider", "train.jsonl.gz"))
    ap.add_argument("--dev", default=os.path.join(SHARED, "seed_corpus", "dev_seed.jsonl"))
    ap.add_argument(
        "-o",
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "hard_cases.jsonl"),
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with gzip.open(args.spider, "rt", encoding="utf-8") as f:
        groups = [json.loads(line) for line in f if line.strip()]
    with open(args.dev, encoding="utf-8") as f:
        dev = [json.loads(line) for line in f if line.strip()]
    rows = spider_rows(groups, rng) + llm_long_rows(dev, rng)
    rows += [
        {"set": "hand", "topic": "hand", "schema": HAND_SCHEMA, "statement": s}
        for s in HAND_STATEMENTS
    ]
    with open(args.out + ".tmp", "w", encoding="utf-8") as f:
        for i, row in enumerate(rows, 1):
            kind = row.pop("kind", None) or row["statement"].split()[0].lower()
            f.write(json.dumps({"id": f"hc-{i:03d}", "kind": kind, **row}) + "\n")
    os.replace(args.out + ".tmp", args.out)
    sizes = [len(r["schema"]) for r in rows]
    print(
        f"{args.out}: {len(rows)} rows, schemas {min(sizes)}-{max(sizes)} characters",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
