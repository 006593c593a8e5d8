"""What a training run made: its checkpoint's own suggestions beside the shipped model's, for the
same schema and prefixes, then the hybrid that sample.py and the editors use. `make sample` runs it.

    python examples/compare_models.py [--ckpt out/quick/best] [--schema examples/schema.sql]
                                      [--num 3] [PREFIX ...]

Each model is labelled with what it learned from: the tokens it saw and its validation loss on
statement tokens (from the state.json train.py writes beside each checkpoint; for the shipped
model, from the README's model card).
"""

import argparse
import json
import os
import re
import struct
from math import prod

from sqlcomplete.completion.engine import DEFAULT_CKPT, Completer, resolve_ckpt

PREFIXES = ("SELECT name, email FROM ", "SELECT * FROM orders WHERE ", "INSERT INTO customers (")
README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def parameters(ckpt: str) -> int:
    """The parameter count, from the safetensors header alone (8 bytes of length, then JSON)."""
    with open(os.path.join(ckpt, "model.safetensors"), "rb") as f:
        header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    return sum(prod(t["shape"]) for name, t in header.items() if name != "__metadata__")


def training_record(ckpt: str) -> str:
    """'1.2M tokens seen, val loss 3.2101': from state.json, or for the shipped model (which has
    none) from the README's model card."""
    path = os.path.join(ckpt, "state.json")
    if os.path.isfile(path):
        with open(path) as f:
            state = json.load(f)
        tokens = state["tokens"]
        seen = f"{tokens / 1e6:,.1f}M" if tokens >= 1e6 else f"{tokens:,}"
        return f"{seen} tokens seen, val loss {state['best_val']:.4f}"
    if os.path.samefile(ckpt, DEFAULT_CKPT) and os.path.isfile(README):
        with open(README, encoding="utf-8") as f:
            card = re.search(r"^\| training \|.*$", f.read(), re.M)
        tokens = card and re.search(r"([\d.]+)M tokens seen", card.group(0))
        losses = card and re.findall(r"val loss on statement tokens ([\d.]+)", card.group(0))
        if tokens and losses:
            return (
                f"{tokens.group(1)}M tokens seen, val loss {losses[-1]} (the README's model card)"
            )
    return "training not recorded"


def show(rows: dict[str, list[str]]) -> None:
    """Suggestions under a label each, the labels in a column."""
    width = max(len(label) for label in rows)
    for label, suggestions in rows.items():
        for i, text in enumerate(suggestions or ["(no suggestion)"]):
            print(f"   {label if i == 0 else '':<{width}}  {json.dumps(text)[1:-1]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("prefixes", nargs="*", default=list(PREFIXES))
    ap.add_argument("--ckpt", default=None, help="the trained checkpoint (out/quick/best)")
    ap.add_argument("--schema", default="examples/schema.sql")
    ap.add_argument("--num", type=int, default=3, help="suggestions per prefix")
    args = ap.parse_args(argv)
    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = f.read()
        models = {"shipped": DEFAULT_CKPT}
        if args.ckpt:
            models = {"trained": resolve_ckpt(args.ckpt), **models}
    except OSError as e:  # FileNotFoundError too: a checkpoint that is not there
        raise SystemExit(f"error: {e}") from None
    alone = {k: Completer(ckpt, ngram=None) for k, ckpt in models.items()}
    hybrid = {k: Completer(ckpt) for k, ckpt in models.items()}
    for c in [*alone.values(), *hybrid.values()]:
        c.set_schema(schema)
    shown = {"trained": models.get("trained"), "shipped": "sqlcomplete/models/default"}

    print(f"== each model alone (--ngram none), on {args.schema}:")
    for key, ckpt in models.items():
        print(
            f"   {key}  {shown[key]}: {parameters(ckpt) / 1e6:.2f}M parameters, "
            f"{training_record(ckpt)}"
        )
    if "trained" not in models:
        print("   (no trained model yet: `make data train` makes out/quick/best; or give CKPT=DIR)")
    for prefix in args.prefixes:
        print(f"\n{prefix}|")
        show({key: alone[key].complete(prefix, "", args.num) for key in models})

    key = "trained" if "trained" in models else "shipped"
    print(
        f"\n== the hybrid, as sample.py and the editors complete: the n-gram (next-word counts "
        f"from SQL text) proposes the next words and the {key} model only ranks them, so these "
        "lines show the n-gram more than the model:"
    )
    same = True
    for prefix in args.prefixes:
        print(f"\n{prefix}|")
        ours = hybrid[key].complete(prefix, "", args.num)
        same = same and ours == hybrid["shipped"].complete(prefix, "", args.num)
        show({f"{key} + n-gram": ours})
    if key == "trained" and same:
        print("\n(the same lines as the shipped model's hybrid: the n-gram decided them)")


if __name__ == "__main__":
    main()
