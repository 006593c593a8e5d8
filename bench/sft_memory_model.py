"""Memory model of Qwen3-4B FIM SFT on H100s: peak GPU memory per row length and the longest row
that fits.

    python bench/sft_memory_model.py [--gpu_gib 79.6] [--reserve_gib 6] [--loss_chunk 1024]

Arithmetic, not a measurement: every term is written out below (bytes; bf16 compute with
fp32 master weights under FSDP2, AdamW). `layer_saved_bytes` counts what autograd keeps for
one layer of fim/longseq.py, tensor by tensor; tests/test_longseq.py checks that count
against the bytes a real layer saves. docs/long_sequence.md holds the printed tables.
"""

import argparse
import math
import sys
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sqlcomplete.fim.longseq import train_flops
from sqlcomplete.model import ModelArgs

GiB = 2**30
QWEN3_4B = ModelArgs(
    dim=2560,
    n_layers=36,
    n_heads=32,
    n_kv_heads=8,
    head_dim=128,
    hidden_dim=9728,
    vocab_size=151936,
    max_seq_len=262144,
    norm_eps=1e-6,
    rope_theta=5e6,
    qk_norm=True,
    tie_embeddings=True,
)  # Qwen3-4B-Instruct-2507


def param_counts(a: ModelArgs) -> tuple[int, int]:
    """(parameters of one layer, parameters outside the layers: embedding, final norm, untied
    head)."""
    attn = a.dim * (a.n_heads + 2 * a.n_kv_heads) * a.head_dim + a.n_heads * a.head_dim * a.dim
    layer = attn + 3 * a.dim * a.hidden_dim + 2 * a.dim + (2 * a.head_dim if a.qk_norm else 0)
    return layer, a.vocab_size * a.dim * (1 if a.tie_embeddings else 2) + a.dim


def layer_saved_bytes(
    a: ModelArgs, e: int = 2, tiled_mlp: bool = False, cpu_linear_copies: bool = False
) -> int:
    """Bytes per token that autograd saves for one layer (activations in e-byte floats).

    RoPE multiplies by the shared cos/sin tables, which need no gradient: nothing per layer.
    cpu_linear_copies: on CPU a bf16 nn.Linear keeps its own copy of a normed (B, T, dim) input.
    """
    d, q, k, h, kv, f = (
        a.dim,
        a.n_heads * a.head_dim,
        a.n_kv_heads * a.head_dim,
        a.n_heads,
        a.n_kv_heads,
        a.hidden_dim,
    )

    def rmsnorm(
        n, rows
    ):  # model.RMSNorm on bf16: fp32 copy of the input, fp32 rsqrt per row, normed output
        return 4 * n + 4 * rows + e * n

    b = 2 * rmsnorm(
        d, 1
    )  # input_layernorm, post_attention_layernorm (their outputs feed the projections)
    if a.qk_norm:
        b += rmsnorm(q, h) + rmsnorm(k, kv)
    b += (
        e * (q + 2 * k) + e * q + 4 * h
    )  # attention keeps q, k, v (after norm and RoPE), output, fp32 log-sum-exp
    b += e * q  # o_proj's input (the output, transposed and made contiguous)
    if not tiled_mlp:
        b += 4 * e * f  # gate, silu(gate), up, their product
    if cpu_linear_copies:
        b += 2 * e * d
    return b


@dataclass
class Setup:
    name: str
    gpus: int  # FSDP2 shards parameters, gradients and optimizer state over all of them
    sp: int  # Ulysses sequence parallel degree: each GPU holds row / sp tokens
    cpu_offload: (
        bool  # FSDP2 CPUOffloadPolicy: sharded params, grads and the AdamW step on the host
    )


@dataclass
class Pieces:
    name: str
    tiled_loss: bool = False
    tiled_mlp: bool = False
    checkpoint: bool = False
    offload: bool = False
    attention: str = "flex"


def static_bytes(a: ModelArgs, s: Setup, e: int = 2) -> dict[str, float]:
    """Per-GPU bytes that do not grow with the row."""
    layer, outside = param_counts(a)
    total = a.n_layers * layer + outside
    sharded = 0 if s.cpu_offload else 16 * total / s.gpus  # fp32 param + fp32 grad + AdamW m, v
    # unsharded working copies: the root (embedding/head) all step, two layers gathered (one
    # prefetched), bf16 gradients and their fp32 reduce-scatter copies for the root and one layer
    working = 2 * e * outside + 4 * outside + 2 * e * layer + (e + 4) * layer
    return {"sharded state": sharded, "gathered params+grads": working}


