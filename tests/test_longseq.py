"""fim/longseq.py: every long-sequence piece gives the loss and gradients of the plain path on
packed rows."""

import pytest
import torch
import torch.nn.functional as F

from sqlcomplete.fim.longseq import (
    LongSeqConfig,
    TiledLinearCrossEntropy,
    TiledMLP,
    batch_loss,
    check_packing,
    doc_block_mask,
    packed_loss,
    shard_batch,
    swiglu,
    train_flops,
)
from sqlcomplete.model import ModelArgs, Transformer

# Qwen3-shaped: q/k norm, head_dim independent of dim, grouped-query attention, tied embeddings
ARGS = dict(
    dim=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    head_dim=24,
    hidden_dim=96,
    vocab_size=101,
    max_seq_len=64,
    qk_norm=True,
    tie_embeddings=True,
    rope_theta=1e6,
    norm_eps=1e-6,
)
ROWS = [[9, 1, 13, 17], [25, 15]]  # sample lengths per packed row (40 tokens each)


def tiny(**kw) -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelArgs(**{**ARGS, **kw}))


def packed_batch(rows, vocab: int = 101, seed: int = 1):
    """(input_ids, labels, position_ids, sample_ids); labels -100 on each sample's first third (its
    prompt) and last token."""
    g = torch.Generator().manual_seed(seed)
    ids, labels, pos, sid = [], [], [], []
    for lengths in rows:
        toks = torch.randint(0, vocab, (sum(lengths),), generator=g)
        lab, p, s = torch.full_like(toks, -100), [], []
        start = 0
        for i, n in enumerate(lengths):
            lab[start + n // 3 : start + n - 1] = toks[
                start + n // 3 + 1 : start + n
            ]  # next token inside the sample
            p.append(torch.arange(n))
            s.append(torch.full((n,), i))
            start += n
        ids.append(toks), labels.append(lab), pos.append(torch.cat(p)), sid.append(torch.cat(s))
    return tuple(torch.stack(t) for t in (ids, labels, pos, sid))


def dense_mask(sample_ids):
    """(B, 1, T, T) same-sample causal mask: the reference the pieces must match."""
    T = sample_ids.shape[1]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    return ((sample_ids[:, :, None] == sample_ids[:, None, :]) & causal)[:, None]


def mean_loss(model, batch, cfg=None):
    loss_sum, count = packed_loss(model, *batch, cfg)
    return loss_sum / count


def reference(model, batch):
    ids, labels, pos, sid = batch
    _, loss = model(ids, labels, positions=pos, attn_mask=dense_mask(sid))
    return loss, torch.autograd.grad(loss, list(model.parameters()))


@pytest.fixture
def cpu_flex_backward(monkeypatch):
    """torch guards flex_attention's (eager, dense) backward off on CPU; it runs, so let the tests
    use it."""
    import torch.nn.attention.flex_attention as fa

    monkeypatch.setattr(fa, "_validate_device", lambda *a: None)


CONFIGS = {
    "plain": dict(),
    "tiled_loss": dict(tiled_loss=True, loss_chunk=7),
    "tiled_mlp": dict(tiled_mlp=True, mlp_chunk=5),
    "flex": dict(attention="flex", flex_block=16),
    "checkpoint": dict(checkpoint_activations=True),
    "offload": dict(checkpoint_activations=True, offload_activations=True),
    "all_sdpa": dict(
        tiled_loss=True,
        loss_chunk=7,
        tiled_mlp=True,
        mlp_chunk=5,
        checkpoint_activations=True,
        offload_activations=True,
    ),
    "all_flex": dict(
        tiled_loss=True,
        loss_chunk=7,
        tiled_mlp=True,
        mlp_chunk=5,
        checkpoint_activations=True,
        offload_activations=True,
        attention="flex",
        flex_block=16,
    ),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_pieces_match_plain_path(name, cpu_flex_backward):
    model, batch = tiny(), packed_batch(ROWS)
    ref_loss, ref_grads = reference(model, batch)
    loss = mean_loss(model, batch, LongSeqConfig(**CONFIGS[name]))
    grads = torch.autograd.grad(loss, list(model.parameters()))
    torch.testing.assert_close(loss, ref_loss, atol=1e-5, rtol=0)
    for (pname, _), g, r in zip(model.named_parameters(), grads, ref_grads):
        torch.testing.assert_close(
            g, r, atol=1e-5, rtol=0, msg=lambda m, name=name, pname=pname: f"{name}: {pname}: {m}"
        )


def test_untied_head_and_flex_forward_without_patch():
    model, batch = tiny(tie_embeddings=False, n_kv_heads=1), packed_batch(ROWS)
    ref_loss, ref_grads = reference(model, batch)
    cfg = LongSeqConfig(
        tiled_loss=True, loss_chunk=3, tiled_mlp=True, mlp_chunk=16, checkpoint_activations=True
    )
    loss = mean_loss(model, batch, cfg)
    for g, r in zip(torch.autograd.grad(loss, list(model.parameters())), ref_grads):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=0)
    with torch.no_grad():  # flex forward runs on CPU as torch ships it
        torch.testing.assert_close(
            mean_loss(model, batch, LongSeqConfig(attention="flex", flex_block=8)),
            ref_loss,
            atol=1e-5,
            rtol=0,
        )


