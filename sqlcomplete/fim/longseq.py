"""Long-sequence training pieces for packed rows: a loss over a packed batch, in plain PyTorch.

After Arctic Long Sequence Training (arXiv 2506.13996). One function, `packed_loss`, runs the
model's weights over rows that pack several samples, with each piece behind a flag of
`LongSeqConfig`; every piece gives the loss and gradients of the plain path:

- tiled_loss: LM head + cross-entropy over chunks of labelled tokens, logits recomputed in
  backward (`TiledLinearCrossEntropy`); the (tokens, vocab) logits never exist at once.
- tiled_mlp: the SwiGLU MLP over chunks of tokens, recomputed in backward (`TiledMLP`).
- attention: "sdpa" runs one causal scaled_dot_product_attention per sample (good on CPU and
  for short rows); "flex" runs flex_attention (compiled on CUDA) with a block mask built from
  the per-token sample ids (`doc_block_mask`). Neither builds a dense (T, T) mask.
- checkpoint_activations: each layer keeps only its input and recomputes itself in backward;
  offload_activations moves those inputs to (pinned) CPU memory until backward.
- sequence parallelism (Ulysses): pass `sp_group`; each rank holds a contiguous slice of every
  row (`shard_batch`), attention swaps sequence sharding for head sharding by an all-to-all.
  Under FSDP2 (`shard_model`) parameters are sharded over the data x sequence mesh.

Batch convention (fim/data.py's collate): labels are aligned with input_ids (labels[t] is the
token after input_ids[t], or -100), position_ids restart at each sample, sample_ids are
non-decreasing per row (one contiguous run of tokens per sample) with -1 for trailing padding.
`batch_loss(model, batch, cfg)` is fim/sft.py's entry; `packed_loss` the same on tensors.
"""

import types
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from functools import partial

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.nn.functional import all_to_all_single
from torch.nn.attention.flex_attention import BlockMask, flex_attention
from torch.utils.checkpoint import checkpoint

from sqlcomplete.model import ModelArgs, Transformer


@dataclass
class LongSeqConfig:
    tiled_loss: bool = False
    tiled_mlp: bool = False
    # "sdpa": one SDPA call per sample; "flex": flex_attention with a document block mask
    attention: str = "sdpa"
    checkpoint_activations: bool = False
    offload_activations: bool = (
        False  # with checkpointing: layer inputs wait for backward in CPU memory
    )
    loss_chunk: int = 1024  # tokens per LM-head tile: 1024 x 151936 fp32 logits are 0.6 GB
    mlp_chunk: int = (
        4096  # tokens per MLP tile: 4096 x 9728 intermediates, 4 of them in bf16, are 0.3 GB
    )
    flex_block: int = 128  # flex_attention block size (tokens)

    def __post_init__(self):
        if self.attention not in ("sdpa", "flex"):
            raise ValueError(f"attention must be 'sdpa' or 'flex', not {self.attention!r}")
        if self.offload_activations and not self.checkpoint_activations:
            raise ValueError(
                "offload_activations offloads the checkpointed layer inputs: "
                "set checkpoint_activations"
            )
        if min(self.loss_chunk, self.mlp_chunk, self.flex_block) < 1:
            raise ValueError("chunk and block sizes must be positive")


# ---- tiled LM head + cross-entropy ----


def _autocast_state(device_type: str):
    """The autocast in force, to recompute in backward exactly as forward computed."""
    return (
        (device_type, torch.get_autocast_dtype(device_type))
        if torch.is_autocast_enabled(device_type)
        else None
    )


def _autocast(state):
    return torch.autocast(*state) if state else nullcontext()


