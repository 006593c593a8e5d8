"""Supervised fine-tuning data: read a dataset, tokenize it with its loss mask, pack it into rows.

Sources are jsonl files, parquet files or `datasets` save_to_disk directories (what
fim/csv_to_fim.py writes); the kind is detected from the columns:

- prompt + response: prompt and response are tokenized separately (the prompt ends with a
  special token, <|fim_middle|> for FIM, so this is exactly how the model sees them at
  inference); labels are -100 over every prompt token and the response is trained followed
  by the end token, <|im_end|> by default: the FIM prompt is an open assistant turn of Qwen's
  chat format, and <|im_end|> is what closes an assistant turn, what Qwen3-Instruct's
  config.json names as eos_token_id and what vLLM stops on. (<|endoftext|> ends a document in
  pre-training and is not what the instruct model emits after an answer.)
- messages: a list of {"role": system|user|assistant, "content": str}, rendered in Qwen's
  chat format "<|im_start|>{role}\\n{content}<|im_end|>\\n"; every assistant content and its
  <|im_end|> are trained, everything else (headers, system, user turns, the newline after
  <|im_end|>) is masked. Each header is tokenized apart from its content, as at generation
  time, when the prompt ends with "<|im_start|>assistant\\n".

A sample longer than max_length tokens (prompt + response + end token) is dropped by
default (too_long="drop"): cutting it would drop the end token and teach the model not to
stop. too_long="truncate" keeps its first max_length tokens instead, if any of them is
trained. Both are counted, as are unusable rows (by reason).

Tokenized sources are cached as .npz next to the run (the key covers the file, the
tokenizer and the settings), so a restart or the other ranks of a distributed run load
instead of tokenizing again.

A batch (collate) is four (B, T) tensors: input_ids; labels, already shifted
(labels[b, t] is the token that should follow input_ids[b, t], -100 where untrained);
position_ids, restarting at 0 for every sample; sample_ids, 0, 1, ... for the samples of a
row and -1 for padding. Samples attend only to themselves (packed_attention_mask).
"""

import hashlib
import json
import math
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from sqlcomplete.fim.bpe import BPETokenizer
from sqlcomplete.fim.prompt import IM_END, IM_START, has_control_token

ROLES = ("system", "user", "assistant")
CACHE_VERSION = 1  # bump when tokenization changes
CHUNK_ROWS = 512  # rows per tokenizer worker task


