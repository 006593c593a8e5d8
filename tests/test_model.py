import os

import pytest
import torch

from sqlcomplete.model import KVCache, ModelArgs, Transformer, from_pretrained, save_pretrained

ARGS = dict(dim=64, n_layers=2, n_heads=8, n_kv_heads=4, vocab_size=97, max_seq_len=128)


def tiny(**kw):
    torch.manual_seed(0)
    return Transformer(ModelArgs(**{**ARGS, **kw})).eval()


def test_causality():
    m = tiny()
    x = torch.randint(0, 97, (2, 20))
    y = x.clone()
    y[:, 12:] = torch.randint(0, 97, (2, 8))
    with torch.no_grad():
        a, b = m(x), m(y)
    torch.testing.assert_close(a[:, :12], b[:, :12], atol=1e-6, rtol=0)
    assert not torch.allclose(a[:, 12:], b[:, 12:])


@pytest.mark.parametrize("qk_norm", [False, True])
def test_incremental_equals_full(qk_norm):
    m = tiny(qk_norm=qk_norm)
    x = torch.randint(0, 97, (1, 30))
    with torch.no_grad():
        full = m(x)
        cache = KVCache(m.args, 1, 64)
        parts = [m(x[:, :10], cache=cache)] + [
            m(x[:, i : i + 1], cache=cache) for i in range(10, 25)
        ]
        parts.append(m(x[:, 25:], cache=cache))
    torch.testing.assert_close(torch.cat(parts, 1), full, atol=1e-5, rtol=0)


def test_batched_different_prompt_lengths():
    m = tiny()
    prompts = [torch.randint(0, 97, (n,)) for n in (7, 12, 3)]
    conts = torch.randint(0, 97, (3, 4))
    padded = torch.zeros(3, 12, dtype=torch.long)
    for i, p in enumerate(prompts):
        padded[i, : len(p)] = p
    with torch.no_grad():
        cache = KVCache(m.args, 3, 32)
        m(padded, cache=cache, n_valid=torch.tensor([7, 12, 3]))
        steps = torch.cat([m(conts[:, i : i + 1], cache=cache) for i in range(4)], 1)
        for i, p in enumerate(prompts):
            ref = m(torch.cat([p, conts[i]])[None])[:, len(p) :]
            torch.testing.assert_close(steps[i : i + 1], ref, atol=1e-5, rtol=0)


def test_shared_prefix_fork_and_reorder():
    m = tiny()
    schema = torch.randint(0, 97, (1, 40))
    branches = torch.randint(0, 97, (3, 5))
    with torch.no_grad():
        prefix = KVCache(m.args, 1, 64)
        m(schema, cache=prefix)
        rows = KVCache(m.args, 1, 16, prefix=prefix)
        m(branches[:1, :2], cache=rows)
        rows.reorder(torch.tensor([0, 0, 0]))  # fork one row into three
        out = m(branches[:, 2:], cache=rows)
        for i in range(3):
            seq = torch.cat([schema[0], branches[0, :2], branches[i, 2:]])[None]
            torch.testing.assert_close(out[i : i + 1], m(seq)[:, 42:], atol=1e-5, rtol=0)
        rows.reorder(torch.tensor([2, 1]))  # beam reorder keeps each row's history
        nxt = torch.randint(0, 97, (2, 1))
        out = m(nxt, cache=rows)
        seq = torch.cat([schema[0], branches[0, :2], branches[2, 2:], nxt[0]])[None]
        torch.testing.assert_close(out[:1], m(seq)[:, -1:], atol=1e-5, rtol=0)


def test_token_tree_equals_one_row_per_branch():
    m = tiny()
    schema, typed = torch.randint(0, 97, (1, 30)), torch.randint(0, 97, (1, 3))
    # branches a-b, a-c-d and e: a is shared
    tokens, parents = [11, 12, 13, 14, 15], [-1, 0, 0, 2, -1]
    branches = [[0, 1], [0, 2, 3], [4]]  # node indices, root first
    with torch.no_grad():
        prefix = KVCache(m.args, 1, 64)
        m(schema, cache=prefix)
        rows = KVCache(m.args, 1, 8, prefix=prefix)
        m(typed, cache=rows)  # tokens already in the row come before the tree
        out = m(torch.tensor([tokens]), cache=rows, tree=parents)[0]
        for nodes in branches:
            seq = torch.cat([schema[0], typed[0], torch.tensor([tokens[i] for i in nodes])])[None]
            torch.testing.assert_close(out[nodes], m(seq)[0, 33:], atol=1e-5, rtol=0)
        with pytest.raises(ValueError, match="parent"):
            m(torch.tensor([[1, 2]]), cache=KVCache(m.args, 1, 8, prefix=prefix), tree=[1, -1])


