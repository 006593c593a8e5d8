"""Editor integration: a language server (LSP over stdio) serving SQL completions.

    sqlcomplete-lsp [--ckpt PATH] [--schema FILE ...] [--db URL [--db-values]]
                  [--fim-url URL --fim-model NAME [--fim-tokenizer TOKENIZER]]

This file holds the protocol; the schema's sources are db/sources.py (files, workspace, a
database through db/database.py), the FIM client completion/fim_backend.py, the completer sample.py.

- textDocument/completion: up to 5 suggestions, best first, each a textEdit that replaces
  the partly typed word; textDocument/inlineCompletion (LSP 3.18): the best one as ghost text.
- Schema, in this order (a table named twice keeps its first definition): --schema files and
  the initialization options `schema` (text) and `schemaFiles`; the CREATE TABLE statements
  of the buffer; those of the workspace's files matching `schemaGlob` (default **/*.sql;
  watched through the editor when it can, else polled; a search visits 2,000 folders in 2 s at
  most, and none in / or the home folder); the tables of --db (PostgreSQL, CockroachDB,
  MySQL, DuckDB, SQLite; read-only; a server re-read every --db-refresh-s and on
  `sqlcomplete.refreshSchema`; a database that is down leaves the last schema read in use).
- With --db-values, inside (or where one may start) a string compared with a column or inserted
  into one, that column's most common values come first. They stay in this process: never logged,
  never sent to the FIM backend.
- The n-gram, then the model load at start-up in the model thread, while the protocol answers; the
  n-gram answers alone until the model is there, and the schema's prompt is prefilled after
  `initialized`.
- Message framing survives bad input: a Content-Length that is missing, not a number or over
  64 MiB is logged and skipped, a body that is not JSON gets JSON-RPC's parse error (-32700).
  A request before `initialize` gets -32002, one after `shutdown` InvalidRequest (-32600). The
  errors a client causes are one line each on stderr; a server fault keeps its traceback.
- Started from a terminal it says it is for an editor; Ctrl-C exits at once (status 130).
- Only the statement under the cursor (sql/scan.py) goes to the model, so a long file costs
  what a short one does. Requests wait `debounceMs`, a newer request for the same document
  supersedes a waiting one, $/cancelRequest is honoured, and a result computed for a
  document that has changed since is dropped (an empty, incomplete list: ask again).
- With --fim-url the suggestion comes from the fine-tuned Qwen3 served by vLLM
  (/v1/completions), its prompt built by fim/prompt.py exactly as fim/csv_to_fim.py builds
  training prompts; on a timeout or an error the local model answers, and the editor's log
  says so once per outage.
- workspace/executeCommand `sqlcomplete.schema` [uri]: the tables the server sees for a document
  (and whether the model is loaded: until it is, the n-gram answers alone);
  `sqlcomplete.refreshSchema`: re-read every source now (the database too).

Setup for Neovim, Helix and VS Code: docs/editors.md.
"""

