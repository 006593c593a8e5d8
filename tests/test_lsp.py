"""The language server (python -m sqlcomplete.lsp) over stdio with a pygls client or raw frames:
completion shape, schema sources, cancellation, bad input, positions in each encoding, the
lifecycle, the terminal, and the FIM path against a small OpenAI-compatible server (prompt
byte-identical to fim/csv_to_fim.py's)."""

import asyncio
import concurrent.futures
import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import SCHEMA
from lsprotocol import types as T
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from sqlcomplete.fim.bpe import BYTE_TO_CHAR, QWEN2_PATTERN
from sqlcomplete.sql.scan import SqlDocument, scan, split_statements

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the statement scanner


def test_scanner_respects_strings_names_comments():
    text = (
        "CREATE TABLE a (id INT, 'x;y' TEXT);\n-- c;omment\n"
        "SELECT 'a;''b', \"q;\", `r;` FROM a; /* ; */ "
        "SELECT $t$;$t$ FROM\n  a WHERE x = 1;\n\nSELECT 1\n\nSELECT 2\nFROM t;"
    )
    assert split_statements(text) == [
        "CREATE TABLE a (id INT, 'x;y' TEXT);",
        "SELECT 'a;''b', \"q;\", `r;` FROM a;",
        "SELECT $t$;$t$ FROM\n  a WHERE x = 1;",
        "SELECT 1",
        "SELECT 2\nFROM t;",
    ]
    assert scan("SELECT 'it''s")[0].mode == "'"
    assert scan("SELECT a$b$ FROM t;")[1] == [19]  # a$b$ is a name, not a dollar quote
    b = SqlDocument(text)
    cur = b.cursor(3, 5)
    assert (cur.prefix, cur.suffix) == ("SELECT $t$;$t$ FROM\n  a W", "HERE x = 1;")
    assert b.history(cur.start) == [
        "CREATE TABLE a (id INT, 'x;y' TEXT);",
        "SELECT 'a;''b', \"q;\", `r;` FROM a;",
    ]
    assert b.cursor(1, 5).mode == "--"
    assert b.cursor(8, 3).prefix == "SELECT 2\nFRO"


def test_buffer_edits_match_full_text():
    b = SqlDocument("SELECT 1;\r\nSELECT a\r\nFROM t;\n")
    b.edit(1, 8, 1, 8, ", b")
    b.edit(0, 0, 0, 6, "select")
    b.edit(2, 4, 3, 0, "")  # join the last line with the empty one after it
    assert b.text() == "select 1;\r\nSELECT a, b\r\nFROM"
    b.edit(2, 4, 2, 4, " t;\nSELECT * FROM ")
    assert b.lines == ["select 1;\r\n", "SELECT a, b\r\n", "FROM t;\n", "SELECT * FROM "]
    assert b.cursor(3, 14).prefix == "SELECT * FROM "


def test_ddl_is_reread_only_after_edits_near_it():
    b = SqlDocument(SCHEMA + "\n\n" + "SELECT 1;\n" * 50)
    assert len(b.ddl()) == 2
    v = b.ddl_version
    b.edit(40, 0, 40, 0, "SELECT 2;\n")  # far from the CREATE TABLEs: kept
    assert b.ddl_version == v and b._ddl is not None
    b.edit(7, 0, 7, 0, "    zip STRING,\n")  # inside one: re-read
    assert b.ddl_version > v and "zip STRING" in b.ddl()[1]
    b.edit(60, 0, 60, 0, "create table t (x int);\n")
    assert len(b.ddl()) == 3


def test_long_file_costs_its_statement_not_its_length():
    b = SqlDocument(
        "SELECT name, email FROM customers WHERE name LIKE 'A;%';\n" * 50_000 + "SELECT * FROM "
    )
    b.cursor(50_000, 14)  # the first call scans the file once
    t0 = time.process_time()  # CPU time: a busy machine does not make it fail
    for i in range(20):
        b.edit(50_000, 14 + i, 50_000, 14 + i, "c")
        cur = b.cursor(50_000, 15 + i)
    per_key = (time.process_time() - t0) / 20
    assert cur.prefix == "SELECT * FROM " + "c" * 20 and cur.start == (49_999, 56)
    assert per_key < 0.005, per_key


# ---------------------------------------------------------------- a client session


