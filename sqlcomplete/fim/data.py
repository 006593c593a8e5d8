"""Supervised fine-tuning data: read a dataset, tokenize it with its loss mask, pack it into rows.

Sources are JSONL files, Parquet files, folders of Parquet files (what the original converter's
`--format parquet` writes: DIR/data.parquet) or `datasets` save_to_disk folders (what
fim/csv_to_fim.py writes by default), told apart by what they hold, not by their names
(`dataset_format`). Several paths read one after the other form one table, of which a list of row
indices may be read (arctic_training's split slices and sampling, computed by fim/sft.py). The
kind is detected from the columns:

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
  arctic_training's options: `role_mapping` builds the messages from other columns
  (`user: messages.role.user` takes the contents of the `messages` items whose role is user;
  `user: question` a column), zipped turn by turn as its HFDataSourceInstruct does;
  `ignore_empty_think` leaves an empty `<think></think>` block at the start of an assistant
  turn untrained; `fim_loss_masking` trains only what follows `<|fim_middle|>` in an assistant
  turn (and the <|im_end|> after it); a turn without the marker is not trained.

A sample longer than max_length tokens (prompt + response + end token) is dropped by
default (too_long="drop"): cutting it would drop the end token and teach the model not to
stop. too_long="truncate" keeps its first max_length tokens instead, if any of them is
trained. too_long="keep" (arctic_training's filter_samples: false) keeps it whole, in a row of its
own. All are counted, as are unusable rows (by reason).

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
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from sqlcomplete.fim.bpe import BPETokenizer
from sqlcomplete.fim.prompt import (
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    IM_END,
    IM_START,
    has_control_token,
)

ROLES = ("system", "user", "assistant")
CACHE_VERSION = 2  # bump when tokenization changes
FORMATS = "a save_to_disk folder, a folder of .parquet files, a Parquet file or a JSONL file"
EMPTY_THINK = re.compile(r"^<think>\s*</think>\s*")  # arctic_training's ignore_empty_think pattern
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
        # not dataclasses.asdict, which rebuilds a Counter from (key, value) pairs, counting the
        # pairs
        return {**vars(self), "bad": dict(self.bad)}

    def summary(self) -> str:
        bad = sum(self.bad.values())
        return (
            f"{self.rows} rows: {self.kept} samples, {self.dropped_too_long} dropped as too long, "
            f"{self.truncated} truncated, {bad} unusable"
            + (" (" + ", ".join(f"{r} {n}" for r, n in self.bad.most_common()) + ")" if bad else "")
            + f"; {self.tokens:,} tokens, {self.trained_tokens:,} trained, "
            f"longest sample {self.longest}"
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


def dataset_format(path: str | Path) -> str:
    """ "disk" (a save_to_disk folder), "parquet_dir", "parquet" or "jsonl", from what the path
    holds: Parquet's magic bytes, a save_to_disk folder's state.json, a JSON object on the first
    line."""
    path = Path(path)
    if path.is_dir():
        if (path / "state.json").is_file():
            return "disk"
        if _parquet_files(path):
            return "parquet_dir"
        raise ValueError(f"{path}: a folder that holds no dataset (expected {FORMATS})")
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror}); expected {FORMATS}") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text or text.startswith(b"{"):
        return "jsonl"
    raise ValueError(f"{path}: not a dataset this project reads (expected {FORMATS})")


def _parquet_files(folder: Path) -> list[Path]:
    files = []
    for p in sorted(folder.iterdir()):
        if p.is_file():
            with open(p, "rb") as f:
                if f.read(4) == b"PAR1":
                    files.append(p)
    return files


def _disk_files(path: Path) -> list[Path]:
    with open(path / "state.json") as f:
        return [path / d["filename"] for d in json.load(f)["_data_files"]]


def _arrow_reader(f):
    try:
        return pa.ipc.open_stream(f)  # what save_to_disk writes
    except pa.ArrowInvalid:
        f.seek(0)
        return pa.ipc.open_file(f)


def _arrow_batches(file: Path, columns: list[str] | None = None):
    with pa.memory_map(str(file)) as f:
        reader = _arrow_reader(f)
        if isinstance(reader, pa.ipc.RecordBatchFileReader):
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        else:
            batches = reader
        for batch in batches:
            yield batch.select(columns) if columns else batch


def _files(path: str | Path) -> list[tuple[Path, str]]:
    """(file, "arrow" | "parquet" | "jsonl") of a dataset path, in reading order."""
    path, fmt = Path(path), dataset_format(path)
    if fmt == "disk":
        return [(f, "arrow") for f in _disk_files(path)]
    if fmt == "parquet_dir":
        return [(f, "parquet") for f in _parquet_files(path)]
    return [(path, fmt)]


def columns(path: str | Path) -> list[str]:
    """Column names of a dataset (for a jsonl file, the keys of its first record)."""
    file, fmt = _files(path)[0]
    if fmt == "arrow":
        with pa.memory_map(str(file)) as f:
            return _arrow_reader(f).schema.names
    if fmt == "parquet":
        return pq.ParquetFile(file).schema_arrow.names
    with open(file, encoding="utf-8-sig") as f:
        for line in f:
            if line.strip():
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise ValueError(
                        f"{file}: its first line is not JSON (expected {FORMATS})"
                    ) from None
                return list(obj) if isinstance(obj, dict) else []
    return []


def count_rows(path: str | Path) -> int:
    """Rows of a dataset path, as read_rows yields them (a JSONL file: its non-blank lines)."""
    n = 0
    for file, fmt in _files(path):
        if fmt == "parquet":
            n += pq.ParquetFile(file).metadata.num_rows
        elif fmt == "arrow":
            n += sum(b.num_rows for b in _arrow_batches(file))
        else:
            with open(file, "rb") as f:
                n += sum(1 for line in f if line.strip())
    return n


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


def _all_rows(path: str | Path, cols: list[str]):
    """Every row of one dataset path as a dict of cols; a jsonl line that is not JSON yields
    {"_bad": reason}."""
    for file, fmt in _files(path):
        if fmt == "jsonl":
            with open(file, encoding="utf-8-sig") as f:
                for line in f:
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        yield {"_bad": "bad_json_line"}
                        continue
                    yield obj if isinstance(obj, dict) else {"_bad": "bad_json_line"}
            continue
        batches = (
            _arrow_batches(file, cols)
            if fmt == "arrow"
            else pq.ParquetFile(file).iter_batches(batch_size=4096, columns=cols)
        )
        for batch in batches:
            data = [batch.column(batch.schema.get_field_index(c)).to_pylist() for c in cols]
            for values in zip(*data):
                yield dict(zip(cols, values))


def read_rows(paths, kind: str, rows: list[int] | None = None, cols: list[str] | None = None):
    """Rows of one or several dataset paths read as one table, as dicts of the kind's columns (or of
    `cols`); `rows`: only these row indices of that table, in that order (a row may repeat)."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    cols = cols or (["prompt", "response"] if kind == "prompt_response" else ["messages"])
    table = (row for p in paths for row in _all_rows(p, cols))
    if rows is None:
        yield from table
        return
    wanted: dict[int, list[int]] = {}
    for pos, i in enumerate(rows):
        wanted.setdefault(i, []).append(pos)
    out = [None] * len(rows)
    for i, row in enumerate(table):  # only the selected rows are kept in memory
        for pos in wanted.get(i, ()):
            out[pos] = row
    yield from out


