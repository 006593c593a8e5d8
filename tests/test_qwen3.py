"""Qwen3 in model.py and sharded Hugging Face checkpoints (model.from_pretrained /
save_pretrained), against transformers."""

import json
import os

import pytest
import torch

from sqlcomplete.model import (
    INDEX,
    ModelArgs,
    Transformer,
    args_from_hf_config,
    from_pretrained,
    save_pretrained,
)

# a tiny Qwen3: head_dim (32) independent of dim / n_heads (16), GQA 4:2, Qwen3's eps and RoPE base
TINY = dict(
    dim=64,
    n_layers=2,
    n_heads=4,
    n_kv_heads=2,
    head_dim=32,
    hidden_dim=96,
    vocab_size=97,
    max_seq_len=128,
    norm_eps=1e-6,
    rope_theta=5e6,
    qk_norm=True,
)

# Qwen/Qwen3-4B-Instruct-2507 config.json, the fields that shape the model (see docs/sft.md for the
# sources)
QWEN3_4B_2507 = {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "hidden_size": 2560,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "intermediate_size": 9728,
    "vocab_size": 151936,
    "max_position_embeddings": 262144,
    "rms_norm_eps": 1e-06,
    "rope_theta": 5000000,
    "rope_scaling": None,
    "tie_word_embeddings": True,
    "hidden_act": "silu",
    "attention_bias": False,
    "use_sliding_window": False,
    "sliding_window": None,
    "torch_dtype": "bfloat16",
}


def tiny(seed: int = 0, **kw) -> Transformer:
    torch.manual_seed(seed)
    m = Transformer(ModelArgs(**{**TINY, **kw})).eval()
    for p in m.parameters():  # random norms too, so a swapped or missing name shows
        torch.nn.init.normal_(p, std=0.1)
    return m


def test_qwen3_4b_shapes_from_published_config():
    args = args_from_hf_config(QWEN3_4B_2507)
    assert (
        args.dim,
        args.n_layers,
        args.n_heads,
        args.n_kv_heads,
        args.head_dim,
        args.hidden_dim,
    ) == (2560, 36, 32, 8, 128, 9728)
    assert args.vocab_size == 151936 and args.rope_theta == 5e6 and args.norm_eps == 1e-6
    assert args.tie_embeddings and args.qk_norm
    with torch.device("meta"):
        m = Transformer(args)
    assert m.num_params() == 4_022_468_096  # "4.0B", 3.6B without the (tied) embedding
    assert m.num_params(non_embedding=True) == 3_633_511_936
    assert m.layers[0].self_attn.q_proj.weight.shape == (32 * 128, 2560)  # 4096 != hidden 2560
    assert m.layers[0].self_attn.k_proj.weight.shape == (8 * 128, 2560)
    assert m.lm_head.weight is m.embed_tokens.weight
    # transformers >= 5 writes rope_theta inside rope_parameters
    v5 = {k: v for k, v in QWEN3_4B_2507.items() if k not in ("rope_theta", "rope_scaling")}
    assert (
        args_from_hf_config(
            {**v5, "rope_parameters": {"rope_type": "default", "rope_theta": 5e6}}
        ).rope_theta
        == 5e6
    )
    with pytest.raises(ValueError, match="RoPE scaling"):
        args_from_hf_config({**QWEN3_4B_2507, "rope_scaling": {"rope_type": "yarn", "factor": 4.0}})


@pytest.mark.parametrize("tie", [True, False])
def test_ours_sharded_to_transformers(tmp_path, tie):
    transformers = pytest.importorskip("transformers")
    m = tiny(tie_embeddings=tie)
    save_pretrained(m, str(tmp_path), max_shard_bytes=40_000)
    index = json.loads((tmp_path / INDEX).read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2 and shards[0] == f"model-00001-of-{len(shards):05d}.safetensors"
    assert ("lm_head.weight" in index["weight_map"]) == (not tie)
    assert not (tmp_path / "model.safetensors").exists()
    ref = transformers.Qwen3ForCausalLM.from_pretrained(str(tmp_path), dtype=torch.float32).eval()
    assert ref.config.rope_parameters["rope_theta"] == 5e6 and ref.config.head_dim == 32
    x = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        torch.testing.assert_close(m(x), ref(x).logits, atol=1e-4, rtol=0)
        # packed rows: positions restarting per sample reach the same logits as transformers'
        # position_ids
        pos = torch.cat([torch.arange(15), torch.arange(25)])[None].expand(2, 40)
        torch.testing.assert_close(
            m(x, positions=pos), ref(x, position_ids=pos).logits, atol=1e-4, rtol=0
        )


@pytest.mark.parametrize("tie", [True, False])
def test_transformers_sharded_to_ours(tmp_path, tie):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.Qwen3Config(
        vocab_size=97,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=128,
        rope_theta=5e6,
        rms_norm_eps=1e-6,
        tie_word_embeddings=tie,
    )
    torch.manual_seed(1)
    ref = transformers.Qwen3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():
            torch.nn.init.normal_(p, std=0.1)
    ref.save_pretrained(str(tmp_path), max_shard_size="40KB")
    assert (tmp_path / INDEX).exists()
    m = from_pretrained(str(tmp_path)).eval()
    assert m.args.rope_theta == 5e6 and m.args.head_dim == 32 and m.args.tie_embeddings == tie
    x = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        torch.testing.assert_close(m(x), ref(x).logits, atol=1e-4, rtol=0)
    # and back: our save of what we loaded is what transformers wrote
    save_pretrained(m, str(tmp_path / "again"), max_shard_bytes=40_000, base_dir=str(tmp_path))
    again = transformers.Qwen3ForCausalLM.from_pretrained(
        str(tmp_path / "again"), dtype=torch.float32
    ).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(x).logits, ref(x).logits, atol=0, rtol=0)


def test_load_to_dtype_keeps_tie_and_round_trips(tmp_path):
    m = tiny()
    save_pretrained(m, str(tmp_path / "a"), max_shard_bytes=30_000)
    b = from_pretrained(str(tmp_path / "a"), dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 and p.device.type == "cpu" for p in b.parameters())
    assert b.lm_head.weight is b.embed_tokens.weight
    assert b.rope_cos.dtype == torch.float32 and torch.isfinite(b.rope_cos).all()
    for (name, p), q in zip(m.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p.to(torch.bfloat16), q), name
    # fp32 round trip is exact, one file when it fits, stale shards removed
    save_pretrained(m, str(tmp_path / "a"))
    assert sorted(os.listdir(tmp_path / "a")) == ["config.json", "model.safetensors"]
    c = from_pretrained(str(tmp_path / "a"))
    for (name, p), q in zip(m.state_dict().items(), c.state_dict().values()):
        assert torch.equal(p, q), name


def test_mismatched_weights_are_clear_errors(tmp_path):
    from safetensors.torch import load_file, save_file

    m = tiny()
    save_pretrained(m, str(tmp_path))
    tensors = load_file(str(tmp_path / "model.safetensors"))
    tensors.pop("model.layers.1.self_attn.q_norm.weight")
    tensors["model.extra.weight"] = torch.zeros(2)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(
        ValueError,
        match=r"missing \['model.layers.1.self_attn.q_norm.weight'\], "
        r"unexpected \['model.extra.weight'\]",
    ):
        from_pretrained(str(tmp_path))
    with pytest.raises(ValueError, match="not a readable model config"):
        from_pretrained(str(tmp_path / "nowhere"))
    os.remove(tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="no model.safetensors or model.safetensors.index.json"):
        from_pretrained(str(tmp_path))