class Session:
    """`python lsp.py ARGS` driven by a pygls client on an event loop in a background thread."""

    def __init__(self, args: list[str], root: Path, init: dict | None = None):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.client = LanguageClient("test", "1")
        self.logs: list[str] = []
        self.client.feature(T.WINDOW_LOG_MESSAGE)(lambda p: self.logs.append(p.message))
        self.client.feature(T.WINDOW_SHOW_MESSAGE)(lambda p: self.logs.append(p.message))
        self.versions: dict[str, int] = {}
        self.run(
            self.client.start_io(sys.executable, "-m", "sqlcomplete.lsp", *args, cwd=str(ROOT))
        )
        utf16 = [T.PositionEncodingKind.Utf16]
        caps = T.ClientCapabilities(general=T.GeneralClientCapabilities(position_encodings=utf16))
        self.run(
            self.client.initialize_async(
                T.InitializeParams(
                    capabilities=caps,
                    root_uri=from_fs_path(str(root)),
                    initialization_options=init or {},
                )
            ),
            60,
        )
        self.call(self.client.initialized, T.InitializedParams())

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args):
        async def go():
            return fn(*args)

        return self.run(go())

    def open(self, path: Path, text: str) -> str:
        uri = from_fs_path(str(path))
        self.versions[uri] = 1
        self.call(
            self.client.text_document_did_open,
            T.DidOpenTextDocumentParams(
                T.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text)
            ),
        )
        return uri

    def change(self, uri: str, l0: int, c0: int, l1: int, c1: int, text: str) -> None:
        self.versions[uri] += 1
        self.call(
            self.client.text_document_did_change,
            T.DidChangeTextDocumentParams(
                T.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                [
                    T.TextDocumentContentChangePartial(
                        range=T.Range(T.Position(l0, c0), T.Position(l1, c1)), text=text
                    )
                ],
            ),
        )

    def complete(
        self, uri: str, line: int, character: int, timeout: float = 30
    ) -> T.CompletionList:
        return self.run(
            self.client.text_document_completion_async(
                T.CompletionParams(T.TextDocumentIdentifier(uri=uri), T.Position(line, character))
            ),
            timeout,
        )

    def request(self, method: str, params, msg_id=None):
        async def go():
            return await self.client.protocol.send_request_async(method, params, msg_id=msg_id)

        return self.run(go())

    def raw_request(self, method: str, params: dict):
        """A request as raw JSON, for parameters lsprotocol's types refuse to build."""

        async def go():
            proto = self.client.protocol
            fut = proto._request_futures["raw"] = concurrent.futures.Future()
            body = json.dumps(
                {"jsonrpc": "2.0", "id": "raw", "method": method, "params": params}
            ).encode()
            proto.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            return await asyncio.wrap_future(fut)

        return self.run(go())

    def command(self, name: str, *args):
        return self.run(
            self.client.workspace_execute_command_async(
                T.ExecuteCommandParams(command=name, arguments=list(args))
            )
        )

    def wait_for(self, cond, timeout: float = 10.0):
        end = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < end, "timed out"
            time.sleep(0.05)

    def close(self):
        async def stop():
            await self.client.shutdown_async(None)
            self.client.exit(None)
            await asyncio.wait_for(self.client.stop(), 10)

        try:
            self.run(stop(), 20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)


def edits(result: T.CompletionList) -> list[tuple]:
    return [
        (
            (i.text_edit.range.start.line, i.text_edit.range.start.character),
            (i.text_edit.range.end.line, i.text_edit.range.end.character),
            i.text_edit.new_text,
        )
        for i in result.items
    ]


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    (root / "schema.sql").write_text(SCHEMA)
    (root / "latin1.sql").write_bytes("CREATE TABLE caf\xe9 (id INT);".encode("latin-1"))
    return root


@pytest.fixture(scope="module")
def session(tiny_ckpt, ws):
    db = ws / "live.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE products (product_id INTEGER PRIMARY KEY, title TEXT)")
    con.commit()
    con.close()
    s = Session(
        ["--ckpt", tiny_ckpt, "--db", f"sqlite:///{db}", "--poll-s", "0.2"],
        ws,
        {"debounceMs": 250, "schema": "CREATE TABLE notes (note_id INT, body TEXT);"},
    )
    schema_uri = from_fs_path(
        str(ws / "schema.sql")
    )  # until the model is loaded the n-gram answers alone
    s.wait_for(lambda: s.command("sqlcomplete.schema", schema_uri)["model"] == "ready", 60)
    yield s
    s.close()


# ---------------------------------------------------------------- completion shape


def test_completion_inside_a_word(session, ws):
    uri = session.open(ws / "a.sql", "SELECT na FROM customers;")
    r = session.complete(uri, 0, 9)
    assert r.items and len(r.items) <= 5
    assert [i.sort_text for i in r.items] == sorted(i.sort_text for i in r.items)
    for (start, end, new), item in zip(edits(r), r.items):
        assert (start, end) == ((0, 7), (0, 9))  # the partly typed word, not the whole line
        assert new.startswith("na") and item.filter_text == new and item.detail == "local model"
    inline = session.request(
        T.TEXT_DOCUMENT_INLINE_COMPLETION,
        T.InlineCompletionParams(
            context=T.InlineCompletionContext(trigger_kind=T.InlineCompletionTriggerKind.Automatic),
            text_document=T.TextDocumentIdentifier(uri=uri),
            position=T.Position(0, 9),
        ),
    )
    assert len(inline.items) == 1 and inline.items[0].insert_text == r.items[0].text_edit.new_text
    assert inline.items[0].range.start.character == 7


def test_completion_after_from_and_qualified_column(session, ws):
    text = "SELECT * FROM \n\nSELECT c. FROM customers AS c;\n\nSELECT c.na FROM customers AS c;"
    uri = session.open(ws / "b.sql", text)
    for line, col, start in ((0, 14, 14), (2, 9, 9), (4, 11, 9)):
        r = session.complete(uri, line, col)
        assert r.items
        for s, e, _ in edits(r):
            assert s == (line, start) and e == (
                line,
                col,
            )  # after 'c.' nothing is replaced; in 'c.na' only 'na'


def test_second_statement_and_utf16_columns(session, ws):
    text = "SELECT 'h\u00e9\U0001f600' AS x FROM customers;\nSELECT '\U0001f600', na"
    uri = session.open(ws / "c.sql", text)
    r = session.complete(uri, 1, 15)  # UTF-16 columns: the emoji counts 2
    assert r.items and {(s, e) for s, e, _ in edits(r)} == {((1, 13), (1, 15))}


def test_schema_sources_and_changes(session, ws):
    uri = session.open(ws / "d.sql", "SELECT * FROM ")
    tables = lambda: set(session.command("sqlcomplete.schema", uri)["tables"])
    session.wait_for(lambda: {"customers", "orders", "products", "notes"} <= tables())
    assert not any(
        t.startswith("caf") for t in tables()
    )  # the Latin-1 file is skipped, and said so
    assert any("latin1.sql" in m and "not UTF-8" in m for m in session.logs)
    session.change(uri, 0, 0, 0, 0, "CREATE TABLE zebras (zebra_id INT, stripes INT);\n")
    assert "zebras" in tables()
    assert session.complete(uri, 1, 14).items
    (ws / "more.sql").write_text("CREATE TABLE lions (lion_id INT);")
    session.wait_for(lambda: "lions" in tables())
    con = sqlite3.connect(ws / "live.db")
    con.execute("CREATE TABLE tigers (tiger_id INTEGER)")
    con.commit()
    con.close()
    session.wait_for(lambda: "tigers" in tables())
    session.change(uri, 0, 0, 1, 0, "")  # the buffer's table is gone again
    assert "zebras" not in tables()
    assert session.complete(uri, 0, 14).items


