"""A LLaMA-style decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) with a KV cache.

One model serves the tiny SQL completers (configs/260K.py, 15M.py, 42M.py) and, with
`qk_norm=True` and a large `rope_theta`, Qwen3. Module and parameter names follow
Hugging Face's LlamaForCausalLM / Qwen3ForCausalLM so that `save_pretrained` writes a
checkpoint transformers, vLLM and llama.cpp's converter can read (sharded above 5 GB), and
`from_pretrained` reads theirs, sharded or not.
"""

import json
import math
import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

from sqlcomplete.files import copy_file_atomic, write_json_atomic


@dataclass
class ModelArgs:
    dim: int = 288
    n_layers: int = 6
    n_heads: int = 6
    n_kv_heads: int | None = None  # None: same as n_heads
    head_dim: int | None = None  # None: dim // n_heads (Qwen3 sets it independently)
    hidden_dim: int | None = None  # None: 4 * dim
    vocab_size: int = 512
    max_seq_len: int = 1024
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    qk_norm: bool = False  # Qwen3: per-head RMSNorm on q and k before RoPE
    dropout: float = 0.0

    def __post_init__(self):
        self.n_kv_heads = self.n_kv_heads or self.n_heads
        self.head_dim = self.head_dim or self.dim // self.n_heads
        self.hidden_dim = self.hidden_dim or 4 * self.dim
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"n_heads ({self.n_heads}) must be a multiple of n_kv_heads ({self.n_kv_heads})"
            )


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        if x.dtype == torch.float32 and not torch.onnx.is_in_onnx_export():
            return F.rms_norm(
                x, self.weight.shape, self.weight, self.eps
            )  # one fused op: decoding is overhead-bound
        x32 = x.float()  # normalize in fp32 as the reference implementations do
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(
            x
        ) * self.weight


def precompute_rope(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Real cos/sin tables (max_len, head_dim) in the rotate-half layout of Hugging Face."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.outer(torch.arange(max_len, dtype=torch.float64), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary_emb(x, cos, sin):
    # x: (B, H, T, D); cos/sin: (B, 1, T, D)
    return x * cos + rotate_half(x) * sin


def repeat_kv(x, n_rep: int):
    # (B, n_kv, T, D) -> (B, n_kv * n_rep, T, D)
    if n_rep == 1:
        return x
    B, H, T, D = x.shape
    return x[:, :, None].expand(B, H, n_rep, T, D).reshape(B, H * n_rep, T, D)


class Attention(nn.Module):
    def __init__(self, args: ModelArgs, layer_id: int):
        super().__init__()
        self.layer_id = layer_id
        self.n_heads, self.n_kv_heads, self.head_dim = args.n_heads, args.n_kv_heads, args.head_dim
        self.q_proj = nn.Linear(args.dim, args.n_heads * args.head_dim, bias=False)
        self.k_proj = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
        self.v_proj = nn.Linear(args.dim, args.n_kv_heads * args.head_dim, bias=False)
        self.o_proj = nn.Linear(args.n_heads * args.head_dim, args.dim, bias=False)
        if args.qk_norm:
            self.q_norm = RMSNorm(args.head_dim, args.norm_eps)
            self.k_norm = RMSNorm(args.head_dim, args.norm_eps)
        self.qk_norm = args.qk_norm
        self.dropout = args.dropout

    def project(self, x, cos, sin):
        """q, k, v as (B, heads, T, head_dim): projections, q/k norm (Qwen3), RoPE on q and k."""
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        return apply_rotary_emb(q, cos, sin), apply_rotary_emb(k, cos, sin), v

    def forward(self, x, cos, sin, cache=None, attn_mask=None, attend=None):
        """`attend(q, k, v)` -> (B, H, T, D), if given, replaces the attention itself (k and v keep
        their n_kv heads): fim/longseq.py's document-masked and sequence-parallel attention over
        packed rows."""
        B, T, _ = x.shape
        q, k, v = self.project(x, cos, sin)
        if attend is not None:
            y = attend(q, k, v)
        elif cache is not None:
            y = cache.attend(self.layer_id, q, k, v)
        else:
            n_rep = self.n_heads // self.n_kv_heads
            k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
            drop = self.dropout if self.training else 0.0
            if attn_mask is None:
                y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=drop)
        y = y.transpose(1, 2).reshape(B, T, self.n_heads * self.head_dim)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.gate_proj = nn.Linear(args.dim, args.hidden_dim, bias=False)
        self.up_proj = nn.Linear(args.dim, args.hidden_dim, bias=False)
        self.down_proj = nn.Linear(args.hidden_dim, args.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, args: ModelArgs, layer_id: int):
        super().__init__()
        self.input_layernorm = RMSNorm(args.dim, args.norm_eps)
        self.self_attn = Attention(args, layer_id)
        self.post_attention_layernorm = RMSNorm(args.dim, args.norm_eps)
        self.mlp = MLP(args)
        self.drop = nn.Dropout(args.dropout)

    def forward(self, x, cos, sin, cache=None, attn_mask=None, attend=None, mlp=None):
        """`attend`: see Attention.forward; `mlp(mlp_module, x)`, if given, computes the MLP (a
        tiled one)."""
        x = x + self.drop(
            self.self_attn(self.input_layernorm(x), cos, sin, cache, attn_mask, attend)
        )
        h = self.post_attention_layernorm(x)
        return x + self.drop(self.mlp(h) if mlp is None else mlp(self.mlp, h))


