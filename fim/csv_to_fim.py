"""Convert INPUT/OUTPUT rows (CSV, Parquet, JSONL) into a fill-in-the-middle prompt/response
dataset.

    python fim/csv_to_fim.py INPUT [-o OUT] --tokenizer TOK [--template T]
        [--format disk|parquet|jsonl] [--skip-empty-output] [--skip-empty-prefix] [--max-length N]
        [--limit N] [--rejects FILE]
    # the original's
    python fim/csv_to_fim.py data.parquet -o fim_dataset --tokenizer Qwen/Qwen3-4B-Instruct-2507

TOK is a tokenizer.json, a directory holding one, or a hub model id resolved through the
Hugging Face cache (fim/hub.py: downloaded where the network allows, the cache alone under
HF_HUB_OFFLINE=1).

INPUT column: a JSON list of {"type": "text", "text": ...} parts. The part whose text is
a JSON object (starts with "{" and parses) is the context: sql_history, ddl_context,
last_few_executed, recent_queries, file_content, any subset, other keys kept in their order. The
other part is the SQL, holding exactly one <fillMe>. OUTPUT column: the text to insert at
<fillMe>.
Output rows: prompt (up to and including <|fim_middle|>, built by fim/prompt.py from
the template, as the editor server builds it) and response (OUTPUT only).

Formats: --format disk (default) writes the directory datasets.save_to_disk writes
(data-XXXXX-of-NNNNN.arrow Arrow stream shards of at most ~500 MB, dataset_info.json,
state.json), so datasets.load_from_disk opens it; --format parquet writes OUT/data.parquet, the
original converter's layout (its README points data.sources at OUT, and fim/sft.py reads that
folder); jsonl writes one file. The default output is INPUT minus its extension plus
"_hf_fim_dataset" (plus ".jsonl" for jsonl). Everything is written under a temporary name and
renamed into place at the end, the rejects file too: a failed run leaves no half file.

The output never destroys other data: an existing OUT folder is replaced only when it holds
nothing but what this tool writes (a dataset of either layout, or nothing), never a file where a
folder goes or a folder where a file goes, and never the input itself (OUT equal to INPUT, or a
folder holding it).

--template takes this project's sectioned template (fim/fim_prompt.tmpl) or the original's
Go-style fim_prompt.tmpl ({{define "system"}}...{{end}}, {{.SQL_HISTORY}}); control tokens that
the original's writes as text in its user section are encoded as those tokens, as there (said).

Input handling, decided here:
- Columns are found by name, INPUT and OUTPUT (case-insensitively if need be); if one
  is missing the run stops with the list of columns found.
- Files are streamed in batches (csv streaming reader, ParquetFile.iter_batches, JSONL
  line by line): memory does not grow with the file. A CSV record must fit in the
  reader's 16 MB block; a larger one stops the run with pyarrow's message.
- Empty OUTPUT: an empty CSV cell, a null, a NaN or a missing JSONL key. Kept unless
  --skip-empty-output (the model learns when nothing needs inserting).
- CRLF and lone CR become LF in the prompt and the response (the rows are kept and
  counted); the editor server does the same through fim/prompt.py.
- A UTF-8 byte order mark at the start of a CSV or JSONL file is dropped; a U+FEFF
  anywhere inside a cell rejects the row (bom_in_cell).
- A bad row is skipped, never a traceback, with its row number (1-based record
  number, CSV header excluded) and one reason:
    csv_bad_row, bad_json_line    the CSV/JSONL record itself is broken
    invalid_utf8, invalid_unicode a cell is not UTF-8 / holds a lone surrogate (JSON escape)
    missing_input, input_not_string, output_not_string
    input_not_json, bad_parts     INPUT is not a JSON list of text parts
    bad_context, multiple_context a "{" part that does not parse / two context parts
    no_sql_part, extra_part       no SQL part / more than one non-context part
    no_fillme, multiple_fillme    not exactly one <fillMe>
    bom_in_cell                   U+FEFF inside a cell
    control_token_in_text         text holding e.g. <|im_end|>, which would encode as the token
    empty_output, empty_prefix    --skip-empty-output / --skip-empty-prefix
    too_long                      --max-length cannot be met
  Every skipped row goes to --rejects as a JSON line {row, reason, detail, input};
  read = written + skipped always holds (--limit N stops after N rows read).
- --max-length N bounds prompt + response tokens (any end token a trainer appends is
  not counted). Context fields are trimmed first, oldest history first, then the far
  ends of the prefix and suffix; the text right around the cursor is kept (see
  fim/prompt.py for the exact order). A response longer than N is too_long.
"""

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from sqlcomplete.fim.bpe import BPETokenizer
from sqlcomplete.fim.hub import tokenizer_file
from sqlcomplete.fim.prompt import (
    PromptTooLong,
    Template,
    check_tokenizer,
    fit_prompt,
    has_control_token,
    load_template,
    normalize_newlines,
)