import argparse
import asyncio
import functools
import json
import logging
import math
import os
import re
import signal
import sys
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from cattrs import transform_error
from cattrs.errors import ClassValidationError
from lsprotocol import types
from pygls.exceptions import (
    FeatureNotificationError,
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from sqlcomplete.completion.engine import CompleterOptions, add_completer_flags, completer_options
from sqlcomplete.completion.fim_backend import FimBackend, fim_context
from sqlcomplete.completion.menu import menu_item, name_spelling
from sqlcomplete.completion.service import CompletionService, LatestRequests
from sqlcomplete.db.database import (
    DatabaseError,
    DbOptions,
    add_db_args,
    db_options,
)
from sqlcomplete.db.sources import SchemaSources
from sqlcomplete.fim.prompt import normalize_newlines
from sqlcomplete.sql.lexicon import KEYWORDS
from sqlcomplete.sql.scan import SqlDocument
from sqlcomplete.sql.schema import parse_schema

VERSION = "0.1.0"
REQUEST_FAILED = -32803  # LSP's RequestFailed: the request was well-formed but cannot be served
_WORD = re.compile(r"[A-Za-z0-9_$]*$")  # the completer's word characters: what a textEdit replaces
MAX_MESSAGE_BYTES = 64 << 20  # a larger Content-Length is refused (and logged), not allocated
MAX_HEADER_LINE = (
    8192  # header lines are read at most this long: a body without a length is skimmed, not held
)
_CONTENT_LENGTH = re.compile(
    rb"content-length[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?\n?\Z", re.I
)  # at a line's end


@dataclass
class Options:
    """Server settings: command-line flags, some overridable by initializationOptions."""

    ckpt: str | None = None
    schema_files: list[str] = field(default_factory=list)
    schema_text: str = ""  # initializationOptions.schema
    schema_glob: str = "**/*.sql"
    db: DbOptions | None = None  # --db and its --db-* flags
    fim_url: str | None = None
    fim_model: str | None = None
    fim_tokenizer: str | None = None
    fim_max_prompt_tokens: int = 4096
    fim_max_tokens: int = 64
    fim_timeout: float = 2.0
    fim_retry_s: float = 30.0  # after a FIM failure, the local model answers alone this long
    debounce_ms: float = 0.0
    max_items: int = 5
    # how often schema files (and whether the database is due a refresh) are checked; 0: never
    poll_s: float = 2.0
    completer: CompleterOptions = field(
        default_factory=lambda: CompleterOptions(threads=1)
    )  # the local model's


# ---------------------------------------------------------------- positions


def _units(ch: str, encoding: str) -> int:
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    if encoding == "utf-8":
        return len(ch.encode("utf-8", "surrogatepass"))
    return 1


def to_index(line: str, character: int, encoding: str) -> int:
    """Code point index in `line` of an LSP character offset; past the end means the end (as LSP
    says)."""
    if encoding == "utf-32" or line.isascii():
        return min(character, len(line))
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return i
        units += _units(ch, encoding)
    return len(line)


def to_character(line: str, index: int, encoding: str) -> int:
    """LSP character offset of code point `index` in `line`."""
    if encoding == "utf-32" or line.isascii():
        return index
    return sum(_units(ch, encoding) for ch in line[:index])


def option_number(value, low: float, high: float, whole: bool = False) -> float | int | None:
    """A JSON number in [low, high] (whole, if asked), or None: not a string, a boolean or NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not (math.isfinite(value) and low <= value <= high) or (whole and value != int(value)):
        return None
    return int(value) if whole else float(value)


# ---------------------------------------------------------------- the server


@dataclass
class Doc:
    uri: str
    buffer: SqlDocument
    version: int | None
    path: str | None
    schema_key: tuple = ()
    schema: str = ""


@dataclass
class Job:
    """One model run, shared by the requests for the same document version and position."""

    key: tuple
    prefix: str
    suffix: str
    schema: str
    fim_prompt: str | None
    crlf: bool  # the line ends in CRLF: suggestions get CRLF line breaks back
    waiters: int = 0
    task: asyncio.Future | None = None


@dataclass
class Result:
    doc: Doc
    texts: list[str]
    backend: str  # "local", "ngram" (the n-gram alone, while the model loads) or "fim"
    word_start: int  # code point column where the replaced word begins
    col: int


class RequestFailed(JsonRpcException):
    CODE = REQUEST_FAILED


DETAILS = {"fim": "Qwen3 FIM", "local": "local model", "ngram": "n-gram (the model is loading)"}
_ANSWERED = object()  # a request already answered with an error while being read
_POSITION_REQUESTS = (types.TEXT_DOCUMENT_COMPLETION, types.TEXT_DOCUMENT_INLINE_COMPLETION)


def _plain(method):
    """A function calling a bound method: pygls sets attributes on handlers, which methods
    refuse."""
    if asyncio.iscoroutinefunction(method):

        @functools.wraps(method)
        async def handler(*args):
            return await method(*args)
    else:

        @functools.wraps(method)
        def handler(*args):
            return method(*args)

    return handler


class CheckedFrames:
    """stdin as pygls' reader sees it (pygls.io_'s Reader: readline(), read(n)): well-formed frames.
    pygls' own loop waits forever on a Content-Length it cannot parse, and allocates any length
    it is given. Here a length that is missing, not a number or over MAX_MESSAGE_BYTES is skipped
    to the next header (found anywhere on a line, so a body without a length is skipped too), and
    noted for the editor's log. The protocol judges the body (JSON? UTF-8? an object?)."""

    def __init__(self, raw):
        self.raw = raw
        self.notes: list[str] = []  # framing problems, logged on the event loop by the protocol
        self.blank = False  # the next readline() is the blank line after a header pygls was given
        self.body = b""

    def readline(self) -> bytes:
        if self.blank:
            self.blank = False
            return b"\r\n"
        length = None
        while True:
            line = self.raw.readline(MAX_HEADER_LINE)
            if not line:
                return b""
            # search: after a short body, the next header shares its line
            m = _CONTENT_LENGTH.search(line)
            if m:
                value = m.group(1).decode("ascii", "replace")
                length = int(value) if value.isdigit() and int(value) <= MAX_MESSAGE_BYTES else None
                if length is None:
                    why = (
                        f"over the {MAX_MESSAGE_BYTES >> 20} MiB limit"
                        if value.isdigit()
                        else "not a number"
                    )
                    self.notes.append(f"message skipped: Content-Length {value[:40]!r} is {why}")
                continue
            if line.strip() or length is None:
                continue  # another header (Content-Type), or text outside any message: skipped
            body = self.raw.read(length)
            if len(body) < length:
                return b""  # the editor closed the pipe mid-message
            # pygls reads no body for a length of 0: a blank is not JSON either
            self.body = body or b" "
            self.blank = True
            return b"Content-Length: %d\r\n" % len(self.body)

    def read(self, n: int) -> bytes:
        body, self.body = self.body, b""
        return body


def client_error(exc: BaseException | None) -> bool:
    """Caused by what the client sent (bad parameters, a document that is not open, bytes that are
    not JSON), not by a fault of the server."""
    return isinstance(
        exc, (JsonRpcException, ClassValidationError, json.JSONDecodeError, UnicodeDecodeError)
    ) and not isinstance(exc, JsonRpcInternalError)