class KVCache:
    """Preallocated keys/values for incremental decoding, one length per row.

    Rows may hold prompts of different lengths (right-padded prefill with `n_valid`).
    A cache built with `prefix=` shares that cache's first `prefix.lengths[0]` positions
    (the schema) across all its rows without copying them; `reorder` forks or
    reorders rows (beam search), `truncate` rewinds (reuse of a common token prefix).
    """

    def __init__(
        self,
        args: ModelArgs,
        batch: int,
        max_len: int,
        prefix: "KVCache | None" = None,
        device=None,
        dtype=torch.float32,
    ):
        if prefix is not None and prefix.batch != 1:
            raise ValueError("a shared prefix cache must have batch 1")
        shape = (args.n_layers, batch, args.n_kv_heads, max_len, args.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.lengths = torch.zeros(batch, dtype=torch.long, device=device)
        self.prefix = prefix
        self.prefix_len = int(prefix.lengths[0]) if prefix is not None else 0
        self.max_len, self.batch = max_len, batch
        self._n_new = None  # set by begin(): tokens written per row in the current forward

    def begin(
        self, T: int, n_valid: torch.Tensor | None = None, tree: list[int] | None = None
    ) -> torch.Tensor:
        """Positions (B, T) of the T incoming tokens; `n_valid` (B,) marks right padding.
        Also prepares the write slots and causal mask that every layer's `attend` shares.

        `tree` (batch 1): the T tokens are a token tree, tree[i] the index of token i's parent among
        them (-1: it follows the cached tokens). Each token sees its ancestors only, at its depth's
        position: many continuations scored in one row, their shared beginnings computed once."""
        if int(self.lengths.max()) + T > self.max_len:
            raise ValueError(f"KV cache full: {int(self.lengths.max())} + {T} > {self.max_len}")
        self._n_new = (
            torch.full_like(self.lengths, T) if n_valid is None else n_valid.to(self.lengths)
        )
        dev = self.lengths.device
        slots = self.lengths[:, None] + torch.arange(T, device=dev)  # (B, T)
        self._rows = torch.arange(self.batch, device=dev)[:, None].expand(self.batch, T)
        self._slots = slots
        self._L = int(self.lengths.max()) + T
        if tree is None:
            self._mask = (torch.arange(self._L, device=dev)[None, None, :] <= slots[:, :, None])[
                :, None, None
            ]  # (B,1,1,T,L)
            return self.prefix_len + slots
        if self.batch != 1 or len(tree) != T or any(not -1 <= p < i for i, p in enumerate(tree)):
            raise ValueError("a token tree needs batch 1 and each parent before its child")
        n = int(self.lengths[0])
        sees = torch.zeros(T, self._L, dtype=torch.bool)
        sees[:, :n] = True
        depth = [0] * T
        for i, p in enumerate(tree):
            sees[i, n + i] = True
            if p >= 0:
                sees[i] |= sees[p]
                depth[i] = depth[p] + 1
        self._mask = sees.to(dev)[None, None, None]
        return self.prefix_len + n + torch.tensor([depth], device=dev)

    def attend(self, layer: int, q, k, v):
        """Write k, v (B, n_kv, T, D) at each row's position, attend q (B, H, T, D) causally."""
        B, H, T, D = q.shape
        n_kv = k.shape[1]
        g = H // n_kv
        self.k[layer][self._rows, :, self._slots] = k.transpose(1, 2)
        self.v[layer][self._rows, :, self._slots] = v.transpose(1, 2)
        L = self._L
        ks, vs = self.k[layer, :, :, :L], self.v[layer, :, :, :L]  # (B, n_kv, L, D)
        if self.prefix is None or not self.prefix_len:
            # measured: 4-5x faster than the explicit softmax for a long prefill, no slower for one
            # token
            return F.scaled_dot_product_attention(
                q, ks, vs, attn_mask=self._mask.view(B, 1, T, L), enable_gqa=True
            )
        # grouped query heads share their kv head: fold them into the query length (no broadcasting)
        q4 = q.reshape(B, n_kv, g * T, D) * (1.0 / math.sqrt(D))
        scores = torch.matmul(q4, ks.transpose(-1, -2))  # (B, n_kv, g*T, L)
        scores = (
            scores.view(B, n_kv, g, T, L)
            .masked_fill(~self._mask, float("-inf"))
            .view(B, n_kv, g * T, L)
        )
        # the shared prefix (batch 1): one bmm per kv head over all rows' queries
        P = self.prefix_len
        kp, vp = self.prefix.k[layer, 0, :, :P], self.prefix.v[layer, 0, :, :P]  # (n_kv, P, D)
        qp = q4.transpose(0, 1).reshape(n_kv, B * g * T, D)
        pscores = torch.bmm(qp, kp.transpose(1, 2)).view(n_kv, B, g * T, P).transpose(0, 1)
        probs = torch.softmax(torch.cat([pscores, scores], dim=-1).float(), dim=-1).type_as(q)
        pp = probs[..., :P].transpose(0, 1).reshape(n_kv, B * g * T, P)
        y = torch.bmm(pp, vp).view(n_kv, B, g * T, D).transpose(0, 1) + torch.matmul(
            probs[..., P:], vs
        )
        return y.reshape(B, H, T, D)

    def commit(self):
        """Advance row lengths after all layers have attended (called by the model)."""
        self.lengths += self._n_new
        self._n_new = None

    def reorder(self, index: torch.Tensor) -> "KVCache":
        """Keep/duplicate rows by index (beam search, forking one row into many)."""
        self.k, self.v = self.k[:, index], self.v[:, index]
        self.lengths = self.lengths[index]
        self.batch = len(index)
        return self

    def truncate(self, length: int):
        """Rewind every row to `length` positions (not counting the shared prefix)."""
        self.lengths.clamp_(max=length)


class Transformer(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        self.args = args
        self.embed_tokens = nn.Embedding(args.vocab_size, args.dim)
        self.drop = nn.Dropout(args.dropout)
        self.layers = nn.ModuleList(Block(args, i) for i in range(args.n_layers))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.lm_head = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = precompute_rope(args.head_dim, args.max_seq_len, args.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.checkpoint_activations = (
            False  # trainers set it: blocks recompute their activations in backward
        )
        if self.embed_tokens.weight.is_meta:
            return  # from_pretrained fills these tensors from the checkpoint
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                # scaled init for residual projections, per GPT-2
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * args.n_layers))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(
        self,
        tokens: torch.Tensor,
        targets: torch.Tensor | None = None,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        n_valid: torch.Tensor | None = None,
        last_only: bool = False,
        tree: list[int] | None = None,
    ):
        """Logits (B, T, V), or (logits, mean loss over targets != -100) when targets are given.

        With `cache`, tokens continue each row of the cache (right padding marked by `n_valid`, a
        token tree by `tree`: see KVCache.begin).
        `positions` (B, T) and `attn_mask` serve packed rows (positions restarting per sample).
        """
        B, T = tokens.shape
        if cache is None and positions is None:
            if T > self.args.max_seq_len:
                raise ValueError(
                    f"sequence of {T} tokens is longer than max_seq_len {self.args.max_seq_len}"
                )
            positions = torch.arange(T, device=tokens.device)[None].expand(B, T)
        else:
            if cache is not None:
                positions = cache.begin(T, n_valid, tree)
            # a host sync (and a graph break when compiled): only for positions that come from
            # outside
            if not torch.compiler.is_compiling() and int(positions.max()) >= self.args.max_seq_len:
                raise ValueError(
                    f"position {int(positions.max())} beyond max_seq_len {self.args.max_seq_len}"
                )
        cos = self.rope_cos[positions][:, None].to(self.embed_tokens.weight.dtype)  # (B, 1, T, D)
        sin = self.rope_sin[positions][:, None].to(self.embed_tokens.weight.dtype)
        h = self.drop(self.embed_tokens(tokens))
        for layer in self.layers:
            if self.checkpoint_activations and self.training and torch.is_grad_enabled():
                h = torch.utils.checkpoint.checkpoint(
                    layer, h, cos, sin, cache, attn_mask, use_reentrant=False
                )
            else:
                h = layer(h, cos, sin, cache, attn_mask)
        if cache is not None:
            cache.commit()
        h = self.norm(h)
        if targets is None:
            return self.lm_head(h[:, -1:] if last_only else h)
        logits = self.lm_head(h)
        loss = F.cross_entropy(
            logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100
        )
        return logits, loss

    def num_params(self, non_embedding: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.embed_tokens.weight.numel()
        return n

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Optimizer groups: decay 2D weights (matmuls, embeddings), not norms. train.py's and
        fim/sft.py's."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [
            {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
        ]

    def configure_optimizers(
        self, weight_decay: float, learning_rate: float, betas, device_type: str
    ):
        groups = self.param_groups(weight_decay)
        # one fused kernel for all parameters (CUDA and CPU), not a loop of small ops
        fused = device_type in ("cuda", "cpu")
        return torch.optim.AdamW(
            groups, lr=learning_rate, betas=betas, fused=fused, foreach=None if fused else True
        )

    def flops_per_token(self, seq_len: int) -> float:
        """Training FLOPs per token: 6 N for the matmuls plus attention (PaLM appendix B)."""
        a = self.args
        n = self.num_params() - (0 if a.tie_embeddings else self.embed_tokens.weight.numel())
        return 6 * n + 12 * a.n_layers * a.n_heads * a.head_dim * seq_len

    def estimate_mfu(self, tokens_per_sec: float, seq_len: int, peak_flops: float) -> float:
        return self.flops_per_token(seq_len) * tokens_per_sec / peak_flops


# ---- Hugging Face layout: config.json + model.safetensors (or shards and their index) ----

INDEX, SINGLE = "model.safetensors.index.json", "model.safetensors"
MAX_SHARD_BYTES = 5 * 10**9  # transformers' default shard size for hub checkpoints
# what a serving stack needs besides the weights, copied from the directory a model came from
SIDE_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "generation_config.json",
)


def hf_config(args: ModelArgs, **extra) -> dict:
    qwen = args.qk_norm
    cfg = {
        "architectures": ["Qwen3ForCausalLM" if qwen else "LlamaForCausalLM"],
        "model_type": "qwen3" if qwen else "llama",
        "hidden_size": args.dim,
        "num_hidden_layers": args.n_layers,
        "num_attention_heads": args.n_heads,
        "num_key_value_heads": args.n_kv_heads,
        "head_dim": args.head_dim,
        "intermediate_size": args.hidden_dim,
        "vocab_size": args.vocab_size,
        "max_position_embeddings": args.max_seq_len,
        "rms_norm_eps": args.norm_eps,
        "rope_theta": args.rope_theta,
        "tie_word_embeddings": args.tie_embeddings,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "torch_dtype": "float32",
    }
    cfg.update(extra)
    return cfg


def read_hf_config(path: str) -> dict:
    """The config.json of a model directory."""
    cfg_path = os.path.join(path, "config.json")
    try:
        with open(cfg_path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{cfg_path}: not a readable model config ({e})") from e


def args_from_hf_config(cfg: dict) -> ModelArgs:
    # transformers >= 5 writes rope_theta inside rope_parameters; scaled RoPE (YaRN...) is not
    # implemented here
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        raise ValueError(f"unsupported RoPE scaling {rope}")
    if cfg.get("use_sliding_window"):
        raise ValueError("unsupported sliding-window attention")
    return ModelArgs(
        dim=cfg["hidden_size"],
        n_layers=cfg["num_hidden_layers"],
        n_heads=cfg["num_attention_heads"],
        n_kv_heads=cfg.get("num_key_value_heads"),
        head_dim=cfg.get("head_dim"),
        hidden_dim=cfg["intermediate_size"],
        vocab_size=cfg["vocab_size"],
        max_seq_len=cfg.get("max_position_embeddings", 2048),
        norm_eps=cfg.get("rms_norm_eps", 1e-6),
        rope_theta=cfg.get("rope_theta", rope.get("rope_theta", 10000.0)),
        tie_embeddings=cfg.get("tie_word_embeddings", False),
        qk_norm=cfg.get("model_type") == "qwen3",
    )


def hf_names(state_dict: dict[str, torch.Tensor], tie_embeddings: bool) -> dict[str, torch.Tensor]:
    """Our parameter names to Hugging Face's: a `model.` prefix, no lm_head when it is the tied
    embedding."""
    out = {}
    for name, t in state_dict.items():
        if name == "lm_head.weight":
            if not tie_embeddings:
                out[name] = t
        elif not name.startswith(("rope_cos", "rope_sin")):
            out["model." + name] = t
    return out


def weight_files(path: str) -> dict[str, list[str]]:
    """{safetensors file: tensor names in it} of a model directory, sharded (an index) or not."""
    from safetensors import safe_open

    index = os.path.join(path, INDEX)
    if os.path.isfile(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files: dict[str, list[str]] = {}
        for name, file in weight_map.items():
            files.setdefault(file, []).append(name)
        return files
    single = os.path.join(path, SINGLE)
    if os.path.isfile(single):
        with safe_open(single, framework="pt") as f:
            return {SINGLE: list(f.keys())}
    raise ValueError(f"{path}: no {SINGLE} or {INDEX}")


META_MIN_PARAMS = 100_000_000


def estimate_params(a: ModelArgs) -> int:
    """The parameter count of a model with these arguments, without building it."""
    attn = a.dim * a.head_dim * (2 * a.n_heads + 2 * a.n_kv_heads) + (
        2 * a.head_dim if a.qk_norm else 0
    )
    layer = attn + 3 * a.dim * a.hidden_dim + 2 * a.dim  # + the two norms
    return a.vocab_size * a.dim * (1 if a.tie_embeddings else 2) + a.n_layers * layer + a.dim


def from_pretrained(path: str, device="cpu", dtype: torch.dtype = torch.float32) -> Transformer:
    """A Transformer (in eval mode) from a Hugging Face directory (Llama or Qwen3; one safetensors
    file or shards).

    The model is built on the meta device and each tensor read by name straight onto `device` in
    `dtype`, so a 4B model is never materialised twice (nor in fp32 on the CPU on its way to a
    GPU)."""
    from safetensors import safe_open

    args = args_from_hf_config(read_hf_config(path))
    # a big model is built on the meta device; a small one directly, because building on meta
    # imports torch._dynamo (~3 s of CPU, most of a completer's start-up)
    with torch.device("meta" if estimate_params(args) > META_MIN_PARAMS else "cpu"):
        model = Transformer(args)
    model.to(dtype=dtype).to_empty(device=device)  # allocates on device
    if args.tie_embeddings:
        model.lm_head.weight = model.embed_tokens.weight  # to_empty gave the head its own tensor
    cos, sin = precompute_rope(
        args.head_dim, args.max_seq_len, args.rope_theta
    )  # non-persistent: recompute
    model.rope_cos, model.rope_sin = cos.to(device), sin.to(device)

    params = dict(model.named_parameters())  # one entry for the tied embedding/head
    expected = {("model." + n if n != "lm_head.weight" else n) for n in params}
    files = weight_files(path)
    found = {n for names in files.values() for n in names}
    if args.tie_embeddings:
        found.discard(
            "lm_head.weight"
        )  # some tied checkpoints store the head as well; the embedding is it
    missing, unexpected = sorted(expected - found), sorted(found - expected)
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights do not match the config: missing {missing[:8]}, "
            f"unexpected {unexpected[:8]}"
        )
    with torch.no_grad():
        for file, names in files.items():
            try:
                with safe_open(os.path.join(path, file), framework="pt", device=str(device)) as f:
                    for name in names:
                        if name not in expected:
                            continue
                        t, p = (
                            f.get_tensor(name),
                            params[name[len("model.") :] if name.startswith("model.") else name],
                        )
                        if t.shape != p.shape:
                            raise ValueError(
                                f"{path}: {name} has shape {tuple(t.shape)}, the config says "
                                f"{tuple(p.shape)}"
                            )
                        p.copy_(t)
            except (
                OSError,
                RuntimeError,
            ) as e:  # safetensors raises these on a truncated or corrupt file
                raise ValueError(f"{os.path.join(path, file)}: cannot read weights ({e})") from e
    return model.eval()


def save_pretrained(
    model: "Transformer | dict[str, torch.Tensor]",
    out_dir: str,
    dtype: torch.dtype | None = None,
    extra_config: dict | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    args: ModelArgs | None = None,
    base_dir: str | None = None,
):
    """Write config.json and the weights in Hugging Face layout, every file atomically.

    One model.safetensors when the weights fit in max_shard_bytes, else model-0000i-of-0000N shards
    and their index (what transformers writes and vLLM serves); weights of an earlier layout are
    removed. `model` may be a full state dict under our names, with its `args` (FSDP gathers one).
    base_dir: the directory the model came from; its config.json fields we do not set (token ids...)
    are kept and its tokenizer/generation files copied, so the result serves as the original did."""
    from safetensors.torch import save_file

    if isinstance(model, Transformer):
        args, state = model.args, model.state_dict()
    else:
        state = model
    tensors = {
        k: (v.to(dtype) if dtype is not None else v).detach().contiguous().cpu()
        for k, v in hf_names(state, args.tie_embeddings).items()
    }
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, t in tensors.items():  # greedy in order, as transformers does
        nbytes = t.numel() * t.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = t
        size += nbytes
    os.makedirs(out_dir, exist_ok=True)
    names = (
        [SINGLE]
        if len(shards) == 1
        else [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    )
    for name, shard in zip(names, shards):
        tmp = os.path.join(out_dir, name + ".tmp")
        save_file(shard, tmp, metadata={"format": "pt"})
        os.replace(tmp, os.path.join(out_dir, name))
    if len(shards) > 1:
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        write_json_atomic(
            os.path.join(out_dir, INDEX),
            {
                "metadata": {"total_size": total},
                "weight_map": {k: name for name, shard in zip(names, shards) for k in shard},
            },
        )
    for stale in os.listdir(out_dir):  # weights of an earlier layout would confuse a loader
        if (
            stale.startswith("model") and stale.endswith(".safetensors") and stale not in names
        ) or (stale == INDEX and len(shards) == 1):
            os.remove(os.path.join(out_dir, stale))
    dt = str(next(iter(tensors.values())).dtype).replace("torch.", "")
    base = read_hf_config(base_dir) if base_dir else {}
    base.pop("rope_parameters", None)  # hf_config writes rope_theta itself
    cfg = {**base, **hf_config(args, torch_dtype=dt, dtype=dt, **(extra_config or {}))}
    write_json_atomic(os.path.join(out_dir, "config.json"), cfg)
    if base_dir:
        copy_side_files(base_dir, out_dir)


def copy_side_files(src: str, dst: str):
    """Tokenizer and generation files of a model directory (those present), atomically each."""
    for name in SIDE_FILES:
        path = os.path.join(src, name)
        if os.path.isfile(path) and os.path.abspath(src) != os.path.abspath(dst):
            copy_file_atomic(path, os.path.join(dst, name))