class TiledLinearCrossEntropy(torch.autograd.Function):
    """Sum over rows of cross_entropy(h @ weight.T, labels), `chunk` rows at a time.

    h (N, dim) holds labelled rows only (no -100 in labels). Forward keeps h and the
    log-sum-exp per row; backward recomputes each chunk's logits. Softmax is in fp32 (fp64 for
    fp64 inputs); the weight gradient sums its chunks in the weight's dtype, as autograd sums
    the gradients of a weight used several times (exact in fp32).
    """

    @staticmethod
    def forward(ctx, h, weight, labels, chunk: int):
        acc = torch.promote_types(h.dtype, torch.float32)
        lse = torch.empty(h.shape[0], device=h.device, dtype=acc)
        total = torch.zeros((), device=h.device, dtype=acc)
        for s in range(0, h.shape[0], chunk):
            logits = (h[s : s + chunk] @ weight.T).to(acc)  # (n, V)
            target = logits.gather(1, labels[s : s + chunk, None]).squeeze(1)
            m = logits.amax(dim=-1)
            lse[s : s + chunk] = (
                logits.sub_(m[:, None]).exp_().sum(-1).log_().add_(m)
            )  # in place: one (n, V) buffer
            total += (lse[s : s + chunk] - target).sum()
            del logits  # before the next chunk's
        ctx.save_for_backward(h, weight, labels, lse)
        ctx.chunk, ctx.amp = chunk, _autocast_state(h.device.type)
        return total

    @staticmethod
    def backward(ctx, grad):
        h, weight, labels, lse = ctx.saved_tensors
        grad_h = torch.empty_like(h)
        grad_w = torch.zeros_like(weight)
        for s in range(0, h.shape[0], ctx.chunk):
            hc, yc = h[s : s + ctx.chunk], labels[s : s + ctx.chunk]
            with _autocast(ctx.amp):
                p = (
                    (hc @ weight.T).to(lse.dtype).sub_(lse[s : s + ctx.chunk, None]).exp_()
                )  # softmax (n, V)
                p[torch.arange(len(yc), device=p.device), yc] -= (
                    1  # d(CE)/d(logits) = softmax - onehot
                )
                g = p.mul_(grad).to(h.dtype)
                del p
                grad_h[s : s + ctx.chunk] = g @ weight
                if ctx.amp:
                    grad_w += (
                        g.T @ hc
                    )  # a bf16 product into the fp32 gradient, as autocast's own backward
                else:
                    grad_w.addmm_(g.T, hc)  # no (V, dim) temporary
                del g  # before the next chunk's
        return grad_h, grad_w, None, None


# ---- tiled SwiGLU MLP ----


def swiglu(x, gate, up, down):
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


class TiledMLP(torch.autograd.Function):
    """swiglu(x) over `chunk` tokens at a time; forward keeps x only, backward recomputes each
    chunk."""

    @staticmethod
    def forward(ctx, x, gate, up, down, chunk: int):
        ctx.save_for_backward(x, gate, up, down)
        ctx.chunk, ctx.amp = chunk, _autocast_state(x.device.type)
        x2 = x.reshape(-1, x.shape[-1])
        out = torch.empty(x2.shape[0], down.shape[0], device=x.device, dtype=x.dtype)
        for s in range(0, x2.shape[0], chunk):
            out[s : s + chunk] = swiglu(x2[s : s + chunk], gate, up, down)
        return out.view(*x.shape[:-1], down.shape[0])

    @staticmethod
    def backward(ctx, grad):
        x, *ws = ctx.saved_tensors
        x2, g2 = x.reshape(-1, x.shape[-1]), grad.reshape(-1, grad.shape[-1])
        ws = [w.detach().requires_grad_() for w in ws]  # leaves of the recomputed graph only
        grad_x = torch.empty_like(x2)
        acc = torch.promote_types(x.dtype, torch.float32)
        grad_ws = [torch.zeros(w.shape, device=w.device, dtype=acc) for w in ws]
        for s in range(0, x2.shape[0], ctx.chunk):
            xc = x2[s : s + ctx.chunk].detach().requires_grad_()
            with torch.enable_grad(), _autocast(ctx.amp):
                yc = swiglu(xc, *ws)
            gx, *gws = torch.autograd.grad(yc, (xc, *ws), g2[s : s + ctx.chunk])
            grad_x[s : s + ctx.chunk] = gx
            for acc, g in zip(grad_ws, gws):
                acc += g
        return (grad_x.view_as(x), *(g.to(w.dtype) for g, w in zip(grad_ws, ws)), None)


