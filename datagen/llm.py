r"""LLM data generation: topics -> details -> schemas -> statements -> groups, against any
OpenAI-compatible server (vLLM on Modal by default, see datagen/vllm_server.py and
datagen/README.md).

    python -m datagen.llm --out data/llm \
        --llm-url https://<workspace>--sqlcomplete-vllm-serve.modal.run/v1
    python -m datagen.llm --llm-url http://localhost:8000/v1 --stage schemas --limit-topics 2

A stage's unit of work (a topic's details, a detail's schemas, one kind of statements for a
detail's schemas) is one file of the seed's layout (datagen/store.py), written atomically once
complete, so a rerun skips finished units and redoes only the rest. Requests are bounded by
--concurrency and retried with exponential backoff and jitter on HTTP errors, timeouts and
invalid answers. A unit whose requests kept failing to reach the server is not written (the next
run redoes it); an answer that stayed invalid is dropped and counted, as are statements that do
not validate. Counts per stage go to <out>/reports/<time>-<pid>.json and are printed at the end.

On start a run repairs what an earlier one left: temp files of a killed run are removed, its
report still saying "running" is marked "interrupted", and a unit file that does not read (which
a rerun alone could never fix) is moved aside as <name>.corrupt, with the units made from it as
<name>.stale, and regenerated. Exit codes: 0 done, 75 some units failed (rerun to finish),
2 cannot continue (bad flags, the server refuses, another run holds the output), 130 interrupted.
"""

import argparse
import asyncio
import dataclasses
import fcntl
import functools
import json
import logging
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import instructor
import openai
import pydantic
from instructor.core import (
    ConfigurationError,
    IncompleteOutputException,
    InstructorError,
    InstructorRetryException,
)
from tqdm import tqdm

from datagen import prompts, store
from sqlcomplete.corpus import schema_text
from sqlcomplete.db.database import redact, scrub, secret_pieces, url_secrets
from sqlcomplete.sql.schema import parse_schema

STAGES = ("topics", "details", "schemas", "statements", "groups")
EXIT_RERUN = 75  # sysexits' EX_TEMPFAIL: a rerun finishes the job; not 1, which any crash gives
EXIT_FATAL = 2  # a rerun as is cannot help
MODES = {
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "json": instructor.Mode.JSON,
    "tools": instructor.Mode.TOOLS,
}


@dataclass
class Config:
    llm_url: str = field(default_factory=lambda: os.environ.get("LLM_URL", ""))
    api_key: str = field(default_factory=lambda: os.environ.get("LLM_API_KEY", "EMPTY"))
    out: str = "data/llm"
    stage: str = "all"
    model: str = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"
    mode: str = "json_schema"
    concurrency: int = 8
    limit_topics: int = 0
    shard: str = "0/1"
    timeout: float = 300.0
    max_retries: int = 4
    backoff: float = 1.0
    topics: int = 75
    subtopics: int = 10
    examples: int = 10
    max_tables: int = 5
    kinds: str = "select:5,insert:5,update:2,delete:2,truncate:2,upsert:2"
    temperature: float | None = None
    top_p: float | None = None
    max_tokens_topics: int = 2048
    max_tokens_details: int = 1024
    max_tokens_schemas: int = 2048
    max_tokens_statements: int = 4096


HELP = {
    "llm_url": "OpenAI-compatible base URL ending in /v1 (default: $LLM_URL)",
    "api_key": (
        "API key (default: $LLM_API_KEY, else 'EMPTY', "
        "which a vLLM server without --api-key accepts)"
    ),
    "out": "output root, in the seed's layout",
    "stage": "one stage, or all",
    "model": "model name as the server knows it",
    "mode": "instructor mode: json_schema (guided decoding on vLLM), json or tools",
    "concurrency": "requests in flight at once",
    "limit_topics": "only the first N topics (0: all)",
    "shard": "I/N: only topics whose index %% N == I (the Modal fan-out)",
    "timeout": "seconds per request",
    "max_retries": "retries per request after the first attempt",
    "backoff": "first retry delay in seconds; doubles per retry, with jitter",
    "topics": "topics to ask for",
    "subtopics": "subtopics per topic",
    "examples": "details (one-sentence uses of a database) per subtopic",
    "max_tables": "schemas per detail, with 1..N tables",
    "kinds": "statement kinds and how many per complexity (simple, complex) and schema",
    "temperature": (
        "sampling temperature (default: the server's, i.e. the model's generation config)"
    ),
    "top_p": "nucleus sampling (default: the server's)",
    "max_tokens_topics": "answer length limit for the topic list",
    "max_tokens_details": "answer length limit for subtopics and details",
    "max_tokens_schemas": "answer length limit for one schema",
    "max_tokens_statements": "answer length limit for one list of statements",
}