# -------------------------------------------------------- cancellation, stale results, bad input


def test_cancel_and_stale_results(session, ws):
    uri = session.open(ws / "e.sql", "SELECT * FROM ")
    params = T.CompletionParams(T.TextDocumentIdentifier(uri=uri), T.Position(0, 14))

    async def cancelled():
        fut = session.client.protocol.send_request_async(
            T.TEXT_DOCUMENT_COMPLETION, params, msg_id="c1"
        )
        session.client.cancel_request(T.CancelParams(id="c1"))
        return await fut

    with pytest.raises(JsonRpcException) as e:
        session.run(cancelled())
    assert e.value.code == -32800  # RequestCancelled

    async def changed_meanwhile():
        fut = session.client.protocol.send_request_async(T.TEXT_DOCUMENT_COMPLETION, params)
        session.versions[uri] += 1
        session.client.text_document_did_change(
            T.DidChangeTextDocumentParams(
                T.VersionedTextDocumentIdentifier(uri=uri, version=session.versions[uri]),
                [
                    T.TextDocumentContentChangePartial(
                        range=T.Range(T.Position(0, 14), T.Position(0, 14)), text="c"
                    )
                ],
            )
        )
        return await fut

    stale = session.run(changed_meanwhile())
    assert stale.is_incomplete and not stale.items  # computed for text that is gone: dropped
    assert session.complete(uri, 0, 15).items


def test_bad_positions_are_errors(session, ws):
    uri = session.open(ws / "f.sql", "SELECT * FROM ")
    with pytest.raises(JsonRpcException) as e:
        session.complete(uri, 5, 0)
    assert e.value.code == -32602 and "past the end" in e.value.message
    with pytest.raises(JsonRpcException) as e:
        session.raw_request(
            T.TEXT_DOCUMENT_COMPLETION,
            {"textDocument": {"uri": uri}, "position": {"line": -1, "character": 0}},
        )
    assert e.value.code == -32602 and "position" in e.value.message
    r = session.complete(uri, 0, 999)  # past the line's end means its end (LSP)
    assert {(s, e) for s, e, _ in edits(r)} <= {((0, 14), (0, 14))}
    with pytest.raises(JsonRpcException) as e:
        session.complete("file:///nowhere/missing.sql", 0, 0)
    assert e.value.code == -32803


def test_non_utf8_documents_are_errors(session, ws):
    path = ws / "bytes.sql"
    path.write_bytes(b"SELECT * FROM caf\xe9 WHERE ")
    uri = from_fs_path(str(path))
    body = (
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "'
        + uri.encode()
        + b'", "languageId": "sql", "version": 1, "text": "SELECT * FROM caf\xe9 WHERE "}}}'
    )

    async def send_raw():
        session.client.protocol.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    session.run(send_raw())
    with pytest.raises(JsonRpcException) as e:
        session.complete(uri, 0, 22)
    assert e.value.code == -32803 and "not UTF-8" in e.value.message
    assert any("message dropped: not UTF-8" in m for m in session.logs)
    lone = session.open(ws / "g.sql", "SELECT '\ud800' FROM ")
    with pytest.raises(JsonRpcException) as e:
        session.complete(lone, 0, 16)
    assert e.value.code == -32803
    assert session.complete(session.open(ws / "h.sql", "SELECT "), 0, 7).items  # still serving


# ---------------------------------------------------------------- the FIM backend

SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
]


def byte_tokenizer(path: Path) -> Path:
    """A Qwen-shaped tokenizer.json with one token per byte: prompt lengths are easy to steer."""
    vocab = {c: i for i, c in enumerate(BYTE_TO_CHAR.values())}
    added = [
        {
            "id": 256 + i,
            "content": s,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, s in enumerate(SPECIALS)
    ]
    spec = {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": None,
        "post_processor": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": QWEN2_PATTERN},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {
                    "type": "ByteLevel",
                    "add_prefix_space": False,
                    "trim_offsets": False,
                    "use_regex": False,
                },
            ],
        },
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab, "merges": []},
    }
    path.write_text(json.dumps(spec))
    return path


class FakeVLLM:
    """/v1/completions on 127.0.0.1: records prompts; mode "ok", "slow" (past the client's
    timeout) or "error"."""

    def __init__(self, answer: str, lifetime: float = 180):
        self.answer, self.mode, self.delay, self.requests = answer, "ok", 0.0, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                time.sleep(4.0 if fake.mode == "slow" else fake.delay)
                if fake.mode == "error":
                    out, code = {"error": {"message": "boom", "type": "server_error"}}, 500
                else:
                    out, code = (
                        {
                            "id": "c",
                            "object": "text_completion",
                            "created": 0,
                            "model": body["model"],
                            "choices": [
                                {
                                    "index": 0,
                                    "text": fake.answer,
                                    "finish_reason": "stop",
                                    "logprobs": None,
                                }
                            ],
                        },
                        200,
                    )
                data = json.dumps(out).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.timer = threading.Timer(lifetime, self.httpd.shutdown)  # stops by itself
        self.timer.daemon = True
        self.timer.start()

    def close(self):
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()


FIM_BUFFER = (
    "-- report queries\nSELECT name FROM customers;\n"
    "INSERT INTO orders (order_id, customer_id, total) VALUES (1, 'a', 2.5);\n\n"
    "SELECT o.total, c.na FROM orders AS o JOIN customers AS c ON o.customer_id = c.customer_id;\n"
)