@dataclass
class DataStats:
    rows: int = 0
    kept: int = 0
    dropped_too_long: int = 0
    truncated: int = 0
    bad: Counter = field(default_factory=Counter)  # unusable rows by reason
    tokens: int = 0
    trained_tokens: int = 0
    longest: int = 0  # longest kept sample

    def add(self, other: "DataStats"):
        for k in ("rows", "kept", "dropped_too_long", "truncated", "tokens", "trained_tokens"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.bad.update(other.bad)
        self.longest = max(self.longest, other.longest)

    def to_dict(self) -> dict:
        # not dataclasses.asdict, which rebuilds a Counter from (key, value) pairs, counting the pairs
        return {**vars(self), "bad": dict(self.bad)}

    def summary(self) -> str:
        bad = sum(self.bad.values())
        return (
            f"{self.rows} rows: {self.kept} samples, {self.dropped_too_long} dropped as too long, "
            f"{self.truncated} truncated, {bad} unusable"
            + (" (" + ", ".join(f"{r} {n}" for r, n in self.bad.most_common()) + ")" if bad else "")
            + f"; {self.tokens:,} tokens, {self.trained_tokens:,} trained, longest sample {self.longest}"
        )


@dataclass
class Tokenized:
    """Samples as one flat token array with offsets; labels unshifted (-100 where untrained)."""

    input_ids: np.ndarray  # (N,) int32
    labels: np.ndarray  # (N,) int32
    offsets: np.ndarray  # (n + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.input_ids[a:b], self.labels[a:b]

    @staticmethod
    def concat(parts: list["Tokenized"]) -> "Tokenized":
        if not parts:
            return Tokenized(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(1, np.int64))
        lengths = np.concatenate([p.lengths for p in parts])
        return Tokenized(
            np.concatenate([p.input_ids for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        )


# ---- reading


def _disk_files(path: Path) -> list[Path]:
    with open(path / "state.json") as f:
        return [path / d["filename"] for d in json.load(f)["_data_files"]]


def _arrow_reader(f):
    try:
        return pa.ipc.open_stream(f)  # what save_to_disk writes
    except pa.ArrowInvalid:
        f.seek(0)
        return pa.ipc.open_file(f)


def _arrow_batches(file: Path):
    with pa.memory_map(str(file)) as f:
        reader = _arrow_reader(f)
        if isinstance(reader, pa.ipc.RecordBatchFileReader):
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
        else:
            yield from reader


def columns(path: str | Path) -> list[str]:
    """Column names of a dataset (for a jsonl file, the keys of its first record)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "state.json").exists():
            return []
        with pa.memory_map(str(_disk_files(path)[0])) as f:
            return _arrow_reader(f).schema.names
    if path.suffix in (".parquet", ".pq"):
        return pq.ParquetFile(path).schema_arrow.names
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                return list(json.loads(line))
    return []


def detect_kind(path: str | Path) -> str:
    """ "prompt_response" or "messages", from the columns."""
    cols = columns(path)
    if "prompt" in cols and "response" in cols:
        return "prompt_response"
    if "messages" in cols:
        return "messages"
    raise ValueError(
        f"{path}: cannot tell the dataset type from its columns {cols} "
        "(expected prompt + response, or messages)"
    )


def read_rows(path: str | Path, kind: str):
    """Rows as dicts with the kind's columns; a jsonl line that is not JSON yields {"_bad": reason}."""
    path = Path(path)
    cols = ["prompt", "response"] if kind == "prompt_response" else ["messages"]
    if path.is_dir() or path.suffix in (".parquet", ".pq"):
        batches = (
            (b for f in _disk_files(path) for b in _arrow_batches(f))
            if path.is_dir()
            else pq.ParquetFile(path).iter_batches(batch_size=4096, columns=cols)
        )
        for batch in batches:
            data = [batch.column(batch.schema.get_field_index(c)).to_pylist() for c in cols]
            for values in zip(*data):
                yield dict(zip(cols, values))
        return
    if path.suffix not in (".jsonl", ".ndjson", ".json"):
        raise ValueError(
            f"{path}: unknown dataset type (expected .jsonl, .parquet or a save_to_disk directory)"
        )
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                yield {"_bad": "bad_json_line"}
                continue
            yield obj if isinstance(obj, dict) else {"_bad": "bad_json_line"}


# ---- tokenizing


class BadRow(ValueError):
    pass


def encode_prompt_response(
    tok: BPETokenizer, prompt, response, end_id: int
) -> tuple[list[int], list[int]]:
    """(ids, labels): labels -100 over the prompt, the response and end token trained."""
    if not isinstance(prompt, str) or not isinstance(response, str):
        raise BadRow("missing_or_not_string")
    if has_control_token(response):
        raise BadRow("control_token_in_response")  # it would encode as the token itself
    p, r = tok.encode(prompt), tok.encode(response) + [end_id]
    return p + r, [-100] * len(p) + r


def encode_messages(tok: BPETokenizer, messages, end_id: int) -> tuple[list[int], list[int]]:
    """(ids, labels) of a chat in Qwen's format; assistant contents and their <|im_end|> trained."""
    if not isinstance(messages, list) or not messages:
        raise BadRow("bad_messages")
    start = tok.token_to_id(IM_START)
    ids, labels = [], []
    trained = False
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("content"), str):
            raise BadRow("bad_messages")
        role, content = m.get("role"), m["content"]
        if role not in ROLES:
            raise BadRow("unknown_role")
        if has_control_token(content):
            raise BadRow("control_token_in_text")
        head = [start] + tok.encode(role + "\n")
        body = tok.encode(content) + [end_id]
        tail = tok.encode("\n")
        ids += head + body + tail
        if role == "assistant":
            labels += [-100] * len(head) + body + [-100] * len(tail)
            trained = True
        else:
            labels += [-100] * (len(head) + len(body) + len(tail))
    if not trained:
        raise BadRow("no_assistant_turn")
    return ids, labels


@dataclass(frozen=True)
class Settings:
    kind: str
    max_length: int
    too_long: str = "drop"
    end_token: str = IM_END


def encode_row(
    tok: BPETokenizer, row: dict, s: Settings, end_id: int
) -> tuple[list[int], list[int], str]:
    """(ids, labels, outcome) with outcome "kept", "truncated", "too_long" or a bad-row reason."""
    if "_bad" in row:
        return [], [], row["_bad"]
    try:
        if s.kind == "prompt_response":
            ids, labels = encode_prompt_response(
                tok, row.get("prompt"), row.get("response"), end_id
            )
        else:
            ids, labels = encode_messages(tok, row.get("messages"), end_id)
    except BadRow as e:
        return [], [], str(e)
    if len(ids) <= s.max_length:
        return ids, labels, "kept"
    if s.too_long == "truncate":
        ids, labels = ids[: s.max_length], labels[: s.max_length]
        if any(t != -100 for t in labels[1:]):  # labels[0] is never a target once shifted
            return ids, labels, "truncated"
    return [], [], "too_long"


_worker: dict = {}


def _init_worker(tok_path: str, s: Settings):
    _worker["tok"] = BPETokenizer.from_file(tok_path)
    _worker["s"] = s
    _worker["end"] = _worker["tok"].token_to_id(s.end_token)


def _encode_chunk(rows: list[dict]) -> list[tuple[list[int], list[int], str]]:
    return [encode_row(_worker["tok"], r, _worker["s"], _worker["end"]) for r in rows]


def _chunks(it, n: int):
    chunk = []
    for x in it:
        chunk.append(x)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def tokenize_source(
    path: str, tok_path: str, s: Settings, num_proc: int = 1
) -> tuple[Tokenized, DataStats]:
    """Tokenize one dataset with the tokenizer.json at tok_path (num_proc > 1: a process pool)."""
    stats = DataStats()
    ids_parts, label_parts, lengths = [], [], []
    _init_worker(tok_path, s)
    if _worker["end"] is None:
        raise ValueError(f"end token {s.end_token!r} is not in the tokenizer {tok_path}")
    rows = read_rows(path, s.kind)
    pool = (
        get_context("fork").Pool(num_proc) if num_proc > 1 else None
    )  # forked workers inherit the tokenizer
    chunks = (pool.imap if pool else map)(_encode_chunk, _chunks(rows, CHUNK_ROWS))
    results = (r for chunk in chunks for r in chunk)
    try:
        for ids, labels, outcome in results:
            stats.rows += 1
            if outcome == "too_long":
                stats.dropped_too_long += 1
            elif outcome not in ("kept", "truncated"):
                stats.bad[outcome] += 1
            else:
                stats.kept += 1
                stats.truncated += outcome == "truncated"
                ids_parts.append(np.asarray(ids, np.int32))
                label_parts.append(np.asarray(labels, np.int32))
                lengths.append(len(ids))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    data = Tokenized.concat(
        [
            Tokenized(
                np.concatenate(ids_parts),
                np.concatenate(label_parts),
                np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            )
        ]
        if ids_parts
        else []
    )
    stats.tokens = int(len(data.input_ids))
    stats.trained_tokens = int((data.labels != -100).sum())
    stats.longest = int(max(lengths, default=0))
    return data, stats


def _file_fingerprint(path: Path) -> list:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]


def cache_key(path: str, tok_path: str, s: Settings) -> str:
    with open(tok_path, "rb") as f:
        tok_hash = hashlib.sha256(f.read()).hexdigest()
    key = json.dumps([CACHE_VERSION, _file_fingerprint(Path(path)), tok_hash, asdict(s)])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def load_source(
    path: str,
    tok_path: str,
    s: Settings,
    cache_dir: str | None,
    num_proc: int = 1,
    build: bool = True,
) -> tuple[Tokenized, DataStats]:
    """A tokenized source from the cache, or tokenized now (and cached) when build is set."""
    cache = os.path.join(cache_dir, cache_key(path, tok_path, s) + ".npz") if cache_dir else None
    if cache and os.path.exists(cache):
        with np.load(cache) as z:
            st = json.loads(str(z["stats"]))
            stats = DataStats(**{**st, "bad": Counter(st["bad"])})
            return Tokenized(z["input_ids"], z["labels"], z["offsets"]), stats
    if not build:
        raise FileNotFoundError(f"no token cache {cache} for {path}")
    data, stats = tokenize_source(path, tok_path, s, num_proc)
    if cache:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{cache}.tmp-{os.getpid()}"
        with open(tmp, "wb") as f:
            np.savez(
                f,
                input_ids=data.input_ids,
                labels=data.labels,
                offsets=data.offsets,
                stats=np.array(json.dumps(stats.to_dict())),
            )
        os.replace(tmp, cache)
    return data, stats


# ---- packing and batches


def pack(lengths: np.ndarray, order: np.ndarray, max_length: int) -> list[list[int]]:
    """Whole samples, in order, into rows of at most max_length tokens (next fit: a new row when one does not fit)."""
    rows, row, used = [], [], 0
    for i in order:
        n = int(lengths[i])
        if n > max_length:
            raise ValueError(f"sample {i} has {n} tokens, more than max_length {max_length}")
        if row and used + n > max_length:
            rows.append(row)
            row, used = [], 0
        row.append(int(i))
        used += n
    if row:
        rows.append(row)
    return rows


def epoch_rows(
    data: Tokenized, epoch: int, seed: int, max_length: int, pack_samples: bool
) -> list[list[int]]:
    """The rows of one epoch: samples shuffled by (seed, epoch), then packed or one per row."""
    order = np.random.default_rng([seed, epoch]).permutation(len(data))
    return pack(data.lengths, order, max_length) if pack_samples else [[int(i)] for i in order]


def row_tokens(data: Tokenized, rows: list[list[int]]) -> tuple[int, int]:
    """(tokens, trained targets) of rows."""
    n = t = 0
    for row in rows:
        for i in row:
            a, b = data.offsets[i], data.offsets[i + 1]
            n += int(b - a)
            t += int(
                (data.labels[a + 1 : b] != -100).sum()
            )  # shifted: a sample's first label is no target
    return n, t


def collate(
    data: Tokenized, rows: list[list[int]], pad_id: int, pad_to_multiple_of: int = 1
) -> dict:
    """(B, T) input_ids, shifted labels, position_ids and sample_ids of rows (lists of sample indices)."""
    lens = [sum(int(data.offsets[i + 1] - data.offsets[i]) for i in row) for row in rows]
    T = max(1, max(lens, default=1))
    T = math.ceil(T / pad_to_multiple_of) * pad_to_multiple_of
    B = len(rows)
    input_ids = np.full((B, T), pad_id, np.int64)
    labels = np.full((B, T), -100, np.int64)
    position_ids = np.zeros((B, T), np.int64)
    sample_ids = np.full((B, T), -1, np.int64)
    for b, row in enumerate(rows):
        p = 0
        for j, i in enumerate(row):
            ids, lab = data.sample(i)
            n = len(ids)
            input_ids[b, p : p + n] = ids
            labels[b, p : p + n - 1] = lab[
                1:
            ]  # the target of each token is the next one of the same sample
            position_ids[b, p : p + n] = np.arange(n)
            sample_ids[b, p : p + n] = j
            p += n
        position_ids[b, p:] = np.arange(T - p)  # padding: its own block, no targets
    return {
        k: torch.from_numpy(v)
        for k, v in (
            ("input_ids", input_ids),
            ("labels", labels),
            ("position_ids", position_ids),
            ("sample_ids", sample_ids),
        )
    }


def packed_attention_mask(sample_ids: torch.Tensor) -> torch.Tensor | None:
    """(B, 1, T, T) boolean mask, causal within each sample; None when plain causal attention is the same."""
    if int(sample_ids.max()) <= 0:
        return None  # one sample per row (padding after it has no targets): causal is exact
    T = sample_ids.shape[1]
    same = sample_ids[:, :, None] == sample_ids[:, None, :]
    causal = torch.ones(T, T, dtype=torch.bool, device=sample_ids.device).tril()
    return (same & causal)[:, None]
