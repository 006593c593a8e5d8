"""Decoder to ONNX for the browser, with a KV cache; checked against PyTorch with onnxruntime.

    python web/export.py --ckpt sqlcomplete/models/default --out web/model [--int8] \
        [--ngram sqlcomplete/models/ngram.safetensors | none]

    python web/export.py --ckpt sqlcomplete/models/default --runtime      # `make export`

--runtime writes only CKPT/model.onnx (fp32), beside model.safetensors: the graph the completer's
onnx backend runs (sqlcomplete/completion/backend_onnx.py), so a user's install needs no torch.
Every export records in the ONNX metadata the graph format and the hashes of the tokenizer, the
shape and the weights (backends.export_metadata): the onnx backend refuses a file made for
another checkpoint.

Otherwise writes OUT/model.onnx (fp32; with --int8 also model.int8.onnx), OUT/tokenizer.json (the
SentencePiece pieces that web/tokenizer.js encodes with), OUT/ngram.json.gz (the n-gram whose
proposals the model reranks, as the engine does; completion/ngram.py's model converted to the
gzipped JSON that web/ngram.js reads, 3.5 MB) and OUT/config.json (shapes, special ids, the
lexicon and rerank settings).

The graph takes input_ids (B, T) int64 and, per layer i,
  prefix.i.key / prefix.i.value  (1, n_kv, P, D): the schema + statement cache every row
                                   attends to without copying it (KVCache(prefix=) in model.py)
  past.i.key / past.i.value      (B, n_kv, L, D): each row's own cache
and returns logits (B, T, V) and present.i.key / present.i.value = past + the T new
positions (B, n_kv, L + T, D). The new tokens sit at positions P + L + t. A prefill passes
P = L = 0; extending the statement passes the cache as `past` with P = 0; the greedy
suggestion rows pass it as `prefix` (batch 1) and their own short caches as `past`.
"""

import argparse
import contextlib
import hashlib
import logging
import math
import os
import sys
import time
import warnings

import torch

from sqlcomplete.completion.backends import ONNX_FILE, export_metadata
from sqlcomplete.completion.ngram import DEFAULT_MODEL as DEFAULT_NGRAM
from sqlcomplete.files import write_json_atomic
from sqlcomplete.model import from_pretrained
from sqlcomplete.sql.lexicon import SQL_VOCABULARY, SQL_WORDS
from sqlcomplete.sql.prompt import STATEMENT_HEADER, marker_piece, prompt_text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 18