def csv_to_fim_prompt(
    tmp: Path, context: dict, prefix: str, suffix: str, tok: Path, max_length: int
) -> str:
    row = {
        "INPUT": json.dumps(
            [
                {"type": "text", "text": json.dumps(context)},
                {"type": "text", "text": prefix + "<fillMe>" + suffix},
            ]
        ),
        "OUTPUT": "",
    }
    (tmp / "rows.jsonl").write_text(json.dumps(row) + "\n")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "fim" / "csv_to_fim.py"),
            str(tmp / "rows.jsonl"),
            "-o",
            str(tmp / "out.jsonl"),
            "--tokenizer",
            str(tok),
            "--format",
            "jsonl",
            "--max-length",
            str(max_length),
            "--no-progress",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return json.loads((tmp / "out.jsonl").read_text())["prompt"]


def test_fim_prompt_identical_to_csv_to_fim_and_fallback(tiny_ckpt, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "schema.sql").write_text(SCHEMA)
    tok = byte_tokenizer(tmp_path / "tokenizer.json")
    context = {
        "ddl_context": SCHEMA,
        "sql_history": [
            "SELECT name FROM customers;",
            "INSERT INTO orders (order_id, customer_id, total) VALUES (1, 'a', 2.5);",
        ],
        "file_content": FIM_BUFFER,
    }
    prefix, suffix = (
        "SELECT o.total, c.na",
        " FROM orders AS o JOIN customers AS c ON o.customer_id = c.customer_id;",
    )
    from sqlcomplete.fim.prompt import build_prompt

    full = len(build_prompt(context, prefix, suffix).encode())
    max_len = (
        full - 200
    )  # past the budget: the history and file are trimmed by fim/prompt.py's policy
    fake = FakeVLLM("me")
    s = Session(
        [
            "--ckpt",
            tiny_ckpt,
            "--schema",
            str(tmp_path / "schema.sql"),
            "--fim-url",
            fake.url,
            "--fim-model",
            "qwen3-sql-fim",
            "--fim-tokenizer",
            str(tok),
            "--fim-max-prompt-tokens",
            str(max_len),
            "--fim-timeout",
            "2",
            "--fim-retry-s",
            "0",
            "--poll-s",
            "0",
        ],
        ws,
    )
    try:
        uri = s.open(ws / "q.sql", FIM_BUFFER)

        def bump():  # a new document version: a new request, not the cached answer
            s.change(uri, 5, 0, 5, 0, "-")

        r = s.complete(uri, 4, 20)
        assert [(i.text_edit.new_text, i.detail) for i in r.items] == [("name", "Qwen3 FIM")]
        sent = fake.requests[-1]
        expected = csv_to_fim_prompt(tmp_path, context, prefix, suffix, tok, max_len)
        assert sent["prompt"].encode() == expected.encode()
        assert full > len(sent["prompt"].encode()) and sent["prompt"].endswith(
            prefix + "<|fim_suffix|>" + suffix + "<|fim_middle|>"
        )
        assert (
            sent["model"] == "qwen3-sql-fim"
            and "<|im_end|>" in sent["stop"]
            and sent["max_tokens"] == 64
        )

        fake.delay = 0.6  # the answer comes after the document changed: dropped

        async def changed_meanwhile():
            fut = asyncio.ensure_future(
                s.client.text_document_completion_async(
                    T.CompletionParams(T.TextDocumentIdentifier(uri=uri), T.Position(4, 20))
                )
            )
            while (
                len(fake.requests) == n
            ):  # the FIM server has the request: now the document changes
                await asyncio.sleep(0.01)
            s.versions[uri] += 1
            s.client.text_document_did_change(
                T.DidChangeTextDocumentParams(
                    T.VersionedTextDocumentIdentifier(uri=uri, version=s.versions[uri]),
                    [
                        T.TextDocumentContentChangePartial(
                            range=T.Range(T.Position(5, 0), T.Position(5, 0)), text="-"
                        )
                    ],
                )
            )
            return await fut

        bump()
        n = len(fake.requests)
        stale = s.run(changed_meanwhile())
        assert len(fake.requests) == n + 1 and not stale.items and stale.is_incomplete
        fake.delay = 0.0

        schema_uri = from_fs_path(
            str(tmp_path / "schema.sql")
        )  # the fallback is the model, once it is loaded
        s.wait_for(lambda: s.command("sqlcomplete.schema", schema_uri)["model"] == "ready", 60)
        for mode in ("slow", "error"):
            fake.mode = mode
            for _ in range(2):
                bump()
                r = s.complete(uri, 4, 20)
                assert r.items and {i.detail for i in r.items} == {"local model"}
            assert sum("falling back" in m for m in s.logs) == 1, s.logs  # once per outage
            fake.mode = "ok"
            bump()
            assert [i.detail for i in s.complete(uri, 4, 20).items] == ["Qwen3 FIM"]
            assert any("answers again" in m for m in s.logs)
            s.logs.clear()
    finally:
        s.close()
        fake.close()


# ------------------------------------------------ framing, start-up (raw stdio, no client library)