class OneLineClientErrors(logging.Filter):
    """pygls logs every failed request with its traceback. A client's error gets one line; a server
    fault (an internal error) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        # pygls formats some tracebacks into the message itself, inside the except block
        exc = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if client_error(exc):
            first = record.getMessage().split("\n", 1)[0]
            why = "; ".join(transform_error(exc)) if isinstance(exc, ClassValidationError) else exc
            record.msg = f"{first}: {type(exc).__name__}: {why}".replace("\n", " ")
            record.args = None
            record.exc_info = record.exc_text = None
        return True


def log_to_stderr() -> None:
    """Warnings and errors (pygls' and the server's) on stderr, which editors keep in their log."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("sqlcomplete-lsp: %(message)s"))
    handler.addFilter(OneLineClientErrors())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


class SqlProtocol(LanguageServerProtocol):
    """pygls' protocol with the server's own documents (sqlscan.SqlDocument, O(edit) updates), and
    an answer for the requests pygls would drop: those whose parameters do not parse
    (InvalidParams), those before `initialize` (ServerNotInitialized) and after `shutdown`
    (InvalidRequest)."""

    def __init__(self, server, converter):
        super().__init__(server, converter)
        self.server = server

    def send_error(self, msg_id, error: JsonRpcException) -> None:
        """An error response, framed as set_writer's default (with headers) frames pygls' own."""
        error_object = {"code": error.code, "message": error.message}
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": error_object}).encode()
        self.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as e:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise
            cause = e.__cause__
            detail = (
                "; ".join(transform_error(cause))
                if isinstance(cause, ClassValidationError)
                else str(cause or e)
            )
            self.send_error(data["id"], JsonRpcInvalidParams(f"{data['method']}: {detail}"))
            return _ANSWERED

    def handle_message(self, message):
        self.server.flush_notes()
        if message is _ANSWERED:
            return
        if not hasattr(message, "jsonrpc"):  # JSON that is not a JSON-RPC 2.0 message
            msg_id = message.get("id") if isinstance(message, dict) else None
            self.send_error(msg_id, JsonRpcInvalidRequest("Invalid Request: not JSON-RPC 2.0"))
            return
        method = getattr(message, "method", None)
        if method is not None and hasattr(message, "id"):  # a request
            if self.server.shut_down and method != types.EXIT:
                self.send_error(message.id, JsonRpcInvalidRequest(f"{method} after shutdown"))
                return
            if not self.server.initialized and method != types.INITIALIZE:
                self.send_error(
                    message.id, JsonRpcServerNotInitialized(f"{method}: initialize comes first")
                )
                return
        if method in _POSITION_REQUESTS and hasattr(message, "id"):
            # the version the request was asked for: later messages may be read before it runs
            doc = self.server.docs.get(message.params.text_document.uri)
            self.server.asked_at[message.id] = doc.version if doc else None
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        d = params.text_document
        self.server.open_doc(d.uri, d.text, d.version)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self.server.change_doc(
            params.text_document.uri, params.text_document.version, params.content_changes
        )

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self.server.docs.pop(params.text_document.uri, None)


