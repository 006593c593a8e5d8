"""completion/service.py: the one pipeline every front end uses (the database's values merged with
the completer's suggestions, the FIM backend with its own outage state and the local model as its
fallback) and the one debounce-and-supersede rule (LatestRequests) of the editor and the server."""

import asyncio
import sqlite3
import time
from types import SimpleNamespace

import pytest
from lsprotocol import types as T

from sqlcomplete.completion.service import CompletionService, LatestRequests
from sqlcomplete.db.database import Database, DbOptions

AT_VALUE = "SELECT * FROM customers WHERE status = '"
STATUSES = ["active"] * 5 + ["inactive"] * 3 + ["banned"]


class FakeCompleter:
    def __init__(self, answer=("active'", "x", "y")):
        self.answer, self.schemas, self.calls = list(answer), [], []

    def set_schema(self, schema):
        self.schemas.append(schema)

    def complete(self, prefix, suffix="", n=5):
        self.calls.append((prefix, suffix, n))
        return self.answer[:n]


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "shop.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, status TEXT)")
    for i in range(45):
        con.execute(f"INSERT INTO customers VALUES ({i}, '{STATUSES[i % len(STATUSES)]}')")
    con.commit()
    con.close()
    db = Database(DbOptions(f"sqlite:///{path}"))
    db.refresh()
    return db


# ---------------------------------------------------------------- the database's values


def test_values_come_first_merged_with_the_completers(db):
    fake = FakeCompleter()
    service = CompletionService(fake, db, values=True)
    # the database's values first, most common first; the completer's after them, once each
    assert service.complete(AT_VALUE, "", 5) == ["active'", "inactive'", "banned'", "x", "y"]
    assert service.complete(AT_VALUE, "", 2) == ["active'", "inactive'"]
    assert service.complete(AT_VALUE + "in", "'", 5) == ["active", "active'", "x", "y"]
    assert service.complete("SELECT ", "", 5) == ["active'", "x", "y"]  # not at a value
    assert fake.calls[0] == (AT_VALUE, "", 5)
    assert service.complete("", n=1) == ["active'"]  # the editor's warm-up call
    without = CompletionService(FakeCompleter(), db, values=False)
    assert without.complete(AT_VALUE, "", 5) == ["active'", "x", "y"]


def test_schema_is_the_databases_where_none_is_given(db):
    fake = FakeCompleter()
    service = CompletionService(fake, db)
    service.set_schema("")
    service.set_schema("CREATE TABLE t (x INT);")
    assert fake.schemas[0] == "\n\n".join(db.ddl) and "CREATE TABLE customers" in fake.schemas[0]
    assert fake.schemas[1] == "CREATE TABLE t (x INT);"
    alone = CompletionService(fake, None, values=True)  # no database: nothing to merge
    alone.set_schema("")
    assert fake.schemas[2] == "" and alone.complete(AT_VALUE) == ["active'", "x", "y"]


# ---------------------------------------------------------------- the FIM backend and its fallback


class FakeOpenAI:
    """The AsyncOpenAI client's completions.create: answers, fails, or hangs."""

    def __init__(self):
        self.mode, self.prompts = "ok", []
        self.completions = self

    async def create(self, **kw):
        self.prompts.append(kw["prompt"])
        if self.mode == "error":
            raise ConnectionError("connection refused")
        if self.mode == "slow":
            await asyncio.sleep(30)
        return SimpleNamespace(choices=[SimpleNamespace(text="gold'"), SimpleNamespace(text=" ")])


def fim_backend(retry_s: float):
    pytest.importorskip("openai")
    from sqlcomplete.completion.fim_backend import FimBackend

    logs = []
    fim = FimBackend(
        "http://127.0.0.1:9/v1",
        "m",
        timeout=0.1,
        retry_s=retry_s,
        log=lambda message, warning: logs.append((message, warning)),
    )
    fim.client = FakeOpenAI()
    return fim, logs