class RawClient:
    """Content-Length framed JSON-RPC by hand: a test can send what no client library would."""

    def __init__(self, args: list[str], stderr=subprocess.DEVNULL, env: dict | None = None):
        self.p = subprocess.Popen(
            [sys.executable, "-m", "sqlcomplete.lsp", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env=env,
        )
        self.messages: list[dict] = []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            length = None
            while True:
                line = self.p.stdout.readline()
                if not line:
                    return
                if line.strip() == b"":
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(self.p.stdout.read(length))
            with self.lock:
                self.messages.append(msg)
                self.lock.notify_all()

    def write(self, data: bytes) -> None:
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def send(self, msg: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        self.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def wait(self, cond, timeout: float = 60.0) -> dict:
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                for m in self.messages:
                    if cond(m):
                        self.messages.remove(m)
                        return m
                assert self.lock.wait(max(0.0, end - time.monotonic())) or time.monotonic() < end, (
                    "timed out"
                )

    def request(self, msg_id, method: str, params, timeout: float = 60.0) -> dict:
        self.send({"id": msg_id, "method": method, "params": params})
        return self.wait(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def start(
        self, init: dict | None = None, capabilities: dict | None = None, root_uri=None
    ) -> dict:
        """initialize (its result returned), then initialized."""
        r = self.request(
            0,
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root_uri,
                "capabilities": capabilities or {},
                "initializationOptions": init or {},
            },
        )
        self.send({"method": "initialized", "params": {}})
        return r

    def logs(self) -> list[str]:
        with self.lock:
            return [
                m["params"]["message"]
                for m in self.messages
                if m.get("method") in ("window/logMessage", "window/showMessage")
            ]

    def open(self, uri: str, text: str) -> None:
        doc = {"uri": uri, "languageId": "sql", "version": 1, "text": text}
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": doc}})

    def complete(self, msg_id, uri: str, line: int, character: int) -> dict:
        position = {"line": line, "character": character}
        params = {"textDocument": {"uri": uri}, "position": position}
        return self.request(msg_id, "textDocument/completion", params)

    def close(self) -> int:
        self.request("bye", "shutdown", None)
        self.send({"method": "exit", "params": None})
        return self.p.wait(20)


def test_framing_survives_bad_lengths_and_bad_json(tiny_ckpt):
    c = RawClient(["--ckpt", tiny_ckpt, "--poll-s", "0", "--schema-glob", ""])
    try:
        c.start()
        c.write(b"Content-Length: 1099511627776\r\n\r\n")  # 1 TiB: refused, not allocated
        c.send({"id": 1, "method": "shutdown_not_yet", "params": None})  # still read and answered
        assert c.wait(lambda m: m.get("id") == 1)["error"]["code"] == -32601
        c.write(
            b'Content-Length: abc\r\n\r\n{"jsonrpc": "2.0"}'
        )  # not a number: skipped to the next header
        c.send(
            {
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": "sqlcomplete.schema", "arguments": ["file:///x.sql"]},
            }
        )
        assert (
            c.wait(lambda m: m.get("id") == 2)["error"]["code"] == -32803
        )  # answered (x.sql is not open)
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 3, "method": "shutdown_not_yet", "params": None}
        ).encode()
        c.write(b"Content-Length: 10\r\n\r\n" + body)  # too short: its first 10 bytes are not JSON
        err = c.wait(lambda m: m.get("id") is None and "error" in m)
        assert err["error"]["code"] == -32700
        c.write(b"Content-Length: 9\r\n\r\n{not json")
        assert c.wait(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32700
        c.write(b"Content-Length: 2\r\n\r\n[]")
        assert c.wait(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32600
        c.write(b"Content-Length: 0\r\n\r\n")  # an empty body is not JSON either
        assert c.wait(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32700
        c.write(b'Content-Length: 9\r\n\r\n{"id": 8}')  # an object, but not JSON-RPC 2.0
        assert c.wait(lambda m: m.get("id") == 8)["error"]["code"] == -32600
        logs = [
            m["params"]["message"] for m in c.messages if m.get("method") == "window/logMessage"
        ]
        assert any("1099511627776" in m and "64 MiB" in m for m in logs), logs
        assert any("'abc'" in m and "not a number" in m for m in logs), logs
        c.send(
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": "file:///t.sql",
                        "languageId": "sql",
                        "version": 1,
                        "text": "SELECT ",
                    }
                },
            }
        )
        r = c.request(
            4,
            "textDocument/completion",
            {"textDocument": {"uri": "file:///t.sql"}, "position": {"line": 0, "character": 7}},
        )
        assert "result" in r and r["result"]["items"]
        assert c.close() == 0
    finally:
        c.p.kill()


def test_first_completion_right_after_initialized(tiny_ckpt, tmp_path):
    """Everything loads at start-up: a completion sent with `initialized` is answered (the
    latency target, 500 ms of `initialized` with the shipped model, is bench/lsp_latency.py's)."""
    (tmp_path / "s.sql").write_text(SCHEMA)
    c = RawClient(
        [
            "--ckpt",
            tiny_ckpt,
            "--schema",
            str(tmp_path / "s.sql"),
            "--poll-s",
            "0",
            "--schema-glob",
            "",
        ]
    )
    try:
        c.start()
        c.send(
            {
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": "file:///q.sql",
                        "languageId": "sql",
                        "version": 1,
                        "text": "SELECT * FROM ",
                    }
                },
            }
        )
        r = c.request(
            1,
            "textDocument/completion",
            {"textDocument": {"uri": "file:///q.sql"}, "position": {"line": 0, "character": 14}},
        )
        assert r["result"]["items"]
        assert {i["detail"] for i in r["result"]["items"]} <= {
            "local model",
            "n-gram (the model is loading)",
        }
        assert c.close() == 0
    finally:
        c.p.kill()


# ------------------------------------------------------ positions, lifecycle, errors, terminal