# ---- arctic_training's split slices and sampling

_SLICE = re.compile(
    r"^(?P<split>\w+(\.\w+)*)(\[((?P<from>-?[\d_]+)(?P<from_pct>%)?)?:((?P<to>-?[\d_]+)(?P<to_pct>%)?)?\])?"
    r"(\((?P<rounding>[^)]*)\))?$"
)


def parse_split(spec: str) -> list[tuple[str, str]]:
    """ "train[:5000]+test[10%:]" -> [("train", "[:5000]"), ("test", "[10%:]")]: the split names and
    their slices (the syntax of `datasets`' split slices, which arctic_training passes on)."""
    parts = []
    for part in re.split(r"\s*\+\s*", spec.strip()):
        m = _SLICE.match(part)
        if not m:
            raise ValueError(
                f"{spec!r}: not a split or a split slice (e.g. train, train[:5000], train[10%:])"
            )
        if m["rounding"] not in (None, "closest", "pct1_dropremainder"):
            raise ValueError(f"{spec!r}: rounding must be closest or pct1_dropremainder")
        parts.append((m["split"], part[len(m["split"]) :]))
    return parts


def slice_rows(slice_text: str, n: int) -> range:
    """The rows of a split of n rows that a slice ("", "[:5000]", "[10%:-5%]",
    "[:10%](pct1_dropremainder)") selects, as `datasets` resolves it (percent bounds rounded to the
    closest row by default)."""
    if not slice_text:
        return range(n)
    m = _SLICE.match("x" + slice_text)
    if not m:
        raise ValueError(f"{slice_text!r}: not a split slice")
    pct = bool(m["from_pct"] or m["to_pct"])
    if pct and m["rounding"] == "pct1_dropremainder":
        if n < 100:
            raise ValueError(
                f"{slice_text!r}: pct1_dropremainder on a split of fewer than 100 rows"
            )
        to_abs = lambda b: b * math.trunc(n / 100.0)
    else:
        to_abs = (lambda b: int(round(b * n / 100.0))) if pct else (lambda b: b)
    lo = 0 if m["from"] is None else to_abs(int(m["from"]))
    hi = n if m["to"] is None else to_abs(int(m["to"]))
    lo, hi = (max(n + x, 0) if x < 0 else x for x in (lo, hi))
    return range(min(lo, n), min(hi, n))


