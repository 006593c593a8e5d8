"""Do the torch and onnx backends suggest the same? Top-1 and top-5 agreement on the requests of
`python -m sqlcomplete.evaluate` (each statement cut at every word start and inside long names).

    python bench/backend_agreement.py ../shared/seed_corpus/dev_seed.jsonl evalsets/hard_cases.jsonl

Both backends run the one engine (completion/engine.py), so the suggestions differ only where the
logits' float32 rounding (torch vs onnxruntime, ~1e-5) flips a near tie.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from sqlcomplete.completion.engine import DEFAULT_CKPT  # noqa: E402
from sqlcomplete.evaluate import ModelRunner, build_requests, read_rows  # noqa: E402


def suggestions(runner: ModelRunner, requests: list[dict], n: int) -> tuple[list, float]:
    out, t = [], time.perf_counter()
    schema = None
    for r in requests:
        if r["schema"] != schema:
            schema = r["schema"]
            runner.set_schema(schema)
        out.append(runner.complete(r["prefix"], "", n))
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="+", help="JSONL of {schema, statement} (the evaluation's data)")
    ap.add_argument("--ckpt", default=DEFAULT_CKPT)
    ap.add_argument("--rows", type=int, default=200, help="statements per file (as evaluate)")
    ap.add_argument("--num", type=int, default=5)
    ap.add_argument("--show", type=int, default=5, help="differences printed per file")
    args = ap.parse_args()
    runners = {b: ModelRunner(args.ckpt, threads=1, backend=b) for b in ("torch", "onnx")}
    print("| data | requests | same top-1 | same top-5 | torch s | onnx s |")
    print("|---|---|---|---|---|---|")
    diffs = []
    for path in args.data:
        requests, _ = build_requests(read_rows(path, args.rows))
        (torch_out, t_torch), (onnx_out, t_onnx) = (
            suggestions(r, requests, args.num) for r in runners.values()
        )
        pairs = list(zip(torch_out, onnx_out))
        top1 = sum(a[:1] == b[:1] for a, b in pairs) / len(pairs)
        top5 = sum(a == b for a, b in pairs) / len(pairs)
        name = os.path.basename(path)
        print(
            f"| {name} | {len(pairs)} | {top1:.2%} | {top5:.2%} | {t_torch:.0f} | {t_onnx:.0f} |",
            flush=True,
        )
        diffs += [(name, r["prefix"], a, b) for r, (a, b) in zip(requests, pairs) if a != b]
    for name, prefix, a, b in diffs[: args.show * len(args.data)]:
        print(f"\n{name}: ...{prefix[-50:]!r}\n  torch {a}\n  onnx  {b}")


if __name__ == "__main__":
    main()