# ---- document masks for packed rows ----


def check_packing(sample_ids: torch.Tensor, position_ids: torch.Tensor) -> torch.Tensor:
    """Sample ids with trailing padding (-1) made one more sample; ValueError unless every sample
    is one contiguous run of tokens (ids >= 0, non-decreasing along the row), padding only ends a
    row, and positions count up by one inside each sample (padding included)."""
    if sample_ids.shape != position_ids.shape or sample_ids.dim() != 2:
        raise ValueError(
            f"sample_ids {tuple(sample_ids.shape)} and position_ids {tuple(position_ids.shape)} "
            "must both be (batch, seq_len)"
        )
    if sample_ids.is_floating_point() or position_ids.is_floating_point():
        raise ValueError("sample_ids and position_ids must be integer tensors")
    pad = sample_ids == -1
    ids = torch.where(pad, sample_ids.max(dim=1, keepdim=True).values + 1, sample_ids)
    step = ids[:, 1:] - ids[:, :-1]
    bad = torch.stack(
        [
            (sample_ids < -1).any(),
            (pad[:, :-1] & ~pad[:, 1:]).any(),
            (step < 0).any(),
            (position_ids < 0).any(),
            (position_ids[:, 1:] != position_ids[:, :-1] + 1)[step == 0].any(),
        ]
    ).tolist()
    if bad[0]:
        raise ValueError("sample ids must be >= 0, or -1 for padding")
    if bad[1]:
        raise ValueError("padding (sample id -1) must end its row")
    if bad[2]:
        i = int((step < 0).nonzero()[0, 1]) + 1
        raise ValueError(
            f"sample ids decrease at token {i}: each sample must be one contiguous run of tokens "
            "with non-decreasing ids along the row"
        )
    if bad[3] or bad[4]:
        raise ValueError("position ids must be >= 0 and count up by one inside each sample")
    return ids


def sample_lengths(sample_ids: torch.Tensor) -> list[list[int]]:
    """Lengths of the samples of each row, in order."""
    return [
        torch.unique_consecutive(row, return_counts=True)[1].tolist() for row in sample_ids.cpu()
    ]


def doc_block_mask(sample_ids: torch.Tensor, block: int = 128) -> BlockMask:
    """Causal, same-sample BlockMask for flex_attention, from (B, T) non-decreasing sample ids.

    Built at block level, (T/block)^2 entries per row; no (T, T) mask is formed. A kv block is
    "full" (no mask_mod needed) when it precedes the q block and both lie in one sample; the
    ragged last q block is never full (as in create_block_mask).
    """
    B, T = sample_ids.shape
    starts = torch.arange(0, T, block, device=sample_ids.device)
    ends = (starts + block).clamp(max=T) - 1
    first, last = (
        sample_ids[:, starts],
        sample_ids[:, ends],
    )  # (B, n): sample id at each block's edges
    n = len(starts)
    i = torch.arange(n, device=sample_ids.device)[:, None]  # q block
    j = torch.arange(n, device=sample_ids.device)[None, :]  # kv block
    visible = (j <= i) & (
        last[:, None, :] >= first[:, :, None]
    )  # (B, n, n): kv block reaches q block's first sample
    full = (j < i) & (first[:, None, :] == last[:, :, None]) & (ends - starts == block - 1)[:, None]
    partial = visible & ~full

    def ordered(
        dense,
    ):  # (B, n, n) bool -> counts (B, 1, n), indices of the True blocks first (B, 1, n, n)
        idx = torch.sort(dense.to(torch.int8), dim=-1, descending=True, stable=True).indices
        return dense.sum(-1, dtype=torch.int32)[:, None], idx.to(torch.int32)[:, None]

    def same_sample_causal(b, h, q_idx, kv_idx):
        return (sample_ids[b, q_idx] == sample_ids[b, kv_idx]) & (kv_idx <= q_idx)

    kv_num, kv_idx = ordered(partial)
    full_num, full_idx = ordered(full)
    return BlockMask.from_kv_blocks(
        kv_num,
        kv_idx,
        full_num,
        full_idx,
        BLOCK_SIZE=block,
        mask_mod=same_sample_causal,
        seq_lengths=(T, T),
    )