def sample_rows(
    n: int, count: int | None = None, ratio: float | None = None, seed: int = 42
) -> tuple[list[int] | None, str | None]:
    """(positions of the rows kept, a warning or None): arctic_training's DataSource sampling,
    `random.Random(seed).sample(range(n), k)` with k = count or int(n * ratio); all rows (None) when
    neither is set, and all rows with a warning when count exceeds n."""
    if count is None and ratio is None:
        return None, None
    k = int(n * ratio) if ratio is not None else count
    if k > n:
        return None, f"sample_count {k} is larger than the {n} rows: all are used"
    return random.Random(seed).sample(range(n), k), None


# ---- arctic_training's role_mapping (HFDataSourceInstruct)


def _content(item: dict, content_key: str | None):
    if content_key:
        return item.get(content_key)
    return next(
        (item[k] for k in ("content", "text", "message", "value") if item.get(k) is not None),
        None,
    )


def mapped_messages(row: dict, role_mapping: dict, content_key: str | None = None) -> list[dict]:
    """Messages built from a row the way arctic_training's HFDataSourceInstruct builds them: for
    each role, the contents at its path ("question": a column; "messages.role.user": the items of
    the `messages` list whose `role` is "user"); empty contents dropped; then the roles zipped turn
    by turn, in role_mapping's order (so the shortest role decides how many turns there are)."""
    per_role = {}
    for role, path in role_mapping.items():
        contents = []
        if "." not in path:
            if row.get(path) is not None:
                contents = [str(row[path])]
        else:
            array, field_name, value = path.split(".")
            items = row.get(array)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get(field_name) == value:
                    c = _content(item, content_key)
                    if c is not None:
                        contents.append(str(c))
        contents = [{"role": role, "content": c} for c in contents if c]
        if contents:
            per_role[role] = contents
    return [m for turn in zip(*per_role.values()) for m in turn]


def mapped_columns(role_mapping: dict) -> list[str]:
    """The columns role_mapping reads."""
    return list(dict.fromkeys(path.split(".")[0] for path in role_mapping.values()))


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


@dataclass(frozen=True)
class Settings:
    kind: str
    max_length: int
    too_long: str = "drop"  # "drop", "truncate" or "keep" (a row of its own)
    end_token: str = IM_END
    role_mapping: tuple = ()  # ((role, path), ...): messages built from other columns
    content_key: str | None = None
    ignore_empty_think: bool = False
    fim_loss_masking: bool = False


FIM_TOKENS = (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)


def assistant_parts(content: str, s: Settings) -> tuple[str, str | None]:
    """(untrained head, trained rest or None when nothing of the turn is trained) of an assistant
    content, by arctic_training's ignore_empty_think and fim_loss_masking."""
    head, rest = "", content
    think = EMPTY_THINK.match(rest) if s.ignore_empty_think else None
    if think:
        head, rest = rest[: think.end()], rest[think.end() :]
    if s.fim_loss_masking:
        k = rest.find(FIM_MIDDLE)
        if k < 0:
            return content, None  # arctic_training masks the whole turn
        head, rest = head + rest[: k + len(FIM_MIDDLE)], rest[k + len(FIM_MIDDLE) :]
        # the FIM prompt in the untrained head is meant as control tokens; no other one is
        if any(has_control_token(p) for p in _split_all(head, FIM_TOKENS)):
            raise BadRow("control_token_in_text")
    elif has_control_token(head):
        raise BadRow("control_token_in_text")
    if has_control_token(rest):
        raise BadRow("control_token_in_text")
    return head, rest


def _split_all(text: str, seps: tuple[str, ...]) -> list[str]:
    parts = [text]
    for sep in seps:
        parts = [q for p in parts for q in p.split(sep)]
    return parts