@dataclass
class Stats:
    attempted: int = 0  # units this run worked on
    succeeded: int = 0  # units written
    failed: int = 0  # units not written; the next run redoes them
    skipped: int = 0  # units already on disk
    requests: int = 0
    retried: int = 0
    kept: int = 0  # items written: topics, details, schema variants, statements, groups
    retries: Counter = field(default_factory=Counter)  # by reason
    dropped: Counter = field(default_factory=Counter)  # answers and statements, by reason
    failures: Counter = field(default_factory=Counter)  # failed units, by last reason

    def as_dict(self) -> dict:
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs
        return {
            k: dict(sorted(v.items())) if isinstance(v, Counter) else v
            for k, v in vars(self).items()
        }


class Fatal(Exception):
    """The server refuses outright (wrong URL, model name or key): nothing to retry."""


class Failed(Exception):
    """A request whose retries ran out."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Unavailable(Failed):
    """...on transport errors (HTTP 5xx/429, timeouts): the unit fails and a rerun redoes it."""


class Invalid(Failed):
    """...on invalid answers: the piece is dropped (and the unit fails if nothing is left of it)."""


@dataclass
class Run:
    cfg: Config
    client: Any  # instructor.AsyncInstructor
    sem: asyncio.Semaphore
    stats: dict[str, Stats]
    sampling: dict


# -----------------------------------------------------------------------------
# one request, retried


def classify(e: Exception, cfg: Config) -> tuple[str, str]:
    """(reason, what to do) for a failed request: 'transient' (retry, the unit fails if it
    persists), 'invalid' (retry, the piece is dropped if it persists) or 'rejected' (drop now)."""
    if isinstance(e, IncompleteOutputException):
        return "truncated", "invalid"
    if isinstance(e, ConfigurationError):
        raise e
    cause = e.__cause__ if isinstance(e, InstructorRetryException) and e.__cause__ else e
    if isinstance(cause, openai.APITimeoutError):
        return "timeout", "transient"
    if isinstance(cause, openai.APIConnectionError):
        return "connection error", "transient"
    if isinstance(cause, openai.APIStatusError):
        code = cause.status_code
        if code in (401, 403, 404):
            raise Fatal(
                f"HTTP {code} from {redact(cfg.llm_url)} (model {cfg.model!r}): "
                + scrub(str(cause.message), secrets(cfg))
            )
        return f"http {code}", "transient" if code >= 500 or code in (408, 409, 429) else "rejected"
    if isinstance(cause, pydantic.ValidationError):
        malformed = any(err["type"] == "json_invalid" for err in cause.errors())
        return ("malformed json" if malformed else "invalid output"), "invalid"
    if isinstance(cause, json.JSONDecodeError):
        return "malformed json", "invalid"
    return f"invalid output ({type(cause).__name__})", "invalid"


async def ask(
    run: Run,
    stage: str,
    model: type[pydantic.BaseModel],
    prompt: str,
    max_tokens: int,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """One structured request; retried on errors and on answers `check` finds a problem with."""
    cfg, stats = run.cfg, run.stats[stage]
    reason, kind = "", "invalid"
    for attempt in range(cfg.max_retries + 1):
        if attempt:
            stats.retried += 1
            stats.retries[reason] += 1
            # exponential backoff with jitter, so the retries of many tasks do not arrive together
            await asyncio.sleep(
                min(60.0, cfg.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            )
        async with run.sem:
            stats.requests += 1
            try:
                answer = await run.client.chat.completions.create(
                    model=cfg.model,
                    response_model=model,
                    max_retries=0,
                    max_tokens=max_tokens,
                    messages=[{"role": "user", "content": prompt}],
                    **run.sampling,
                )
            except (InstructorError, openai.OpenAIError) as e:
                reason, kind = classify(e, cfg)
                if kind == "rejected":
                    break
                continue
        problem = check(answer) if check else None
        if problem is None:
            return answer
        reason, kind = prompts.problem_category(problem), "invalid"
    raise (Unavailable if kind == "transient" else Invalid)(reason)


async def gather_pieces(run: Run, stage: str, requests: list[Awaitable]) -> list[Any | None]:
    """Answers of a unit's requests, None where one stayed invalid (dropped and counted);
    Unavailable if any could not get through, since then the whole unit is redone later."""
    answers = await asyncio.gather(*requests, return_exceptions=True)
    for a in answers:
        if isinstance(a, BaseException) and not isinstance(a, Invalid):
            raise a
    if answers and all(isinstance(a, Invalid) for a in answers):
        raise Invalid(answers[-1].reason)
    for a in answers:
        if isinstance(a, Invalid):
            run.stats[stage].dropped[a.reason] += 1
    return [None if isinstance(a, Invalid) else a for a in answers]


async def run_units(
    run: Run, stage: str, units: list[tuple[Path, Callable[[], Awaitable[Any]]]]
) -> None:
    """Make and write every unit whose file is missing, a bounded number at a time."""
    stats = run.stats[stage]
    todo = [(path, make) for path, make in units if not path.exists()]
    stats.skipped += len(units) - len(todo)
    stats.attempted += len(todo)
    # few units in flight, so a crash loses little and files appear in order
    slots = asyncio.Semaphore(2 * run.cfg.concurrency)
    with tqdm(
        total=len(todo), desc=f"{stage:>10}", unit="unit", disable=not todo, file=sys.stderr
    ) as bar:

        async def one(path: Path, make: Callable[[], Awaitable[Any]]) -> None:
            async with slots:
                try:
                    obj = await make()
                except Failed as e:
                    stats.failed += 1
                    stats.failures[e.reason] += 1
                else:
                    await asyncio.to_thread(store.write_json, path, obj)
                    stats.succeeded += 1
                bar.update()

        try:
            async with asyncio.TaskGroup() as tg:
                for path, make in todo:
                    tg.create_task(one(path, make))
        except* Fatal as group:  # one is enough to say why the run stops
            raise group.exceptions[0] from None


# -----------------------------------------------------------------------------
# stages


def _nonempty(items: list[str]) -> str | None:
    return None if prompts.clean_list(items) else "empty output"


def _selected(cfg: Config, slugs: list[str]) -> list[str]:
    """Slugs within --limit-topics and this --shard, in topic order."""
    i, n = (int(x) for x in cfg.shard.split("/"))
    keep = [
        s
        for s in slugs
        if (not cfg.limit_topics or store.topic_key(s)[0] < cfg.limit_topics)
        and store.topic_key(s)[0] % n == i
    ]
    return sorted(keep, key=store.topic_key)


async def stage_topics(run: Run) -> None:
    cfg, stats = run.cfg, run.stats["topics"]

    async def make() -> dict:
        answer = await ask(
            run,
            "topics",
            prompts.Topics,
            prompts.topics_prompt(cfg.topics),
            cfg.max_tokens_topics,
            check=lambda a: _nonempty(a.topics),
        )
        topics = prompts.clean_list(answer.topics, cfg.topics)
        stats.kept += len(topics)
        return {"topics": topics}

    await run_units(run, "topics", [(Path(cfg.out) / store.TOPICS, make)])


async def details_unit(run: Run, topic: str) -> list[str]:
    cfg, stats = run.cfg, run.stats["details"]
    sub = await ask(
        run,
        "details",
        prompts.Subtopics,
        prompts.subtopics_prompt(topic, cfg.subtopics),
        cfg.max_tokens_details,
        check=lambda a: _nonempty(a.subtopics),
    )
    answers = await gather_pieces(
        run,
        "details",
        [
            ask(
                run,
                "details",
                prompts.Examples,
                prompts.examples_prompt(s, cfg.examples),
                cfg.max_tokens_details,
                check=lambda a: _nonempty(a.examples),
            )
            for s in prompts.clean_list(sub.subtopics, cfg.subtopics)
        ],
    )
    details = [
        d for a in answers if a is not None for d in prompts.clean_list(a.examples, cfg.examples)
    ]
    unique = prompts.clean_list(details)
    if len(unique) < len(details):
        stats.dropped["duplicate"] += len(details) - len(unique)
    stats.kept += len(unique)
    return unique


async def stage_details(run: Run) -> None:
    root = Path(run.cfg.out)
    if not (root / store.TOPICS).exists():
        raise Fatal(f"{root / store.TOPICS} is missing: run the topics stage first")
    names = store.read_json(root / store.TOPICS)["topics"]
    by_slug = {store.topic_slug(i, t): t for i, t in enumerate(names)}
    merged = (
        store.read_json(root / store.TOPIC_DETAIL) if (root / store.TOPIC_DETAIL).exists() else {}
    )
    slugs = _selected(run.cfg, list(by_slug))
    run.stats["details"].skipped += sum(
        s in merged for s in slugs
    )  # e.g. the seed's published topic_detail.json
    await run_units(
        run,
        "details",
        [
            (store.details_path(root, s), functools.partial(details_unit, run, by_slug[s]))
            for s in slugs
            if s not in merged
        ],
    )
    if run.cfg.shard == "0/1":  # shards only write their units; the Modal orchestrator merges once
        store.merge_details(root)


async def schemas_unit(run: Run, detail: str) -> list[dict]:
    cfg = run.cfg
    answers = await gather_pieces(
        run,
        "schemas",
        [
            ask(
                run,
                "schemas",
                prompts.DatabaseSchema,
                prompts.schema_prompt(detail, n),
                cfg.max_tokens_schemas,
                check=lambda a, n=n: prompts.schema_problem(prompts.schema_tables(a), n),
            )
            for n in range(1, cfg.max_tables + 1)
        ],
    )
    variants = [
        {"tables": [{"table_schema": t} for t in prompts.schema_tables(a)]}
        for a in answers
        if a is not None
    ]
    run.stats["schemas"].kept += len(variants)
    return variants


async def stage_schemas(run: Run) -> None:
    root = Path(run.cfg.out)
    details = store.read_details(root)
    await run_units(
        run,
        "schemas",
        [
            (store.schema_path(root, slug, i), functools.partial(schemas_unit, run, detail))
            for slug in _selected(run.cfg, list(details))
            for i, detail in enumerate(details[slug])
        ],
    )


def _validate(
    raw: list[list[str]], kind: str, schemas: list[str]
) -> list[tuple[list[str], Counter]]:
    return [
        prompts.clean_statements(stmts, kind, parse_schema(schema))
        for stmts, schema in zip(raw, schemas)
    ]


async def statements_unit(run: Run, path: Path, kind: str, n: int) -> list[dict]:
    cfg, stats = run.cfg, run.stats["statements"]
    schemas = [schema_text(v) for v in store.read_json(path)]
    jobs = [(k, c) for k in range(len(schemas)) for c in prompts.COMPLEXITIES]
    answers = await gather_pieces(
        run,
        "statements",
        [
            ask(
                run,
                "statements",
                prompts.SQLStatements,
                prompts.statements_prompt(schemas[k], kind, c, n),
                cfg.max_tokens_statements,
            )
            for k, c in jobs
        ],
    )
    raw: list[list[str]] = [[] for _ in schemas]
    for (k, _), a in zip(jobs, answers):
        if a is not None:
            raw[k] += a.statements
    entries = []
    # sqlglot is CPU-bound: off the event loop, so in-flight requests keep being served
    for kept, dropped in await asyncio.to_thread(_validate, raw, kind, schemas):
        stats.kept += len(kept)
        stats.dropped.update(dropped)
        entries.append({"statements": kept})
    return entries


def parse_kinds(spec: str) -> dict[str, int]:
    """'select:5,insert:5' -> {'select': 5, 'insert': 5}"""
    kinds = {}
    for item in spec.split(","):
        kind, _, n = item.strip().partition(":")
        if kind not in prompts.KIND_HINTS or not n.isdigit() or int(n) < 1:
            raise ValueError(
                f"bad --kinds item {item!r}: "
                f"want KIND:N with KIND in {', '.join(prompts.KIND_HINTS)}"
            )
        kinds[kind] = int(n)
    return kinds


async def stage_statements(run: Run) -> None:
    root = Path(run.cfg.out)
    topics = (
        [p.name for p in (root / store.TABLES).iterdir() if p.is_dir()]
        if (root / store.TABLES).is_dir()
        else []
    )
    units = []
    for slug in _selected(run.cfg, topics):
        for path in store.detail_files(root / store.TABLES / slug):
            for kind, n in parse_kinds(run.cfg.kinds).items():
                units.append(
                    (
                        store.statements_path(root, slug, int(path.stem), kind),
                        functools.partial(statements_unit, run, path, kind, n),
                    )
                )
    await run_units(run, "statements", units)


def stage_groups(run: Run) -> None:
    """groups.jsonl.gz from everything on disk: cheap and deterministic, so always rebuilt."""
    root, stats = Path(run.cfg.out), run.stats["groups"]
    stats.attempted += 1
    stats.kept += store.write_jsonl_gz(root / store.GROUPS, store.read_seed_layout(root))
    stats.succeeded += 1


# -----------------------------------------------------------------------------
# driver


def secrets(cfg: Config) -> list[str]:
    """What no report or message may show: the --llm-url's password (sqlcomplete.db.database's
    redaction, as for --db) and the API key."""
    key = cfg.api_key if cfg.api_key != "EMPTY" else None
    return secret_pieces([*url_secrets(cfg.llm_url), key])


def write_report(
    cfg: Config,
    stats: dict[str, Stats],
    path: Path,
    started: float,
    status: str,
    recovered: list[str] | None = None,
) -> None:
    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "api_key"}
    config["llm_url"] = redact(cfg.llm_url)
    status = scrub(status, secrets(cfg))
    store.write_json(
        path,
        {
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "seconds": round(time.time() - started, 1),
            "status": status,
            "config": config,
            "recovered": recovered or [],
            "stages": {name: s.as_dict() for name, s in stats.items()},
        },
    )


def recover(out: Path) -> list[str]:
    """Repair what earlier runs left in `out`, while no run writes there; returns a line per repair.
    Temp files of a killed run are removed, its report is marked "interrupted" (it stopped without
    saying so), and corrupt unit files are set aside to be regenerated (store.set_aside_corrupt)."""
    out = Path(out)
    lines = []
    if swept := store.sweep_tmp(out):
        lines.append(f"removed {swept} partial files left by an interrupted run")
    for path in sorted((out / "reports").glob("*.json")):
        try:
            report = store.read_json(path)
        except ValueError:  # not ours to judge: reports are only ever written whole
            continue
        if isinstance(report, dict) and report.get("status") == "running":
            store.write_json(path, {**report, "status": "interrupted"})
            lines.append(f"{path}: that run was killed; marked interrupted")
    return lines + store.set_aside_corrupt(out)


async def generate(
    cfg: Config, recovered: list[str] | None = None
) -> tuple[dict[str, Stats], Path]:
    """Run cfg.stage (or all stages) and return the counts per stage and the report's path;
    `recovered` (what `recover` did before) goes into the report."""
    stages = STAGES if cfg.stage == "all" else (cfg.stage,)
    if set(stages) - {"groups"} and not cfg.llm_url:
        raise Fatal("--llm-url (or $LLM_URL) is required for the LLM stages")
    started = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started))
    report = (
        Path(cfg.out) / "reports" / f"{stamp}-{cfg.shard.replace('/', 'of')}-{os.getpid()}.json"
    )
    sampling = {
        k: v for k, v in (("temperature", cfg.temperature), ("top_p", cfg.top_p)) if v is not None
    }
    steps = {
        "topics": stage_topics,
        "details": stage_details,
        "schemas": stage_schemas,
        "statements": stage_statements,
    }
    stats: dict[str, Stats] = {}
    status = "interrupted"
    write_report(
        cfg, stats, report, started, "running", recovered
    )  # a killed run leaves this behind
    try:
        async with openai.AsyncOpenAI(
            base_url=cfg.llm_url or None, api_key=cfg.api_key, timeout=cfg.timeout, max_retries=0
        ) as client:  # retries are ours: counted, with backoff
            run = Run(
                cfg,
                instructor.from_openai(client, mode=MODES[cfg.mode]),
                asyncio.Semaphore(cfg.concurrency),
                stats,
                sampling,
            )
            for stage in stages:
                stats[stage] = Stats()
                if stage == "groups":
                    stage_groups(run)
                else:
                    await steps[stage](run)
                write_report(cfg, stats, report, started, "running", recovered)
        status = "failed units" if any(s.failed for s in stats.values()) else "ok"
    except Fatal as e:
        status = f"fatal: {e}"
        raise
    finally:
        write_report(cfg, stats, report, started, status, recovered)
    return stats, report


def format_summary(stats: dict[str, Stats]) -> str:
    cols = ("attempted", "succeeded", "skipped", "retried", "failed", "dropped", "kept")
    lines = [f"{'stage':<11}" + "".join(f"{c:>10}" for c in cols)]
    for name, s in stats.items():
        values = [getattr(s, c) if c != "dropped" else sum(s.dropped.values()) for c in cols]
        lines.append(f"{name:<11}" + "".join(f"{v:>10}" for v in values))
        for label, counter in (
            ("retries", s.retries),
            ("dropped", s.dropped),
            ("failures", s.failures),
        ):
            if counter:
                lines.append(
                    f"  {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))
                )
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m datagen.llm", description=__doc__.split("\n\n")[0]
    )
    for f in dataclasses.fields(Config):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        shown = (
            "" if f.name in ("llm_url", "api_key") or default is None else f" (default: {default})"
        )
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=default,
            type=float if default is None else type(default),
            help=HELP[f.name] + shown,
            choices=("all",) + STAGES if f.name == "stage" else MODES if f.name == "mode" else None,
        )
    cfg = Config(**vars(parser.parse_args(argv)))
    try:
        parse_kinds(cfg.kinds)
        i, n = (int(x) for x in cfg.shard.split("/"))
        assert 0 <= i < n
    except (ValueError, AssertionError) as e:
        parser.error(str(e) or f"bad --shard {cfg.shard!r}: want I/N with 0 <= I < N")
    return cfg


def quiet_logs() -> None:
    logging.getLogger("instructor").setLevel(
        logging.CRITICAL
    )  # it logs each failed attempt; we count them
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "falling back to parsing as a Command"


def main(argv: list[str] | None = None) -> int:
    """CLI: run the pipeline; exit 0 when every unit is done, EXIT_RERUN when some failed (rerun to
    finish), EXIT_FATAL when it cannot continue."""
    cfg = parse_args(argv)
    quiet_logs()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"error: another run is writing to {out}", file=sys.stderr)
            return EXIT_FATAL
        recovered = recover(out)
        for line in recovered:
            print(line, file=sys.stderr)
        try:
            stats, report = asyncio.run(generate(cfg, recovered))
        except Fatal as e:
            print(f"error: {scrub(str(e), secrets(cfg))}", file=sys.stderr)
            return EXIT_FATAL
        except KeyboardInterrupt:
            print("interrupted; finished units are kept, rerun to go on", file=sys.stderr)
            return 130
    print(format_summary(stats))
    print(f"report: {report}")
    return EXIT_RERUN if any(s.failed for s in stats.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