def test_fim_answers_first_and_falls_back_to_the_local_model(db):
    fim, logs = fim_backend(retry_s=0)
    service = CompletionService(None, db, values=True, fim=fim)
    ran = []

    async def local():
        ran.append(1)
        return ["silver'", "x"], "local"

    def complete(prefix="SELECT ", prompt="P"):
        return asyncio.run(service.complete_async(prefix, "", 5, local, prompt))

    assert complete() == (["gold'"], "fim") and not ran  # blank suggestions are dropped
    assert complete(AT_VALUE) == (["active'", "inactive'", "banned'", "gold'"], "fim")
    assert fim.client.prompts == ["P", "P"]  # the prompt is the front end's: no values in it
    fim.client.mode = "error"
    for _ in range(2):  # an outage: the local model answers, said once
        assert complete(AT_VALUE) == (["active'", "inactive'", "banned'", "silver'", "x"], "local")
    assert logs == [
        (
            "FIM backend http://127.0.0.1:9/v1 failed (ConnectionError: connection refused): "
            "falling back to the local model",
            True,
        )
    ]
    fim.client.mode = "slow"
    assert complete() == (["silver'", "x"], "local")
    assert len(logs) == 1  # the same outage
    fim.client.mode = "ok"
    assert complete() == (["gold'"], "fim")
    assert logs[-1] == ("FIM backend http://127.0.0.1:9/v1 answers again", False)
    assert complete(prompt=None) == (["silver'", "x"], "local")  # no prompt: the local model
    assert len(fim.client.prompts) == 6


def test_fim_outage_lasts_retry_s_and_a_cancel_is_no_outage():
    fim, logs = fim_backend(retry_s=30)
    fim.client.mode = "slow"

    async def cancelled():
        task = asyncio.ensure_future(fim.complete("P"))
        while not fim.client.prompts:
            await asyncio.sleep(0.01)
        task.cancel()  # a newer request superseded this one: the backend is not down
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled())
    assert fim.available() and not logs
    assert asyncio.run(fim.complete("P")) is None  # no answer in time
    assert not fim.available()  # the local model answers alone for retry_s
    assert logs == [
        (
            "FIM backend http://127.0.0.1:9/v1 failed (no answer in 0.1 s): "
            "falling back to the local model",
            True,
        )
    ]


def test_a_dropped_request_gets_no_values(db):
    service = CompletionService(None, db, values=True)

    async def superseded():
        return None, "local"

    assert asyncio.run(service.complete_async(AT_VALUE, "", 5, superseded)) == (None, "local")


# ---------------------------------------------------------------- debounce and supersede


def test_latest_requests_keeps_the_newest_per_document():
    latest = LatestRequests()
    assert latest.quiet_left("a", 0.05) is None and latest.take("a") is None
    latest.post("a", 1)
    latest.post("b", 10)
    latest.post("a", 2)  # supersedes 1
    assert not latest.is_newest("a", 1) and latest.is_newest("a", 2) and latest.is_newest("b", 10)
    assert 0 < latest.quiet_left("a", 0.05) <= 0.05
    time.sleep(0.06)
    assert latest.quiet_left("a", 0.05) == 0  # quiet long enough: it runs now
    assert latest.quiet_left("a", 0) == 0
    assert latest.take("a") == 2 and latest.quiet_left("a", 0.05) is None
    latest.cancel("b")
    assert latest.take("b") is None and not latest.is_newest("b", 10)


def test_language_server_drops_a_request_superseded_while_it_waited(tiny_ckpt, tmp_path):
    from test_lsp import Session

    init = {"debounceMs": 300, "schema": "CREATE TABLE notes (note_id INT, body TEXT);"}
    s = Session(["--ckpt", tiny_ckpt, "--poll-s", "0"], tmp_path, init)
    try:
        uri = s.open(tmp_path / "q.sql", "SELECT * FROM ")

        async def two():
            def ask(col):
                params = T.CompletionParams(T.TextDocumentIdentifier(uri=uri), T.Position(0, col))
                return s.client.text_document_completion_async(params)

            first = asyncio.ensure_future(ask(7))
            await asyncio.sleep(0.05)  # inside the first one's quiet spell
            second = asyncio.ensure_future(ask(14))
            return await first, await second

        old, new = s.run(two())
        assert old.is_incomplete and not old.items  # superseded: ask again
        assert new.items
    finally:
        s.close()