def units(text: str, encoding: str) -> int:
    """The length of `text` in an LSP position encoding's units."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("announced", [None, "utf-8", "utf-32"])
def test_positions_in_each_encoding_past_astral_characters(tiny_ckpt, announced):
    """A change's range and a completion's position in, the textEdit's range out, all counted in the
    encoding agreed on: UTF-16 where the client names none (most editors), else the client's."""
    encoding = announced or "utf-16"
    caps = {"general": {"positionEncodings": [announced]}} if announced else {}
    c = RawClient(["--ckpt", tiny_ckpt, "--poll-s", "0", "--schema-glob", ""])
    try:
        init = c.start(capabilities=caps)
        assert init["result"]["capabilities"]["positionEncoding"] == encoding
        uri = "file:///enc.sql"
        ddl = "CREATE TABLE t (a TEXT DEFAULT '\U0001f600\U0001f600', b_ INT);"
        query = "SELECT '\U0001f600\U0001f600', na"
        c.open(uri, ddl + "\n" + query)
        at = {"line": 0, "character": units(ddl[: ddl.index("b_") + 2], encoding)}  # after b_
        change = {"range": {"start": at, "end": at}, "text": "x"}
        c.send(
            {
                "method": "textDocument/didChange",
                "params": {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]},
            }
        )
        schema = c.request(
            1, "workspace/executeCommand", {"command": "sqlcomplete.schema", "arguments": [uri]}
        )
        assert schema["result"]["tables"]["t"] == ["a", "b_x"]  # not "b_ IxNT": two units late
        items = c.complete(2, uri, 1, units(query, encoding))["result"]["items"]
        assert items
        for item in items:  # the edit replaces `na`, and only it
            start, end = item["textEdit"]["range"]["start"], item["textEdit"]["range"]["end"]
            assert start == {"line": 1, "character": units(query[:-2], encoding)}
            assert end == {"line": 1, "character": units(query, encoding)}
            assert item["textEdit"]["newText"].startswith("na")
        assert c.close() == 0
    finally:
        c.p.kill()


def test_lifecycle_options_and_error_texts(tiny_ckpt, tmp_path):
    """A request before initialize gets -32002 and after shutdown InvalidRequest; schemaFiles as a
    string is one file; bad maxItems/debounceMs are warned about and the default kept; a -32803
    says why the document is not open; the client's errors are one line each on stderr."""
    (tmp_path / "s.sql").write_text("CREATE TABLE zebras (zebra_id INT, stripes INT);")
    with open(tmp_path / "stderr.txt", "wb") as err:
        c = RawClient(["--ckpt", tiny_ckpt, "--poll-s", "0"], stderr=err)
        try:
            assert c.complete("early", "file:///q.sql", 0, 0)["error"]["code"] == -32002
            init = c.start(
                {"schemaFiles": str(tmp_path / "s.sql"), "maxItems": "lots", "debounceMs": -5},
                root_uri="file:///",
            )
            assert "result" in init  # initialize still succeeds
            c.open("file:///q.sql", "SELECT * FROM ")
            schema = c.request(
                1,
                "workspace/executeCommand",
                {"command": "sqlcomplete.schema", "arguments": ["file:///q.sql"]},
            )
            assert "zebras" in schema["result"]["tables"]  # the file, not the path's characters
            logs = c.logs()
            assert any("maxItems 'lots'" in m and "using 5" in m for m in logs), logs
            assert any("debounceMs -5" in m and "using 0.0" in m for m in logs), logs
            assert not any("not found" in m for m in logs), logs
            assert any("/ is the file system's root" in m for m in logs), logs  # not searched
            items = c.complete(2, "file:///q.sql", 0, 14)["result"]["items"]
            assert 1 <= len(items) <= 5
            # changed but never opened: the reason is the missing didOpen, not UTF-8
            change = {"textDocument": {"uri": "file:///never.sql", "version": 2}}
            change["contentChanges"] = [{"text": "SELECT "}]
            c.send({"method": "textDocument/didChange", "params": change})
            e = c.complete(3, "file:///never.sql", 0, 0)["error"]
            assert e["code"] == -32803 and "didOpen" in e["message"], e
            assert "UTF-8" not in e["message"], e
            # a didOpen whose text is not UTF-8 is dropped, and a request for it says so
            body = (
                b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": '
                b'{"uri": "file:///latin.sql", "languageId": "sql", "version": 1, '
                b'"text": "SELECT caf\xe9"}}}'
            )
            c.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            assert c.wait(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32700
            e = c.complete(4, "file:///latin.sql", 0, 0)["error"]
            assert e["code"] == -32803 and "not UTF-8" in e["message"], e
            bad = {"textDocument": {"uri": "file:///q.sql"}, "position": {"line": -1}}
            assert c.request(5, "textDocument/completion", bad)["error"]["code"] == -32602
            assert c.request(6, "shutdown", None)["result"] is None
            assert c.complete(7, "file:///q.sql", 0, 14)["error"]["code"] == -32600
            c.send({"method": "exit", "params": None})
            assert c.p.wait(20) == 0
        finally:
            c.p.kill()
    text = (tmp_path / "stderr.txt").read_text()
    lines = text.splitlines()
    assert "Traceback" not in text and lines, text
    assert all(line.startswith("sqlcomplete-lsp: ") for line in lines), text
    assert any("never.sql" in line for line in lines), text
    assert any("missing @ $.params.position.character" in line for line in lines), text


def test_client_errors_log_one_line_and_server_faults_a_traceback(caplog):
    from pygls.exceptions import FeatureNotificationError, JsonRpcInternalError

    from sqlcomplete.lsp import OneLineClientErrors, Options, RequestFailed, SqlServer

    def logged(exc: Exception) -> str:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(OneLineClientErrors())
        log = logging.getLogger("test_lsp.one_line")
        log.addHandler(handler)
        log.propagate = False
        try:
            raise exc
        except Exception:
            log.exception('Exception occurred for message "%s"', 7)  # as pygls logs it
        finally:
            log.removeHandler(handler)
        return stream.getvalue()

    assert logged(RequestFailed("file:///x.sql is not open")) == (
        'Exception occurred for message "7": RequestFailed: file:///x.sql is not open\n'
    )
    fault = logged(RuntimeError("a bug"))
    assert "Traceback" in fault and "RuntimeError: a bug" in fault
    try:  # a fault in a notification's handler, which pygls reports but does not log
        raise RuntimeError("a bug in didChange")
    except RuntimeError:
        error = JsonRpcInternalError.of(sys.exc_info())
    with caplog.at_level(logging.ERROR, logger="sqlcomplete.lsp"):
        SqlServer(Options(schema_glob="")).report_server_error(error, FeatureNotificationError)
    assert "Traceback" in caplog.text and "RuntimeError: a bug in didChange" in caplog.text


def test_lsp_uses_pygls_through_its_public_api():
    """No private member of pygls' server, protocol or workspace is used or overridden by lsp.py
    (pygls>=2,<3 is pinned); the public hooks it overrides exist."""
    import ast
    import inspect

    from pygls.lsp.server import LanguageServer
    from pygls.protocol import LanguageServerProtocol

    private = set()  # what the classes lsp.py derives from keep to themselves
    for cls in {*LanguageServer.__mro__, *LanguageServerProtocol.__mro__}:
        if cls.__module__.startswith("pygls"):
            text = inspect.getsource(cls)
            private |= set(re.findall(r"self\.(_[a-z]\w*)", text))
            private |= set(re.findall(r"def (_[a-z]\w*)", text))
    assert {"_send_response", "_report_server_error", "_stop_event"} <= private
    source = (ROOT / "sqlcomplete" / "lsp.py").read_text()
    used = {
        node.attr if isinstance(node, ast.Attribute) else node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Attribute, ast.FunctionDef, ast.AsyncFunctionDef))
    }
    assert not used & private, sorted(used & private)
    for cls, name in (
        (LanguageServerProtocol, "structure_message"),
        (LanguageServerProtocol, "handle_message"),
        (LanguageServerProtocol, "lsp_text_document__did_open"),
        (LanguageServerProtocol, "lsp_text_document__did_change"),
        (LanguageServerProtocol, "lsp_text_document__did_close"),
        (LanguageServer, "report_server_error"),
    ):
        assert callable(getattr(cls, name, None)), name
    assert list(inspect.signature(LanguageServer.start_io).parameters) == [
        "self",
        "stdin",
        "stdout",
    ]