def encode_messages(
    tok: BPETokenizer, messages, end_id: int, s: Settings | None = None
) -> tuple[list[int], list[int]]:
    """(ids, labels) of a chat in Qwen's format; assistant contents and their <|im_end|> trained
    (less what ignore_empty_think and fim_loss_masking leave out)."""
    s = s or Settings("messages", 0)
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
        head = [start] + tok.encode(role + "\n")
        tail = tok.encode("\n")
        if role == "assistant":
            untrained, rest = assistant_parts(content, s)
            pre = tok.encode(untrained) if untrained else []
            body = (tok.encode(rest) if rest else []) + [end_id]
            ids += head + pre + body + tail
            if rest is None:  # a turn without <|fim_middle|> under fim_loss_masking
                labels += [-100] * (len(head) + len(pre) + len(body) + len(tail))
            else:
                labels += [-100] * (len(head) + len(pre)) + body + [-100] * len(tail)
                trained = True
        else:
            if has_control_token(content):
                raise BadRow("control_token_in_text")
            body = tok.encode(content) + [end_id]
            ids += head + body + tail
            labels += [-100] * (len(head) + len(body) + len(tail))
    if not trained:
        raise BadRow("no_trained_turn" if s.fim_loss_masking else "no_assistant_turn")
    return ids, labels


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
            messages = row.get("messages")
            if s.role_mapping:
                messages = mapped_messages(row, dict(s.role_mapping), s.content_key)
                if not messages:
                    raise BadRow("role_mapping_found_nothing")
            ids, labels = encode_messages(tok, messages, end_id, s)
    except BadRow as e:
        return [], [], str(e)
    if len(ids) <= s.max_length or s.too_long == "keep":
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


def source_columns(s: Settings) -> list[str]:
    if s.role_mapping:
        return mapped_columns(dict(s.role_mapping))
    return ["prompt", "response"] if s.kind == "prompt_response" else ["messages"]


def tokenize_source(
    path, tok_path: str, s: Settings, num_proc: int = 1, rows: list[int] | None = None
) -> tuple[Tokenized, DataStats]:
    """Tokenize one dataset (a path, or paths read as one table; `rows`: those rows of it) with the
    tokenizer.json at tok_path (num_proc > 1: a process pool, at most one process per core)."""
    stats = DataStats()
    ids_parts, label_parts, lengths = [], [], []
    _init_worker(tok_path, s)
    if _worker["end"] is None:
        raise ValueError(f"end token {s.end_token!r} is not in the tokenizer {tok_path}")
    rows = read_rows(path, s.kind, rows, source_columns(s))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    num_proc = min(num_proc, cores or 1)
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


def cache_key(path, tok_path: str, s: Settings, rows: list[int] | None = None) -> str:
    with open(tok_path, "rb") as f:
        tok_hash = hashlib.sha256(f.read()).hexdigest()
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    selected = hashlib.sha256(np.asarray(rows, np.int64).tobytes()).hexdigest() if rows else None
    files = [_file_fingerprint(Path(p)) for p in paths]
    key = json.dumps([CACHE_VERSION, files, selected, tok_hash, asdict(s)])
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def load_source(
    path,
    tok_path: str,
    s: Settings,
    cache_dir: str | None,
    num_proc: int = 1,
    build: bool = True,
    rows: list[int] | None = None,
) -> tuple[Tokenized, DataStats]:
    """A tokenized source (a path, or paths read as one table; `rows`: those rows of it) from the
    cache, or tokenized now (and cached) when build is set."""
    key = cache_key(path, tok_path, s, rows)
    cache = os.path.join(cache_dir, key + ".npz") if cache_dir else None
    if cache and os.path.exists(cache):
        with np.load(cache) as z:
            st = json.loads(str(z["stats"]))
            stats = DataStats(**{**st, "bad": Counter(st["bad"])})
            return Tokenized(z["input_ids"], z["labels"], z["offsets"]), stats
    if not build:
        raise FileNotFoundError(f"no token cache {cache} for {path}")
    data, stats = tokenize_source(path, tok_path, s, num_proc, rows)
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


def pack(
    lengths: np.ndarray, order: np.ndarray, max_length: int, keep_long: bool = False
) -> list[list[int]]:
    """Whole samples, in order, into rows of at most max_length tokens (next fit: a new row when one
    does not fit); keep_long: a longer sample is a row of its own (arctic_training's packing)."""
    rows, row, used = [], [], 0
    for i in order:
        n = int(lengths[i])
        if n > max_length and not keep_long:
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
    if not pack_samples:
        return [[int(i)] for i in order]
    return pack(data.lengths, order, max_length, keep_long=True)


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
    """(B, T) input_ids, shifted labels, position_ids and sample_ids of rows (lists of sample
    indices)."""
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
    """(B, 1, T, T) boolean mask, causal within each sample; None when plain causal attention is
    the same."""
    if int(sample_ids.max()) <= 0:
        return None  # one sample per row (padding after it has no targets): causal is exact
    T = sample_ids.shape[1]
    same = sample_ids[:, :, None] == sample_ids[:, None, :]
    causal = torch.ones(T, T, dtype=torch.bool, device=sample_ids.device).tril()
    return (same & causal)[:, None]