def test_tiled_functions_gradcheck():
    torch.manual_seed(0)
    h = torch.randn(11, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(13, 6, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 13, (11,))
    assert torch.autograd.gradcheck(lambda h, w: TiledLinearCrossEntropy.apply(h, w, y, 4), (h, w))
    torch.testing.assert_close(
        TiledLinearCrossEntropy.apply(h, w, y, 4), F.cross_entropy(h @ w.T, y, reduction="sum")
    )
    x = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    ws = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in [(8, 6), (8, 6), (6, 8)]]
    assert torch.autograd.gradcheck(lambda x, a, b, c: TiledMLP.apply(x, a, b, c, 3), (x, *ws))
    torch.testing.assert_close(TiledMLP.apply(x, *ws, 3), swiglu(x, *ws))


def test_no_labels_gives_zero_loss_and_gradients():
    model = tiny()
    ids, labels, pos, sid = packed_batch(ROWS)
    for cfg in (LongSeqConfig(), LongSeqConfig(tiled_loss=True)):
        loss, count = packed_loss(model, ids, torch.full_like(labels, -100), pos, sid, cfg)
        assert loss.item() == 0.0 and count.item() == 0
        assert all(
            g.abs().max() == 0
            for g in torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
            if g is not None
        )


def test_doc_block_mask_matches_dense_mask():
    from torch.nn.attention.flex_attention import create_block_mask

    _, _, _, sid = packed_batch([[3, 30, 1, 6], [40], [16, 16, 8]])
    for block in (8, 16, 128):
        ours = doc_block_mask(sid, block)

        def same_sample_causal(b, h, q, kv):
            return (sid[b, q] == sid[b, kv]) & (kv <= q)

        theirs = create_block_mask(
            same_sample_causal, 3, None, 40, 40, device="cpu", BLOCK_SIZE=block
        )
        torch.testing.assert_close(ours.to_dense(), theirs.to_dense())
        torch.testing.assert_close(ours.full_kv_num_blocks, theirs.full_kv_num_blocks)
        torch.testing.assert_close(ours.kv_num_blocks, theirs.kv_num_blocks)


def test_malformed_rows_raise():
    model, (ids, labels, pos, sid) = tiny(), packed_batch(ROWS)
    bad = sid.clone()
    bad[0, 30] = 0  # sample 3 is interrupted by a token of sample 0
    with pytest.raises(ValueError, match="decrease at token 30"):
        packed_loss(model, ids, labels, pos, bad)
    with pytest.raises(ValueError, match=">= 0, or -1"):
        packed_loss(model, ids, labels, pos, sid - 2)
    inner = sid.clone()
    inner[0, :9] = -1
    with pytest.raises(ValueError, match="padding .* must end its row"):
        packed_loss(model, ids, labels, pos, inner)
    skip = pos.clone()
    skip[1, 5] += 1
    with pytest.raises(ValueError, match="count up by one"):
        packed_loss(model, ids, labels, skip, sid)
    with pytest.raises(ValueError, match="one \\(batch, seq_len\\) shape"):
        packed_loss(model, ids, labels[:, :-1], pos, sid)
    with pytest.raises(ValueError, match="integer"):
        check_packing(sid.float(), pos)
    with pytest.raises(ValueError, match="max_seq_len"):
        packed_loss(model, ids, labels, pos + 60, sid)
    with pytest.raises(ValueError, match="attention"):
        LongSeqConfig(attention="dense")
    with pytest.raises(ValueError, match="checkpoint_activations"):
        LongSeqConfig(offload_activations=True)