def test_started_in_a_terminal_it_says_so_and_one_ctrl_c_exits(tiny_ckpt):
    """`make lsp`: on a terminal it says it is for an editor, and a single Ctrl-C exits with 130."""
    import pty
    import select

    args = ["--ckpt", tiny_ckpt, "--poll-s", "0", "--schema-glob", ""]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the server, on the terminal
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, "-m", "sqlcomplete.lsp", *args])
    out, status = b"", None
    try:
        end = time.monotonic() + 60
        while b"docs/editors.md" not in out:
            assert time.monotonic() < end, out
            if select.select([fd], [], [], 1)[0]:
                out += os.read(fd, 4096)
        time.sleep(1.0)  # serving: pygls' reader thread waits on the terminal
        os.write(fd, b"\x03")  # Ctrl-C as typed: the terminal sends SIGINT
        end = time.monotonic() + 20
        while status is None and time.monotonic() < end:
            done, st = os.waitpid(pid, os.WNOHANG)
            status = st if done else None
            time.sleep(0.05)
        try:
            while select.select([fd], [], [], 0.2)[0]:
                out += os.read(fd, 4096)
        except OSError:  # the terminal closed with the child
            pass
    finally:
        if status is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert status is not None, f"one Ctrl-C did not stop it: {out!r}"
    assert os.waitstatus_to_exitcode(status) == 130, out
    assert (
        b"language server" in out and b"Fatal Python error" not in out and b"Traceback" not in out
    )


def test_the_workspace_search_is_bounded(tmp_path, monkeypatch):
    from sqlcomplete.db import sources

    work = tmp_path / "work"
    for i in range(30):
        (work / f"d{i:02d}").mkdir(parents=True)
        (work / f"d{i:02d}" / "t.sql").write_text(f"CREATE TABLE t{i} (id INT);")
    files, cut = sources.workspace_files([str(work)], "**/*.sql")
    assert len(files) == 30 and cut is None
    files, cut = sources.workspace_files([str(work)], "**/*.sql", max_folders=10)
    assert len(files) == 9 and "stopped after 10 folders" in cut  # the root and 9 below it
    files, cut = sources.workspace_files([str(work)], "**/*.sql", max_seconds=0)
    assert files == [] and "stopped" in cut
    monkeypatch.setattr(sources, "MAX_WALK_FOLDERS", 10)  # what polling would search
    src = sources.SchemaSources([], "**/*.sql", None)
    src.roots = [str(work)]
    notes = src.read(walk=True)[1]
    assert len(src.ws_paths) == 9 and len(notes) == 1 and "polling does not search" in notes[0]
    assert src.read(walk=True)[1] == [] and not src.walk_due()  # said once; not polled again
    monkeypatch.setenv("HOME", str(work))  # an editor opened on the home folder (or /)
    src = sources.SchemaSources([], "**/*.sql", None)
    src.roots = [str(work)]
    notes = src.read(walk=True)[1]
    assert src.ws_paths == [] and "the home folder" in notes[0]
    src.roots = [str(work / "d00")]  # a project: searched, and again once a pause has passed
    src.read(walk=True)
    assert src.ws_paths == [str(work / "d00" / "t.sql")] and src.walk_cut is None
    src.walked_at, src.walk_s = time.monotonic(), 0.5  # a search of 0.5 s: the next in 10 s
    assert not src.walk_due()
    src.walked_at -= 10
    assert src.walk_due()


