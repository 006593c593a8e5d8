"""Peak memory and tokens/s of a training step against row length: the plain path and each piece
of fim/longseq.py.

    nice -n 19 python bench/sft_memory.py [--layers 1] [--lengths 512,1024,2048,3072]
        [--png docs/sft_memory.png]

CPU, bf16, a Qwen3-4B-shaped model (the full 151,936-token vocabulary, width 2560, MLP 9728,
32 query / 8 kv heads of 128) cut to a few layers. Rows pack samples of --sample_len tokens,
every next token labelled (the tiled loss's worst case). Peak memory: the process's peak
resident set (VmHWM, reset through /proc/self/clear_refs after malloc_trim) above the resident
set before the step, which holds the weights; the step allocates gradients and activations.

The pieces are switched on one after the other. The growth per token is the rise of peak
memory between the two longest rows, set against bench/sft_memory_model.py's count (at shorter
rows the peak is set by length-independent buffers: weight gradients, the embedding's backward,
the loss tile). A second sweep measures that growth at smaller vocabularies: the plain path's
grows with the vocabulary (fp32 logits, log-probabilities and their gradient, 12 B per token
per vocabulary entry), the tiled loss's does not. Activation offload is left out: on a CPU it
copies host memory to host memory.
"""

import argparse
import ctypes
import gc
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sft_memory_model import QWEN3_4B, Pieces, per_token_bytes

from sqlcomplete.fim.longseq import LongSeqConfig, packed_loss
from sqlcomplete.model import Transformer, precompute_rope

MiB = 2**20
MODES = {
    "plain": LongSeqConfig(),
    "+tiled loss": LongSeqConfig(tiled_loss=True),
    "+tiled MLP": LongSeqConfig(tiled_loss=True, tiled_mlp=True),
    "+checkpointing": LongSeqConfig(tiled_loss=True, tiled_mlp=True, checkpoint_activations=True),
}
_libc = ctypes.CDLL("libc.so.6")