def saved_bytes(model, batch, cfg) -> int:
    """Bytes of distinct non-parameter storages that autograd saves for backward (outside inner
    hooks)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in params:
            seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        packed_loss(model, *batch, cfg)
    return sum(seen.values())


def test_memory_pieces_shrink_what_autograd_saves():
    model, batch = tiny(n_layers=3), packed_batch(ROWS)
    B, T = batch[0].shape
    plain = saved_bytes(model, batch, LongSeqConfig())
    mlp = saved_bytes(model, batch, LongSeqConfig(tiled_mlp=True))
    ckpt = saved_bytes(model, batch, LongSeqConfig(checkpoint_activations=True))
    off = saved_bytes(
        model, batch, LongSeqConfig(checkpoint_activations=True, offload_activations=True)
    )
    # the tiled MLP keeps its input instead of gate, up, silu(gate) and their product
    # (4 x hidden per token)
    assert plain - mlp >= 3 * B * T * 4 * (4 * ARGS["hidden_dim"] - ARGS["dim"])
    assert ckpt < plain / 3
    assert ckpt - off == 3 * B * T * ARGS["dim"] * 4  # exactly the layer inputs go to host memory


def test_memory_model_counts_what_a_layer_saves():
    """bench/sft_memory_model.py's per-layer arithmetic is what autograd keeps for a bf16 layer."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "bench" / "sft_memory_model.py"
    spec = importlib.util.spec_from_file_location("sft_memory_model", path)
    mm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mm)
    batch = packed_batch(ROWS)
    B, T = batch[0].shape
    for tiled_mlp in (False, True):
        cfg = LongSeqConfig(tiled_mlp=tiled_mlp)
        two, three = (saved_bytes(tiny(n_layers=n).to(torch.bfloat16), batch, cfg) for n in (2, 3))
        per_token = mm.layer_saved_bytes(
            tiny().args, e=2, tiled_mlp=tiled_mlp, cpu_linear_copies=True
        )
        assert three - two == B * T * per_token


def test_shard_batch_pads_like_collate():
    batch = packed_batch([[9, 1, 13, 18]])  # 41 tokens
    parts = [shard_batch(*batch, rank, 4, pad_id=7) for rank in range(4)]
    ids, labels, pos, sid = (torch.cat(p, dim=1) for p in zip(*parts))
    assert ids.shape == (1, 44) and all(p[0].shape == (1, 11) for p in parts)
    assert ids[0, 41:].tolist() == [7, 7, 7] and labels[0, 41:].tolist() == [-100] * 3
    assert pos[0, 41:].tolist() == [0, 1, 2] and sid[0, 41:].tolist() == [-1, -1, -1]
    check_packing(sid, pos)
    model = tiny()
    torch.testing.assert_close(
        mean_loss(model, (ids, labels, pos, sid)), mean_loss(model, batch), atol=1e-6, rtol=0
    )


def test_train_flops_counts_attention_per_sample():
    for kw in (dict(), dict(tie_embeddings=False)):
        model = tiny(**kw)
        assert train_flops(model.args, [[40]]) == pytest.approx(40 * model.flops_per_token(40))
        packed = train_flops(model.args, ROWS) - 80 * 6 * (model.flops_per_token(0) / 6)
        a = model.args
        assert packed == pytest.approx(
            12 * a.n_layers * a.n_heads * a.head_dim * sum(n * n for r in ROWS for n in r)
        )


def test_batch_loss_takes_collated_padding_and_sft_flags():
    """fim/data.py's collate pads rows with sample id -1; fim/sft.py passes its SFTConfig."""
    from types import SimpleNamespace

    model, (ids, labels, pos, sid) = tiny(), packed_batch([[9, 1, 13, 11], [25, 9]])
    pad = torch.arange(6)[None].expand(2, 6)
    batch = dict(
        input_ids=torch.cat([ids, torch.zeros(2, 6, dtype=torch.long)], 1),
        labels=torch.cat([labels, torch.full((2, 6), -100)], 1),
        position_ids=torch.cat([pos, pad], 1),
        sample_ids=torch.cat([sid, torch.full((2, 6), -1)], 1),
    )
    batch["sample_ids"][1] = -1  # an empty row, as the last step of an epoch has
    batch["position_ids"][1] = torch.arange(40)
    batch["labels"][1] = -100
    ref_loss, _ = reference(model, (ids[:1], labels[:1], pos[:1], sid[:1]))
    n = (labels[0] != -100).sum().item()
    cfg = SimpleNamespace(
        tiled_loss=True,
        tiled_mlp=True,
        attention="sdpa",
        checkpoint_activations=True,
        offload_activations=False,
        sequence_parallel=1,
        dtype="auto",
    )
    loss_sum, count = batch_loss(model, batch, cfg)
    assert count.item() == n and loss_sum.item() == pytest.approx(ref_loss.item() * n, abs=1e-4)


def test_tiled_pieces_under_autocast():
    """fim/sft.py's single-GPU path runs under autocast: backward recomputes with the same
    autocast."""
    model, batch = tiny(), packed_batch(ROWS)
    out = []
    for cfg in (
        LongSeqConfig(),
        LongSeqConfig(tiled_loss=True, loss_chunk=7, tiled_mlp=True, mlp_chunk=5),
    ):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = mean_loss(model, batch, cfg)
        out.append((loss, torch.autograd.grad(loss, list(model.parameters()))))
    torch.testing.assert_close(out[1][0], out[0][0], atol=2e-3, rtol=0)
    for g, r in zip(out[1][1], out[0][1]):
        assert (g - r).norm() <= 0.02 * r.norm() + 1e-6
