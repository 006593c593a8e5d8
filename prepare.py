"""Text to tokens: schema groups -> SentencePiece tokenizer -> uint16 memmap shards.

    python prepare.py SOURCE [SOURCE ...] --out data/sql [--augment 1] [--val-frac 0.02]

A SOURCE is a JSONL(.gz) file of groups (one JSON object a line:
`{"schema": "CREATE TABLE ...", "statements": {"select": [...], ...}, ...}`), a directory
in SQLPilot's on-disk layout (`tons_of_tables/<topic>/<i>.json` holding a list of schema
variants, `diverse_statements/<topic>/<i>/<kind>.json` whose list entry k belongs to
variant k), or a directory of JSONL files. `PATH*N` repeats a source N times (each copy
augmented differently), for small high-value sets such as Spider.

Writes to --out: tok.model (SentencePiece BPE, exact whitespace, byte fallback),
train.bin / val.bin (uint16 tokens), train.idx.npy / val.idx.npy (int64 rows
[example start, statement start, example end]) and meta.json.

An example is `### TABLEDATA\\n\\n{schema}\\n\\n### STATEMENT\\n\\n{statement}` + EOS, the seed's
format; with --stmts-per-example K up to K statements of one schema follow it, each
introduced by `\\n\\n### STATEMENT\\n\\n`, which spends the schema's tokens on more statements.
"""

import argparse
import errno
import hashlib
import io
import os
import random
import re
import shutil
import sys
import time
import zlib
from collections import Counter
from multiprocessing import Pool

import numpy as np

from sqlcomplete.corpus import group_statements, parse_source_arg, read_source
from sqlcomplete.files import write_bytes_atomic, write_json_atomic
from sqlcomplete.sql.lexicon import SQL_UNITS, SQL_WORDS
from sqlcomplete.sql.prompt import (
    SCHEMA_HEADER,
    STATEMENT_HEADER,
    STATEMENT_SEPARATOR,
    marker_piece,
    prompt_text,
)
from sqlcomplete.sql.schema import (
    body_end,
    fit_schema,
    names_in,
    parse_schema,
    split_tables,
    split_top_level,
)

# ---------------------------------------------------------------- SQL-aware augmentation

_WORD_STYLES = ("snake", "snake", "snake", "camel", "pascal", "upper")


def _style(words: list[str], style: str) -> str:
    if style == "camel":
        return words[0].lower() + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.capitalize() for w in words)
    if style == "upper":
        return "_".join(words).upper()
    return "_".join(w.lower() for w in words)


def _split_words(name: str) -> list[str]:
    parts = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)
    return [p.lower() for p in parts] or [name.lower()]


