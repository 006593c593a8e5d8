r"""Run datagen.llm's stages on Modal: CPU containers fanned out over topic shards with `.starmap`,
each running the stage's units with its own bounded concurrency against the vLLM server
(datagen/vllm_server.py), all writing the seed's layout to the `sqlcomplete-datagen` Volume.

    modal run datagen/modal_datagen.py::main \
        --llm-url https://<workspace>--sqlcomplete-vllm-serve.modal.run/v1
    modal run datagen/modal_datagen.py::schemas --llm-url URL/v1 --shards 16 \
        --flags "--max-retries 6"
    modal volume get sqlcomplete-datagen llm/groups.jsonl.gz data/llm/groups.jsonl.gz

Resuming works as locally: finished unit files are skipped, so rerunning a stage (or Modal
retrying a preempted container) redoes only what is missing.
"""

import asyncio
import shlex
from collections import Counter

import modal

APP = "sqlcomplete-datagen"
ROOT = "/data"  # where the Volume is mounted
OUT = f"{ROOT}/llm"
MINUTES = 60  # seconds

image = (
    modal.Image.debian_slim(python_version="3.11")
    .uv_pip_install(
        "openai==3.3.0", "instructor==1.17.0", "pydantic==2.14.3", "sqlglot==30.30.0", "tqdm"
    )
    .add_local_python_source("datagen")
)
volume = modal.Volume.from_name("sqlcomplete-datagen", create_if_missing=True)
app = modal.App(APP)


@app.function(
    image=image,
    volumes={ROOT: volume},
    timeout=24 * 60 * MINUTES,
    retries=modal.Retries(max_retries=3, initial_delay=30.0),
)
def run_stage(stage: str, shard: str, options: dict) -> dict:
    """One stage for the topics of one shard ("I/N"); returns its counts."""
    from datagen import llm

    llm.quiet_logs()
    cfg = llm.Config(**{**options, "out": OUT, "stage": stage, "shard": shard})
    try:
        stats, report = asyncio.run(llm.generate(cfg))
    finally:
        # Modal also commits in the background; this makes the end of a shard durable now
        volume.commit()
    print(llm.format_summary(stats))
    return {name: s.as_dict() for name, s in stats.items()}


@app.function(image=image, volumes={ROOT: volume}, timeout=30 * MINUTES)
def sweep() -> list[str]:
    """Repair what killed containers left (temp files, reports still "running", corrupt units set
    aside to be regenerated); only between stages, when nothing writes."""
    from datagen import llm

    volume.reload()
    lines = llm.recover(OUT)
    volume.commit()
    return lines


@app.function(image=image, volumes={ROOT: volume}, timeout=30 * MINUTES)
def merge_details() -> int:
    """topic_detail.json from the shards' per-topic units (shards never write it themselves)."""
    from datagen import store

    volume.reload()
    n = store.merge_details(OUT)
    volume.commit()
    return n


def _options(llm_url: str, flags: str) -> dict:
    """datagen.llm's Config as a dict, from its own command-line flags (defaults: the seed's
    values)."""
    import dataclasses

    from datagen import llm

    cfg = llm.parse_args(shlex.split(flags) + (["--llm-url", llm_url] if llm_url else []))
    return dataclasses.asdict(cfg)


def _run(stage: str, llm_url: str, shards: int, flags: str) -> None:
    from datagen import llm

    options = _options(llm_url, flags)
    print("\n".join(sweep.remote()))
    if stage in ("topics", "groups"):  # one unit, or a local rebuild: no fan-out
        results = [run_stage.remote(stage, "0/1", options)]
    else:
        results = list(
            run_stage.starmap([(stage, f"{i}/{shards}", options) for i in range(shards)])
        )
    if stage == "details":
        print(f"topic_detail.json holds {merge_details.remote()} topics")
    total = llm.Stats()
    for result in results:
        s = result[stage]
        for key, value in s.items():
            setattr(
                total,
                key,
                getattr(total, key) + (Counter(value) if isinstance(value, dict) else value),
            )
    print(llm.format_summary({stage: total}))
    if total.failed:
        print(f"{total.failed} {stage} units failed; rerun to finish them")


@app.local_entrypoint()
def main(llm_url: str, shards: int = 8, flags: str = "") -> None:
    """All stages. --flags passes datagen.llm flags, e.g. "--limit-topics 2 --concurrency 32"."""
    for stage in ("topics", "details", "schemas", "statements", "groups"):
        _run(stage, llm_url, shards, flags)


@app.local_entrypoint()
def topics(llm_url: str, flags: str = "") -> None:
    _run("topics", llm_url, 1, flags)


@app.local_entrypoint()
def details(llm_url: str, shards: int = 8, flags: str = "") -> None:
    _run("details", llm_url, shards, flags)


@app.local_entrypoint()
def schemas(llm_url: str, shards: int = 8, flags: str = "") -> None:
    _run("schemas", llm_url, shards, flags)


@app.local_entrypoint()
def statements(llm_url: str, shards: int = 8, flags: str = "") -> None:
    _run("statements", llm_url, shards, flags)


@app.local_entrypoint()
def groups(flags: str = "") -> None:
    _run("groups", "", 1, flags)