def test_truncate_reuses_common_prefix():
    m = tiny()
    x = torch.randint(0, 97, (1, 20))
    with torch.no_grad():
        cache = KVCache(m.args, 1, 32)
        m(x, cache=cache)
        cache.truncate(15)
        y = torch.randint(0, 97, (1, 3))
        out = m(y, cache=cache)
        ref = m(torch.cat([x[:, :15], y], 1))[:, 15:]
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_cache_overflow_is_a_clear_error():
    m = tiny()
    cache = KVCache(m.args, 1, 8)
    with pytest.raises(ValueError, match="KV cache full"):
        m(torch.zeros(1, 9, dtype=torch.long), cache=cache)


@pytest.mark.parametrize("qk_norm,tie", [(False, True), (False, False), (True, True)])
def test_parity_with_transformers(tmp_path, qk_norm, tie):
    transformers = pytest.importorskip("transformers")
    m = tiny(qk_norm=qk_norm, tie_embeddings=tie, rope_theta=5e5 if qk_norm else 1e4)
    for p in m.parameters():  # random norms too, so a swapped name would show
        torch.nn.init.normal_(p, std=0.1)
    save_pretrained(m, str(tmp_path))
    cls = transformers.Qwen3ForCausalLM if qk_norm else transformers.LlamaForCausalLM
    ref = cls.from_pretrained(str(tmp_path), torch_dtype=torch.float32).eval()
    x = torch.randint(0, 97, (2, 33))
    with torch.no_grad():
        torch.testing.assert_close(m(x), ref(x).logits, atol=1e-4, rtol=0)
        back = from_pretrained(str(tmp_path))
        torch.testing.assert_close(back(x), m(x), atol=0, rtol=0)


def test_parameter_counts_of_configs():
    from train import load_config

    counts = {}
    for name in ("260K", "15M", "42M"):
        cfg = load_config(f"configs/{name}.py")
        counts[name] = Transformer(ModelArgs(**cfg["model"])).num_params()
    assert counts["260K"] < counts["15M"] < counts["42M"]
    assert 5e6 < counts["15M"] < 12e6  # "15M" has ~8M parameters with a 512 vocabulary


def test_estimate_params_counts_without_building():
    from sqlcomplete.model import estimate_params

    for args in (
        ModelArgs(dim=64, n_layers=5, n_heads=8, n_kv_heads=4, hidden_dim=172),
        ModelArgs(
            dim=96,
            n_layers=2,
            n_heads=4,
            n_kv_heads=2,
            head_dim=32,
            qk_norm=True,
            tie_embeddings=False,
        ),
    ):
        assert estimate_params(args) == Transformer(args).num_params()


def test_loading_a_small_model_does_not_import_dynamo(tmp_path):
    """Building on the meta device imports torch._dynamo (~3 s): a completer's start-up must not
    pay it."""
    import subprocess
    import sys

    model = Transformer(
        ModelArgs(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=64, max_seq_len=32)
    )
    save_pretrained(model, str(tmp_path))
    code = (
        f"import sys; from model import from_pretrained; from_pretrained({str(tmp_path)!r}); "
        "print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.stdout.strip() == "False"


def test_big_models_load_through_the_meta_device(tmp_path, monkeypatch):
    from sqlcomplete import model as model_module

    model = Transformer(
        ModelArgs(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=64, max_seq_len=32)
    )
    save_pretrained(model, str(tmp_path))
    monkeypatch.setattr(model_module, "META_MIN_PARAMS", 0)  # as if it were a 4B model
    loaded = from_pretrained(str(tmp_path))
    x = torch.randint(0, 64, (1, 8))
    torch.testing.assert_close(loaded(x), model.eval()(x))
    assert loaded.lm_head.weight is loaded.embed_tokens.weight