def rename_map(tables: dict[str, list[str]], rng: random.Random, pool: list[str]) -> dict[str, str]:
    """Lowercased schema name -> new name: restyled, abbreviated or swapped for a word from
    `pool`."""
    names = list(tables) + [c for cols in tables.values() for c in cols]
    style = rng.choice(_WORD_STYLES)
    used = {n.lower() for n in names}
    mapping = {}
    for name in names:
        low = name.lower()
        # a name that is also a word of SQL stays: renaming it would change the SQL itself
        if low in mapping or low in SQL_WORDS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            continue
        words = _split_words(name)
        r = rng.random()
        if r < 0.35 and pool:  # an unrelated real identifier: forces copying from the schema
            words = _split_words(rng.choice(pool)) + (
                [words[-1]] if words[-1] in ("id", "at", "date") and len(words) > 1 else []
            )
        elif r < 0.5:
            words = [w[: max(3, len(w) // 2)] if len(w) > 5 else w for w in words]
        elif r < 0.6:
            words = [rng.choice(("tbl", "app", "x", "my", "t", "src", "dim", "fct"))] + words
        new = _style(words, style)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", new) or new.lower() in SQL_WORDS:
            continue
        while new.lower() in used and new.lower() != low:
            new = f"{new}{rng.randint(2, 9)}"
        used.add(new.lower())
        mapping[low] = new
    return mapping


def rename_identifiers(sql: str, mapping: dict[str, str]) -> str:
    """Replace whole unquoted identifiers (case-insensitively) outside strings and comments."""

    def sub(m):
        word = m.group(0)
        if word[0] in "'\"`-/":
            return word
        return mapping.get(word.lower(), word)

    return SQL_UNITS.sub(sub, sql)  # strings, quoted names and comments are skipped whole


def shuffle_columns(table_sql: str, rng: random.Random) -> str:
    """Shuffle the column definitions of one CREATE TABLE (constraints stay after them, in
    order)."""
    m = re.search(r"\(", table_sql)
    if not m:
        return table_sql
    end = body_end(table_sql, m.end())
    body = table_sql[m.end() : end - 1]
    items = split_top_level(body)
    if len(items) < 2:
        return table_sql
    lead = re.match(r"\s*", items[0]).group(0)
    sep = re.match(r"\s*", items[1]).group(0)
    trail = re.search(r"\s*$", items[-1]).group(0)
    stripped = [it.strip() for it in items]
    is_constraint = [
        bool(
            re.match(r"(constraint|primary|foreign|unique|index|inverted|family|check)\b", s, re.I)
        )
        for s in stripped
    ]
    cols = [s for s, c in zip(stripped, is_constraint) if not c]
    rest = [s for s, c in zip(stripped, is_constraint) if c]
    rng.shuffle(cols)
    return (
        table_sql[: m.end()] + lead + ("," + sep).join(cols + rest) + trail + table_sql[end - 1 :]
    )


def reindent(schema: str, rng: random.Random) -> str:
    indent = rng.choice(("\t", "  ", "    ", "", "   "))
    return re.sub(r"(?m)^[ \t]+", indent, schema)


def augment_group(
    schema: str, statements: list[str], rng: random.Random, pool: list[str]
) -> tuple[str, list[str]]:
    """One consistent random variant of a schema and its statements."""
    tables = parse_schema(schema)
    parts = split_tables(schema)
    if rng.random() < 0.5 and len(parts) > 1:
        rng.shuffle(parts)
    if rng.random() < 0.5:
        parts = [shuffle_columns(p, rng) for p in parts]
    if parts:
        schema = "\n\n".join(parts)
    if rng.random() < 0.3:
        schema = reindent(schema, rng)
    mapping = rename_map(tables, rng, pool) if rng.random() < 0.8 else {}
    if mapping:
        schema = rename_identifiers(schema, mapping)
        statements = [rename_identifiers(s, mapping) for s in statements]
    return schema, statements


# ---------------------------------------------------------------- tokenizer


class VocabSizeError(ValueError):
    """A vocabulary size sentencepiece cannot train on this text."""


def train_tokenizer(texts: list[str], vocab_size: int, out_path: str):
    """A SentencePiece BPE tokenizer for `texts`, written atomically to out_path. VocabSizeError,
    in sentencepiece's own words, when vocab_size does not fit the text."""
    import sentencepiece as spm

    model = io.BytesIO()
    try:
        _train_sentencepiece(spm, texts, vocab_size, model)
    except RuntimeError as e:  # "INTERNAL: src/trainer_interface.cc(744) [...] Vocabulary size ..."
        reason = re.sub(r"^.*?\] ", "", str(e).strip().splitlines()[-1])
        small = re.search(r"smaller than required_chars\. \d+ vs (\d+)", reason)
        large = re.search(r"too high \(\d+\)\. Please set it to a value <= (\d+)", reason)
        if small:
            reason = f"too small for the characters of this text: give {small.group(1)} or more"
        elif large:
            reason = f"too large for this little text: give {large.group(1)} or less"
        raise VocabSizeError(f"{vocab_size} does not fit: {reason}") from None
    write_bytes_atomic(out_path, model.getvalue())


def _train_sentencepiece(spm, texts: list[str], vocab_size: int, model: io.BytesIO) -> None:
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        character_coverage=0.9995,  # rare characters go to byte pieces instead of eating merges
        # exact whitespace: no normalization, no dummy prefix, whitespace pieces allowed
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=False,
        allow_whitespace_only_pieces=True,
        user_defined_symbols=[marker_piece(SCHEMA_HEADER), marker_piece(STATEMENT_HEADER)],
        max_sentence_length=1 << 20,
        num_threads=os.cpu_count() or 1,
        minloglevel=2,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
    )


# ---------------------------------------------------------------- encoding (worker processes)

_sp = None
_cfg = None


def _init_worker(tok_path: str, cfg: dict):
    import sentencepiece as spm

    global _sp, _cfg
    _sp = spm.SentencePieceProcessor(model_file=tok_path)
    _cfg = cfg


def _encode_group(job) -> tuple[list[np.ndarray], Counter]:
    """All examples of one (possibly augmented) group: token arrays + [start, stmt_start]
    offsets."""
    schema, statements, seed, augment = job
    stats = Counter()
    rng = random.Random(seed)
    if augment:
        schema, statements = augment_group(schema, statements, rng, _cfg["pool"])
    rng.shuffle(statements)
    block, k_max = _cfg["block_size"], _cfg["stmts_per_example"]
    eos = _sp.eos_id()
    sep = _sp.encode(STATEMENT_SEPARATOR)
    stmt_ids = _sp.encode(statements)
    full_prompt = None
    examples = []
    i = 0
    while i < len(statements):
        k = rng.randint(1, k_max)
        chunk = list(range(i, min(i + k, len(statements))))
        i += len(chunk)
        body_len = sum(len(stmt_ids[j]) for j in chunk) + len(sep) * (len(chunk) - 1) + 1
        if full_prompt is None:
            full_prompt = _sp.encode(prompt_text(schema))
        prompt = full_prompt
        if len(prompt) + body_len > block:
            # keep the tables the statements name; drop others, then give up on the example
            keep = set().union(*(names_in(statements[j]) for j in chunk))
            budget = int((block - body_len - 8) * len(schema) / max(len(prompt), 1))
            fitted, dropped = fit_schema(schema, keep, budget)
            prompt = _sp.encode(prompt_text(fitted))
            if len(prompt) + body_len > block:
                if len(chunk) > 1:  # retry the statements one by one
                    i -= len(chunk) - 1
                    chunk = chunk[:1]
                    continue
                stats["examples dropped: too long"] += 1
                continue
            stats["examples with tables dropped"] += 1
        body = []
        for n, j in enumerate(chunk):
            if n:
                body += sep
            body += stmt_ids[j]
        body.append(eos)
        examples.append((np.array(prompt + body, dtype=np.uint16), len(prompt), len(chunk)))
        stats["examples"] += 1
        stats["statements"] += len(chunk)
    return examples, stats


# ---------------------------------------------------------------- main


def split_of(schema: str, val_frac: float) -> str:
    """Train/val by schema: a hash of the whitespace-normalized schema, so no val schema is trained
    on."""
    h = hashlib.sha1(" ".join(schema.split()).lower().encode()).digest()
    return "val" if int.from_bytes(h[:4], "big") / 2**32 < val_frac else "train"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "sources",
        nargs="+",
        help="JSONL(.gz) files or directories; PATH*N repeats a source N times",
    )
    ap.add_argument("--out", default="data/sql")
    ap.add_argument("--vocab-size", type=int, default=512)
    ap.add_argument(
        "--tokenizer", default=None, help="reuse this tok.model instead of training one"
    )
    ap.add_argument(
        "--augment", type=int, default=1, help="augmented copies per group, besides the original"
    )
    ap.add_argument("--val-frac", type=float, default=0.02)
    ap.add_argument(
        "--block-size",
        type=int,
        default=1536,
        help="longest example in tokens (the model's context)",
    )
    ap.add_argument("--stmts-per-example", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument(
        "--strict",
        action="store_true",
        help="stop at a truncated or corrupt .gz instead of keeping the lines before the damage",
    )
    args = ap.parse_args(argv)
    if not 0 < args.vocab_size <= 2**16:
        ap.error(f"--vocab-size {args.vocab_size}: 1 to 65,536 (the shards hold uint16 tokens)")
    if args.tokenizer and not os.path.isfile(args.tokenizer):
        ap.error(f"--tokenizer {args.tokenizer}: no such file")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        ap.error(f"--out {args.out} is a file, not a folder")
    t0 = time.time()
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        ap.error(f"--out {args.out}: {e.strerror or e}")

    stats = Counter()
    groups = {"train": [], "val": []}  # (schema, statements, repeats)
    for arg in args.sources:
        path, repeat = parse_source_arg(arg)
        n0 = stats["groups read"]
        for g in read_source(path, stats, args.strict):
            stmts = group_statements(g)
            groups[split_of(g["schema"], args.val_frac)].append((g["schema"], stmts, repeat))
        print(
            f"read {stats['groups read'] - n0} groups from {path}"
            + (f" (x{repeat})" if repeat > 1 else "")
        )
    if not groups["train"]:
        sys.exit("no usable groups in the sources")

    # identifier pool for renaming: real names from the corpus itself
    rng = random.Random(args.seed)
    pool = set()
    for schema, _, _ in rng.sample(groups["train"], min(3000, len(groups["train"]))):
        for t, cols in parse_schema(schema).items():
            pool.add(t)
            pool.update(cols)
    pool = sorted(
        p for p in pool if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) and p.lower() not in SQL_WORDS
    )

    staged: dict[str, str] = {}  # final path -> the temporary file that replaces it at the end
    try:
        meta = write_data(args, groups, pool, stats, rng, staged, t0)
    except BaseException as e:
        for tmp in staged.values():  # the partial new files; the earlier data stays as it was
            if os.path.exists(tmp):
                os.remove(tmp)
        if isinstance(e, VocabSizeError):
            sys.exit(f"error: --vocab-size: {e}")
        now = (  # no meta.json: stopped while committing (or there was no data before)
            f"{args.out} is as it was (the partial new files removed)"
            if os.path.exists(os.path.join(args.out, "meta.json"))
            else f"{args.out} holds no usable data (no meta.json)"
        )
        if isinstance(e, KeyboardInterrupt):
            sys.exit(f"interrupted: {now}")
        if isinstance(e, OSError):
            full = " free some space and" if e.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            sys.exit(f"error: writing {args.out}: {e.strerror or e}; {now}:{full} run again")
        raise
    skipped = {k: v for k, v in stats.items() if k.startswith("skipped")}
    print(
        f"groups read {stats['groups read']}, skipped {sum(skipped.values())} {skipped or ''}; "
        f"{meta['train']['tokens']:,} train / {meta['val']['tokens']:,} val tokens in "
        f"{meta['seconds']}s -> {args.out}"
    )
    return meta


def write_data(
    args,
    groups: dict,
    pool: list[str],
    stats: Counter,
    rng: random.Random,
    staged: dict,
    started: float,
) -> dict:
    """The tokenizer, the shards and their indexes, each written to a temporary file recorded in
    `staged`, then committed: meta.json removed, the files renamed into place with tok.model last,
    and a new meta.json (with the tokenizer's sha256, which train.py checks) written. An interrupted
    run leaves the earlier data whole, or (while committing) no meta.json; never a new tokenizer
    beside the old shards."""

    def stage(name: str) -> str:
        final = os.path.join(args.out, name)
        staged[final] = f"{final}.{os.getpid()}.tmp"
        return staged[final]

    tok_path = os.path.join(args.out, "tok.model")
    if args.tokenizer and os.path.abspath(args.tokenizer) == os.path.abspath(tok_path):
        new_tok = tok_path  # the data's own tokenizer, kept
    elif args.tokenizer:
        new_tok = stage("tok.model")
        shutil.copyfile(args.tokenizer, new_tok)
    else:
        sample = rng.sample(groups["train"], min(4000, len(groups["train"])))
        # raw text without the markers (they are symbols already); statements weigh heavily, since
        # their tokens are the ones the model generates (SELECT should be one token)
        texts = [s for s, _, _ in sample] + [st for _, stmts, _ in sample for st in stmts[:16]]
        new_tok = stage("tok.model")
        train_tokenizer(texts, args.vocab_size, new_tok)
        print(f"trained tokenizer on {len(texts)} texts")

    cfg = {"block_size": args.block_size, "stmts_per_example": args.stmts_per_example, "pool": pool}
    meta = {
        "vocab_size": args.vocab_size,
        "block_size": args.block_size,
        "stmts_per_example": args.stmts_per_example,
        "format": "### TABLEDATA\\n\\n{schema}\\n\\n### STATEMENT\\n\\n{statement}<eos>",
        "sources": args.sources,
    }
    from tqdm import tqdm

    with Pool(args.workers, initializer=_init_worker, initargs=(new_tok, cfg)) as pool_:
        for split in ("train", "val"):
            jobs = []
            for gi, (schema, stmts, repeat) in enumerate(groups[split]):
                copies = repeat * (1 + (args.augment if split == "train" else 0))
                for c in range(copies):
                    jobs.append(
                        (schema, stmts, zlib.crc32(f"{args.seed}/{split}/{gi}/{c}".encode()), c > 0)
                    )
            jobs.sort(key=lambda j: j[2])  # deterministic shuffle of groups
            offsets, lengths, prompt_lens, split_stats = [], [], [], Counter()
            pos = 0
            with open(stage(f"{split}.bin"), "wb") as f:
                for examples, st in tqdm(
                    pool_.imap(_encode_group, jobs, chunksize=64),
                    total=len(jobs),
                    desc=f"encode {split}",
                    mininterval=2,
                ):
                    split_stats.update(st)
                    for arr, plen, _ in examples:
                        f.write(arr.tobytes())
                        offsets.append((pos, pos + plen, pos + len(arr)))
                        lengths.append(len(arr))
                        prompt_lens.append(plen)
                        pos += len(arr)
            idx = np.array(offsets, dtype=np.int64).reshape(-1, 3)
            with open(stage(f"{split}.idx.npy"), "wb") as f:
                np.save(f, idx)
            lengths = np.array(lengths or [0])
            meta[split] = {
                "groups": len(groups[split]),
                "jobs": len(jobs),
                "tokens": int(pos),
                **dict(split_stats),
                "example_tokens_p50_p90_p99_max": [
                    int(np.percentile(lengths, q)) for q in (50, 90, 99, 100)
                ],
                "prompt_tokens_p50_p90_p99_max": [
                    int(np.percentile(prompt_lens or [0], q)) for q in (50, 90, 99, 100)
                ],
            }
            print(f"{split}: {meta[split]}")
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=new_tok)
    with open(new_tok, "rb") as f:
        tokenizer_sha256 = hashlib.sha256(f.read()).hexdigest()
    meta.update(
        {
            "vocab_size": sp.get_piece_size(),
            "eos_id": sp.eos_id(),
            "bos_id": sp.bos_id(),
            "unk_id": sp.unk_id(),
            "schema_header_id": sp.piece_to_id(marker_piece(SCHEMA_HEADER)),
            "statement_header_id": sp.piece_to_id(marker_piece(STATEMENT_HEADER)),
            "tokenizer_sha256": tokenizer_sha256,
            "read": dict(stats),
            "seconds": round(time.time() - started, 1),
        }
    )
    meta_path = os.path.join(args.out, "meta.json")
    if os.path.exists(meta_path):
        os.remove(meta_path)  # from here to the new one, train.py finds no data rather than a mix
    for final, tmp in sorted(staged.items(), key=lambda item: item[0] == tok_path):
        os.replace(tmp, final)
    staged.clear()
    write_json_atomic(meta_path, meta)
    return meta


if __name__ == "__main__":
    main()
