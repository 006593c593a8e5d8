"""The seed's on-disk layout for LLM-generated data, atomic unit writes, and a reader for groups.

    <root>/topics.json                  {"topics": ["e-commerce", ...]}
    <root>/topic_detail.json            {"0_e-commerce": ["detail sentence", ...], ...}
    <root>/details/<topic>.json         one topic's details: the resumable unit
                                        that topic_detail.json is merged from
    <root>/tons_of_tables/<topic>/<detail>.json
                                        [{"tables": [{"table_schema": "CREATE TABLE ..."}]}, ...]
                                        one entry per schema variant
    <root>/diverse_statements/<topic>/<detail>/<kind>.json
                                        [{"statements": ["SELECT ...", ...]}, ...]
                                        entry k belongs to schema variant k
    <root>/groups.jsonl.gz              one group per (topic, detail, variant)

Every file is written whole or not at all (temp file, fsync, rename), so a crash never leaves a
half-written unit and "file exists" means "unit done".
"""

import contextlib
import gzip
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlcomplete.corpus import assign_flat, schema_text

TOPICS = "topics.json"
TOPIC_DETAIL = "topic_detail.json"
DETAILS = "details"
TABLES = "tons_of_tables"
STATEMENTS = "diverse_statements"
GROUPS = "groups.jsonl.gz"
_TMP = re.compile(r"^\..+\.tmp$")


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    """Write `obj` as indented JSON (the seed's style), atomically."""
    data = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
    _write_atomic(Path(path), lambda f: f.write(data))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def write_jsonl_gz(path: Path, rows: Iterable[dict]) -> int:
    """Write rows as gzipped JSON lines, atomically and byte-reproducibly; returns the row count."""
    count = 0

    def write(f):
        nonlocal count
        # mtime=0 and no file name in the header: same rows, same bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            for row in rows:
                gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
                count += 1

    _write_atomic(Path(path), write)
    return count


def sweep_tmp(root: Path) -> int:
    """Remove temp files a killed run left behind; returns how many."""
    stale = (
        [p for p in Path(root).rglob(".*.tmp") if _TMP.match(p.name)] if Path(root).exists() else []
    )
    for p in stale:
        p.unlink()
    return len(stale)


# -----------------------------------------------------------------------------
# names and paths


def topic_slug(index: int, topic: str) -> str:
    """'0_e-commerce': the topic's index and its name, lower-case, filesystem-safe."""
    name = re.sub(r"[^a-z0-9_-]+", "_", topic.lower().replace(" ", "_")).strip("_")
    return f"{index}_{name or 'topic'}"


def topic_key(slug: str) -> tuple[int, str]:
    """Sort key putting '2_x' before '10_y'."""
    head, _, rest = slug.partition("_")
    return (int(head), rest) if head.isdigit() else (1 << 30, slug)


def detail_files(folder: Path) -> list[Path]:
    """<detail>.json files of a topic folder in detail order (2 before 10)."""
    return sorted(
        (p for p in Path(folder).glob("*.json") if p.stem.isdigit()), key=lambda p: int(p.stem)
    )


def details_path(root: Path, topic: str) -> Path:
    return Path(root) / DETAILS / f"{topic}.json"


def schema_path(root: Path, topic: str, detail: int) -> Path:
    return Path(root) / TABLES / topic / f"{detail}.json"


def statements_path(root: Path, topic: str, detail: int, kind: str) -> Path:
    return Path(root) / STATEMENTS / topic / str(detail) / f"{kind}.json"


# -----------------------------------------------------------------------------
# corrupt units: a rerun cannot fix a unit that exists but does not read, so it is set aside


def _list_of(x: Any, ok) -> bool:
    return isinstance(x, list) and all(ok(i) for i in x)


def _strings(x: Any) -> bool:
    return _list_of(x, lambda i: isinstance(i, str))


def _statements_entry(x: Any) -> bool:
    return isinstance(x, dict) and _strings(x.get("statements"))


def _schema_variant(x: Any) -> bool:
    return isinstance(x, dict) and _list_of(
        x.get("tables"), lambda t: isinstance(t, dict) and isinstance(t.get("table_schema"), str)
    )


# the shape of each kind of unit file; statements also in the seed's flat Modal variant
SHAPES = {
    TOPICS: lambda x: isinstance(x, dict) and _strings(x.get("topics")),
    TOPIC_DETAIL: lambda x: isinstance(x, dict) and all(_strings(v) for v in x.values()),
    DETAILS: _strings,
    TABLES: lambda x: _list_of(x, _schema_variant),
    STATEMENTS: lambda x: _list_of(x, _statements_entry) or _statements_entry(x),
}


def unit_problem(path: Path, kind: str) -> str | None:
    """Why the unit file at `path` (one of SHAPES) cannot be used, or None if it reads."""
    try:
        obj = read_json(path)
    except ValueError as e:  # JSON or UTF-8
        return str(e).removeprefix(f"{path}: ")
    return None if SHAPES[kind](obj) else f"valid JSON but not a {kind} unit"


def _set_aside(path: Path, suffix: str) -> bool:
    with contextlib.suppress(FileNotFoundError):  # another shard got there first
        os.replace(path, path.with_name(path.name + suffix))
        return True
    return False