FILL = "<fillMe>"
_JSON = json.JSONDecoder(strict=False)  # raw control characters in strings are accepted
BATCH_ROWS = 4096
SHARD_BYTES = 500 << 20  # datasets' default max_shard_size
FEATURES = {
    "prompt": {"dtype": "string", "_type": "Value"},
    "response": {"dtype": "string", "_type": "Value"},
}
SCHEMA = pa.schema(
    [("prompt", pa.string()), ("response", pa.string())],
    metadata={"huggingface": json.dumps({"info": {"features": FEATURES}})},
)


class BadRow(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason, detail)
        self.reason, self.detail = reason, detail


@dataclass
class Unreadable:
    """A record the reader could not turn into INPUT/OUTPUT values."""

    reason: str
    detail: str


@dataclass
class Stats:
    read: int = 0
    written: int = 0
    skipped: Counter = field(default_factory=Counter)
    truncated: int = 0
    newlines_fixed: int = 0
    prompt_tokens: Counter = field(
        default_factory=Counter
    )  # {token count: rows}, exact and bounded
    response_tokens: Counter = field(default_factory=Counter)
    seconds: float = 0.0


# ---- reading


def _find_column(names, want: str) -> str | None:
    """want itself, else a name equal to it case-insensitively, else None."""
    return (
        want
        if want in names
        else next((n for n in names if n.strip().lower() == want.lower()), None)
    )


def _resolve_columns(names: list[str], path) -> tuple[str, str]:
    inp, out = _find_column(names, "INPUT"), _find_column(names, "OUTPUT")
    missing = [w for w, c in (("INPUT", inp), ("OUTPUT", out)) if c is None]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; columns found: {names}")
    return inp, out


def _read_csv(path: Path, batch_rows: int):
    bad: dict[int, str] = {}

    def on_bad(row) -> str:
        # row.number counts records from 1 with the header as record 1
        key = row.number - 1 if row.number is not None else -len(bad) - 1
        bad[key] = (
            f"expected {row.expected_columns} fields, got {row.actual_columns}: {row.text[:200]!r}"
        )
        return "skip"

    # a record must fit in one block: 16 MB allows very large file_content cells
    read_opts = pacsv.ReadOptions(use_threads=False, block_size=16 << 20)
    parse_opts = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_bad)
    with pacsv.open_csv(path, read_options=read_opts, parse_options=parse_opts) as r:
        names = r.schema.names
    inp, out = _resolve_columns(names, path)
    bad.clear()
    # binary, not string: a cell that is not UTF-8 rejects its row rather than the whole file
    conv = pacsv.ConvertOptions(
        column_types={inp: pa.binary(), out: pa.binary()}, include_columns=[inp, out]
    )

    def batches():
        row = 1
        with pacsv.open_csv(
            path, read_options=read_opts, parse_options=parse_opts, convert_options=conv
        ) as r:
            for block in r:
                for start in range(0, max(block.num_rows, 1), batch_rows):
                    batch = block.slice(start, batch_rows)
                    rows = []
                    for a, b in zip(batch.column(inp).to_pylist(), batch.column(out).to_pylist()):
                        while (
                            row in bad
                        ):  # parser-rejected records keep their place in the numbering
                            rows.append((row, Unreadable("csv_bad_row", bad.pop(row)), None))
                            row += 1
                        rows.append((row, a, b))
                        row += 1
                    yield rows
        rest = sorted(bad.items())
        if rest:
            yield [(r if r > 0 else None, Unreadable("csv_bad_row", d), None) for r, d in rest]

    return batches(), None


