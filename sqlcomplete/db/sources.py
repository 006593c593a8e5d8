"""Where the language server's schema comes from: files, the workspace, a live database.

In the order they count (a table named twice keeps its first definition): --schema files and the
initialization options' `schema` text and `schemaFiles`; the CREATE TABLE statements of the buffer;
those of the workspace's files matching the glob (watched through the editor when it can, else
polled); the tables of --db (db/database.py: SQLite is re-read when its file changes, a server every
`refresh_s` and on request). A source that cannot be read is reported once per version (one line)
and the last schema read from it is kept.
"""

import codecs
import fnmatch
import os
import threading
import time

from sqlcomplete.db.database import Database, DatabaseError, DbOptions
from sqlcomplete.sql.schema import parse_schema, split_tables

SKIP_DIRS = {"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"}
MAX_WORKSPACE_FILES = 1000
# one search of the workspace visits at most this many folders, for at most this long: an editor
# opened on a huge tree costs a bounded moment, not a core
MAX_WALK_FOLDERS = 2000
MAX_WALK_SECONDS = 2.0
WALK_SHARE = 0.05  # polling searches again no sooner than its last search's time / WALK_SHARE
MAX_FILE_BYTES = 1 << 20


def decode_text(data: bytes, strict: bool = True) -> str:
    """A schema file's text: UTF-8 (its BOM dropped), or UTF-16, as SSMS saves "Unicode" files (with
    a BOM, or without one: then every other byte of ASCII text is a NUL). strict: text that is
    neither raises UnicodeDecodeError; else bad bytes become U+FFFD."""
    errors = "strict" if strict else "replace"
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors)  # the codec reads the BOM and drops it
    head = data[:4096]
    if len(head) >= 4 and 3 * head.count(0) >= len(head):
        little = head[1::2].count(0) > head[0::2].count(0)
        return data.decode("utf-16-le" if little else "utf-16-be", errors)
    return data.decode("utf-8", errors)


def read_ddl(path: str, strict: bool = True) -> list[str]:
    """CREATE TABLE statements of a file; strict: a file that is not UTF-8 or UTF-16 raises
    UnicodeDecodeError."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES >> 20} MB")
    return split_tables(decode_text(data, strict))


def has_tables(ddl: list[str]) -> bool:
    """Whether any of these DDL texts declares a table with columns."""
    return any(parse_schema(part) for part in ddl)


def merge_schema(parts: list[str]) -> str:
    """CREATE TABLE texts joined as the training data joins them; a table named twice keeps the
    first."""
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


def not_a_project(root: str) -> bool:
    """The file system's root or the home folder: an editor opened there sees unrelated projects."""
    real = os.path.realpath(root)
    return real in (os.path.realpath(os.sep), os.path.realpath(os.path.expanduser("~")))


def workspace_files(
    roots: list[str],
    pattern: str,
    max_folders: int = MAX_WALK_FOLDERS,
    max_seconds: float = MAX_WALK_SECONDS,
) -> tuple[list[str], str | None]:
    """Files under the roots matching the glob (hidden and vendored folders skipped), sorted, 1000
    at most; and why the search stopped short (too many folders, too long, too many files)."""
    out, folders, t0 = [], 0, time.monotonic()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            folders += 1
            if folders > max_folders or time.monotonic() - t0 > max_seconds:
                return out, (
                    f"stopped after {folders - 1} folders in {time.monotonic() - t0:.1f} s "
                    f"(the limits are {max_folders} folders and {max_seconds:g} s)"
                )
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
            )
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                if glob_match(os.path.relpath(path, root).replace(os.sep, "/"), pattern):
                    out.append(path)
                    if len(out) >= MAX_WORKSPACE_FILES:
                        return out, f"stopped at {MAX_WORKSPACE_FILES} matching files"
    return out, None


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
        self.empty_files: dict[str, tuple] = {}  # path -> stamp of a file reported tableless
        self.db = (
            Database(db) if db else None
        )  # DatabaseError: a URL or driver problem, before serving
        self.db_ddl: list[str] = []
        self.db_stamp: tuple | None = (
            None  # SQLite: the file's (and its WAL's) stamp when last read
        )
        self.db_due = 0.0  # a server: monotonic time of the next refresh
        self.db_error: str | None = None  # the last failure, reported once until it changes
        self.walk_cut: str | None = None  # why the last workspace search stopped short
        self.walk_note: str | None = None  # the last note about the search, said once
        self.walked_at, self.walk_s = float("-inf"), 0.0  # when the last search began, how long
        self.lock = threading.Lock()

    def read(
        self, walk: bool, only: list[str] | None = None, refresh_db: bool = False
    ) -> tuple[bool, list[str]]:
        """Re-read what changed (a worker thread, one at a time): (anything changed, one-line
        notes)."""
        with self.lock:
            changed, notes = self._read_files(walk, only)
            db_changed, db_notes = self._read_db(refresh_db)
            return changed or db_changed, notes + db_notes

    def _read_files(self, walk: bool, only: list[str] | None) -> tuple[bool, list[str]]:
        changed, notes = False, []
        if walk:
            paths, notes = self._walk()
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
                        f"not UTF-8 or UTF-16 text ({e.reason} at byte {e.start})"
                        if isinstance(e, UnicodeDecodeError)
                        else e
                    )
                    notes.append(f"schema file {path} skipped: {why}")
            if fixed and stamp is None and old is None:
                notes.append(f"schema file {path} not found")
            if fixed and stamp and path not in self.bad_files and not has_tables(ddl):
                if self.empty_files.get(path) != stamp:  # once per version of the file
                    self.empty_files[path] = stamp
                    notes.append(f"schema file {path}: no CREATE TABLE with columns found in it")
            self.file_ddl[path] = (stamp, ddl)
            changed |= old is None or old[1] != ddl
        return changed, notes

    def _walk(self) -> tuple[list[str], list[str]]:
        """The workspace's schema files, searched within the bounds; a note when that changed."""
        if not self.schema_glob:
            return [], []
        roots = [r for r in self.roots if not not_a_project(r)]
        self.walked_at = time.monotonic()
        paths, self.walk_cut = workspace_files(
            roots, self.schema_glob, MAX_WALK_FOLDERS, MAX_WALK_SECONDS
        )
        self.walk_s = time.monotonic() - self.walked_at
        notes = [
            f"workspace folder {r} is the file system's root or the home folder: its files are "
            "not searched for CREATE TABLE (open a project folder, or list files in schemaFiles)"
            for r in self.roots
            if r not in roots
        ]
        if self.walk_cut:
            notes.append(
                f"the search of the workspace for {self.schema_glob} {self.walk_cut}: files beyond "
                "are not read, and polling does not search again (sqlcomplete.refreshSchema does)"
            )
        note = "; ".join(notes) or None
        if note == self.walk_note:
            return paths, []
        self.walk_note = note
        return paths, [note] if note else []

    def walk_due(self) -> bool:
        """Whether polling should search the workspace again: not after a search cut short, and no
        sooner than the last search's time / WALK_SHARE (a slow search costs 5% of a core)."""
        due = self.walked_at + self.walk_s / WALK_SHARE
        return self.walk_cut is None and time.monotonic() >= due

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
        """The schema for a document: the fixed files and text, its own DDL, the workspace's (an
        open file's buffer rather than its disk copy), the database's."""
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