@dataclass
class DocMask:
    """What attention needs to keep packed samples apart, built once per batch for all layers."""

    lengths: list[list[int]]  # per row, sample lengths (the "sdpa" path)
    block_mask: BlockMask | None = None  # the "flex" path
    sp_group: object = field(default=None, repr=False)  # Ulysses sequence-parallel group, or None


_compiled_flex = None


def _flex(q, k, v, block_mask):
    global _compiled_flex
    if q.is_cuda:  # fused kernel; eager flex materializes the (T, T) scores
        if _compiled_flex is None:
            _compiled_flex = torch.compile(
                flex_attention
            )  # a second row length recompiles once, for any length
        return _compiled_flex(q, k, v, block_mask=block_mask, enable_gqa=True)
    with (
        warnings.catch_warnings()
    ):  # eager on purpose off CUDA (CPU tests): torch's advice to compile is noise here
        warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
        return flex_attention(q, k, v, block_mask=block_mask, enable_gqa=True)


def doc_attention(q, k, v, mask: DocMask):
    """Causal attention within each packed sample.

    q (B, H, T, D), k/v (B, KV, T, D) -> (B, H, T, D)."""
    if mask.block_mask is not None:
        return _flex(q, k, v, mask.block_mask)
    rows = []
    for b, lengths in enumerate(mask.lengths):
        out, s = [], 0
        for n in lengths:
            out.append(
                F.scaled_dot_product_attention(
                    q[b : b + 1, :, s : s + n],
                    k[b : b + 1, :, s : s + n],
                    v[b : b + 1, :, s : s + n],
                    is_causal=True,
                    enable_gqa=True,
                )
            )
            s += n
        rows.append(torch.cat(out, dim=2))
    return torch.cat(rows, dim=0)


# ---- Ulysses sequence parallelism ----


