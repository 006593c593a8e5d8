"""Hugging Face model directories for models too big for one file: sharded safetensors in and out.

load_pretrained reads config.json and the weights, either model.safetensors or the shards that
model.safetensors.index.json names, tensor by tensor and by name, straight onto the target device
in the target dtype: the model is built on the meta device first, so a 4B model is never
materialised twice (nor in fp32 on the CPU on its way to a GPU).

save_pretrained_sharded writes the layout transformers writes and vLLM serves:
model-00001-of-0000N.safetensors shards of at most max_shard_bytes plus the index (or a single
model.safetensors when everything fits in one shard), config.json, and, when given a source
directory, its tokenizer and generation files. Every file goes through a temporary name.
"""
import json
import os
import shutil

import torch

from model import Transformer, args_from_hf_config, hf_config, precompute_rope, write_json_atomic

INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
# what a serving stack needs besides the weights (copied when present)
SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
              "added_tokens.json", "chat_template.jinja", "generation_config.json")
MAX_SHARD_BYTES = 5 * 10**9  # transformers' default shard size for hub checkpoints


def read_config(path: str) -> dict:
    cfg_path = os.path.join(path, "config.json")
    try:
        with open(cfg_path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{cfg_path}: not a readable model config ({e})") from e


def weight_files(path: str) -> dict[str, list[str]]:
    """{safetensors file: tensor names in it} of a model directory (sharded or not)."""
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


def to_hf_names(state_dict: dict[str, torch.Tensor], tie_embeddings: bool) -> dict[str, torch.Tensor]:
    """Our parameter names (model.state_dict()) to Hugging Face's: a `model.` prefix, no tied lm_head."""
    out = {}
    for name, t in state_dict.items():
        if name == "lm_head.weight":
            if not tie_embeddings:
                out[name] = t
        elif not name.startswith(("rope_cos", "rope_sin")):
            out["model." + name] = t
    return out


def load_pretrained(path: str, device="cpu", dtype: torch.dtype = torch.float32) -> Transformer:
    """A Transformer from a Hugging Face directory (Llama or Qwen3), loaded straight to device and dtype."""
    from safetensors import safe_open
    args = args_from_hf_config(read_config(path))
    with torch.device("meta"):
        model = Transformer(args)
    model.to(dtype=dtype).to_empty(device=device)  # allocates on device
    if args.tie_embeddings:
        model.lm_head.weight = model.embed_tokens.weight  # to_empty gave the head its own tensor
    cos, sin = precompute_rope(args.head_dim, args.max_seq_len, args.rope_theta)  # non-persistent: recompute
    model.rope_cos, model.rope_sin = cos.to(device), sin.to(device)

    params = dict(model.named_parameters())  # one entry for the tied embedding/head
    expected = {("model." + n if n != "lm_head.weight" else n) for n in params}
    files = weight_files(path)
    found = {n for names in files.values() for n in names}
    if args.tie_embeddings:
        found.discard("lm_head.weight")  # some tied checkpoints store the head as well; the embedding is it
    missing, unexpected = sorted(expected - found), sorted(found - expected)
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match the config: missing {missing[:8]}, "
                         f"unexpected {unexpected[:8]}")
    with torch.no_grad():
        for file, names in files.items():
            with safe_open(os.path.join(path, file), framework="pt", device=str(device)) as f:
                for name in names:
                    if name not in expected:
                        continue
                    ours = name[len("model."):] if name.startswith("model.") else name
                    t, p = f.get_tensor(name), params[ours]
                    if t.shape != p.shape:
                        raise ValueError(f"{path}: {name} has shape {tuple(t.shape)}, the config says {tuple(p.shape)}")
                    p.copy_(t)
    return model


def _atomic_save(tensors: dict[str, torch.Tensor], path: str):
    from safetensors.torch import save_file
    tmp = path + ".tmp"
    save_file(tensors, tmp, metadata={"format": "pt"})
    os.replace(tmp, path)


def save_pretrained_sharded(model_or_state: "Transformer | dict[str, torch.Tensor]", out_dir: str, args=None,
                            dtype: torch.dtype | None = None, max_shard_bytes: int = MAX_SHARD_BYTES,
                            base_dir: str | None = None):
    """Write weights (a model, or a full state dict under our names with its ModelArgs) in Hugging Face layout.

    base_dir: the directory the model came from; its config.json fields we do not set (token ids...)
    are kept and its tokenizer/generation files are copied, so the result serves as the original did.
    """
    if isinstance(model_or_state, Transformer):
        args, state = model_or_state.args, model_or_state.state_dict()
    else:
        state = model_or_state
    tensors = {k: (v.to(dtype) if dtype is not None else v).detach().contiguous().cpu()
               for k, v in to_hf_names(state, args.tie_embeddings).items()}
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
    names = [SINGLE] if len(shards) == 1 else [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
                                               for i in range(len(shards))]
    for name, shard in zip(names, shards):
        _atomic_save(shard, os.path.join(out_dir, name))
    if len(shards) > 1:
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        write_json_atomic(os.path.join(out_dir, INDEX), {
            "metadata": {"total_size": total},
            "weight_map": {k: name for name, shard in zip(names, shards) for k in shard}})
    for stale in os.listdir(out_dir):  # weights of an earlier layout would confuse a loader
        if (stale.startswith("model") and stale.endswith(".safetensors") and stale not in names) or (
                stale == INDEX and len(shards) == 1):
            os.remove(os.path.join(out_dir, stale))
    dt = str(next(iter(tensors.values())).dtype).replace("torch.", "")
    base = read_config(base_dir) if base_dir else {}
    base.pop("rope_parameters", None)  # hf_config writes rope_theta itself
    write_json_atomic(os.path.join(out_dir, "config.json"), {**base, **hf_config(args, torch_dtype=dt, dtype=dt)})
    if base_dir:
        copy_side_files(base_dir, out_dir)


def copy_side_files(src: str, dst: str):
    """Tokenizer and generation files of a model directory (those present), atomically each."""
    for name in SIDE_FILES:
        path = os.path.join(src, name)
        if os.path.isfile(path) and os.path.abspath(src) != os.path.abspath(dst):
            shutil.copyfile(path, os.path.join(dst, name + ".tmp"))
            os.replace(os.path.join(dst, name + ".tmp"), os.path.join(dst, name))