def rss(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> int:
    """Free what can be freed, restart the peak-RSS counter there, return the resident set."""
    gc.collect()
    _libc.malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return rss("VmRSS")


def packed_row(T: int, sample_len: int, vocab: int):
    n = [sample_len] * (T // sample_len) + ([T % sample_len] if T % sample_len else [])
    ids = torch.randint(0, vocab, (1, T))
    labels = torch.roll(ids, -1, 1)
    labels[0, torch.tensor(n).cumsum(0) - 1] = -100  # a sample's last token has no next token
    pos = torch.cat([torch.arange(k) for k in n])[None]
    sid = torch.cat([torch.full((k,), i) for i, k in enumerate(n)])[None]
    return ids, labels, pos, sid


def step(model, T: int, sample_len: int, cfg) -> tuple[float, float]:
    """(peak MiB above the resident set before the step, tokens/s) of forward + backward."""
    batch = packed_row(T, sample_len, model.args.vocab_size)
    model.zero_grad(set_to_none=True)
    base = reset_peak()
    t0 = time.perf_counter()
    loss_sum, count = packed_loss(model, *batch, cfg)
    (loss_sum / count).backward()
    dt = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    return (rss("VmHWM") - base) / MiB, T / dt


def slope(xs, ys) -> float:
    """Least-squares slope of ys against xs."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def model_bytes_per_token(args, cfg: LongSeqConfig) -> float:
    p = Pieces(
        "",
        cfg.tiled_loss,
        cfg.tiled_mlp,
        cfg.checkpoint_activations,
        cfg.offload_activations,
        cfg.attention,
    )
    return sum(per_token_bytes(args, p, cpu_linear_copies=True).values())


def build(args) -> Transformer:
    """Random bf16 weights made in place (an fp32 init of 151,936 x 2560 would double footprint
    and time)."""
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("meta"):
        model = Transformer(args)
    torch.set_default_dtype(torch.float32)
    model.to_empty(device="cpu")
    if args.tie_embeddings:  # to_empty makes new tensors: tie them again
        model.lm_head.weight = model.embed_tokens.weight
    model.rope_cos, model.rope_sin = precompute_rope(
        args.head_dim, args.max_seq_len, args.rope_theta
    )
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02) if p.dim() > 1 else p.fill_(1.0)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--lengths", default="512,1024,2048,3072")
    ap.add_argument("--sample_len", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--png", default="docs/sft_memory.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lengths = [int(x) for x in args.lengths.split(",")]
    margs = replace(QWEN3_4B, n_layers=args.layers, max_seq_len=max(lengths))
    model = build(margs)
    print(
        f"Qwen3-4B shape, {args.layers} layer(s), bf16 on CPU ({args.threads} threads): "
        f"{sum(p.numel() for p in model.parameters()):,} parameters; "
        f"samples of {args.sample_len} tokens\n"
    )
    print(
        "peak MiB above the weights, per row length; "
        "growth per token between the two longest rows, and the memory model's\n"
    )
    print(
        "| mode | "
        + " | ".join(f"{T:,}" for T in lengths)
        + " | KiB/token | model KiB/token | tokens/s |"
    )
    print("|---|" + "---:|" * (len(lengths) + 3))
    curves = {}
    for name, cfg in MODES.items():
        step(model, 64, 32, cfg)  # warm up kernels
        runs = [step(model, T, args.sample_len, cfg) for T in lengths]
        curves[name] = [peak for peak, _ in runs]
        fit = slope(lengths[-2:], curves[name][-2:]) * MiB / 1024
        print(
            f"| {name} | "
            + " | ".join(f"{peak:,.0f}" for peak in curves[name])
            + f" | {fit:,.0f} | {model_bytes_per_token(margs, cfg) / 1024:,.0f} "
            f"| {runs[-1][1]:,.1f} |",
            flush=True,
        )
    del model
    vocabs = [margs.vocab_size // 8, margs.vocab_size // 4, margs.vocab_size // 2, margs.vocab_size]
    print(
        f"\ngrowth per token (KiB) between rows of {lengths[-2]:,} and {lengths[-1]:,} tokens, "
        "per vocabulary\n"
    )
    print("| mode | " + " | ".join(f"V={V:,}" for V in vocabs) + " |")
    print("|---|" + "---:|" * len(vocabs))
    vcurves = {name: [] for name in ("plain", "+tiled loss")}
    for V in vocabs[:-1]:
        model = build(replace(margs, vocab_size=V))
        for name, ys in vcurves.items():
            step(model, 64, 32, MODES[name])
            peaks = [step(model, T, args.sample_len, MODES[name])[0] for T in lengths[-2:]]
            ys.append(slope(lengths[-2:], peaks) * MiB / 1024)
        del model
    for name, ys in vcurves.items():
        ys.append(slope(lengths[-2:], curves[name][-2:]) * MiB / 1024)
        print(f"| {name} | " + " | ".join(f"{y:,.0f}" for y in ys) + " |")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
        for name, ys in curves.items():
            ax1.plot(lengths, [y / 1024 for y in ys], marker="o", label=name)
        ax1.set(
            xlabel="row length (tokens)",
            ylabel="peak memory above weights (GiB)",
            ylim=(0, None),
            title=f"Qwen3-4B shape, {args.layers} layer(s), vocabulary 151,936, bf16 CPU",
        )
        for name, ys in vcurves.items():
            ax2.plot(vocabs, ys, marker="o", label=name)
        ax2.set(
            xlabel="vocabulary",
            ylabel="growth per token (KiB)",
            ylim=(0, None),
            title=f"memory per token, rows of {lengths[-2]:,} to {lengths[-1]:,} tokens",
        )
        for ax in (ax1, ax2):
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        Path(args.png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png, dpi=110)
        print(f"\nwrote {args.png}")


if __name__ == "__main__":
    main()
