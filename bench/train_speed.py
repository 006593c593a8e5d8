"""Training throughput on CPU: this project's model in fp32 and in bf16 against llama2.c's, and
a check of the rule `dtype=auto` picks by.

    python bench/train_speed.py [--configs 260K quick cpu 15M 42M] [--compile auto|on|off]
                                [--threads 0] [--steps 6] [--batch 8] [--seq 512]

One run prints, per config (the same shapes for every column):
- tokens/s of llama2.c's model as its train.py runs on a CPU: fp32, eager, plain AdamW
  (`bench/llama2c_ref.py` re-implements its compute: interleaved-pair RoPE in fp32, RMSNorm
  in three ops, SDPA attention);
- tokens/s of this project's model (fused AdamW) with fp32 and with bf16 autocast, compiled
  as `--compile` says (auto: as train.py would for a long run);
- the dtype `dtype=auto` picks for the shape (training.choose_dtype) and whether it is the faster
  one here ("yes", or "no" with the cost of the wrong pick): the check of the rule;
- the picked path's tokens/s against llama2.c's, and its achieved GFLOP/s (6 FLOPs per
  parameter per token plus attention) as a share of the matmul peaks this script measures itself.
Random tokens: the data does not change the arithmetic. The variants take their steps in turn
(medians), so a change in the machine's load hits them alike; warm-up (compiling included) is
reported apart. Absolute numbers swing with load; the ratios in one run are what to compare.
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import nullcontext

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.llama2c_ref import Llama2cArgs, Llama2cModel  # noqa: E402
from sqlcomplete.model import ModelArgs, Transformer  # noqa: E402
from sqlcomplete.training import (  # noqa: E402
    AMX_BF16_MIN_DIM,
    autocast_context,
    choose_dtype,
    cpu_bf16_flag,
    default_threads,
    resolve_compile,
)
from train import load_config  # noqa: E402


def matmul_peak(
    dtype: torch.dtype, m: int = 4096, k: int = 288, n: int = 1152, reps: int = 20
) -> float:
    """FLOP/s of one (m, k) @ (k, n) matmul, best of `reps` (15M's MLP shape by default)."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * m * k * n / best


def make_step(model, optimizer, x, y, ctx, forward=None):
    forward = model if forward is None else forward

    def step():
        with ctx:
            out = forward(x, y)
        loss = out[1] if isinstance(out, tuple) else out
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def model_args(name: str, seq: int) -> ModelArgs:
    return ModelArgs(
        **{**load_config(f"configs/{name}.py")["model"], "vocab_size": 512, "max_seq_len": seq}
    )


def llama2c_step(args: ModelArgs, x, y):
    torch.manual_seed(0)
    ref = Llama2cModel(
        Llama2cArgs(
            dim=args.dim,
            n_layers=args.n_layers,
            n_heads=args.n_heads,
            n_kv_heads=args.n_kv_heads,
            hidden_dim=args.hidden_dim,
            vocab_size=args.vocab_size,
            max_seq_len=args.max_seq_len,
        )
    )
    return make_step(ref, ref.configure_optimizers(0.1, 5e-4, (0.9, 0.95)), x, y, nullcontext())


def our_step(args: ModelArgs, x, y, dtype: str, compile_model: bool):
    torch.manual_seed(0)
    model = Transformer(args)
    opt = model.configure_optimizers(0.1, 5e-4, (0.9, 0.95), "cpu")
    forward = torch.compile(model) if compile_model else model
    return make_step(model, opt, x, y, autocast_context("cpu", dtype), forward)


def interleaved_seconds(steps: dict, rounds: int) -> dict:
    """Median seconds per step of each variant, taking one step of each in turn, so that a change in
    the machine's load hits all of them alike."""
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configs", nargs="+", default=["260K", "quick", "cpu", "15M", "42M"])
    ap.add_argument(
        "--compile",
        choices=("auto", "on", "off"),
        default="auto",
        help="compile this project's model (auto: as train.py would for a long run)",
    )
    ap.add_argument("--threads", type=int, default=0, help="0: one per core, as train.py")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    a = ap.parse_args()
    torch.set_num_threads(a.threads or default_threads())
    compile_model = (
        a.compile == "on"
        if a.compile != "auto"
        else resolve_compile(None, "cpu", planned_steps=10_000)
    )
    fp32_peak, bf16_peak = matmul_peak(torch.float32), matmul_peak(torch.bfloat16)
    print(
        f"{torch.get_num_threads()} threads; CPU bf16: {cpu_bf16_flag() or 'not native'}; matmul "
        f"4096x288 @ 288x1152: fp32 {fp32_peak / 1e9:,.0f} GFLOP/s, bf16 {bf16_peak / 1e9:,.0f} "
        f"GFLOP/s; this model compiled: {compile_model}; dtype=auto's rule: bf16 where the CPU "
        f"has native bf16, with AMX from dim {AMX_BF16_MIN_DIM}",
        flush=True,
    )
    print(
        "\n| config | dim | params | llama2.c fp32 tok/s | fp32 tok/s | bf16 tok/s | bf16 / fp32 "
        "| auto picks | the faster? | picked / llama2.c | GFLOP/s | % fp32 peak | % bf16 peak "
        "| warm-up s |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for name in a.configs:
        torch._dynamo.reset()  # each config compiles afresh, not against dynamo's recompile limit
        args = model_args(name, a.seq)
        x = torch.randint(0, 512, (a.batch, a.seq))
        y = torch.randint(0, 512, (a.batch, a.seq))
        steps = {
            "llama2.c": llama2c_step(args, x, y),
            "float32": our_step(args, x, y, "float32", compile_model),
            "bfloat16": our_step(args, x, y, "bfloat16", compile_model),
        }
        t0 = time.perf_counter()
        for step in steps.values():  # warm-up; compiles
            step()
            step()
        warmup = time.perf_counter() - t0
        sec = interleaved_seconds(steps, a.steps)
        tps = {k: x.numel() / v for k, v in sec.items()}
        picked = choose_dtype("auto", "cpu", args.dim)[0]
        other = "float32" if picked == "bfloat16" else "bfloat16"
        right = (
            "yes"
            if tps[picked] >= tps[other]
            else f"no: {other} {tps[other] / tps[picked] - 1:.0%} faster"
        )
        model = Transformer(args)
        flops = tps[picked] * model.flops_per_token(a.seq)
        print(
            f"| {name} | {args.dim} | {model.num_params():,} | {tps['llama2.c']:,.0f} "
            f"| {tps['float32']:,.0f} | {tps['bfloat16']:,.0f} "
            f"| {tps['bfloat16'] / tps['float32']:.2f}x | {picked} | {right} "
            f"| {tps[picked] / tps['llama2.c']:.2f}x | {flops / 1e9:,.0f} "
            f"| {100 * flops / fp32_peak:.0f}% | {100 * flops / bf16_peak:.0f}% | {warmup:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