class SqlServer(LanguageServer):
    """Documents, schema sources, the local completer (one model thread) and the FIM backend."""

    def __init__(self, opts: Options):
        super().__init__("sqlcomplete", VERSION, protocol_cls=SqlProtocol)
        self.opts = opts
        self.docs: dict[str, Doc] = {}
        self.completer = None
        # the n-gram alone, answering while the model loads (model.py costs seconds to load)
        self.early = None
        self.early_lock = threading.Lock()
        self.model_error: str | None = None
        self.model_warned = False  # told the user once that the n-gram answers alone
        self.model_future = None
        self.model_pool = ThreadPoolExecutor(
            1, thread_name_prefix="model"
        )  # the completer is not thread-safe
        self.fim = (
            FimBackend(
                opts.fim_url,
                opts.fim_model,
                opts.fim_tokenizer,
                opts.fim_max_prompt_tokens,
                opts.fim_max_tokens,
                opts.fim_timeout,
                opts.fim_retry_s,
                log=self.log_fim,
            )
            if opts.fim_url
            else None
        )
        self.jobs: OrderedDict[tuple, Job] = (
            OrderedDict()
        )  # recent jobs by (uri, version, line, col, epoch)
        self.latest = LatestRequests()  # uri -> key of the newest job: older ones are skipped
        self.asked_at: dict = {}  # request id -> document version when the request arrived
        self.sources = SchemaSources(
            opts.schema_files, opts.schema_glob, opts.db
        )  # DatabaseError: a bad --db
        # the FIM backend, the database's values; the local completer is run here (_run_backends)
        values = opts.db is not None and opts.db.values
        self.service = CompletionService(None, self.sources.db, values, self.fim)
        self.epoch = 0  # grows when a schema source other than an open buffer changes
        self.watched = False  # the editor reports workspace file changes
        self.first_scan: asyncio.Future | None = None
        self.poll_task = None
        self.shut_down = False
        self.initialized = False  # initialize was answered: other requests before it get -32002
        self.frames: CheckedFrames | None = None  # stdin, read through CheckedFrames (serve)
        self.dropped_opens: dict[str, str] = {}  # uri -> why its didOpen was dropped (not UTF-8)
        self._tables_cache: tuple[str, dict] = ("", {})
        self.feature(types.INITIALIZE)(_plain(self.on_initialize))
        self.feature(types.INITIALIZED)(_plain(self.on_initialized))
        self.feature(types.SHUTDOWN)(_plain(self.on_shutdown))
        self.feature(types.EXIT)(_plain(self.on_exit))
        self.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(_plain(self.on_watched_files))
        self.feature(
            types.TEXT_DOCUMENT_COMPLETION,
            types.CompletionOptions(trigger_characters=[".", " ", "(", ","]),
        )(_plain(self.on_completion))
        self.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(
            _plain(self.on_inline)
        )
        self.command("sqlcomplete.schema")(_plain(self.cmd_schema))
        self.command("sqlcomplete.refreshSchema")(_plain(self.cmd_refresh))

    # ------------------------------------------------------------ lifecycle

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """A line in the editor's LSP log."""
        self.window_log_message(
            types.LogMessageParams(type=kind, message=f"sqlcomplete: {message}")
        )

    def log_fim(self, message: str, warning: bool) -> None:
        """The FIM backend's outage, when it starts (a warning) and ends."""
        self.log(message, types.MessageType.Warning if warning else types.MessageType.Info)

    def report_server_error(self, error: Exception, source) -> None:
        """pygls' hook for errors outside a handler; a body that is not JSON is answered."""
        self.flush_notes()
        if source == FeatureRequestError:
            return  # the request's error response says it
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError, RecursionError)):
            why = (
                f"not UTF-8 ({error.reason} at byte {error.start})"
                if isinstance(error, UnicodeDecodeError)
                else "nested too deeply"
                if isinstance(error, RecursionError)
                else str(error)
            )
            if isinstance(error, UnicodeDecodeError):
                self.note_dropped_open(error.object, why)
            self.log(f"message dropped: {why}", types.MessageType.Error)
            self.protocol.send_error(None, JsonRpcParseError(f"Parse error: {why}"))
            return
        if source is FeatureNotificationError and isinstance(error, JsonRpcInternalError):
            # a fault in a notification's handler, which pygls does not log: its traceback
            trace = "".join((error.data or {}).get("traceback", []))
            logging.getLogger(__name__).error(
                "a notification's handler failed\nTraceback (most recent call last):\n%s%s",
                trace,
                error.message,
            )
        self.log(f"error: {error}", types.MessageType.Error)

    def note_dropped_open(self, body: bytes, why: str) -> None:
        """A didOpen dropped for bytes that are not UTF-8: a request for its document says so."""
        try:
            msg = json.loads(body.decode("utf-8", "replace"))
            if msg.get("method") == types.TEXT_DOCUMENT_DID_OPEN:
                self.dropped_opens[msg["params"]["textDocument"]["uri"]] = why
        except (ValueError, AttributeError, KeyError, TypeError):
            pass

    def flush_notes(self) -> None:
        """The framing problems CheckedFrames noted (reader thread), logged here (event loop)."""
        while self.frames is not None and self.frames.notes:
            self.log(self.frames.notes.pop(0), types.MessageType.Error)

    def serve(self, stdin=None, stdout=None) -> None:
        """LSP over stdio: pygls' own loop, reading the frames CheckedFrames lets through."""
        self.frames = CheckedFrames(stdin or sys.stdin.buffer)
        self.start_io(self.frames, stdout)

    def load_model(self) -> None:
        """Load the local completer in the model thread: the n-gram first (a fraction of a second),
        which answers alone until the model is loaded too."""

        def load():
            from sqlcomplete.completion.engine import Completer, load_ngram

            try:
                self.early = load_ngram(self.opts.completer.ngram)
                self.completer = Completer(self.opts.ckpt, options=self.opts.completer)
            except Exception as e:  # reported with each request that needs it
                self.model_error = f"{type(e).__name__}: {e}"
            finally:
                if self.completer is not None:  # else the n-gram goes on answering alone
                    with self.early_lock:
                        self.early = None  # the completer has its own n-gram

        self.model_future = self.model_pool.submit(load)

    def on_initialize(self, params: types.InitializeParams) -> None:
        self.initialized = True
        o = params.initialization_options
        if isinstance(o, dict):
            self.read_init_options(o)
        folders = [to_fs_path(f.uri) for f in params.workspace_folders or []]
        root = params.root_uri and to_fs_path(params.root_uri) or params.root_path
        roots = [p for p in dict.fromkeys(folders or [root]) if p and os.path.isdir(p)]
        base = roots[0] if roots else os.getcwd()
        self.opts.schema_files = [
            os.path.join(base, os.path.expanduser(p)) for p in self.opts.schema_files
        ]
        src = self.sources
        src.roots, src.schema_files, src.schema_text, src.schema_glob = (
            roots,
            self.opts.schema_files,
            self.opts.schema_text,
            self.opts.schema_glob,
        )

    def read_init_options(self, o: dict) -> None:
        """initializationOptions over the flags; a value of the wrong kind is warned about and the
        flag's value (or the default) kept, rather than failing `initialize`."""

        def warn(key: str, want: str, kept) -> None:
            message = f"initializationOptions.{key} {o[key]!r} is not {want}: using {kept!r}"
            self.log(message, types.MessageType.Warning)
            shown = types.ShowMessageParams(types.MessageType.Warning, f"sqlcomplete: {message}")
            self.window_show_message(shown)

        self.opts.schema_text = str(o.get("schema") or "")
        files = o.get("schemaFiles")
        if isinstance(files, str):
            files = [files]  # one file named without a list: not its characters
        if isinstance(files, list):
            self.opts.schema_files += [str(p) for p in files]
        elif files is not None:
            warn("schemaFiles", "a list of paths", [])
        if o.get("schemaGlob") is not None:
            if isinstance(o["schemaGlob"], str):
                self.opts.schema_glob = o["schemaGlob"]
            else:
                warn("schemaGlob", "a string", self.opts.schema_glob)
        for key, name, low, high, whole in (
            ("debounceMs", "debounce_ms", 0, 60_000, False),
            ("maxItems", "max_items", 1, 20, True),
            ("pollSeconds", "poll_s", 0, 86_400, False),
        ):
            if o.get(key) is None:
                continue
            value = option_number(o[key], low, high, whole)
            if value is None:
                kind = "a whole number" if whole else "a number"
                warn(key, f"{kind} from {low} to {high}", getattr(self.opts, name))
            else:
                setattr(self.opts, name, value)

    async def on_initialized(self, params: types.InitializedParams) -> None:
        self.first_scan = asyncio.ensure_future(self.refresh_sources(walk=True))
        caps = self.client_capabilities.workspace
        watch = caps and caps.did_change_watched_files
        if self.sources.roots and self.opts.schema_glob and watch and watch.dynamic_registration:
            try:
                await asyncio.wait_for(
                    self.client_register_capability_async(
                        types.RegistrationParams(
                            registrations=[
                                types.Registration(
                                    id="sqlcomplete-schema-files",
                                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                        watchers=[
                                            types.FileSystemWatcher(
                                                glob_pattern=self.opts.schema_glob
                                            )
                                        ]
                                    ),
                                )
                            ]
                        )
                    ),
                    5.0,
                )
                self.watched = True
            except Exception as e:  # polling still covers it
                self.log(
                    f"could not register file watchers ({e}); polling every {self.opts.poll_s} s"
                )
        await self.first_scan
        # prefill the schema's prompt now (model thread, after the model loads): the first
        # completion finds it cached
        self.model_pool.submit(self._warm, self.sources.merged(None, [], {}))
        if self.opts.poll_s > 0:
            self.poll_task = asyncio.ensure_future(self.poll())

    def on_shutdown(self, params) -> None:
        self.shut_down = True
        if self.poll_task is not None:
            self.poll_task.cancel()

    def on_exit(self, params) -> None:
        """Leave now: pygls would wait for its stdin reader thread, blocked until the editor closes
        the pipe."""
        sys.stdout.flush()
        os._exit(0 if self.shut_down else 1)

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(self.opts.poll_s)
            # the editor's file watcher, where it has one, says when to search the workspace again
            await self.refresh_sources(walk=not self.watched and self.sources.walk_due())

    # ------------------------------------------------------------ schema

    async def refresh_sources(
        self, walk: bool = False, only: list[str] | None = None, db: bool = False
    ) -> None:
        """Re-read the sources that changed (db: the database now, whether due or not), off the
        event loop."""
        loop = asyncio.get_running_loop()
        changed, notes = await loop.run_in_executor(None, self.sources.read, walk, only, db)
        for note in notes:
            self.log(note, types.MessageType.Warning)
        if changed:
            self.epoch += 1

    async def on_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        paths = [p for p in (to_fs_path(c.uri) for c in params.changes) if p]
        created = any(c.type != types.FileChangeType.Changed for c in params.changes)
        await self.refresh_sources(walk=created, only=None if created else paths)

    def schema_for(self, doc: Doc) -> str:
        """The merged schema for a document, rebuilt only when a source changed."""
        key = (
            self.epoch,
            doc.buffer.ddl_version,
            tuple(d.buffer.ddl_version for d in self.docs.values()),
        )
        if doc.schema_key != key:
            open_buffers = {d.path: d.buffer for d in self.docs.values() if d.path}
            doc.schema, doc.schema_key = (
                self.sources.merged(doc.path, doc.buffer.ddl(), open_buffers),
                key,
            )
        return doc.schema

    def tables(self, schema: str) -> dict[str, list[str]]:
        if self._tables_cache[0] != schema:
            self._tables_cache = (schema, parse_schema(schema))
        return self._tables_cache[1]

    async def cmd_schema(self, uri: str) -> dict:
        """sqlcomplete.schema: the tables (with columns) the server sees for a document."""
        await self._sources_ready()
        doc = self.document(uri)
        model = (
            "ready"
            if self.completer
            else f"failed: {self.model_error}"
            if self.model_error
            else "loading"
        )
        return {"tables": self.tables(self.schema_for(doc)), "epoch": self.epoch, "model": model}

    async def cmd_refresh(self, *args) -> dict:
        """sqlcomplete.refreshSchema: re-read the files, the workspace and the database now."""
        await self.refresh_sources(walk=True, db=True)
        db = self.sources.db
        return {
            "epoch": self.epoch,
            "databaseTables": len(db.tables) if db else None,
            "databaseError": self.sources.db_error,
        }

    # ------------------------------------------------------------ documents

    def open_doc(self, uri: str, text: str, version: int | None) -> None:
        self.dropped_opens.pop(uri, None)
        self.docs[uri] = Doc(uri, SqlDocument(text), version, to_fs_path(uri))
        asyncio.ensure_future(self._warm_soon(uri))

    async def _sources_ready(self) -> None:
        """Wait (a little) for the first workspace scan, so the first completion sees its tables."""
        if self.first_scan is not None and not self.first_scan.done():
            await asyncio.wait({self.first_scan}, timeout=5.0)

    async def _warm_soon(self, uri: str) -> None:
        await self._sources_ready()
        doc = self.docs.get(uri)
        if doc is not None:
            self.model_pool.submit(self._warm, self.schema_for(doc))

    def change_doc(self, uri: str, version: int | None, changes: list) -> None:
        doc = self.docs.get(uri)
        if doc is None:
            self.log(f"change to {uri}, which is not open: ignored", types.MessageType.Warning)
            return
        for ch in changes:
            if isinstance(ch, types.TextDocumentContentChangePartial):
                b, r = doc.buffer, ch.range
                rows = len(b.lines)
                if r.start.line >= rows:  # an edit past the end appends
                    l0 = rows - 1
                    c0 = len(b.line_text(l0))
                    b.edit(l0, c0, l0, c0, ch.text)
                    continue
                enc = self.encoding
                l0, l1 = r.start.line, min(r.end.line, rows - 1)
                c0 = to_index(b.line_text(l0), r.start.character, enc)
                c1 = to_index(
                    b.line_text(l1), r.end.character if r.end.line < rows else 1 << 30, enc
                )
                b.edit(l0, c0, l1, c1, ch.text)
            else:
                doc.buffer.set_text(ch.text)
        doc.version = version

    def _warm(self, schema: str) -> None:
        """Prefill the schema prompt while the user is still reading (model thread)."""
        if self.completer is not None:
            self.completer.set_schema(schema)
            self.completer.complete("", "", 1)

    def document(self, uri: str) -> Doc:
        """An open document, or a file the editor has not opened read from disk."""
        doc = self.docs.get(uri)
        if doc is not None:
            return doc
        path = to_fs_path(uri)
        if not path or not os.path.isfile(path):
            if uri in self.dropped_opens:
                raise RequestFailed(
                    f"{uri} is not open: its textDocument/didOpen was dropped, its text "
                    f"being {self.dropped_opens[uri]}"
                )
            raise RequestFailed(
                f"{uri} is not open (the editor sent no textDocument/didOpen for it, or closed it) "
                "and is not a file on disk"
            )
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8")
        except UnicodeDecodeError as e:
            raise RequestFailed(
                f"{path} is not UTF-8 text ({e.reason} at byte {e.start})"
            ) from None
        except OSError as e:
            raise RequestFailed(f"cannot read {path}: {e.strerror}") from None
        return Doc(uri, SqlDocument(text), None, path)

    @property
    def encoding(self) -> str:
        """The position encoding agreed on, as LSP spells it: 'utf-16' (default), 'utf-8', 'utf-32'.
        pygls gives an enum where the client names none, and str() of it is not 'utf-16'."""
        enc = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(enc, "value", enc)

    # ------------------------------------------------------------ completion

    async def suggest(self, uri: str, pos: types.Position) -> Result | None:
        """Suggestions at a position, or None when dropped (superseded, or the document changed)."""
        asked_at = self.asked_at.pop(self.protocol.msg_id, None)
        doc = self.document(uri)
        if asked_at is not None and asked_at != doc.version:
            # changed before this request's turn: its position may point into text that is gone
            return None
        if pos.line >= len(doc.buffer.lines):
            raise JsonRpcInvalidParams(
                f"line {pos.line} is past the end of {uri} ({len(doc.buffer.lines)} lines)"
            )
        line_text = doc.buffer.line_text(pos.line)
        line, col = pos.line, to_index(line_text, pos.character, self.encoding)
        version = doc.version
        word_start = col - len(_WORD.search(line_text[:col]).group(0))
        key = (uri, version, line, col, self.epoch)
        self.latest.post(uri, key)
        quiet_s = self.latest.quiet_left(uri, self.opts.debounce_ms / 1000)
        if quiet_s:
            await asyncio.sleep(quiet_s)
        await self._sources_ready()
        if self._stale(doc, version) or not self.latest.is_newest(uri, key):
            return None
        job = self.jobs.get(key)
        if job is None:
            cur = doc.buffer.cursor(line, col)
            if cur.mode in ("--", "/*"):
                return Result(
                    doc, [], "local", word_start, col
                )  # no SQL to complete inside a comment
            crlf = doc.buffer.lines[line].endswith("\r\n")
            prefix, suffix = normalize_newlines(cur.prefix), normalize_newlines(cur.suffix)
            try:
                (prefix + suffix).encode("utf-8")
            except UnicodeEncodeError as e:
                raise RequestFailed(
                    f"the statement at line {line + 1} is not valid Unicode ({e.reason})"
                ) from None
            schema = self.schema_for(doc)
            fim_prompt = None
            if self.fim is not None and self.fim.available():
                fim_prompt = await self._fim_prompt(schema, doc.buffer, line, cur, prefix, suffix)
            job = Job(key, prefix, suffix, schema, fim_prompt, crlf)
            job.task = asyncio.ensure_future(self._run(job))
            self.jobs[key] = job
            while len(self.jobs) > 32:
                self.jobs.popitem(last=False)
        job.waiters += 1
        try:
            texts, backend = await asyncio.shield(job.task)
        finally:
            job.waiters -= 1
            if job.waiters == 0 and not job.task.done():  # every request for it was cancelled
                job.task.cancel()
                self._forget(job)
        if texts is None or self._stale(doc, version):
            return None
        return Result(doc, texts, backend, word_start, col)

    def _forget(self, job: Job) -> None:
        if self.jobs.get(job.key) is job:
            del self.jobs[job.key]

    def _stale(self, doc: Doc, version: int | None) -> bool:
        return self.docs.get(doc.uri, doc) is not doc or doc.version != version

    async def _fim_prompt(self, schema, buf, line, cur, prefix, suffix) -> str | None:
        from sqlcomplete.fim.prompt import PromptTooLong, has_control_token

        if has_control_token(prefix + suffix):
            return None  # the text would read as Qwen's control tokens
        context = fim_context(schema, buf, line, cur.start)
        try:  # tokenizing a long prompt takes a while: not on the event loop
            return await asyncio.get_running_loop().run_in_executor(
                None, self.fim.prompt, context, prefix, suffix
            )
        except PromptTooLong:
            return None

    async def _run(self, job: Job) -> tuple[list[str] | None, str]:
        """The FIM model's suggestion when it answers, else the local model's; None when skipped."""
        try:
            texts, backend = await self._run_backends(job)
        except BaseException:
            self._forget(job)  # a later request for the same place tries again
            raise
        if texts is None:
            self._forget(job)
        return texts, backend

    async def _run_backends(self, job: Job) -> tuple[list[str] | None, str]:
        """The service's pipeline (the FIM backend, else the local model; the database's values
        first), the local model run here: the n-gram alone while the model loads, else the model
        thread."""

        async def local() -> tuple[list[str] | None, str]:
            loop = asyncio.get_running_loop()
            if self.completer is None and self.early is not None:
                texts = await loop.run_in_executor(None, self._early, job)
                if self.model_error and not self.model_warned:  # a broken model file, say
                    self.model_warned = True
                    self.window_show_message(
                        types.ShowMessageParams(
                            type=types.MessageType.Warning,
                            message=f"sqlcomplete: no local model ({self.model_error}); "
                            "the n-gram answers alone",
                        )
                    )
                if texts is not None or self.model_error:
                    return texts, "ngram"
            return await loop.run_in_executor(self.model_pool, self._local, job), "local"

        texts, backend = await self.service.complete_async(
            job.prefix, job.suffix, self.opts.max_items, local, job.fim_prompt
        )
        if texts is not None and job.crlf:
            texts = [t.replace("\r\n", "\n").replace("\n", "\r\n") for t in texts]
        return texts, backend

    def _early(self, job: Job) -> list[str] | None:
        """The n-gram alone (a worker thread) while the model loads; None once the model is
        there."""
        with self.early_lock:
            dropped = job.waiters == 0 or not self.latest.is_newest(job.key[0], job.key)
            if self.early is None or dropped:
                return None
            self.early.set_schema(job.schema)
            return self.early.complete(job.prefix, job.suffix, self.opts.max_items)

    def _local(self, job: Job) -> list[str] | None:
        """The local completer (model thread); a job superseded or abandoned while it waited is
        skipped."""
        if self.completer is None:
            if self.model_future is not None:
                self.model_future.result()
            if self.completer is None:
                raise RequestFailed(f"no local model: {self.model_error or 'not loaded'}")
        if job.waiters == 0 or not self.latest.is_newest(job.key[0], job.key):
            return None
        self.completer.set_schema(job.schema)
        return self.completer.complete(job.prefix, job.suffix, self.opts.max_items)

    def _word_range(self, doc: Doc, line: int, r: Result) -> types.Range:
        text = doc.buffer.line_text(line)
        enc = self.encoding
        return types.Range(
            start=types.Position(line=line, character=to_character(text, r.word_start, enc)),
            end=types.Position(line=line, character=to_character(text, r.col, enc)),
        )

    def _kind(self, text: str, tables: dict[str, list[str]]) -> types.CompletionItemKind:
        word = re.match(r"[\s(,]*([A-Za-z0-9_$]+)", text)
        w = word.group(1).lower() if word else ""
        if any(w == t.lower() for t in tables):
            return types.CompletionItemKind.Class
        if any(w == c.lower() for cols in tables.values() for c in cols):
            return types.CompletionItemKind.Field
        return types.CompletionItemKind.Keyword if w in KEYWORDS else types.CompletionItemKind.Text

    async def on_completion(self, params: types.CompletionParams) -> types.CompletionList:
        uri, pos = params.text_document.uri, params.position
        r = await self.suggest(uri, pos)
        if r is None:
            return types.CompletionList(is_incomplete=True, items=[])
        doc = r.doc
        rng = self._word_range(doc, pos.line, r)
        word = doc.buffer.line_text(pos.line)[r.word_start : r.col]
        tables = self.tables(doc.schema)
        spelling = name_spelling(tables)
        items = []
        for i, text in enumerate(r.texts[: self.opts.max_items]):
            # the whole word, the schema's spelling or the typed case (menu.py), over the typed word
            item = menu_item(word, text, spelling)
            items.append(
                types.CompletionItem(
                    label=item.label,
                    kind=self._kind(item.new_text, tables),
                    sort_text=f"{i:04d}",
                    filter_text=item.filter_text,
                    preselect=i == 0,
                    detail=DETAILS[r.backend],
                    text_edit=types.TextEdit(range=rng, new_text=item.new_text),
                    insert_text_format=types.InsertTextFormat.PlainText,
                )
            )
        # the model's suggestions depend on the whole prefix: ask again as the user types
        return types.CompletionList(is_incomplete=True, items=items)

    async def on_inline(self, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        uri, pos = params.text_document.uri, params.position
        r = await self.suggest(uri, pos)
        if r is None or not r.texts:
            return types.InlineCompletionList(items=[])
        doc = r.doc
        word = doc.buffer.line_text(pos.line)[r.word_start : r.col]
        spelling = name_spelling(self.tables(doc.schema))
        return types.InlineCompletionList(
            items=[
                types.InlineCompletionItem(
                    insert_text=menu_item(word, r.texts[0], spelling).new_text,
                    range=self._word_range(doc, pos.line, r),
                )
            ]
        )


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> Options:
    ap = argparse.ArgumentParser(description="SQL completion language server (LSP over stdio).")
    ap.add_argument(
        "--ckpt",
        default=None,
        help="local model checkpoint (default: the shipped sqlcomplete/models/default)",
    )
    ap.add_argument(
        "--schema",
        action="append",
        default=[],
        metavar="FILE",
        help="file with CREATE TABLE statements",
    )
    ap.add_argument(
        "--schema-glob",
        default="**/*.sql",
        help="workspace files read for CREATE TABLE ('' for none)",
    )
    ap.add_argument(
        "--fim-url", default=None, help="vLLM OpenAI-compatible base URL, e.g. http://host:8000/v1"
    )
    ap.add_argument("--fim-model", default=None, help="model name served at --fim-url")
    ap.add_argument(
        "--fim-tokenizer",
        default=None,
        help="the FIM model's tokenizer: a tokenizer.json, a folder holding one or a hub model id "
        "(Hugging Face cache), to trim prompts to --fim-max-prompt-tokens",
    )
    ap.add_argument("--fim-max-prompt-tokens", type=int, default=4096)
    ap.add_argument(
        "--fim-max-tokens", type=int, default=64, help="longest FIM suggestion in tokens"
    )
    ap.add_argument(
        "--fim-timeout",
        type=float,
        default=2.0,
        help="seconds before the local model answers instead",
    )
    ap.add_argument(
        "--fim-retry-s", type=float, default=30.0, help="after a FIM failure, local-only this long"
    )
    ap.add_argument(
        "--debounce-ms", type=float, default=0.0, help="wait this long before running the model"
    )
    ap.add_argument(
        "--poll-s",
        type=float,
        default=2.0,
        help="check schema files and --db this often (0: never)",
    )
    add_completer_flags(ap)  # the local model's: --max-tokens, --ngram, ...
    add_db_args(ap)  # --db URL, --db-schema, --db-values, --db-refresh-s, timeouts
    a = ap.parse_args(argv)
    if a.fim_url and not a.fim_model:
        ap.error("--fim-url needs --fim-model")
    return Options(
        ckpt=a.ckpt,
        schema_files=[os.path.abspath(p) for p in a.schema],
        schema_glob=a.schema_glob,
        db=db_options(a),
        fim_url=a.fim_url,
        fim_model=a.fim_model,
        fim_tokenizer=a.fim_tokenizer,
        fim_max_prompt_tokens=a.fim_max_prompt_tokens,
        fim_max_tokens=a.fim_max_tokens,
        fim_timeout=a.fim_timeout,
        fim_retry_s=a.fim_retry_s,
        debounce_ms=a.debounce_ms,
        poll_s=a.poll_s,
        completer=completer_options(a),
    )


TERMINAL_NOTE = """\
sqlcomplete-lsp is a language server: an editor starts it and talks to it (LSP) over stdin and
stdout, so there is nothing to type here. To use it from Neovim, Helix or VS Code, see
docs/editors.md in the sqlcomplete repository. Ctrl-C quits."""


def exit_on_ctrl_c(signum, frame) -> None:
    """Ctrl-C: leave at once, status 130 (as a shell reports SIGINT). Python's KeyboardInterrupt
    would wait for the thread blocked reading stdin, and a second Ctrl-C aborts the interpreter."""
    sys.stderr.flush()
    os._exit(128 + signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    """Check the settings, start loading the model, serve LSP on stdin/stdout."""
    signal.signal(signal.SIGINT, exit_on_ctrl_c)
    opts = parse_args(argv)
    try:
        from sqlcomplete.completion.engine import resolve_ckpt

        try:
            resolve_ckpt(opts.ckpt)
        except FileNotFoundError:
            if not opts.fim_url:
                raise
            print(
                "lsp.py: no local model: the FIM backend answers alone, with no fallback",
                file=sys.stderr,
            )
        for path in opts.schema_files:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"--schema {path}: no such file")
        server = SqlServer(opts)
    except (FileNotFoundError, ValueError, DatabaseError) as e:
        print(f"lsp.py: {e}", file=sys.stderr)
        return 2
    if sys.stdin is not None and sys.stdin.isatty():  # by hand (`make lsp`), not by an editor
        print(TERMINAL_NOTE, file=sys.stderr, flush=True)
    log_to_stderr()
    server.load_model()
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
