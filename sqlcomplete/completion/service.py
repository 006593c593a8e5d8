"""The completion pipeline, put together once for every front end (the command line, the editor,
the language server, the evaluation):

    service = CompletionService(Completer(), db, values=True)   # db: a live database, or None
    service.set_schema(schema)                                   # "" with a db: the db's schema
    service.complete(prefix, suffix, n)                          # values first, then the model's

and the one rule for when a request runs (LatestRequests): a document's newest request, once no
newer one has come for a quiet spell; an older one is dropped wherever it waits.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlcomplete.completion.fim_backend import FimBackend
from sqlcomplete.db.database import Database, merge, value_completions

# how a front end runs the local completer for complete_async: (suggestions, which answered),
# suggestions None when the request was dropped meanwhile
LocalRun = Callable[[], Awaitable[tuple[list[str] | None, str]]]


class CompletionService:
    """A local completer (engine.Completer, the n-gram, or anything with set_schema and complete)
    with a live database's schema and values (--db, --db-values), and the FIM backend."""

    def __init__(
        self,
        completer=None,
        db: Database | None = None,
        values: bool = False,
        fim: FimBackend | None = None,
    ):
        # completer None: the front end runs its own (the language server: its model thread, and
        # the n-gram while the model loads), and passes complete_async a LocalRun
        self.completer, self.db, self.fim = completer, db, fim
        self.values = values and db is not None

    def set_schema(self, schema: str) -> None:
        """The schema the completer reads: the database's where none is given."""
        if not schema and self.db is not None:
            schema = "\n\n".join(self.db.ddl)
        self.completer.set_schema(schema)

    def complete(self, prefix: str, suffix: str = "", n: int = 5) -> list[str]:
        """Up to n suggestions for the text around the cursor, best first: with --db-values, a
        column's common values first where the cursor is at its value, then the completer's."""
        out = self.completer.complete(prefix, suffix, n)
        return merge(value_completions(self.db, prefix, suffix, n), out, n) if self.values else out

    async def complete_async(
        self, prefix: str, suffix: str, n: int, local: LocalRun, fim_prompt: str | None = None
    ) -> tuple[list[str] | None, str]:
        """The FIM backend's suggestion where the front end built its prompt (it needs the document
        around the cursor) and the backend answers, else `local()`'s; the database's values first,
        looked up on a worker thread meanwhile. (suggestions or None when dropped, which answered:
        "fim" or what `local` says)."""
        values = None
        if self.values:
            loop = asyncio.get_running_loop()
            values = loop.run_in_executor(None, value_completions, self.db, prefix, suffix, n)
        texts, backend = None, "local"
        if fim_prompt is not None and self.fim is not None:
            texts, backend = await self.fim.complete(fim_prompt), "fim"  # None: it failed
        if texts is None:
            texts, backend = await local()
        if values is not None and texts is not None:
            texts = merge(await values, texts, n)  # merged here: the FIM prompt never sees them
        return texts, backend


class LatestRequests:
    """Debounce and supersede, for the editor's worker thread and the language server alike: each
    document keeps only its newest request, which may run once no newer one has come for the
    quiet spell; an older request is stale and dropped wherever it waits. Not locked: the
    editor holds its condition's lock, the server posts from its event loop only."""

    def __init__(self):
        self.newest: dict = {}  # document -> (request, monotonic time it was posted)

    def post(self, doc, request) -> None:
        self.newest[doc] = (request, time.monotonic())

    def is_newest(self, doc, request) -> bool:
        got = self.newest.get(doc)
        return got is not None and got[0] == request

    def quiet_left(self, doc, quiet_s: float) -> float | None:
        """Seconds before the document's newest request may run (0: now); None when none waits."""
        got = self.newest.get(doc)
        if got is None:
            return None
        return max(0.0, quiet_s - (time.monotonic() - got[1]))

    def take(self, doc):
        """The document's newest request, no longer waiting (None when none waits)."""
        got = self.newest.pop(doc, None)
        return None if got is None else got[0]

    def cancel(self, doc) -> None:
        self.newest.pop(doc, None)
