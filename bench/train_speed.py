"""Training throughput on CPU, as a ratio to karpathy/llama2.c's model.py on the same shapes.

    python bench/train_speed.py [--threads 2] [--steps 20]

Batch 16 x 256 tokens, AdamW as in llama2.c, random tokens (the data does not change the
arithmetic). Reference tokens/s measured on this project's 2-core machine with llama2.c's
model.py and AdamW: 15M 2,500, 260K 13,700.
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from model import ModelArgs, Transformer  # noqa: E402
from train import load_config  # noqa: E402

REFERENCE = {"260K": 13_700, "15M": 2_500}


def measure(name: str, steps: int, batch: int, seq: int, compile_model: bool) -> float:
    cfg = load_config(f"configs/{name}.py")
    torch.manual_seed(0)
    model = Transformer(ModelArgs(**{**cfg["model"], "vocab_size": 512, "max_seq_len": seq}))
    opt = model.configure_optimizers(0.1, 5e-4, (0.9, 0.95), "cpu")
    step_fn = torch.compile(model) if compile_model else model
    x = torch.randint(0, 512, (batch, seq))
    y = torch.randint(0, 512, (batch, seq))
    for i in range(steps + 3):  # 3 warmup steps
        if i == 3:
            t0 = time.perf_counter()
        _, loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return steps * batch * seq / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--compile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| config | params | tokens/s | llama2.c tokens/s | ratio |\n|---|---|---|---|---|")
    for name in ("260K", "15M"):
        tps = measure(name, args.steps, 16, 256, args.compile)
        n = Transformer(ModelArgs(**load_config(f"configs/{name}.py")["model"])).num_params()
        print(f"| {name} | {n / 1e6:.2f}M | {tps:,.0f} | {REFERENCE[name]:,} | {tps / REFERENCE[name]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