def set_aside_corrupt(root: Path) -> list[str]:
    """Rename every unit file that does not read to <name>.corrupt, and the units generated from it
    (which would no longer match what is regenerated) to <name>.stale, so the next stage run makes
    them again. Returns one line per corrupt unit, saying so."""
    root = Path(root)
    lines: list[str] = []

    def aside(path: Path, problem: str, made_from: list[Path], restore: Any = None) -> None:
        stale = sum(_set_aside(p, ".stale") for p in made_from)
        if _set_aside(path, ".corrupt"):
            also = f" and {stale} units made from it to *.stale" if stale else ""
            then = "restored from topic_detail.json" if restore is not None else "to be regenerated"
            lines.append(f"{path}: {problem}; moved to {path.name}.corrupt{also}, {then}")
            if restore is not None:
                write_json(path, restore)

    def made_from_topic(topic: str) -> list[Path]:
        return sorted((root / TABLES / topic).glob("*.json")) + sorted(
            (root / STATEMENTS / topic).glob("*/*.json")
        )

    def all_units() -> list[Path]:
        return (
            sorted((root / DETAILS).glob("*.json"))
            + [p for p in [root / TOPIC_DETAIL] if p.exists()]
            + sorted((root / TABLES).glob("*/*.json"))
            + sorted((root / STATEMENTS).glob("*/*/*.json"))
        )

    if (root / TOPICS).exists() and (problem := unit_problem(root / TOPICS, TOPICS)):
        aside(root / TOPICS, problem, all_units())  # new topics: everything below them is new
    merged_problem = (
        unit_problem(root / TOPIC_DETAIL, TOPIC_DETAIL) if (root / TOPIC_DETAIL).exists() else None
    )
    merged = (
        read_json(root / TOPIC_DETAIL)
        if (root / TOPIC_DETAIL).exists() and not merged_problem
        else {}
    )
    for unit in sorted((root / DETAILS).glob("*.json")):
        if problem := unit_problem(unit, DETAILS):
            # topic_detail.json may still hold this topic's details: then nothing below is stale
            aside(
                unit,
                problem,
                [] if unit.stem in merged else made_from_topic(unit.stem),
                merged.get(unit.stem),
            )
    if merged_problem:
        # rebuilt from the details units; a topic only it held gets new details, so new schemas
        held = {p.stem for p in (root / DETAILS).glob("*.json")}
        topics = sorted({p.name for p in (root / TABLES).glob("*")} - held)
        aside(root / TOPIC_DETAIL, merged_problem, [p for t in topics for p in made_from_topic(t)])
        merge_details(root)
    for unit in sorted((root / TABLES).glob("*/*.json")):
        if problem := unit_problem(unit, TABLES):  # its statements belong to the old variants
            aside(
                unit,
                problem,
                sorted((root / STATEMENTS / unit.parent.name / unit.stem).glob("*.json")),
            )
    for unit in sorted((root / STATEMENTS).glob("*/*/*.json")):
        if problem := unit_problem(unit, STATEMENTS):
            aside(unit, problem, [])
    return lines


# -----------------------------------------------------------------------------
# readers


def read_topics(root: Path) -> list[str]:
    """Topic slugs in index order, from topics.json."""
    topics = read_json(Path(root) / TOPICS)["topics"]
    return [topic_slug(i, t) for i, t in enumerate(topics)]


def read_details(root: Path) -> dict[str, list[str]]:
    """Details per topic slug: topic_detail.json, overlaid with any per-topic unit files."""
    path = Path(root) / TOPIC_DETAIL
    details = read_json(path) if path.exists() else {}
    for unit in sorted((Path(root) / DETAILS).glob("*.json")):
        details[unit.stem] = read_json(unit)
    return dict(sorted(details.items(), key=lambda kv: topic_key(kv[0])))


def merge_details(root: Path) -> int:
    """Rewrite topic_detail.json from all finished topics; returns how many topics it holds."""
    details = read_details(root)
    if details:
        write_json(Path(root) / TOPIC_DETAIL, details)
    return len(details)


def read_seed_layout(root: Path) -> Iterator[dict]:
    """Groups {"topic", "detail", "variant", "schema", "statements": {kind: [...]}} from the seed's
    on-disk layout (ours or the seed's published one), in topic, detail, variant order; variants
    without any statement are skipped."""
    root = Path(root)
    if not (root / TABLES).is_dir():
        return
    for topic_dir in sorted(
        (p for p in (root / TABLES).iterdir() if p.is_dir()), key=lambda p: topic_key(p.name)
    ):
        for schema_file in detail_files(topic_dir):
            variants = read_json(schema_file)
            detail = int(schema_file.stem)
            by_kind: dict[str, list[list[str]]] = {}
            for kind_file in sorted(
                (root / STATEMENTS / topic_dir.name / str(detail)).glob("*.json")
            ):
                entries = read_json(kind_file)
                if isinstance(entries, dict):
                    by_kind[kind_file.stem] = assign_flat(entries.get("statements", []), variants)
                else:
                    by_kind[kind_file.stem] = [e.get("statements", []) for e in entries]
            for k, variant in enumerate(variants):
                statements = {kind: lists[k] for kind, lists in by_kind.items() if k < len(lists)}
                if any(statements.values()):
                    yield {
                        "topic": topic_dir.name,
                        "detail": detail,
                        "variant": k,
                        "schema": schema_text(variant),
                        "statements": statements,
                    }