class ExportCache:
    """Stands in for KVCache during export: concat-style past -> present, plus a shared prefix."""

    def __init__(self, prefix, past):
        self.prefix, self.past, self.present = prefix, past, []

    def attend(self, layer: int, q, k, v):
        pk, pv = self.prefix[layer]  # (1, n_kv, P, D)
        k = torch.cat([self.past[layer][0], k], dim=2)  # (B, n_kv, L + T, D)
        v = torch.cat([self.past[layer][1], v], dim=2)
        self.present += [k, v]
        B, H, T, D = q.shape
        n_kv, L = k.shape[1], k.shape[2]
        qg = q.reshape(B, n_kv, H // n_kv, T, D)  # grouped query heads share their kv head
        scale = 1.0 / math.sqrt(D)
        pscores = torch.matmul(qg, pk[:, :, None].transpose(-1, -2)) * scale  # (B, n_kv, g, T, P)
        scores = torch.matmul(qg, k[:, :, None].transpose(-1, -2)) * scale  # (B, n_kv, g, T, L + T)
        causal = torch.arange(L)[None, :] <= (L - T + torch.arange(T))[:, None]  # (T, L + T)
        scores = scores.masked_fill(~causal, float("-inf"))
        probs = torch.softmax(torch.cat([pscores, scores], dim=-1), dim=-1)
        P = pk.shape[2]
        y = torch.matmul(probs[..., :P], pv[:, :, None]) + torch.matmul(
            probs[..., P:], v[:, :, None]
        )
        return y.reshape(B, H, T, D)


class Decoder(torch.nn.Module):
    """The Transformer's layers driven with explicit cache tensors (flat, for ONNX)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, *kv):
        m, n = self.model, self.model.args.n_layers
        prefix = [(kv[2 * i], kv[2 * i + 1]) for i in range(n)]
        past = [(kv[2 * n + 2 * i], kv[2 * n + 2 * i + 1]) for i in range(n)]
        T = input_ids.shape[1]
        positions = prefix[0][0].shape[2] + past[0][0].shape[2] + torch.arange(T)
        cos, sin = (
            m.rope_cos[positions][None, None],
            m.rope_sin[positions][None, None],
        )  # (1, 1, T, D)
        cache = ExportCache(prefix, past)
        h = m.embed_tokens(input_ids)
        for layer in m.layers:
            h = layer(h, cos, sin, cache)
        return (m.lm_head(m.norm(h)), *cache.present)


def io_names(n_layers: int) -> tuple[list[str], list[str]]:
    kv = lambda kind: [f"{kind}.{i}.{t}" for i in range(n_layers) for t in ("key", "value")]
    return ["input_ids"] + kv("prefix") + kv("past"), ["logits"] + kv("present")


def empty_kv(args, batch: int, length: int = 0) -> list[torch.Tensor]:
    return [
        torch.zeros(batch, args.n_kv_heads, length, args.head_dim) for _ in range(2 * args.n_layers)
    ]


@contextlib.contextmanager
def quiet():
    """Hide the exporter's and quantizer's advice (torchvision missing, axis renames, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def export_onnx(model, path: str, metadata: dict[str, str] | None = None):
    """Write the decoder with dynamic batch, new-token, prefix and past axes; `metadata` goes into
    the file's metadata_props (what onnxruntime's custom_metadata_map reads back)."""
    args = model.args
    inputs, outputs = io_names(args.n_layers)
    # example sizes all distinct and >= 2, so that the exporter keeps them symbolic
    B, T, P, L = 3, 5, 7, 4
    example = (
        torch.randint(0, args.vocab_size, (B, T)),
        *empty_kv(args, 1, P),
        *empty_kv(args, B, L),
    )
    batch, seq = (
        torch.export.Dim("batch", min=1),
        torch.export.Dim("seq", min=1, max=args.max_seq_len),
    )
    pre, past = (
        torch.export.Dim("prefix", min=0, max=args.max_seq_len),
        torch.export.Dim("past", min=0, max=args.max_seq_len),
    )
    dynamic = (
        ({0: batch, 1: seq},)
        + ({2: pre},) * (2 * args.n_layers)
        + ({0: batch, 2: past},) * (2 * args.n_layers)
    )
    tmp = path + ".tmp"
    with quiet():
        torch.onnx.export(
            Decoder(model).eval(),
            example,
            tmp,
            input_names=inputs,
            output_names=outputs,
            dynamic_shapes=(dynamic[0], dynamic[1:]),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    if metadata:
        import onnx

        graph = onnx.load(tmp)
        for key, value in metadata.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, tmp)
    os.replace(tmp, path)


def quantize_int8(src: str, dst: str):
    """Dynamic int8 quantization of the matmul weights (activations stay fp32)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet():
        quantize_dynamic(src, dst + ".tmp", weight_type=QuantType.QInt8)
    os.replace(dst + ".tmp", dst)


# ---------------------------------------------------------------- parity with PyTorch


def check_parity(
    path: str, model, prompt: list[int], steps: int = 4, rows: int = 3, seed: int = 0
) -> float:
    """Max |logits_onnx - logits_torch| over a prefill, B=1 statement steps and B=rows suggestion
    steps that share the prefix; the reference is the model's full forward without a cache."""
    import onnxruntime as ort

    args = model.args
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    inputs, _ = io_names(args.n_layers)
    g = torch.Generator().manual_seed(seed)

    def run(ids, prefix, past):
        feed = dict(zip(inputs, [ids.numpy()] + [t.numpy() for t in prefix + past]))
        out = sess.run(None, feed)
        return torch.from_numpy(out[0]), [torch.from_numpy(t) for t in out[1:]]

    @torch.no_grad()
    def reference(seqs):  # (B, N) -> (B, N, V)
        return model(seqs)

    worst = 0.0
    ids = torch.tensor([prompt])
    logits, cache = run(ids, empty_kv(args, 1), empty_kv(args, 1))  # prefill
    worst = max(worst, float((logits - reference(ids)).abs().max()))
    for _ in range(steps):  # the statement, one and two tokens at a time
        new = torch.randint(3, args.vocab_size, (1, 1 + _ % 2), generator=g)
        ids = torch.cat([ids, new], 1)
        logits, cache = run(new, empty_kv(args, 1), cache)
        worst = max(worst, float((logits - reference(ids)[:, -new.shape[1] :]).abs().max()))
    seqs = ids.expand(rows, -1)
    own = empty_kv(args, rows)
    for _ in range(steps):  # suggestion rows over the shared prefix
        new = torch.randint(3, args.vocab_size, (rows, 1), generator=g)
        seqs = torch.cat([seqs, new], 1)
        logits, own = run(new, cache, own)
        worst = max(worst, float((logits - reference(seqs)[:, -1:]).abs().max()))
    return worst


# ---------------------------------------------------------------- tokenizer and config


def tokenizer_json(tok_path: str) -> dict:
    """The pieces and the settings web/tokenizer.js relies on (refuses others)."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    with open(tok_path, "rb") as f:
        m.ParseFromString(f.read())
    ts, ns = m.trainer_spec, m.normalizer_spec
    problems = []
    if ts.model_type != pb.TrainerSpec.BPE:
        problems.append("model_type is not BPE")
    if ns.name != "identity" or ns.precompiled_charsmap:
        problems.append(f"normalization {ns.name!r} (only identity is implemented)")
    if ns.add_dummy_prefix or ns.remove_extra_whitespaces or not ns.escape_whitespaces:
        problems.append(
            "needs add_dummy_prefix=false, remove_extra_whitespaces=false, escape_whitespaces=true"
        )
    if ts.treat_whitespace_as_suffix or not ts.byte_fallback:
        problems.append("needs byte_fallback=true, treat_whitespace_as_suffix=false")
    if problems:
        raise ValueError(
            f"{tok_path}: tokenizer.js cannot reproduce this tokenizer: " + "; ".join(problems)
        )
    return {
        "model": "sentencepiece-bpe",
        "byte_fallback": True,
        "unk_id": ts.unk_id,
        "bos_id": ts.bos_id,
        "eos_id": ts.eos_id,
        # [piece, score, type]; types as in sentencepiece_model.proto: 1 normal, 2 unknown,
        # 3 control, 4 user-defined, 5 unused, 6 byte
        "pieces": [[p.piece, p.score, p.type] for p in m.pieces],
    }


def lexicon_config() -> dict:
    """The engine's schema copy bias (SchemaLexicon) settings, so that the page biases the same."""
    from sqlcomplete.completion.engine import CompleterOptions

    opts = CompleterOptions()
    return {
        "bonus": opts.schema_bonus,
        "penalty": opts.schema_penalty,
        "sql_words": sorted(SQL_WORDS),
    }


def rerank_config(ngram_file: str | None) -> dict:
    """The engine's reranking settings (its defaults) and the n-gram's, so that the page reranks the
    same way; `file` is None when the page runs the model alone."""
    from sqlcomplete.completion import engine as sample
    from sqlcomplete.completion import ngram

    opts = sample.CompleterOptions()
    return {
        "file": ngram_file,
        "weight": opts.ngram_weight,
        "weight_mid": opts.ngram_weight_mid,
        "proposals": sample.RERANK_PROPOSALS,
        "sure": sample.NGRAM_SURE,
        "max_tokens": ngram.MAX_TOKENS,
        "min_prob": ngram.MIN_PROB,
    }


def file_hash(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def source_hash(ckpt: str) -> str:
    """Hash of the checkpoint's weights and tokenizer: tells whether an export is current."""
    h = hashlib.sha256()
    for name in ("model.safetensors", "tok.model", "config.json"):
        with open(os.path.join(ckpt, name), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def write_ngram(path: str | None, out: str) -> dict:
    """Write the n-gram into OUT as gzipped JSON (web/ngram.js's format, converted from any file
    completion/ngram.py reads); None removes a stale one."""
    dst = os.path.join(out, "ngram.json.gz")
    if path is None:
        if os.path.exists(dst):
            os.remove(dst)
        return rerank_config(None)
    from sqlcomplete.completion import ngram

    ngram.save(ngram.read_model(path), dst)  # refuses a file that completion/ngram.py cannot read
    print(f"n-gram: {dst} ({os.path.getsize(dst) / 1e6:.2f} MB)")
    return {
        **rerank_config("ngram.json.gz"),
        "bytes": os.path.getsize(dst),
        "sha256": file_hash(dst),
        "source_sha256": file_hash(path),
    }


def write_model_dir(
    ckpt: str, out: str, int8: bool = False, check: bool = True, ngram: str | None = None
) -> dict:
    """Export, check and write everything the page loads; returns config.json's content. With
    `ngram` (a completion/ngram.py model file), the page reranks the n-gram's proposals as the
    engine does."""
    import sentencepiece as spm

    from sqlcomplete.completion.engine import resolve_ckpt

    ckpt = resolve_ckpt(ckpt)
    os.makedirs(out, exist_ok=True)
    model = from_pretrained(ckpt)
    args = model.args
    tok = os.path.join(ckpt, "tok.model")
    sp = spm.SentencePieceProcessor(model_file=tok)
    t0 = time.time()
    onnx_path = os.path.join(out, "model.onnx")
    export_onnx(model, onnx_path, export_metadata(ckpt))
    print(
        f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB, "
        f"{model.num_params() / 1e6:.2f}M params) in {time.time() - t0:.1f}s"
    )
    files = {"fp32": "model.onnx"}
    parity = {}
    if check:
        with open(os.path.join(ROOT, "examples", "schema.sql")) as f:
            prompt = sp.encode(prompt_text(f.read()))[: args.max_seq_len // 2]
        parity["fp32"] = check_parity(onnx_path, model, prompt)
        print(f"fp32 parity: max |logits diff| = {parity['fp32']:.2e}")
        if parity["fp32"] > 1e-4:
            raise ValueError(f"ONNX logits differ from PyTorch by {parity['fp32']:.2e} (> 1e-4)")
    if int8:
        q_path = os.path.join(out, "model.int8.onnx")
        quantize_int8(onnx_path, q_path)
        files["int8"] = "model.int8.onnx"
        print(f"int8: {q_path} ({os.path.getsize(q_path) / 1e6:.2f} MB)")
        if check:
            parity["int8"] = check_parity(q_path, model, prompt)
            print(
                f"int8 vs fp32 PyTorch: max |logits diff| = {parity['int8']:.2e} "
                "(quantization error, not checked)"
            )
    write_json_atomic(os.path.join(out, "tokenizer.json"), tokenizer_json(tok))
    rerank = write_ngram(ngram, out)
    cfg = {
        "n_layers": args.n_layers,
        "n_kv_heads": args.n_kv_heads,
        "head_dim": args.head_dim,
        "vocab_size": args.vocab_size,
        "max_seq_len": args.max_seq_len,
        "eos_id": sp.eos_id(),
        "bos_id": sp.bos_id(),
        "statement_header_id": sp.piece_to_id(marker_piece(STATEMENT_HEADER)),
        "files": files,
        "sizes": {k: os.path.getsize(os.path.join(out, v)) for k, v in files.items()},
        # the page loads fp32 unless asked (?model=int8): in Chromium int8 is no faster for these
        # sizes, and fp32 gives sample.py's suggestions (int8 scored a point lower on the dev set)
        "page_default": "fp32",
        "lexicon": lexicon_config(),
        "sql_vocabulary": sorted(
            SQL_VOCABULARY
        ),  # words of SQL a suggestion may use (never an invented name)
        "ngram": rerank,
        "source_sha256": source_hash(ckpt),
        "parity_max_abs": parity,
        "ckpt": os.path.relpath(ckpt, ROOT) if ckpt.startswith(ROOT) else ckpt,
    }
    write_json_atomic(os.path.join(out, "config.json"), cfg)
    return cfg


def write_runtime(ckpt: str | None, check: bool = True) -> str:
    """CKPT/model.onnx (fp32) beside model.safetensors, for the completer's onnx backend; checked
    against PyTorch (max |logits diff| <= 1e-4) before it replaces an earlier export."""
    import sentencepiece as spm

    from sqlcomplete.completion.engine import resolve_ckpt

    ckpt = resolve_ckpt(ckpt)
    model = from_pretrained(ckpt)
    path = os.path.join(ckpt, ONNX_FILE)
    tmp = path + ".new"
    t0 = time.time()
    try:
        export_onnx(model, tmp, export_metadata(ckpt))
        if check:
            sp = spm.SentencePieceProcessor(model_file=os.path.join(ckpt, "tok.model"))
            with open(os.path.join(ROOT, "examples", "schema.sql")) as f:
                prompt = sp.encode(prompt_text(f.read()))[: model.args.max_seq_len // 2]
            worst = check_parity(tmp, model, prompt)
            print(f"fp32 parity: max |logits diff| = {worst:.2e}")
            if worst > 1e-4:
                raise ValueError(f"ONNX logits differ from PyTorch by {worst:.2e} (> 1e-4)")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"exported {path} ({os.path.getsize(path) / 1e6:.2f} MB) in {time.time() - t0:.1f}s")
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Export the decoder to ONNX with a KV cache for web/index.html."
    )
    ap.add_argument(
        "--ckpt", default=None, help="checkpoint directory (default: sqlcomplete/models/default)"
    )
    ap.add_argument("--out", default=os.path.join(ROOT, "web", "model"))
    ap.add_argument(
        "--int8", action="store_true", help="also write a dynamically quantized int8 model"
    )
    ap.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")
    ap.add_argument(
        "--runtime",
        action="store_true",
        help="write only CKPT/model.onnx, for the completer's onnx backend (`make export`)",
    )
    ap.add_argument(
        "--ngram",
        default=DEFAULT_NGRAM,
        help="n-gram whose proposals the model reranks, as in sample.py ('none': the model alone)",
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    ngram = None if a.ngram == "none" else a.ngram
    if ngram == DEFAULT_NGRAM and not os.path.isfile(ngram):
        print(f"no n-gram at {ngram}: the page will run the model alone")
        ngram = None
    try:
        if a.runtime:
            write_runtime(a.ckpt, check=not a.no_check)
            return
        write_model_dir(a.ckpt, a.out, int8=a.int8, check=not a.no_check, ngram=ngram)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(str(e))


if __name__ == "__main__":
    main()
