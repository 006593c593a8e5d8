"""Training at the hardware's speed: dtype/compile choices, bf16 autocast on CPU tracking fp32, one
graph."""

import torch

import train
from sqlcomplete import training
from sqlcomplete.model import ModelArgs, Transformer

TINY = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=64, max_seq_len=64)


def test_native_bf16_is_read_from_cpu_flags(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor : 0\nflags : fpu sse2 avx2 avx512f amx_bf16 amx_tile\n")
    with_avx512 = tmp_path / "avx512"
    with_avx512.write_text("flags : fpu avx512f avx512_bf16\n")
    without = tmp_path / "none"
    without.write_text("flags : fpu sse2 avx2 fma\n")
    assert training.cpu_has_native_bf16(str(with_amx))
    assert training.cpu_has_native_bf16(str(with_avx512))
    assert training.cpu_bf16_flag(str(with_amx)) == "amx_bf16"
    assert training.cpu_bf16_flag(str(with_avx512)) == "avx512_bf16"
    assert not training.cpu_has_native_bf16(str(without))
    assert not training.cpu_has_native_bf16(str(tmp_path / "missing"))


def test_auto_dtype_is_bf16_only_where_it_is_native(monkeypatch):
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    assert training.resolve_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    assert training.resolve_dtype("auto", "cpu") == "float32"
    assert training.resolve_dtype("auto", "mps") == "float32"
    assert training.resolve_dtype("auto", "cuda") == "bfloat16"
    assert training.resolve_dtype("float32", "cuda") == "float32"


def test_auto_dtype_on_a_cpu_goes_by_its_bf16_and_the_models_width(monkeypatch):
    """Issue 29 item 6 (bench/train_speed.py measures the rule): with AVX512-BF16, bf16 was faster
    at every width; with AMX it was slower for the 260K model (dim 64). The reason is said in the
    first log line."""
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(training, "cpu_bf16_flag", lambda: "amx_bf16")
    narrow = training.AMX_BF16_MIN_DIM - 1
    assert training.choose_dtype("auto", "cpu", narrow) == (
        "float32",
        f"auto: the CPU has amx_bf16, but at dim {narrow} < {training.AMX_BF16_MIN_DIM} AMX's "
        "bf16 was slower than fp32",
    )
    assert training.choose_dtype("auto", "cpu", 64)[0] == "float32"  # 260K
    assert training.choose_dtype("auto", "cpu", 288) == (
        "bfloat16",
        f"auto: the CPU has amx_bf16 and dim 288 >= {training.AMX_BF16_MIN_DIM}",
    )
    monkeypatch.setattr(training, "cpu_bf16_flag", lambda: "avx512_bf16")
    for dim in (64, 128, 288):
        assert training.choose_dtype("auto", "cpu", dim) == (
            "bfloat16",
            "auto: the CPU has avx512_bf16",
        )
    assert training.choose_dtype("auto", "cuda", 64) == ("bfloat16", "auto: CUDA")
    assert training.choose_dtype("bfloat16", "cpu", 64) == ("bfloat16", "dtype=bfloat16")
    monkeypatch.setattr(training, "cpu_has_native_bf16", lambda: False)
    assert training.choose_dtype("auto", "cpu", 512) == (
        "float32",
        "auto: this CPU has no native bf16 (AMX or AVX512-BF16)",
    )


def test_compile_only_where_it_repays_its_cost(monkeypatch):
    monkeypatch.setattr(training.shutil, "which", lambda name: "/usr/bin/c++")
    assert not training.resolve_compile(None, "cpu", planned_steps=200)
    assert training.resolve_compile(None, "cpu", planned_steps=5000)
    assert training.resolve_compile(None, "cpu", planned_steps=100_000, planned_minutes=60)
    assert not training.resolve_compile(None, "cpu", planned_steps=100_000, planned_minutes=10)
    assert not training.resolve_compile(False, "cuda", planned_steps=5000)
    assert not training.resolve_compile(None, "mps", planned_steps=5000)
    monkeypatch.setattr(
        train.shutil, "which", lambda name: None
    )  # inductor needs a C++ compiler on CPU
    assert not training.resolve_compile(None, "cpu", planned_steps=5000)


def _train(dtype: str, steps: int = 50) -> tuple[list[float], Transformer]:
    torch.manual_seed(0)
    model = Transformer(ModelArgs(**TINY))
    opt = model.configure_optimizers(0.1, 3e-3, (0.9, 0.95), "cpu")
    g = torch.Generator().manual_seed(1)
    # learnable data: each row counts up from a random start, so the loss falls well below log(64)
    starts = torch.randint(0, 64, (8, 1), generator=g)
    x = (starts + torch.arange(33)) % 64
    losses = []
    for _ in range(steps):
        with training.autocast_context("cpu", dtype):
            _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return losses, model


def test_bf16_autocast_training_tracks_fp32():
    fp32, _ = _train("float32")
    bf16, model = _train("bfloat16")
    assert fp32[-1] < 0.5 * fp32[0]  # it learned something, so tracking is a real comparison
    assert abs(bf16[-1] - fp32[-1]) / fp32[-1] < 0.02
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32


def test_training_forward_compiles_as_one_graph():
    torch.manual_seed(0)
    model = Transformer(ModelArgs(**TINY))
    x = torch.randint(0, 64, (2, 16))
    want_logits, want_loss = model(x, x)
    # the eager backend traces with dynamo (fullgraph: any graph break is an error) without
    # compiling C++
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    logits, loss = compiled(x, x)
    torch.testing.assert_close(loss, want_loss)
    positions = torch.arange(16)[None].expand(2, 16)  # packed rows pass their own positions
    _, packed_loss = compiled(x, x, positions=positions)
    torch.testing.assert_close(packed_loss, want_loss)


def test_fused_adamw_matches_the_loop_implementation():
    torch.manual_seed(0)
    a = Transformer(ModelArgs(**TINY))
    b = Transformer(ModelArgs(**TINY))
    b.load_state_dict(a.state_dict())
    opt_a = a.configure_optimizers(0.1, 1e-3, (0.9, 0.95), "cpu")
    assert opt_a.defaults["fused"]
    opt_b = torch.optim.AdamW(
        [
            {"params": [p for p in b.parameters() if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for p in b.parameters() if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=1e-3,
        betas=(0.9, 0.95),
        foreach=False,
    )
    x = torch.randint(0, 64, (2, 16))
    for model, opt in ((a, opt_a), (b, opt_b)):
        for _ in range(3):
            model(x, x)[1].backward()
            opt.step()
            opt.zero_grad()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, atol=1e-6, rtol=1e-5)
