"""The peer in bench/train_speed.py: llama2.c's training model (karpathy/llama2.c, model.py),
re-implemented.

It reproduces that model's arithmetic as its train.py runs it on a CPU, which is what the
benchmark compares against: fp32, eager, RoPE on interleaved pairs computed in fp32 with
stack/flatten, RMSNorm as three separate ops, `F.scaled_dot_product_attention(is_causal=True)`,
SwiGLU, a tied output layer, and AdamW without `fused` (llama2.c fuses only on CUDA).
Shapes come from the caller, so both models run identical configurations.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Llama2cArgs:
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    hidden_dim: int
    vocab_size: int
    max_seq_len: int
    norm_eps: float = 1e-5


class Norm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return (
            x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        ).type_as(x) * self.weight


def rope_pairs(x, cos, sin):
    # x: (B, T, H, D) with (real, imaginary) pairs interleaved in D; cos/sin: (T, D/2)
    re, im = x.float().reshape(x.shape[:-1] + (-1, 2)).unbind(-1)
    cos, sin = cos[None, :, None], sin[None, :, None]
    return torch.stack([re * cos - im * sin, re * sin + im * cos], dim=-1).flatten(3).type_as(x)


class SelfAttention(nn.Module):
    def __init__(self, a: Llama2cArgs):
        super().__init__()
        self.n_heads, self.n_kv, self.head_dim = a.n_heads, a.n_kv_heads, a.dim // a.n_heads
        self.wq = nn.Linear(a.dim, a.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(a.dim, a.n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(a.dim, a.n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(a.n_heads * self.head_dim, a.dim, bias=False)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = rope_pairs(self.wq(x).view(B, T, self.n_heads, self.head_dim), cos, sin)
        k = rope_pairs(self.wk(x).view(B, T, self.n_kv, self.head_dim), cos, sin)
        v = self.wv(x).view(B, T, self.n_kv, self.head_dim)
        rep = self.n_heads // self.n_kv
        if rep > 1:  # (B, T, n_kv, D) -> (B, T, n_heads, D)
            k = (
                k[:, :, :, None]
                .expand(B, T, self.n_kv, rep, self.head_dim)
                .reshape(B, T, self.n_heads, self.head_dim)
            )
            v = (
                v[:, :, :, None]
                .expand(B, T, self.n_kv, rep, self.head_dim)
                .reshape(B, T, self.n_heads, self.head_dim)
            )
        y = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True
        )
        return self.wo(y.transpose(1, 2).contiguous().view(B, T, -1))


class FeedForward(nn.Module):
    def __init__(self, a: Llama2cArgs):
        super().__init__()
        self.w1 = nn.Linear(a.dim, a.hidden_dim, bias=False)
        self.w2 = nn.Linear(a.hidden_dim, a.dim, bias=False)
        self.w3 = nn.Linear(a.dim, a.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Layer(nn.Module):
    def __init__(self, a: Llama2cArgs):
        super().__init__()
        self.attention, self.feed_forward = SelfAttention(a), FeedForward(a)
        self.attention_norm, self.ffn_norm = Norm(a.dim, a.norm_eps), Norm(a.dim, a.norm_eps)

    def forward(self, x, cos, sin):
        h = x + self.attention(self.attention_norm(x), cos, sin)
        return h + self.feed_forward(self.ffn_norm(h))


class Llama2cModel(nn.Module):
    def __init__(self, a: Llama2cArgs):
        super().__init__()
        self.tok_embeddings = nn.Embedding(a.vocab_size, a.dim)
        self.layers = nn.ModuleList(Layer(a) for _ in range(a.n_layers))
        self.norm = Norm(a.dim, a.norm_eps)
        self.output = nn.Linear(a.dim, a.vocab_size, bias=False)
        self.tok_embeddings.weight = self.output.weight
        head_dim = a.dim // a.n_heads
        freqs = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2).float() / head_dim))
        angles = torch.outer(torch.arange(a.max_seq_len).float(), freqs)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)
        for name, p in self.named_parameters():
            std = (
                0.02 / math.sqrt(2 * a.n_layers)
                if name.endswith(("w3.weight", "wo.weight"))
                else 0.02
            )
            if p.dim() >= 2:
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, tokens, targets):
        T = tokens.shape[1]
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h, self.cos[:T], self.sin[:T])
        logits = self.output(self.norm(h))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

    def configure_optimizers(
        self, weight_decay: float, learning_rate: float, betas
    ) -> torch.optim.AdamW:
        decay = [p for p in self.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.parameters() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)