def per_token_bytes(
    a: ModelArgs, p: Pieces, e: int = 2, cpu_linear_copies: bool = False
) -> dict[str, float]:
    """Per-GPU bytes per token of this GPU's slice of the row."""
    d, q, k = a.dim, a.n_heads * a.head_dim, a.n_kv_heads * a.head_dim
    saved = layer_saved_bytes(a, e, p.tiled_mlp, cpu_linear_copies)
    out = {}
    if p.checkpoint:
        out["layer inputs (checkpoints)"] = 0 if p.offload else a.n_layers * e * d
        out["layer being recomputed"] = saved
    else:
        out["saved activations, all layers"] = a.n_layers * saved
    # backward of one layer: gradients of its MLP intermediates (untiled) or of q, k, v with
    # flash's fp32 dq
    out["layer backward"] = (
        max(4 * e * a.hidden_dim if not p.tiled_mlp else 0, e * (q + 2 * k) + 4 * q) + 2 * e * d
    )
    out["residual stream, rope, ids"] = 2 * e * d + 2 * e * a.head_dim + 4 * 8
    # untiled: fp32 log-softmax kept for backward, plus its gradient and the logits' gradient in
    # backward
    out["loss"] = 3 * e * d + 20 if p.tiled_loss else 12 * a.vocab_size
    return out


def fixed_bytes(
    a: ModelArgs,
    p: Pieces,
    row: int,
    local: int | None = None,
    e: int = 2,
    loss_chunk: int = 1024,
    mlp_chunk: int = 4096,
    block: int = 128,
) -> dict[str, float]:
    """Per-GPU bytes set by chunk sizes (and the flex block mask, quadratic in the whole row).
    local: the tokens of this GPU's slice (default: the row)."""
    tokens = row if local is None else local
    out = {}
    if p.tiled_loss:  # one chunk's logits (bf16), their fp32 softmax and bf16 gradient
        out["loss tile"] = min(loss_chunk, tokens) * a.vocab_size * (e + 4 + e)
    if (
        p.tiled_mlp
    ):  # one chunk's gate, up, silu, product and their gradients; fp32 weight-gradient sums
        out["mlp tile"] = (
            min(mlp_chunk, tokens) * a.hidden_dim * 8 * e + 3 * 4 * a.dim * a.hidden_dim
        )
    if p.attention == "flex":  # kv and q block indices, partial and full, int32
        out["block mask"] = 16 * math.ceil(row / block) ** 2
    return out


def peak_bytes(a: ModelArgs, s: Setup, p: Pieces, row: int, **kw) -> float:
    local = row // s.sp
    return (
        sum(static_bytes(a, s).values())
        + local * sum(per_token_bytes(a, p).values())
        + sum(fixed_bytes(a, p, row, local, **kw).values())
    )


def max_row(a: ModelArgs, s: Setup, p: Pieces, budget: float, **kw) -> int:
    """Longest row (a multiple of 256 tokens) whose peak fits the budget; 0 if none."""
    lo, hi = 0, 1 << 26
    while hi - lo > 256:
        mid = (lo + hi) // 2 // 256 * 256
        lo, hi = (mid, hi) if peak_bytes(a, s, p, mid, **kw) <= budget else (lo, mid)
    return lo