def _column_values(col: pa.ChunkedArray | pa.Array) -> list:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            return col.to_pylist()
        except (
            UnicodeDecodeError
        ):  # bytes the file claims are UTF-8 but are not: check cell by cell
            return col.cast(pa.large_binary()).to_pylist()
    return col.to_pylist()


def _read_parquet(path: Path, batch_rows: int):
    # no pre-buffering: pages are read as needed, not whole row groups
    pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    inp, out = _resolve_columns(pf.schema_arrow.names, path)

    def batches():
        row = 1
        for batch in pf.iter_batches(batch_size=batch_rows, columns=[inp, out], use_threads=False):
            a, b = _column_values(batch.column(inp)), _column_values(batch.column(out))
            yield list(zip(range(row, row + len(a)), a, b))
            row += len(a)

    return batches(), pf.metadata.num_rows


def _parse_jsonl_line(line: bytes, lineno: int, cols: list, path: Path) -> tuple:
    """(INPUT, OUTPUT) of one JSONL record, or (Unreadable, None); resolves cols on the first
    record."""
    try:
        obj = json.loads(line)
    except UnicodeDecodeError as e:
        return Unreadable("invalid_utf8", f"line {lineno}: {e}"), None
    except ValueError as e:
        return Unreadable("bad_json_line", f"line {lineno}: {e}"), None
    if not isinstance(obj, dict):
        return Unreadable("bad_json_line", f"line {lineno}: not a JSON object"), None
    if not cols:
        inp = _find_column(obj, "INPUT")
        if inp is None:
            raise ValueError(
                f"{path}: missing column INPUT in the first record; columns found: {list(obj)}"
            )
        cols += [inp, None]
    if cols[1] is None:  # OUTPUT may be absent from records (empty completions) until one has it
        cols[1] = _find_column(obj, "OUTPUT")
    return obj.get(cols[0]), obj.get(cols[1]) if cols[1] else None