def seq_to_heads(x, group):
    """(B, H, T/P, D) on each of P ranks -> (B, H/P, T, D): all heads' slices in, this rank's
    heads out."""
    P = group.size()
    B, H, Tl, D = x.shape
    x = (
        x.reshape(B, P, H // P, Tl, D).transpose(0, 1).contiguous()
    )  # (P, B, H/P, Tl, D): chunk j goes to rank j
    x = all_to_all_single(torch.empty_like(x), x, group=group)  # chunk j: slice j of the row
    return x.permute(1, 2, 0, 3, 4).reshape(B, H // P, P * Tl, D)


def heads_to_seq(x, group):
    """(B, H/P, T, D) -> (B, H, T/P, D): the inverse of seq_to_heads."""
    P = group.size()
    B, Hl, T, D = x.shape
    x = (
        x.reshape(B, Hl, P, T // P, D).permute(2, 0, 1, 3, 4).contiguous()
    )  # (P, B, H/P, Tl, D): slice j to rank j
    x = all_to_all_single(torch.empty_like(x), x, group=group)  # chunk j: heads of rank j
    return x.transpose(0, 1).reshape(B, P * Hl, T // P, D)


def kv_repeats(n_heads: int, n_kv_heads: int, sp: int) -> int:
    """How often to repeat each key/value head so that the P ranks can split them by query head."""
    if n_heads % sp:
        raise ValueError(
            f"sequence parallel size {sp} must divide the number of attention heads {n_heads}"
        )
    if n_kv_heads % sp == 0:
        return (
            1  # each rank gets n_kv/P whole kv heads, which serve exactly its n_heads/P query heads
        )
    if sp % n_kv_heads == 0:
        return sp // n_kv_heads  # one (replicated) kv head per rank
    return n_heads // n_kv_heads  # fall back to one kv head per query head


def shard_batch(input_ids, labels, position_ids, sample_ids, rank: int, size: int, pad_id: int = 0):
    """This rank's contiguous slice of each (B, T) row for sequence parallelism over `size` ranks.

    A T that `size` does not divide is first padded at the end the way fim/data.py pads rows:
    pad_id tokens, labels -100, sample id -1, positions counting on; loss and gradients are
    unchanged.
    """
    B, T = input_ids.shape
    pad = -T % size
    if pad:

        def ext(t, tail):
            return torch.cat([t, tail.to(t.dtype)], dim=1)

        tail_pos = torch.where(
            sample_ids[:, -1:] == -1, position_ids[:, -1:] + 1, 0
        )  # continue a padding run
        input_ids = ext(input_ids, torch.full((B, pad), pad_id, device=input_ids.device))
        labels = ext(labels, torch.full((B, pad), -100, device=labels.device))
        position_ids = ext(position_ids, tail_pos + torch.arange(pad, device=position_ids.device))
        sample_ids = ext(sample_ids, torch.full((B, pad), -1, device=sample_ids.device))
    n = (T + pad) // size
    return tuple(
        t[:, rank * n : (rank + 1) * n] for t in (input_ids, labels, position_ids, sample_ids)
    )


_sp_groups = {}


def sequence_parallel_group(size: int):
    """This rank's group of `size` consecutive ranks (ranks r // size share rows); None for size 1.
    Made once per size, collectively: every rank must call it."""
    if size <= 1:
        return None
    if dist.get_world_size() % size:
        raise ValueError(
            f"sequence parallel size {size} does not divide {dist.get_world_size()} ranks"
        )
    if size not in _sp_groups:
        _sp_groups[size], _ = dist.new_subgroups(group_size=size)
    return _sp_groups[size]


def _gather_row(t, group):
    """Concatenate every rank's (B, T/P) slice along the sequence: the whole (B, T) row."""
    sizes = [torch.zeros(2, dtype=torch.long, device=t.device) for _ in range(group.size())]
    dist.all_gather(sizes, torch.tensor(t.shape, device=t.device), group=group)
    if any(s.tolist() != list(t.shape) for s in sizes):
        raise ValueError(
            "sequence-parallel ranks hold slices of different shapes "
            f"{[s.tolist() for s in sizes]}: "
            "cut rows with shard_batch, which pads the row to a multiple of the group size"
        )
    parts = [torch.empty_like(t) for _ in range(group.size())]
    dist.all_gather(parts, t.contiguous(), group=group)
    return torch.cat(parts, dim=1)


# ---- the forward ----


def doc_attend(q, k, v, mask: DocMask, n_heads: int, n_kv_heads: int):
    """Document-masked attention, Ulysses across mask.sp_group if set: model.Attention's `attend`.
    q (B, H, T, D), k/v (B, KV, T, D), T this rank's slice -> (B, H, T, D)."""
    if mask.sp_group is not None:
        rep = kv_repeats(n_heads, n_kv_heads, mask.sp_group.size())
        if (
            rep > 1
        ):  # (B, KV, T, D) -> (B, KV * rep, T, D), kv head i becoming heads i*rep .. i*rep+rep-1
            k, v = (t[:, :, None].expand(-1, -1, rep, -1, -1).flatten(1, 2) for t in (k, v))
        q, k, v = (seq_to_heads(t, mask.sp_group) for t in (q, k, v))  # (B, heads/P, T_full, D)
    y = doc_attention(q, k, v, mask)
    return heads_to_seq(y, mask.sp_group) if mask.sp_group is not None else y


def tiled_mlp(chunk: int, mlp, x):
    """model.MLP's SwiGLU over `chunk` tokens at a time (TiledMLP): model.Block's `mlp`."""
    return TiledMLP.apply(x, mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight, chunk)


def block_forward(layer, h, cos, sin, mask: DocMask, cfg: LongSeqConfig):
    """One model.Block over a (B, T, dim) slice of packed rows, with this file's attention and MLP,
    checkpointed if cfg says so."""
    attend = partial(
        doc_attend,
        mask=mask,
        n_heads=layer.self_attn.n_heads,
        n_kv_heads=layer.self_attn.n_kv_heads,
    )
    mlp = partial(tiled_mlp, cfg.mlp_chunk) if cfg.tiled_mlp else None
    fn = partial(
        layer, cos=cos, sin=sin, attend=attend, mlp=mlp
    )  # cos/sin by closure: never offloaded
    if not cfg.checkpoint_activations:
        return fn(h)
    # checkpoint saves its inputs through the active saved-tensor hooks: save_on_cpu sends h to
    # host memory
    offload = (
        torch.autograd.graph.save_on_cpu(pin_memory=h.is_cuda)
        if cfg.offload_activations
        else nullcontext()
    )
    with offload:
        return checkpoint(fn, h, use_reentrant=False)


def model_loss(model, input_ids, labels, position_ids, mask: DocMask, cfg: LongSeqConfig):
    """Sum of cross-entropy over this rank's labelled tokens."""
    cos = model.rope_cos[position_ids][:, None].to(model.embed_tokens.weight.dtype)  # (B, 1, T, D)
    sin = model.rope_sin[position_ids][:, None].to(model.embed_tokens.weight.dtype)
    h = model.embed_tokens(input_ids)
    for layer in model.layers:  # a layer's own forward: under FSDP2 its hooks gather its parameters
        h = block_forward(layer, h, cos, sin, mask, cfg)
    h = model.norm(h)
    if not cfg.tiled_loss:
        logits = model.lm_head(h).float()  # (B, T, V): the memory the tiled path avoids
        return F.cross_entropy(
            logits.view(-1, logits.size(-1)), labels.reshape(-1), ignore_index=-100, reduction="sum"
        )
    keep = (
        (labels.reshape(-1) != -100).nonzero().squeeze(1)
    )  # only labelled positions reach the head
    return TiledLinearCrossEntropy.apply(
        h.reshape(-1, h.size(-1))[keep],
        model.lm_head.weight,
        labels.reshape(-1)[keep],
        cfg.loss_chunk,
    )


def packed_loss(
    model,
    input_ids,
    labels,
    position_ids,
    sample_ids,
    cfg: LongSeqConfig | None = None,
    sp_group=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum of cross-entropy over labels != -100, number of such labels) of a packed (B, T) batch.

    With `sp_group` each rank passes its slice (shard_batch) and gets its slice's share of both
    numbers; the full rows' gradient is the sum over ranks. Divide by the count summed over all
    ranks for the mean; under FSDP2/DDP, which average gradients over ranks, scale by their number.
    """
    cfg = cfg or LongSeqConfig()
    if input_ids.dim() != 2 or not (
        input_ids.shape == labels.shape == position_ids.shape == sample_ids.shape
    ):
        raise ValueError(
            "input_ids, labels, position_ids and sample_ids must share one (batch, seq_len) "
            "shape, got "
            f"{[tuple(t.shape) for t in (input_ids, labels, position_ids, sample_ids)]}"
        )
    if model.args.dropout and model.training:
        raise ValueError("packed_loss does not apply dropout: set dropout=0 (Qwen3 has none)")
    if sp_group is not None and sp_group.size() > 1:
        kv_repeats(
            model.args.n_heads, model.args.n_kv_heads, sp_group.size()
        )  # clear error before any collective
        full_ids, full_pos = _gather_row(torch.cat([sample_ids, position_ids]), sp_group).split(
            len(sample_ids)
        )
    else:
        sp_group, full_ids, full_pos = None, sample_ids, position_ids
    full_ids = check_packing(full_ids, full_pos)
    if int(full_pos.max()) >= model.args.max_seq_len:
        raise ValueError(
            f"position {int(full_pos.max())} beyond max_seq_len {model.args.max_seq_len}"
        )
    mask = DocMask(sample_lengths(full_ids), sp_group=sp_group)
    if cfg.attention == "flex":
        mask.block_mask = doc_block_mask(full_ids, cfg.flex_block)
    if (_is_fsdp(model) or _is_fsdp(model.layers[0])) and not hasattr(model, "longseq_forward"):
        register_fsdp_forwards(model)
    fwd = getattr(model, "longseq_forward", None) or partial(model_loss, model)
    return fwd(input_ids, labels, position_ids, mask, cfg), (labels != -100).sum()


def batch_loss(model, batch: dict, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """fim/sft.py's entry: packed_loss of a collated batch with the flags of `cfg` (an SFTConfig).

    cfg.sequence_parallel > 1: every rank of a group of that many consecutive ranks passes the
    same full rows; each computes its slice and returns its share of (loss sum, label count).
    """
    lcfg = LongSeqConfig(
        **{f.name: getattr(cfg, f.name) for f in fields(LongSeqConfig) if hasattr(cfg, f.name)}
    )
    args = batch["input_ids"], batch["labels"], batch["position_ids"], batch["sample_ids"]
    group = sequence_parallel_group(getattr(cfg, "sequence_parallel", 1))
    if group is not None:
        args = shard_batch(*args, dist.get_rank(group), group.size())
    return packed_loss(model, *args, lcfg, sp_group=group)


# ---- FSDP2 ----


def _is_fsdp(module) -> bool:
    from torch.distributed.fsdp import FSDPModule

    return isinstance(module, FSDPModule)


def register_fsdp_forwards(model):
    """model_loss uses the root's weights (embedding, final norm, head) outside
    Transformer.forward: give the model a `longseq_forward` method that FSDP2 gathers them around
    (register_fsdp_forward_method). The layers run their own forward, which FSDP2 hooks already."""
    from torch.distributed.fsdp import register_fsdp_forward_method

    model.longseq_forward = types.MethodType(model_loss, model)
    register_fsdp_forward_method(model, "longseq_forward")


def shard_model(
    model, mesh, cpu_offload: bool = False, mp_policy=None, reshard_after_forward: bool = True
):
    """FSDP2 over all ranks of `mesh` (a 2-D data x sequence mesh is flattened): one unit per
    layer plus the root.

    cpu_offload keeps sharded parameters, gradients and the optimizer step in host memory.
    """
    from torch.distributed.fsdp import (
        CPUOffloadPolicy,
        MixedPrecisionPolicy,
        OffloadPolicy,
        fully_shard,
    )

    if mesh.ndim > 1:
        mesh = mesh._flatten()
    kw = dict(
        mesh=mesh,
        # pinned host memory needs CUDA; without it the policy still keeps the step on the host
        offload_policy=(
            CPUOffloadPolicy(pin_memory=torch.cuda.is_available())
            if cpu_offload
            else OffloadPolicy()
        ),
        mp_policy=mp_policy or MixedPrecisionPolicy(),
        reshard_after_forward=reshard_after_forward,
    )
    for layer in model.layers:
        fully_shard(layer, **kw)
    fully_shard(model, **kw)
    register_fsdp_forwards(model)
    return model


# ---- FLOPs ----


def train_flops(args: ModelArgs, lengths: list[list[int]]) -> float:
    """Model FLOPs of one forward + backward over packed rows (no recomputation counted).

    Transformer.flops_per_token (6 per matmul parameter per token, PaLM's attention term) with
    the attention term taken per sample: each sample of n tokens costs n * flops_per_token(n),
    so long and short rows compare fairly. The model is built on the meta device: no memory.
    """
    with torch.device("meta"):
        model = Transformer(args)
    return float(sum(n * model.flops_per_token(n) for row in lengths for n in row))


def mfu(args: ModelArgs, lengths: list[list[int]], seconds: float, peak_flops: float) -> float:
    """Model FLOPs utilization of a step over packed rows that took `seconds` on hardware of
    `peak_flops`."""
    return train_flops(args, lengths) / (seconds * peak_flops)