SETUPS = [
    Setup("1xH100", 1, 1, False),
    Setup("1xH100, FSDP2 CPU offload", 1, 1, True),
    Setup("8xH100, FSDP2, a row per GPU", 8, 1, False),
    Setup("8xH100, FSDP2 + Ulysses SP=8", 8, 8, False),
]
PIECES = [
    Pieces("plain"),
    Pieces("+tiled loss", tiled_loss=True),
    Pieces("+tiled MLP", True, True),
    Pieces("+checkpointing", True, True, True),
    Pieces("+activation offload", True, True, True, True),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--gpu_gib", type=float, default=79.6, help="H100 80GB: what torch.cuda reports"
    )
    ap.add_argument(
        "--reserve_gib", type=float, default=6.0, help="CUDA context, NCCL buffers, fragmentation"
    )
    ap.add_argument("--loss_chunk", type=int, default=1024)
    ap.add_argument("--row", type=int, default=262144, help="the seed's max_length")
    ap.add_argument("--mfu", type=float, default=0.4, help="for the step-time column")
    args = ap.parse_args()
    a, budget = QWEN3_4B, (args.gpu_gib - args.reserve_gib) * GiB
    layer, outside = param_counts(a)
    print(
        f"Qwen3-4B: {a.n_layers * layer + outside:,} parameters "
        f"({layer:,} per layer, {outside:,} embedding/norm); "
        f"budget {budget / GiB:.1f} GiB per GPU\n"
    )
    print(
        "per token per layer, saved by autograd (bf16): "
        f"{layer_saved_bytes(a):,} B plain, "
        f"{layer_saved_bytes(a, tiled_mlp=True):,} B with the tiled MLP, "
        f"{2 * a.dim:,} B checkpointed, 0 offloaded\n"
    )
    print("per-GPU bytes per token of the GPU's slice:")
    keys = list(dict.fromkeys(k for p in PIECES for k in per_token_bytes(a, p)))
    print("| pieces | " + " | ".join(keys) + " | total |")
    print("|---|" + "---:|" * (len(keys) + 1))
    for p in PIECES:
        t = per_token_bytes(a, p)
        print(
            f"| {p.name} | "
            + " | ".join(f"{t[k]:,.0f}" if k in t else "" for k in keys)
            + f" | {sum(t.values()):,.0f} |"
        )
    print(
        "\nstatic per GPU: "
        + "; ".join(
            f"{s.name}: "
            + ", ".join(f"{k} {v / GiB:.1f} GiB" for k, v in static_bytes(a, s).items())
            for s in SETUPS
        )
    )
    print(
        f"fixed (all pieces, row {args.row:,}): "
        + ", ".join(
            f"{k} {v / GiB:.2f} GiB"
            for k, v in fixed_bytes(a, PIECES[-1], args.row, loss_chunk=args.loss_chunk).items()
        )
    )
    print(f"\nlongest row that fits (tokens), and peak GiB per GPU at the seed's {args.row:,}:")
    print("| pieces | " + " | ".join(s.name for s in SETUPS) + " |")
    print("|---|" + "---|" * len(SETUPS))
    for p in PIECES:
        cells = []
        for s in SETUPS:
            n = max_row(a, s, p, budget, loss_chunk=args.loss_chunk)
            peak = peak_bytes(a, s, p, args.row, loss_chunk=args.loss_chunk) / GiB
            cells.append(f"{n:,} ({peak:,.0f} GiB{'' if peak * GiB <= budget else ' ✗'})")
        print(f"| {p.name} | " + " | ".join(cells) + " |")
    layer, outside = param_counts(a)
    host = 16 * (a.n_layers * layer + outside)
    acts = args.row * a.n_layers * 2 * a.dim
    print(
        f"\nFLOPs of one {args.row:,}-token row (forward + backward, fim/longseq.train_flops), "
        f"and the step time of 8 H100s at {args.mfu:.0%} MFU (989 TFLOP/s dense bf16 each), "
        "by the length of the packed samples:"
    )
    print("| samples of | matmul PFLOP | attention PFLOP | seconds per row on 8 GPUs |")
    print("|---:|---:|---:|---:|")
    for n in (1024, 4096, 32768, args.row):
        lengths = [[n] * (args.row // n)]
        total, matmul = train_flops(a, lengths), train_flops(replace(a, n_layers=0), lengths)
        matmul += 6 * a.n_layers * layer * args.row
        print(
            f"| {n:,} | {matmul / 1e15:,.1f} | {(total - matmul) / 1e15:,.1f} | "
            f"{total / (8 * 989e12 * args.mfu):,.2f} |"
        )
    print(
        f"\nhost memory: FSDP2 CPU offload {host / GiB:.0f} GiB (fp32 params, grads, AdamW); "
        f"offloaded checkpoints {acts / GiB:.0f} GiB (pinned) per {args.row:,}-token row in flight"
    )


if __name__ == "__main__":
    main()