def _read_jsonl(path: Path, batch_rows: int):
    def batches():
        rows, row, cols = [], 0, []
        with open(path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                    line = line[3:]
                if not line.strip():
                    continue
                row += 1
                rows.append((row, *_parse_jsonl_line(line, lineno, cols, path)))
                if len(rows) >= batch_rows:
                    yield rows
                    rows = []
        if rows:
            yield rows

    return batches(), None


def open_rows(path: Path, batch_rows: int = BATCH_ROWS):
    """(iterator over batches of (row number, INPUT value, OUTPUT value), total rows or None)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, batch_rows)
    if suffix in (".parquet", ".pq"):
        return _read_parquet(path, batch_rows)
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, batch_rows)
    raise ValueError(f"{path}: unknown input type {suffix!r} (expected .csv, .parquet or .jsonl)")


# ---- one row


def _check_unicode(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate, e.g. from a "\\ud800" JSON escape
        raise BadRow("invalid_unicode", f"{what}: {e}") from None


def _cell_text(v, name: str, missing_ok: bool) -> str:
    if isinstance(v, str):
        text = v
        _check_unicode(text, name)  # JSONL strings come from json.loads
    elif isinstance(v, bytes):
        try:
            text = v.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRow("invalid_utf8", f"{name}: {e}") from None
    elif v is None or (isinstance(v, float) and math.isnan(v)):
        if missing_ok:
            return ""
        raise BadRow("missing_input", f"{name} is empty")
    else:
        raise BadRow(f"{name.lower()}_not_string", f"{name} is {type(v).__name__}: {str(v)[:100]}")
    if "\ufeff" in text:
        raise BadRow("bom_in_cell", f"{name} holds U+FEFF at offset {text.index(chr(0xFEFF))}")
    return text


def parse_input(text: str) -> tuple[dict, str, str]:
    """(context, prefix, suffix) from an INPUT cell; raises BadRow."""
    try:
        parts = _JSON.decode(text)
    except ValueError as e:
        raise BadRow("input_not_json", str(e)) from None
    if not isinstance(parts, list) or not all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in parts
    ):
        raise BadRow("bad_parts", 'INPUT is not a JSON list of {"type": "text", "text": ...} parts')
    context, sql = None, []
    for p in parts:
        t = p["text"]
        if t.lstrip().startswith("{"):
            try:
                obj = _JSON.decode(t)  # starts with "{", so a dict if it parses
            except ValueError as e:
                if FILL not in t:
                    raise BadRow("bad_context", f"context part is not valid JSON: {e}") from None
                obj = None  # SQL that happens to start with "{"
            if obj is not None:
                if context is not None:
                    raise BadRow("multiple_context", "more than one JSON-object part")
                context = obj
                continue
        sql.append(t)
    if not sql:
        raise BadRow("no_sql_part", "no SQL part next to the context")
    n = sum(t.count(FILL) for t in sql)
    if n > 1:
        raise BadRow("multiple_fillme", f"{n} {FILL} markers")
    if n == 0:
        raise BadRow("no_fillme", f"no {FILL} marker in the SQL part")
    if len(sql) > 1:
        raise BadRow("extra_part", f"{len(sql)} non-context parts; expected one SQL part")
    prefix, suffix = sql[0].split(FILL)
    return context or {}, prefix, suffix


def _contains(v, ch: str) -> bool:
    """Whether ch occurs in any string inside the JSON value v."""
    if isinstance(v, str):
        return ch in v
    if isinstance(v, dict):
        return any(_contains(x, ch) for x in v.values())
    return isinstance(v, list) and any(_contains(x, ch) for x in v)


@dataclass
class Options:
    template: Template
    tokenizer: BPETokenizer | None = None
    max_length: int | None = None
    skip_empty_output: bool = False
    skip_empty_prefix: bool = False


def convert_row(inp, out, opts: Options, stats: Stats) -> tuple[str, str]:
    """(prompt, response) of one record; raises BadRow. Updates token and newline counts in
    stats."""
    if isinstance(inp, Unreadable):
        raise BadRow(inp.reason, inp.detail)
    text = _cell_text(inp, "INPUT", missing_ok=False)
    response = _cell_text(out, "OUTPUT", missing_ok=True)
    context, prefix, suffix = parse_input(text)
    # Substring checks on the raw cell keep the common row fast; the decoded context is looked at
    # only when the cell has JSON escapes ("\\u...", "\\r") that could hide a surrogate, a BOM, a
    # CR or "<|".
    escaped = "\\u" in text
    ctx_json = json.dumps(context, ensure_ascii=False) if escaped or "<|" in text else ""
    if escaped:
        _check_unicode(prefix + suffix + ctx_json, "INPUT")
    if "\ufeff" in text or "\ufeff" in prefix or "\ufeff" in suffix or "\ufeff" in ctx_json:
        raise BadRow("bom_in_cell", "INPUT holds U+FEFF")
    if "<|" in text or "<|" in response or escaped:
        where = [
            n
            for n, s in (("SQL", prefix + suffix), ("OUTPUT", response), ("context", ctx_json))
            if has_control_token(s)
        ]
        if where:
            raise BadRow(
                "control_token_in_text", f"{', '.join(where)} holds a control token's text"
            )
    had_cr = (
        "\r" in prefix
        or "\r" in suffix
        or "\r" in response
        or (("\r" in text or "\\r" in text) and _contains(context, "\r"))
    )
    response = normalize_newlines(response)  # the prompt's text is normalized by fit_prompt
    if opts.skip_empty_output and response == "":
        raise BadRow("empty_output", "")
    if opts.skip_empty_prefix and prefix == "":
        raise BadRow("empty_prefix", "")
    tok = opts.tokenizer
    n_resp = len(tok.encode(response)) if tok is not None else None
    budget = None
    if opts.max_length is not None:
        budget = opts.max_length - n_resp
        if budget <= 0:
            raise BadRow(
                "too_long", f"response alone has {n_resp} tokens (max_length {opts.max_length})"
            )
    try:
        prompt, n_prompt, dropped = fit_prompt(context, prefix, suffix, opts.template, tok, budget)
    except PromptTooLong as e:
        raise BadRow("too_long", str(e)) from None
    if tok is not None:
        stats.prompt_tokens[n_prompt] += 1
        stats.response_tokens[n_resp] += 1
    stats.truncated += dropped > 0
    stats.newlines_fixed += had_cr
    return prompt, response


# ---- writing


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished directory tmp to out, replacing the dataset folder out was (check_output
    has made sure it holds nothing else)."""
    if out.exists() or out.is_symlink():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()
    else:
        os.rename(tmp, out)


class DiskWriter:
    """What datasets' Dataset.save_to_disk writes, with pyarrow alone."""

    def __init__(self, out: Path, shard_bytes: int = SHARD_BYTES):
        self.out, self.shard_bytes = out, shard_bytes
        self.tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.shards: list[Path] = []
        self.writer = None
        self.size = 0
        self.hash = hashlib.blake2b(digest_size=8)  # content hash, for state.json's fingerprint

    def _next_shard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.shards.append(self.tmp / f"shard-{len(self.shards)}.arrow")
        self.writer = pa.ipc.new_stream(str(self.shards[-1]), SCHEMA)
        self.size = 0

    def write(self, batch: pa.RecordBatch) -> None:
        if self.writer is None or (self.size >= self.shard_bytes and batch.num_rows):
            self._next_shard()
        self.writer.write_batch(batch)
        self.size += batch.nbytes
        for col in batch.columns:
            for buf in col.buffers():
                if buf is not None:
                    self.hash.update(buf)

    def commit(self) -> None:
        if self.writer is None:
            self._next_shard()  # an empty dataset still has one shard holding the schema
        self.writer.close()
        n = len(self.shards)
        names = [f"data-{i:05d}-of-{n:05d}.arrow" for i in range(n)]
        for shard, name in zip(self.shards, names):
            os.rename(shard, self.tmp / name)
        state = {
            "_data_files": [{"filename": name} for name in names],
            "_fingerprint": self.hash.hexdigest(),
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        with open(self.tmp / "state.json", "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2, sort_keys=True)
        info = {
            "citation": "",
            "description": "",
            "features": FEATURES,
            "homepage": "",
            "license": "",
        }
        with open(self.tmp / "dataset_info.json", "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
        _replace_dir(self.tmp, self.out)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class ParquetDirWriter:
    """OUT/data.parquet, the original converter's --format parquet layout, written in a temporary
    folder renamed into place at commit."""

    def __init__(self, out: Path):
        self.out = out
        self.tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        self.writer = pq.ParquetWriter(self.tmp / PARQUET_NAME, SCHEMA)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def commit(self) -> None:
        self.writer.close()
        _replace_dir(self.tmp, self.out)

    def abort(self) -> None:
        self.writer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class FileWriter:
    """A JSONL file, written under a temporary name and renamed at commit."""

    def __init__(self, out: Path):
        self.out = out
        self.tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.tmp, "w", encoding="utf-8", newline="\n")

    def write(self, batch: pa.RecordBatch) -> None:
        d = batch.to_pydict()
        self.file.write(
            "".join(
                json.dumps({"prompt": p, "response": r}, ensure_ascii=False) + "\n"
                for p, r in zip(d["prompt"], d["response"])
            )
        )

    def close(self) -> None:
        self.file.close()

    def commit(self) -> None:
        self.close()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self.close()
        self.tmp.unlink(missing_ok=True)


class RejectsWriter:
    """Skipped rows as JSON lines {"row", "reason", "detail", "input"}; None path counts only."""

    def __init__(self, path: Path | None):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}") if path else None
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.tmp, "w", encoding="utf-8", newline="\n") if path else None

    def write(self, row: int | None, reason: str, detail: str, inp) -> None:
        if self.file is None:
            return
        if isinstance(inp, bytes):
            inp = inp.decode("utf-8", errors="replace")
        rec = {
            "row": row,
            "reason": reason,
            "detail": detail,
            "input": inp[:300] if isinstance(inp, str) else None,
        }
        self.file.write(json.dumps(rec, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        if self.file is not None:
            self.file.close()
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            self.tmp.unlink(missing_ok=True)


PARQUET_NAME = "data.parquet"  # the original's --format parquet: OUT/data.parquet
DISK_FILE = re.compile(r"^(state\.json|dataset_info\.json|data-\d{5}-of-\d{5}\.arrow)$")


def default_output(input_path: Path, fmt: str) -> Path:
    base = input_path.with_name(input_path.stem + "_hf_fim_dataset")
    return base.with_name(base.name + ".jsonl") if fmt == "jsonl" else base


def check_output(input_path: Path, out: Path, fmt: str) -> None:
    """ValueError unless writing `out` loses nothing: not the input, not a folder holding it, not a
    folder holding anything but a dataset this tool writes, no file where a folder goes or back."""
    if out.exists() and input_path.exists() and out.resolve() == input_path.resolve():
        raise ValueError(f"-o {out} is the input file: give another output path")
    if input_path.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"-o {out} holds the input {input_path}: replacing it would delete it")
    if not (out.exists() or out.is_symlink()):
        return
    if fmt == "jsonl":
        if out.is_dir():
            raise ValueError(f"-o {out} is a folder; --format jsonl writes a file")
        return
    if not out.is_dir():
        raise ValueError(
            f"-o {out} is a file; --format {fmt} writes a folder there: give another path"
        )
    names = sorted(p.name for p in out.iterdir())
    ours = names == [PARQUET_NAME] or (
        "state.json" in names and all(DISK_FILE.match(n) for n in names)
    )
    if names and not ours:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise ValueError(
            f"-o {out} is a folder holding other files ({shown}), not a dataset this tool wrote: "
            "give a new path, or remove it yourself"
        )


def convert(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    tokenizer: BPETokenizer | None = None,
    template: str | Path | Template | None = None,
    fmt: str = "disk",
    skip_empty_output: bool = False,
    skip_empty_prefix: bool = False,
    max_length: int | None = None,
    limit: int | None = None,
    rejects: str | Path | None = None,
    progress: bool = False,
    batch_rows: int = BATCH_ROWS,
    shard_bytes: int = SHARD_BYTES,
) -> Stats:
    """Convert input_path to a prompt/response dataset at output; returns the counts."""
    t0 = time.perf_counter()
    input_path = Path(input_path)
    if fmt not in ("disk", "parquet", "jsonl"):
        raise ValueError(f"unknown format {fmt!r}")
    if max_length is not None and tokenizer is None:
        raise ValueError("--max-length needs a tokenizer")
    out = Path(output) if output is not None else default_output(input_path, fmt)
    check_output(input_path, out, fmt)
    opts = Options(
        load_template(template), tokenizer, max_length, skip_empty_output, skip_empty_prefix
    )
    if tokenizer is not None:
        check_tokenizer(tokenizer)
    batches, total = open_rows(input_path, batch_rows)
    if limit is not None:
        total = min(total, limit) if total is not None else limit
    stats = Stats()
    writer = (
        DiskWriter(out, shard_bytes)
        if fmt == "disk"
        else ParquetDirWriter(out)
        if fmt == "parquet"
        else FileWriter(out)
    )
    rej = RejectsWriter(Path(rejects) if rejects else None)
    bar = tqdm(total=total, unit=" rows", disable=not progress, mininterval=0.5, smoothing=0.1)
    try:
        for rows in batches:
            if limit is not None and stats.read + len(rows) > limit:
                rows = rows[: limit - stats.read]
            prompts, responses = [], []
            for row, inp, out_value in rows:
                try:
                    prompt, response = convert_row(inp, out_value, opts, stats)
                except BadRow as e:
                    stats.skipped[e.reason] += 1
                    rej.write(
                        row, e.reason, e.detail, inp if not isinstance(inp, Unreadable) else None
                    )
                    continue
                prompts.append(prompt)
                responses.append(response)
            stats.read += len(rows)
            stats.written += len(prompts)
            if prompts:
                writer.write(
                    pa.record_batch(
                        [pa.array(prompts, pa.string()), pa.array(responses, pa.string())],
                        schema=SCHEMA,
                    )
                )
            bar.update(len(rows))
            if limit is not None and stats.read >= limit:
                break
        writer.commit()
        rej.commit()
    except BaseException:
        writer.abort()
        rej.abort()
        raise
    finally:
        bar.close()
    stats.seconds = time.perf_counter() - t0
    assert stats.read == stats.written + sum(stats.skipped.values())
    return stats


def summary(stats: Stats, out: Path | str, fmt: str, max_length: int | None = None) -> str:
    """The lines printed at the end of a run."""
    lines = [
        f"read {stats.read} rows: wrote {stats.written}, skipped {sum(stats.skipped.values())}"
        + (
            " (" + ", ".join(f"{r} {n}" for r, n in stats.skipped.most_common()) + ")"
            if stats.skipped
            else ""
        )
    ]
    if stats.prompt_tokens:
        p, r = percentiles(stats.prompt_tokens), percentiles(stats.response_tokens)
        lines.append(
            f"prompt tokens p50/p95/max: {p[0]}/{p[1]}/{p[2]}; "
            f"response tokens p50/p95/max: {r[0]}/{r[1]}/{r[2]}"
        )
    if max_length is not None:
        lines.append(f"truncated {stats.truncated} prompts to fit --max-length {max_length}")
    if stats.newlines_fixed:
        lines.append(f"CR/CRLF line endings turned into LF in {stats.newlines_fixed} rows")
    rate = stats.read / stats.seconds if stats.seconds else 0.0
    lines.append(f"wrote {out} ({fmt}) in {stats.seconds:.1f} s, {rate:,.0f} rows/s")
    return "\n".join(lines)


def percentiles(hist: Counter, qs: tuple[float, ...] = (0.5, 0.95)) -> list[int]:
    """Nearest-rank percentiles of a {value: count} histogram, then its max (zeros when empty)."""
    total = sum(hist.values())
    if not total:
        return [0] * (len(qs) + 1)
    items = sorted(hist.items())
    out = []
    for q in qs:
        rank, seen = max(1, math.ceil(q * total)), 0
        for value, count in items:
            seen += count
            if seen >= rank:
                out.append(value)
                break
    return out + [items[-1][0]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Convert INPUT/OUTPUT rows into a FIM prompt/response dataset."
    )
    ap.add_argument("input", help=".csv, .parquet or .jsonl file with INPUT and OUTPUT columns")
    ap.add_argument(
        "-o",
        "--output",
        help="output folder (a file for jsonl; default: <input>_hf_fim_dataset[.jsonl]); "
        "parquet writes OUTPUT/data.parquet",
    )
    ap.add_argument(
        "--tokenizer",
        required=True,
        help="a tokenizer.json, a directory holding one, or a hub model id (Hugging Face cache)",
    )
    ap.add_argument(
        "--template",
        default=None,
        help="prompt template: this project's sectioned format or the original's Go-style "
        "fim_prompt.tmpl (default: sqlcomplete/fim/fim_prompt.tmpl)",
    )
    ap.add_argument("--format", default="disk", choices=["disk", "parquet", "jsonl"])
    ap.add_argument(
        "--skip-empty-output", action="store_true", help="drop rows whose OUTPUT is empty"
    )
    ap.add_argument(
        "--skip-empty-prefix",
        action="store_true",
        help="drop rows whose <fillMe> is at the very start",
    )
    ap.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="most prompt + response tokens; context trimmed first",
    )
    ap.add_argument("--limit", type=int, default=None, help="read at most this many rows")
    ap.add_argument("--rejects", default=None, help="write skipped rows here as JSON lines")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    try:
        tokenizer = BPETokenizer.from_file(tokenizer_file(args.tokenizer))
        check_tokenizer(tokenizer)
        if args.max_length is not None and args.max_length <= 0:
            raise ValueError("--max-length must be positive")
        out = Path(args.output) if args.output else default_output(Path(args.input), args.format)
        template = load_template(args.template)
        if template.control_text:
            tokens = ", ".join(template.control_text)
            print(
                f"warning: {args.template}: its system/user text holds {tokens}, "
                "which encode as those control tokens (as in the original pipeline)",
                file=sys.stderr,
            )
        stats = convert(
            args.input,
            out,
            tokenizer=tokenizer,
            template=template,
            fmt=args.format,
            skip_empty_output=args.skip_empty_output,
            skip_empty_prefix=args.skip_empty_prefix,
            max_length=args.max_length,
            limit=args.limit,
            rejects=args.rejects,
            progress=not args.no_progress,
        )
    except (ValueError, OSError, pa.ArrowException) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(summary(stats, out, args.format, args.max_length))
    return 0


if __name__ == "__main__":
    sys.exit(main())
