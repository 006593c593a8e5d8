"""Per-keystroke completion latency on one CPU thread, and batch-mode throughput.

    python bench/latency.py [--ckpt sqlcomplete/models/default] [--configs 260K 15M 42M]
        [--statements 5] [--one-shot-runs 3]
    python bench/latency.py --backend onnx --configs      # the model on onnxruntime (`make export`)

Types dev-set statements one character at a time against a schema of about 400 tokens that is
already cached, timing `Completer.complete(prefix, n=5)` per keystroke, as shipped (the model
reranking the n-gram's proposals) and the model alone. Named configs are timed with random weights
of their shape (speed depends on the shape, not the weights); --ckpt times a trained model.
--backend picks what runs it (the completer's --backend; random weights have no ONNX export, so
--backend onnx times --ckpt only). Reference (the seed's recipe, Hugging Face generate with
20-beam search, 12 new tokens, 200-token prompt, 1 thread): 15M 1,464 ms, 260K 237 ms.

Then the start-up costs a user waits for once: loading the n-gram, and a one-shot
`sqlcomplete --schema examples/schema.sql --prefix "SELECT " --backend B` (process start, imports,
loading the model and the n-gram, the schema prefill and one completion; median wall time).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from sqlcomplete.cli import run_batch  # noqa: E402
from sqlcomplete.completion.engine import DEFAULT_CKPT, Completer  # noqa: E402

DEV = os.path.join(ROOT, "..", "shared", "seed_corpus", "dev_seed.jsonl")
FALLBACK = [
    "SELECT o.order_id, c.name FROM orders AS o JOIN customers AS c "
    "ON o.customer_id = c.customer_id WHERE o.total > 100;",
    "INSERT INTO customers (customer_id, name, email) "
    "VALUES (gen_random_uuid(), 'Ada', 'ada@example.com');",
    "UPDATE orders SET status = 'shipped' WHERE ordered_at < now() - INTERVAL '2 days';",
]
REFERENCE_MS = {"15M": 1464, "260K": 237}


def load_rows(n: int) -> list[dict]:
    if os.path.exists(DEV):
        rows = [json.loads(line) for line in open(DEV)]
        rows = [r for r in rows if 1200 <= len(r["schema"]) <= 2000] or rows  # ~400-token schemas
        return rows[:n]
    schema = open(os.path.join(ROOT, "examples", "schema.sql")).read()
    return [{"schema": schema * 2, "statement": s} for s in FALLBACK[:n]]


def random_ckpt(name: str, tok: str, root: str) -> str:
    import torch  # here: --backend onnx times the shipped model without torch

    from sqlcomplete.model import ModelArgs, Transformer, save_pretrained
    from train import load_config

    cfg = load_config(os.path.join(ROOT, "configs", f"{name}.py"))
    args = ModelArgs(
        **{**cfg["model"], "vocab_size": 512, "max_seq_len": cfg.get("block_size", 1536)}
    )
    path = os.path.join(root, name)
    torch.manual_seed(0)
    save_pretrained(Transformer(args), path)
    shutil.copyfile(tok, os.path.join(path, "tok.model"))
    return path


def time_typing(c: Completer, rows: list[dict], n: int) -> tuple[list[float], float]:
    per_key, prefill = [], []
    for r in rows:
        t = time.perf_counter()
        c.set_schema(r["schema"])
        c.complete("", n=n)
        prefill.append(time.perf_counter() - t)
        s = r["statement"]
        for i in range(1, len(s) + 1):
            t = time.perf_counter()
            c.complete(s[:i], n=n)
            per_key.append(1000 * (time.perf_counter() - t))
    return per_key, 1000 * statistics.mean(prefill)


def one_shot_ms(runs: int, backend: str = "auto") -> float:
    """Median wall time of a one-shot command-line completion, process start included."""
    script = os.path.join(os.path.dirname(sys.executable), "sqlcomplete")  # the console script
    cmd = [script] if os.path.isfile(script) else [sys.executable, "-m", "sqlcomplete.cli"]
    cmd += ["--schema", os.path.join(ROOT, "examples", "schema.sql"), "--prefix", "SELECT "]
    cmd += ["--backend", backend]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def ngram_load_ms(runs: int = 3) -> float:
    """Best of `runs` loads of the shipped n-gram (the first one also pays the cold file cache)."""
    from sqlcomplete.completion.ngram import DEFAULT_MODEL, NgramCompleter

    times = []
    for _ in range(runs):
        t = time.perf_counter()
        NgramCompleter(DEFAULT_MODEL)
        times.append(1000 * (time.perf_counter() - t))
    return min(times)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--ckpt",
        action="append",
        default=None,
        help="trained checkpoints (default: the shipped model)",
    )
    ap.add_argument("--configs", nargs="*", default=["260K", "15M", "42M"])
    ap.add_argument("--statements", type=int, default=4)
    ap.add_argument("--num", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=None)
    ap.add_argument(
        "--one-shot-runs", type=int, default=3, help="runs of the one-shot command line (0: skip)"
    )
    ap.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "onnx", "torch"),
        help="what runs the model (the completer's --backend)",
    )
    args = ap.parse_args()
    rows = load_rows(args.statements)
    ckpts = args.ckpt or (
        [DEFAULT_CKPT] if os.path.exists(os.path.join(DEFAULT_CKPT, "model.safetensors")) else []
    )
    tok = os.path.join(ckpts[0] if ckpts else DEFAULT_CKPT, "tok.model")
    tmp = tempfile.mkdtemp()
    runs = [(os.path.basename(os.path.normpath(p)) or p, p) for p in ckpts]
    if os.path.exists(tok) and args.backend != "onnx":
        runs += [(f"{name} (random weights)", random_ckpt(name, tok, tmp)) for name in args.configs]
    print(
        f"{len(rows)} statements, {sum(len(r['statement']) for r in rows)} keystrokes, "
        f"n={args.num}, 1 thread\n"
    )
    print(
        "| model | backend | decoding | params | schema prefill ms | keystroke p50 ms | p95 ms "
        "| batch requests/s | seed recipe ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (label, path), ngram in ((run, ngram) for run in runs for ngram in ("default", None)):
        kw = {"max_tokens": args.max_tokens} if args.max_tokens else {}
        c = Completer(path, threads=1, ngram=ngram, backend=args.backend, **kw)
        decoding = "reranks n-gram proposals" if c.ngram else "alone"
        per_key, prefill = time_typing(c, rows, args.num)
        reqs = os.path.join(tmp, "req.jsonl")
        with open(reqs, "w") as f:
            for k, r in enumerate(rows):
                for i in range(5, len(r["statement"]), 7):
                    f.write(
                        json.dumps(
                            {"id": f"{k}-{i}", "schema": r["schema"], "prefix": r["statement"][:i]}
                        )
                        + "\n"
                    )
        stats = run_batch(c, reqs, os.path.join(tmp, "out.jsonl"), args.num)
        ref = next((f"{v:,}" for k, v in REFERENCE_MS.items() if label.startswith(k)), "")
        print(
            f"| {label} | {c.backend.name} | {decoding} | {c.backend.num_params / 1e6:.2f}M "
            f"| {prefill:.0f} | {pct(per_key, 0.5):.1f} | "
            f"{pct(per_key, 0.95):.1f} | {stats['requests_per_s']:.0f} | {ref} |",
            flush=True,
        )
    shutil.rmtree(tmp, ignore_errors=True)
    if args.one_shot_runs:
        one_shot = one_shot_ms(args.one_shot_runs, args.backend)
        print(
            f"\nn-gram load: {ngram_load_ms():.0f} ms (best of 3); one-shot `sqlcomplete --schema "
            f'examples/schema.sql --prefix "SELECT " --backend {args.backend}`: {one_shot:.0f} ms '
            f"wall, process start included (median of {args.one_shot_runs})"
        )


if __name__ == "__main__":
    main()
