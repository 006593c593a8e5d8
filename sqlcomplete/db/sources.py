"""Where the language server's schema comes from: files, the workspace, a live database.

In the order they count (a table named twice keeps its first definition): --schema files and the
initialization options' `schema` text and `schemaFiles`; the CREATE TABLE statements of the buffer;
those of the workspace's files matching the glob (watched through the editor when it can, else
polled); the tables of --db (database.py: SQLite is re-read when its file changes, a server every
`refresh_s` and on request). A source that cannot be read is reported once per version (one line)
and the last schema read from it is kept.
"""

import fnmatch
import os
import threading
import time

from sqlcomplete.db.database import Database, DatabaseError, DbOptions
from sqlcomplete.sql.schema import parse_schema, split_tables

SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"}
MAX_WORKSPACE_FILES = 1000
MAX_FILE_BYTES = 1 << 20


def read_ddl(path: str, strict: bool = True) -> list[str]:
    """CREATE TABLE statements of a file; strict: a file that is not UTF-8 raises UnicodeDecodeError."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES >> 20} MB")
    return split_tables(data.decode("utf-8", "strict" if strict else "replace"))


def merge_schema(parts: list[str]) -> str:
    """CREATE TABLE texts joined as the training data joins them; a table named twice keeps the first."""
    seen, out = set(), []
    for part in parts:
        names = {n.lower() for n in parse_schema(part)}
        if names and names <= seen:
            continue
        seen |= names
        out.append(
            part.strip().encode("utf-8", "replace").decode("utf-8")
        )  # no lone surrogates for the model
    return "\n\n".join(out)


def glob_match(rel: str, pattern: str) -> bool:
    """fnmatch on a /-separated relative path, where a leading **/ also matches no folder."""
    return fnmatch.fnmatchcase(rel, pattern) or (
        pattern.startswith("**/") and fnmatch.fnmatchcase(rel, pattern[3:])
    )


def workspace_files(roots: list[str], pattern: str) -> list[str]:
    """Files under the roots matching the glob (hidden and vendored folders skipped), sorted, at most 1000."""
    out = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if glob_match(os.path.relpath(path, root).replace(os.sep, "/"), pattern):
                    out.append(path)
                    if len(out) >= MAX_WORKSPACE_FILES:
                        return out
    return out


def file_stamp(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class SchemaSources:
    """The schema files, the workspace's files and the database, re-read when they change."""

    def __init__(self, schema_files: list[str], schema_glob: str, db: DbOptions | None):
        self.schema_files = schema_files
        self.schema_text = ""  # initializationOptions.schema
        self.schema_glob = schema_glob
        self.roots: list[str] = []
        self.ws_paths: list[str] = []
        self.file_ddl: dict[str, tuple] = {}  # path -> (stamp, CREATE TABLE texts)
        self.bad_files: dict[str, tuple] = {}  # path -> stamp of a file reported unreadable
        self.db = (
            Database(db) if db else None
        )  # DatabaseError: a URL or driver problem, before serving
        self.db_ddl: list[str] = []
        self.db_stamp: tuple | None = (
            None  # SQLite: the file's (and its WAL's) stamp when last read
        )
        self.db_due = 0.0  # a server: monotonic time of the next refresh
        self.db_error: str | None = None  # the last failure, reported once until it changes
        self.lock = threading.Lock()

    def read(
        self, walk: bool, only: list[str] | None = None, refresh_db: bool = False
    ) -> tuple[bool, list[str]]:
        """Re-read what changed (a worker thread, one at a time): (anything changed, one-line notes)."""
        with self.lock:
            changed, notes = self._read_files(walk, only)
            db_changed, db_notes = self._read_db(refresh_db)
            return changed or db_changed, notes + db_notes

    def _read_files(self, walk: bool, only: list[str] | None) -> tuple[bool, list[str]]:
        changed, notes = False, []
        if walk:
            paths = workspace_files(self.roots, self.schema_glob) if self.schema_glob else []
            changed |= paths != self.ws_paths
            self.ws_paths = paths
        for path in only if only is not None else self.schema_files + self.ws_paths:
            stamp = file_stamp(path)
            old = self.file_ddl.get(path)
            if old is not None and old[0] == stamp:
                continue
            fixed = path in self.schema_files
            try:
                ddl = read_ddl(path, strict=not fixed) if stamp else []
                self.bad_files.pop(path, None)
            except (OSError, UnicodeDecodeError, ValueError) as e:
                ddl = []
                if self.bad_files.get(path) != stamp:  # say it once per version of the file
                    self.bad_files[path] = stamp
                    why = (
                        f"not UTF-8 ({e.reason} at byte {e.start})"
                        if isinstance(e, UnicodeDecodeError)
                        else e
                    )
                    notes.append(f"schema file {path} skipped: {why}")
            if fixed and stamp is None and old is None:
                notes.append(f"schema file {path} not found")
            self.file_ddl[path] = (stamp, ddl)
            changed |= old is None or old[1] != ddl
        return changed, notes

    def _read_db(self, force: bool) -> tuple[bool, list[str]]:
        db = self.db
        if db is None:
            return False, []
        if db.path:  # SQLite: cheap to tell whether the file changed
            stamp = (file_stamp(db.path), file_stamp(db.path + "-wal"))
            if stamp == self.db_stamp and not force:
                return False, []
            self.db_stamp = stamp
        elif not force and time.monotonic() < self.db_due:
            return False, []
        else:
            self.db_due = time.monotonic() + (
                db.opts.refresh_s if db.opts.refresh_s > 0 else float("inf")
            )
        try:
            db.refresh()
        except DatabaseError as e:
            note = f"{e} (keeping the {len(self.db_ddl)} tables read before)"
            first = str(e) != self.db_error
            self.db_error = str(e)
            return False, [note] if first else []
        notes = (
            [f"database {db.shown_url} answers again: {len(db.ddl)} tables"]
            if self.db_error
            else []
        )
        self.db_error = None
        changed = db.ddl != self.db_ddl
        self.db_ddl = list(db.ddl)
        return changed, notes

    def merged(self, doc_path: str | None, doc_ddl: list[str], open_buffers: dict) -> str:
        """The schema for a document: the fixed files and text, its own DDL, the workspace's (an open
        file's buffer rather than its disk copy), the database's."""
        parts = []
        for path in self.schema_files:
            parts += self.file_ddl.get(path, (None, []))[1]
        parts += split_tables(self.schema_text)
        parts += doc_ddl
        for path in self.ws_paths:
            if path == doc_path or path in self.schema_files:
                continue
            other = open_buffers.get(path)  # an open file: its buffer (sqlscan), not the disk
            parts += other.ddl() if other is not None else self.file_ddl.get(path, (None, []))[1]
        parts += self.db_ddl
        return merge_schema(parts)