def test_a_watched_workspace_is_not_searched_by_polling(tiny_ckpt, tmp_path):
    """Where the editor watches files (dynamic registration), its events say when to search."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.sql").write_text("CREATE TABLE apples (apple_id INT);")
    c = RawClient(["--ckpt", tiny_ckpt, "--poll-s", "0.2"])
    try:
        caps = {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}}
        c.start(capabilities=caps, root_uri=from_fs_path(str(root)))
        reg = c.wait(lambda m: m.get("method") == "client/registerCapability")
        watcher = reg["params"]["registrations"][0]["registerOptions"]["watchers"][0]
        assert watcher["globPattern"] == "**/*.sql"
        c.send({"id": reg["id"], "result": None})
        uri = from_fs_path(str(root / "q.sql"))
        c.open(uri, "SELECT * FROM ")
        asked = iter(range(1, 1000))

        def tables() -> dict:
            params = {"command": "sqlcomplete.schema", "arguments": [uri]}
            return c.request(next(asked), "workspace/executeCommand", params)["result"]["tables"]

        assert "apples" in tables()
        (root / "b.sql").write_text("CREATE TABLE bananas (banana_id INT);")
        time.sleep(1.0)  # five polls
        assert "bananas" not in tables()
        created = {"uri": from_fs_path(str(root / "b.sql")), "type": 1}
        c.send({"method": "workspace/didChangeWatchedFiles", "params": {"changes": [created]}})
        end = time.monotonic() + 10
        while "bananas" not in tables():
            assert time.monotonic() < end, "the watched file's table never came"
            time.sleep(0.1)
        assert c.close() == 0
    finally:
        c.p.kill()


# ---------------------------------------------------------------- a live PostgreSQL database


@pytest.fixture(scope="module")
def pg():
    import pg_server

    yield from pg_server.fixture_server(
        "CREATE TABLE accounts (account_id SERIAL PRIMARY KEY, owner VARCHAR(80) NOT NULL, "
        "tier TEXT NOT NULL)",
        "INSERT INTO accounts (owner, tier) SELECT 'o' || i, (ARRAY['gold', 'silver', 'silver'])"
        "[1 + i % 3] FROM generate_series(1, 90) i",
        "ANALYZE accounts",
    )


def test_live_postgres_schema_values_refresh_and_outage(tiny_ckpt, pg, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    s = Session(
        [
            "--ckpt",
            tiny_ckpt,
            "--db",
            pg.url(),
            "--db-values",
            "--db-refresh-s",
            "0",
            "--poll-s",
            "0",
            "--db-connect-timeout",
            "2",
        ],
        ws,
    )
    try:
        uri = s.open(ws / "q.sql", "SELECT * FROM accounts WHERE tier = '")
        tables = lambda: s.command("sqlcomplete.schema", uri)["tables"]
        assert tables() == {"accounts": ["account_id", "owner", "tier"]}
        r = s.complete(uri, 0, 37)
        assert [i.text_edit.new_text for i in r.items][:2] == [
            "silver'",
            "gold'",
        ]  # the data's, most common first
        assert pg.url().split("@")[0].split(":")[-1] not in " ".join(
            s.logs
        )  # no password in the log
        pg.sql(
            "CREATE TABLE invoices (invoice_id INT PRIMARY KEY, "
            "account_id INT REFERENCES accounts(account_id))"
        )
        assert "invoices" not in tables()  # no timer (--db-refresh-s 0): only the command re-reads
        out = s.command("sqlcomplete.refreshSchema")
        assert out["databaseTables"] == 2 and "invoices" in tables()
    finally:
        s.close()
    down = Session(
        [
            "--ckpt",
            tiny_ckpt,
            "--db",
            pg.url().replace(pg.socket_dir, str(tmp_path)),
            "--poll-s",
            "0",
            "--db-connect-timeout",
            "2",
        ],
        ws,
    )
    try:
        uri = down.open(ws / "d.sql", "SELECT * FROM ")
        assert down.complete(
            uri, 0, 14
        ).items  # the database is down: the server serves without its tables
        notes = [m for m in down.logs if "database" in m]
        assert len(notes) == 1 and "\n" not in notes[0] and "keeping the 0 tables" in notes[0], (
            down.logs
        )
        wrong = Session(
            ["--ckpt", tiny_ckpt, "--db", pg.url(password="wrong-pw"), "--poll-s", "0"], ws
        )
        try:
            wrong.wait_for(
                lambda: any("password authentication failed" in m for m in wrong.logs), 30
            )
            assert not any("wrong-pw" in m for m in wrong.logs)
        finally:
            wrong.close()
    finally:
        down.close()


@pytest.mark.skipif(
    not (ROOT / "sqlcomplete" / "models" / "default" / "model.safetensors").is_file(),
    reason="no shipped model",
)
def test_issue_26_examples_give_clean_menus(tmp_path):
    """The shipped model through the server: for issue 26's examples every item is whole, closed,
    of the right class and type (tests/clean_menus.py); its textEdit covers the typed word, and its
    filterText and label start with that word; no label mixes case inside its first word."""
    from clean_menus import PREFIXES, SCHEMA, problems

    (tmp_path / "schema.sql").write_text(SCHEMA)
    s = Session(["--schema", str(tmp_path / "schema.sql")], tmp_path, {"debounceMs": 0})
    try:
        schema_uri = from_fs_path(str(tmp_path / "schema.sql"))
        s.wait_for(lambda: s.command("sqlcomplete.schema", schema_uri)["model"] == "ready", 120)
        bad, shown = [], {}
        for i, prefix in enumerate(PREFIXES):
            uri = s.open(tmp_path / f"q{i}.sql", prefix)
            items = s.complete(uri, 0, len(prefix)).items
            word = re.search(r"[A-Za-z0-9_$]*$", prefix).group(0)
            shown[prefix] = [item.label for item in items]
            assert items, prefix
            for item in items:
                new = item.text_edit.new_text
                assert item.text_edit.range.start.character == len(prefix) - len(word)
                assert item.filter_text.startswith(word) and new.lower().startswith(word.lower())
                assert item.label.lower().startswith(word.lower())
                bad += [(prefix, new, p) for p in problems(prefix, new[len(word) :], item.label)]
        assert not bad, (bad, shown)
        assert all(label.startswith("orders") for label in shown["INSERT INTO ord"])
        assert any(label.startswith("name") for label in shown["SELECT na"])
    finally:
        s.close()
