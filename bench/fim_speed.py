"""Rows/s of fim/csv_to_fim.py on synthetic rows, without and with token counting.

    nice -n 19 python bench/fim_speed.py [--rows 50000] [--tokenizer path/to/tokenizer.json]

Without --tokenizer a small byte-level BPE (a few hundred merges learned here from the
synthetic rows) stands in for Qwen's: token counts are then only indicative, and the
real vocabulary (151k tokens, longer merges) encodes at a similar rate. Target: at
least 20,000 rows/s without the tokenizer on one core (the conversion is single-threaded;
rows per CPU second is the figure to compare on a busy machine).
"""

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import regex

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fim.csv_to_fim import convert
from sqlcomplete.fim.bpe import BYTE_TO_CHAR, QWEN2_PATTERN, BPETokenizer

TABLES = [
    "users",
    "orders",
    "order_items",
    "products",
    "payments",
    "shipments",
    "reviews",
    "categories",
]
COLUMNS = [
    "id",
    "user_id",
    "order_id",
    "product_id",
    "created_at",
    "status",
    "total_cents",
    "email",
    "name",
    "quantity",
    "price_cents",
    "country",
    "updated_at",
    "rating",
    "category_id",
]
SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
]


def make_row(rng: random.Random) -> dict:
    """One INPUT/OUTPUT row of roughly the size the converter sees (~1.5 KB)."""
    tables = rng.sample(TABLES, rng.randint(2, 4))
    ddl = "\n".join(
        f"CREATE TABLE {t} (\n  "
        + ",\n  ".join(
            f"{c} {rng.choice(['INT', 'TEXT', 'TIMESTAMP', 'BIGINT'])}"
            for c in rng.sample(COLUMNS, 5)
        )
        + "\n);"
        for t in tables
    )
    t, c = rng.choice(tables), rng.sample(COLUMNS, 3)
    history = [
        f"SELECT {c[0]}, count(*) FROM {rng.choice(tables)} GROUP BY {c[0]};"
        for _ in range(rng.randint(0, 3))
    ]
    recent = [
        f"SELECT * FROM {rng.choice(tables)} WHERE {rng.choice(COLUMNS)} = {rng.randint(1, 999)};"
    ]
    context = {
        "ddl_context": ddl,
        "sql_history": history,
        "recent_queries": recent,
        "file_content": f"-- report for {t}\n" if rng.random() < 0.5 else "",
    }
    sql = (
        f"SELECT {c[0]}, {c[1]}\nFROM {t}\nWHERE {c[2]} > 10\n  AND <fillMe>\n"
        f"ORDER BY {c[0]} DESC\nLIMIT 50;"
    )
    parts = [{"type": "text", "text": json.dumps(context)}, {"type": "text", "text": sql}]
    output = f"{rng.choice(COLUMNS)} IS NOT NULL" if rng.random() < 0.9 else ""
    return {"INPUT": json.dumps(parts), "OUTPUT": output}


def tiny_tokenizer(texts: list[str], merges: int = 400) -> dict:
    """A Qwen-shaped tokenizer.json spec with a few hundred byte-level merges learned from texts."""
    pat = regex.compile(QWEN2_PATTERN)
    words = Counter(
        tuple(BYTE_TO_CHAR[b] for b in piece.encode()) for t in texts for piece in pat.findall(t)
    )
    vocab = {c: i for i, c in enumerate(BYTE_TO_CHAR.values())}
    pairs_learned = []
    for _ in range(merges):
        pairs = Counter()
        for w, n in words.items():
            for pair in zip(w, w[1:]):
                pairs[pair] += n
        if not pairs:
            break
        (a, b), _ = pairs.most_common(1)[0]
        pairs_learned.append([a, b])
        vocab[a + b] = len(vocab)
        merged = Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += n
        words = merged
    added = [
        {
            "id": len(vocab) + i,
            "content": s,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, s in enumerate(SPECIALS)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": QWEN2_PATTERN},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": False,
                    "trim_offsets": False,
                    "use_regex": False,
                },
            ],
        },
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": pairs_learned,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument(
        "--tokenizer", default=None, help="a real tokenizer.json (default: a tiny one trained here)"
    )
    args = ap.parse_args()
    rng = random.Random(0)
    rows = [make_row(rng) for _ in range(args.rows)]
    mb = sum(len(r["INPUT"]) + len(r["OUTPUT"]) for r in rows) / 1e6
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        table = pa.Table.from_pylist(rows)
        pq.write_table(table, d / "rows.parquet")
        pacsv.write_csv(table, d / "rows.csv")
        if args.tokenizer:
            tok = BPETokenizer.from_file(args.tokenizer)
        else:
            (d / "tokenizer.json").write_text(
                json.dumps(tiny_tokenizer([r["INPUT"] for r in rows[:300]]))
            )
            tok = BPETokenizer.from_file(d / "tokenizer.json")
        print(f"{args.rows} rows, {mb:.1f} MB of INPUT/OUTPUT text")
        for name, src, tokenizer in [
            ("parquet, no tokenizer", "rows.parquet", None),
            ("csv, no tokenizer", "rows.csv", None),
            ("parquet, with tokenizer", "rows.parquet", tok),
        ]:
            t0, c0 = time.perf_counter(), time.process_time()
            stats = convert(d / src, d / "out", tokenizer=tokenizer, fmt="disk")
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            assert stats.written == args.rows
            # per CPU second too: on a shared machine wall time also counts other processes' turns
            print(
                f"{name:26s} {stats.read / dt:10,.0f} rows/s wall ({dt:.2f} s), "
                f"{stats.read / cpu:10,.0f} rows/s of CPU ({cpu:.2f} s)"
            )


if __name__ == "__main__":
    main()
