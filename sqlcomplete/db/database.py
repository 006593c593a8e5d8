"""The user's live database: its schema as CREATE TABLE text, and the common values of its columns.

    # print what the completer sees
    python -m sqlcomplete.db.database URL [--db-schema NAME ...] [--values TABLE.COLUMN ...]

URLs are SQLAlchemy's: postgresql://user@host/db, cockroachdb://user@host:26257/db,
mysql+pymysql://user@host/db, duckdb:///file.duckdb, sqlite:///file.db (or a plain path to a
SQLite file). A bare postgresql:// or cockroachdb:// uses psycopg (3), a bare mysql:// PyMySQL.
SQLite is read with the standard library; the others need `pip install .[db]`.

- The schema comes from SQLAlchemy's inspector (tables, views, columns and types, primary, unique
  and foreign keys), in the namespaces of --db-schema, else PostgreSQL's search_path, else the
  connection's default; a --db-schema the database lacks is an error on every backend (SQLite's
  namespaces are its attached databases: main, temp). It is rendered in the hand-written layout
  most of the training data has (4-space indent, an inline PRIMARY KEY, table-level composite
  keys and FOREIGN KEY lines), referenced tables first; tables outside the default namespaces are
  qualified (`sales.orders`). A view is rendered as a table of its columns: the models read only
  CREATE TABLE.
- Access is read-only (a read-only transaction on PostgreSQL/CockroachDB and MySQL, DuckDB's and
  SQLite's read-only modes), with a connect timeout and a per-query timeout.
- The password comes from the URL, else $PGPASSWORD (PostgreSQL, CockroachDB) or $MYSQL_PWD, else
  ~/.pgpass ($PGPASSFILE). It never appears in a message or an exception, nor does any piece of
  it a driver may print, nor a ?password= (or ?sslpassword=, ?api_key=) parameter: redact() and
  scrub(), which datagen's --llm-url uses too. A raw '@' in a password is read as part of it.
- Values (opt-in: they read data): a text column's most common values, from PostgreSQL's
  pg_stats.most_common_vals (no table scan) or an enum's labels, else a GROUP BY over a bounded
  sample (TABLESAMPLE SYSTEM on PostgreSQL), timed out by the query timeout; cached per column.
  They are for the front-ends to show and nothing else: never logged, never sent to a FIM backend.
"""

import argparse
import os
import re
import sqlite3
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlcomplete.sql.lexicon import RESERVED, WRITTEN_NAME, unquote
from sqlcomplete.sql.scan import string_start

TEXT_TYPE = re.compile(
    r"char|text|string|clob|enum|citext|\bname\b|uuid|json", re.I
)  # values shown in quotes
_NOT_TEXT = re.compile(r"json|uuid|\[\]", re.I)  # quoted, but no common values worth offering
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_VALUE_CHARS = 80  # longer values are prose, not something to pick from a menu
MULTI_REFLECTION = {
    "postgresql",
    "mysql",
    "mariadb",
}  # dialects whose get_multi_* read all tables at once
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "cockroachdb": "cockroachdb+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}


class DatabaseError(Exception):
    """A database that cannot be read: one line, naming the URL without its password."""


@dataclass
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    enum: list[str] = field(
        default_factory=list
    )  # an enum type's labels: values that cost no query


@dataclass
class Table:
    name: str  # as the database spells it
    namespace: str | None  # schema (PostgreSQL), database (MySQL); None: the default one
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    unique: list[list[str]] = field(default_factory=list)
    foreign_keys: list[tuple[list[str], str, list[str]]] = field(
        default_factory=list
    )  # (columns, table, columns)
    view: bool = False
    qualify: bool = False  # rendered as namespace.name
    parents: list[tuple[str | None, str]] = field(
        default_factory=list
    )  # (namespace, name) of referenced tables


@dataclass
class DbOptions:
    """How to reach the database and how much of it to read."""

    url: str
    schemas: list[str] = field(
        default_factory=list
    )  # --db-schema; empty: search_path / the default
    connect_timeout: float = 5.0
    query_timeout: float = 10.0
    values: bool = False  # --db-values: read column values
    values_per_column: int = 20
    sample_rows: int = 10_000  # the GROUP BY reads at most this many rows
    refresh_s: float = 60.0  # re-read the schema this often (0: only on request)


# ---------------------------------------------------------------- URLs and passwords


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:") or "://" not in url


def sqlite_path(url: str) -> str:
    """The file of sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy's spelling) or a
    plain path."""
    if url.startswith("sqlite:"):
        rest = urllib.parse.unquote(url[len("sqlite:") :]).split("?", 1)[0]
        if not rest.startswith("//"):
            raise ValueError(
                f"--db {redact(url)}: write sqlite:///relative.db or sqlite:////absolute.db"
            )
        return rest[3:] or ":memory:"
    return url


# scheme://user:password@host: the userinfo runs to the last '@' before any ? or #, so that a
# password with a raw '@' (u:SEC@RET@host) is read whole, as Python's urlsplit reads it
_USERINFO = re.compile(r"\A([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@][^?#]*)@")
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|api_?key", re.I)  # ?password=, ?sslpassword=
_URL_DELIMITERS = re.compile(r"[@:/?#&=\s]+")
MIN_SECRET_PIECE = 3  # shorter pieces of a password are left: they would blank half a message


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password of the URL's userinfo is, else None."""
    m = _USERINFO.match(url)
    if m is None or ":" not in m.group(2):
        return None
    start = m.start(2) + m.group(2).index(":") + 1
    return start, m.end(2)


def _secret_params(url: str) -> list[tuple[int, int]]:
    """Where the values of the URL's password-like query parameters are."""
    q = url.find("?")
    if q < 0:
        return []
    spans, pos = [], q + 1
    end = url.find("#", pos) if "#" in url[pos:] else len(url)
    for pair in url[pos:end].split("&"):
        key, eq, value = pair.partition("=")
        if eq and value and _SECRET_PARAM.search(key):
            spans.append((pos + len(key) + 1, pos + len(pair)))
        pos += len(pair) + 1
    return spans


def redact(url: str) -> str:
    """The URL with its password and the values of password-like query parameters (?password=,
    ?sslpassword=, ?api_key=) replaced by ***: the one redaction of URLs (--db, datagen's
    --llm-url)."""
    spans = sorted(filter(None, [_password_span(url), *_secret_params(url)]), reverse=True)
    for start, end in spans:
        url = url[:start] + "***" + url[end:]
    return url


def url_secrets(url: str) -> list[str]:
    """Every secret a URL holds (redact's), for scrub()."""
    return secret_pieces(
        [url[s:e] for s, e in filter(None, [_password_span(url)])]
        + [url[s:e] for s, e in _secret_params(url)]
    )


def secret_pieces(secrets: list[str | None]) -> list[str]:
    """Secrets as a driver may print them, longest first: as written, percent-decoded and encoded,
    and each piece between URL delimiters (`u:SEC@RETPW@host` gets read by some parsers as
    password `SEC` at host `RETPW@host`, and the error names that host)."""
    out = set()
    for secret in filter(None, secrets):
        for form in {secret, urllib.parse.unquote(secret), urllib.parse.quote(secret, safe="")}:
            out.add(form)
            out |= {p for p in _URL_DELIMITERS.split(form) if len(p) >= MIN_SECRET_PIECE}
    return sorted(out, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """The text with each of the secrets (secret_pieces' list) replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def sqlalchemy_url(url: str) -> str:
    """The URL with a raw '@' in its userinfo percent-encoded: SQLAlchemy and libpq end the password
    at its first '@' (password `SEC`, host `RETPW@127.0.0.1`); urlsplit, and this, at the last."""
    m = _USERINFO.match(url)
    if m is None or "@" not in m.group(2):
        return url
    return m.group(1) + m.group(2).replace("@", "%40") + url[m.end(2) :]


def pgpass_password(
    host: str, port: str, database: str, user: str, path: str | None = None
) -> str | None:
    """The password of the first matching ~/.pgpass line (libpq's rules: * matches anything,
    \\ escapes)."""
    path = path or os.environ.get("PGPASSFILE") or os.path.expanduser("~/.pgpass")
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = [
            p.replace("\\:", ":").replace("\\\\", "\\")
            for p in re.split(r"(?<!\\):", line, maxsplit=4)
        ]
        if len(fields) != 5:
            continue
        if all(f == "*" or f == v for f, v in zip(fields[:4], (host, port, database, user))):
            return fields[4]
    return None


def with_password(url):
    """A SQLAlchemy URL with the password filled in from the environment or ~/.pgpass when it
    has none."""
    if url.password is not None:
        return url
    backend = url.get_backend_name()
    password = None
    if backend in ("postgresql", "cockroachdb"):
        host = url.host or url.query.get("host") or "localhost"
        host = host if isinstance(host, str) else host[0]
        port = str(
            url.port or url.query.get("port") or (26257 if backend == "cockroachdb" else 5432)
        )
        user = url.username or os.environ.get("PGUSER") or _login_name()
        password = os.environ.get("PGPASSWORD") or pgpass_password(
            host, port, url.database or user, user
        )
    elif backend in ("mysql", "mariadb"):
        password = os.environ.get("MYSQL_PWD")
    return url.set(password=password) if password is not None else url


def _login_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "")


def one_line(e: BaseException, secrets: list[str] | str | None = None) -> str:
    """An exception as one line, with the secrets (a password, or secret_pieces' list) taken out."""
    text = " ".join(str(getattr(e, "orig", None) or e).split()) or type(e).__name__
    text = re.sub(r"\(Background on this error at: [^)]*\)", "", text).strip()
    pieces = secret_pieces([secrets]) if isinstance(secrets, str) else secrets or []
    return scrub(text, pieces)[:300]  # scrubbed first: a cut could leave half a secret


# ---------------------------------------------------------------- rendering


def quote(name: str, preparer=None) -> str:
    """A name as the database needs it written: bare when it can be, else quoted."""
    if preparer is not None:
        return preparer.quote(name)
    if _PLAIN_NAME.match(name) and name.lower() not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def clean_type(t: str) -> str:
    """The type as the training data spells it (TIMESTAMPTZ, not TIMESTAMP WITH TIME ZONE)."""
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"(?i)^TIMESTAMP(\(\d+\))? WITH TIME ZONE$", r"TIMESTAMPTZ\1", t)
    t = re.sub(r"(?i)^(TIMESTAMP|TIME)(\(\d+\))? WITHOUT TIME ZONE$", r"\1\2", t)
    t = re.sub(r"(?i)^CHARACTER VARYING", "VARCHAR", t)
    return t or "TEXT"


def clean_default(d: str | None, type_: str) -> tuple[str | None, str]:
    """(default, type) to render: sequences become SERIAL, PostgreSQL's ::casts go, long ones are
    dropped."""
    if d is None:
        return None, type_
    d = " ".join(str(d).split())
    if d.lower().startswith("nextval("):
        big = type_.upper() in ("BIGINT", "INT8")
        return None, "BIGSERIAL" if big else "SERIAL"
    d = re.sub(r"::[A-Za-z_][\w ]*(\[\])?", "", d)
    return (d if len(d) <= 40 else None), type_


def render_table(t: Table, preparer=None) -> str:
    """CREATE TABLE text in the layout most training schemas have."""
    q = quoter(preparer)
    name = f"{q(t.namespace)}.{q(t.name)}" if t.qualify and t.namespace else q(t.name)
    single_pk = t.primary_key[0] if len(t.primary_key) == 1 else None
    single_unique = {u[0] for u in t.unique if len(u) == 1}
    lines = []
    for c in t.columns:
        default, type_ = clean_default(c.default, c.type)
        s = f"{q(c.name)} {type_}"
        if c.name == single_pk:
            s += " PRIMARY KEY"
        elif not c.nullable:
            s += " NOT NULL"
        if c.name in single_unique and c.name != single_pk:
            s += " UNIQUE"
        if default is not None:
            s += f" DEFAULT {default}"
        lines.append(s)
    if len(t.primary_key) > 1:
        lines.append(f"PRIMARY KEY ({', '.join(map(q, t.primary_key))})")
    for u in t.unique:
        if len(u) > 1:
            lines.append(f"UNIQUE ({', '.join(map(q, u))})")
    for cols, ref, ref_cols in t.foreign_keys:
        lines.append(
            f"FOREIGN KEY ({', '.join(map(q, cols))}) "
            f"REFERENCES {ref}({', '.join(map(q, ref_cols))})"
        )
    return f"CREATE TABLE {name} (\n    " + ",\n    ".join(lines) + "\n);"


def quoter(preparer):
    return lambda name: quote(name, preparer)


def dependency_order(tables: list[Table]) -> list[Table]:
    """Referenced tables before the tables that reference them (as people write schemas), else as
    given."""
    by_key = {(t.namespace, t.name): t for t in tables}
    done, out = set(), []

    def visit(t: Table, path: set) -> None:
        key = (t.namespace, t.name)
        if key in done or key in path:
            return
        path.add(key)
        for parent in t.parents:
            if parent in by_key:
                visit(by_key[parent], path)
        done.add(key)
        out.append(t)

    for t in tables:
        visit(t, set())
    return out


# ---------------------------------------------------------------- reading


class Database:
    """One database: its schema (re-read on refresh()) and its columns' common values (cached)."""

    def __init__(self, opts: DbOptions):
        self.opts = opts
        self.url = opts.url
        self.shown_url = redact(opts.url)
        self.secrets = url_secrets(opts.url)  # what no message may show (scrub)
        self.tables: list[Table] = []
        self.ddl: list[str] = []
        self.read_at = 0.0  # monotonic time of the last successful read
        self.read_s = 0.0  # how long it took
        self._values: dict[tuple, list[str]] = {}
        self._lock = threading.Lock()  # one query at a time on the engine
        self._engine = None
        self._preparer = None
        if is_sqlite(opts.url):
            self.path = sqlite_path(opts.url)
        else:
            self.path = None
            self._engine = self._make_engine()

    # ------------------------------------------------------------ connection

    def _make_engine(self):
        try:
            import sqlalchemy as sa
        except ImportError:
            raise DatabaseError(
                f"--db {self.shown_url}: needs SQLAlchemy and the database's driver: "
                "pip install 'sqlcomplete[db]'"
            ) from None
        try:
            url = sa.engine.make_url(sqlalchemy_url(self.url))
        except (sa.exc.ArgumentError, ValueError) as e:  # ValueError: a port that is no number
            raise DatabaseError(
                f"--db {self.shown_url}: not a database URL ({one_line(e, self.secrets)})"
            ) from None
        if "+" not in url.drivername and url.drivername in DRIVERS:
            url = url.set(drivername=DRIVERS[url.drivername])
        url = with_password(url)  # from $PGPASSWORD or ~/.pgpass: a secret too
        self.secrets = secret_pieces([*self.secrets, url.password])
        backend = url.get_backend_name()
        self.backend = backend
        timeout_ms = int(self.opts.query_timeout * 1000)
        args: dict = {}
        if backend in ("postgresql", "cockroachdb"):
            # libpq's connect_timeout is whole seconds (2 at least); the session is read-only from
            # the start
            args["connect_timeout"] = max(2, round(self.opts.connect_timeout))
            args["options"] = (
                f"-c default_transaction_read_only=on -c statement_timeout={timeout_ms}"
            )
        elif backend in ("mysql", "mariadb"):
            args.update(
                connect_timeout=max(1, round(self.opts.connect_timeout)),
                read_timeout=max(1, round(self.opts.query_timeout)),
            )
            if url.get_driver_name() == "pymysql":
                args["init_command"] = (
                    f"SET SESSION TRANSACTION READ ONLY, SESSION max_execution_time = {timeout_ms}"
                )
        elif backend == "duckdb":
            args["read_only"] = True
        try:
            engine = sa.create_engine(
                url,
                connect_args=args,
                pool_size=1,
                max_overflow=0,
                pool_pre_ping=True,
                pool_timeout=self.opts.connect_timeout,
            )
        except (ImportError, ModuleNotFoundError) as e:
            raise DatabaseError(
                f"--db {self.shown_url}: the driver is not installed "
                f"({one_line(e, self.secrets)}): "
                "pip install 'sqlcomplete[db]'"
            ) from None
        except sa.exc.SQLAlchemyError as e:
            raise DatabaseError(f"--db {self.shown_url}: {one_line(e, self.secrets)}") from None
        self._preparer = engine.dialect.identifier_preparer
        return engine

    def _connect_sqlite(self) -> sqlite3.Connection:
        if self.path != ":memory:" and not os.path.isfile(self.path):
            raise DatabaseError(f"--db {self.shown_url}: no such file {self.path}")
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
        return sqlite3.connect(
            uri, uri=True, timeout=self.opts.connect_timeout, check_same_thread=False
        )

    def _watchdog(self, interrupt) -> threading.Timer:
        """Interrupt a query still running after the query timeout (DuckDB and SQLite have no
        server-side one)."""
        timer = threading.Timer(self.opts.query_timeout, interrupt)
        timer.daemon = True
        timer.start()
        return timer

    # ------------------------------------------------------------ schema

    def refresh(self) -> bool:
        """Re-read the schema; True when it changed. On failure raise DatabaseError and keep the
        last one."""
        t0 = time.perf_counter()
        with self._lock:
            try:
                tables = self._read_sqlite() if self.path else self._read_inspector()
            except DatabaseError:
                raise
            except Exception as e:  # any driver error: one line, the old schema stays
                raise DatabaseError(
                    f"database {self.shown_url}: {one_line(e, self.secrets)}"
                ) from None
        tables = dependency_order(tables)
        ddl = [render_table(t, self._preparer) for t in tables]
        self.read_s, self.read_at = time.perf_counter() - t0, time.monotonic()
        changed = ddl != self.ddl
        self.tables, self.ddl = tables, ddl
        if changed:
            self._values.clear()  # columns may have gone or changed type
        return changed

    def _missing_namespaces(self, wanted: list[str], have: list[str], fold: bool = False) -> None:
        """Raise DatabaseError naming the --db-schema namespaces that the database does not have."""
        known = {h.lower() for h in have} if fold else set(have)
        missing = [w for w in wanted if (w.lower() if fold else w) not in known]
        if missing:
            listed = ", ".join(sorted(have)[:12]) + (", ..." if len(have) > 12 else "")
            raise DatabaseError(
                f"database {self.shown_url}: --db-schema {', '.join(missing)}: no such namespace "
                f"(it has: {listed})"
            )

    def _read_sqlite(self) -> list[Table]:
        con = self._connect_sqlite()
        timer = self._watchdog(con.interrupt)
        try:
            # SQLite's namespaces are its attached databases: main, temp, and what ATTACH added
            have = [row[1] for row in con.execute("PRAGMA database_list").fetchall()]
            wanted = list(self.opts.schemas) or ["main"]
            self._missing_namespaces(wanted, have, fold=True)
            return [
                t
                for ns in dict.fromkeys(w.lower() for w in wanted)
                for t in self._read_sqlite_ns(con, ns)
            ]
        except sqlite3.Error as e:
            raise DatabaseError(f"database {self.path}: {one_line(e)}") from None
        finally:
            timer.cancel()
            con.close()

    def _read_sqlite_ns(self, con: sqlite3.Connection, ns: str) -> list[Table]:
        """One attached database's tables and views (main's written unqualified)."""
        namespace, q_ns = (None if ns == "main" else ns), quote(ns)
        rows = con.execute(
            f"SELECT name, type FROM {q_ns}.sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
        ).fetchall()
        tables = []
        for name, kind in rows:
            qn = quote(name)
            cols = con.execute(
                f"PRAGMA {q_ns}.table_info({qn})"
            ).fetchall()  # cid, name, type, notnull, dflt, pk
            columns = [Column(c[1], c[2] or "TEXT", nullable=not c[3], default=c[4]) for c in cols]
            pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
            fks: dict[int, tuple[list, str, list]] = {}
            for fk in con.execute(
                f"PRAGMA {q_ns}.foreign_key_list({qn})"
            ).fetchall():  # id, seq, table, from, to
                entry = fks.setdefault(fk[0], ([], quote(fk[2]), []))
                entry[0].append(fk[3])
                entry[2].append(fk[4] or (pk[0] if pk else fk[3]))
            unique = []
            for idx in con.execute(
                f"PRAGMA {q_ns}.index_list({qn})"
            ).fetchall():  # seq, name, unique, origin, partial
                if idx[2] and idx[3] == "u":
                    unique.append(
                        [
                            r[2]
                            for r in con.execute(
                                f"PRAGMA {q_ns}.index_info({quote(idx[1])})"
                            ).fetchall()
                        ]
                    )
            fk_list = list(fks.values())
            tables.append(
                Table(
                    name,
                    namespace,
                    columns,
                    pk,
                    unique,
                    fk_list,
                    view=kind == "view",
                    qualify=namespace is not None,
                    parents=[(namespace, unquote(fk[1])) for fk in fk_list],
                )
            )
        return tables

    def _namespaces(self, conn, insp) -> tuple[list[str | None], set]:
        """The namespaces to read and those whose tables are written unqualified."""
        import sqlalchemy as sa

        default = insp.default_schema_name
        if self.opts.schemas:
            wanted = list(self.opts.schemas)
            self._missing_namespaces(wanted, insp.get_schema_names())
        elif self.backend == "postgresql":
            wanted = list(conn.execute(sa.text("SELECT unnest(current_schemas(false))")).scalars())
        else:
            wanted = [default]
        unqualified = {default, None}
        if self.backend == "postgresql":
            unqualified |= set(
                conn.execute(sa.text("SELECT unnest(current_schemas(false))")).scalars()
            )
        return [None if s == default else s for s in wanted], unqualified

    def _read_inspector(self) -> list[Table]:
        import sqlalchemy as sa

        try:
            with self._engine.connect() as conn:
                dbapi = conn.connection.dbapi_connection
                timer = self._watchdog(dbapi.interrupt) if self.backend == "duckdb" else None
                try:
                    if self.backend == "duckdb":
                        tables = self._read_duckdb(conn)
                    else:
                        insp = sa.inspect(conn)
                        namespaces, unqualified = self._namespaces(conn, insp)
                        tables = []
                        for ns in dict.fromkeys(namespaces):
                            tables += self._read_namespace(
                                insp, ns, ns in unqualified or ns is None
                            )
                finally:
                    if timer is not None:
                        timer.cancel()
                    conn.rollback()
        except sa.exc.SQLAlchemyError as e:
            raise DatabaseError(f"database {self.shown_url}: {one_line(e, self.secrets)}") from None
        return tables

    def _read_duckdb(self, conn) -> list[Table]:
        """DuckDB's own catalog functions: duckdb-engine's inspector runs PostgreSQL catalog
        queries DuckDB lacks."""
        import sqlalchemy as sa

        default = conn.execute(sa.text("SELECT current_schema()")).scalar()
        wanted = list(self.opts.schemas) or [default]
        have = conn.execute(sa.text("SELECT DISTINCT schema_name FROM duckdb_schemas()")).scalars()
        self._missing_namespaces(wanted, list(have))
        rows = conn.execute(
            sa.text(
                "SELECT schema_name, table_name, false FROM duckdb_tables() WHERE NOT internal "
                "UNION ALL "
                "SELECT schema_name, view_name, true FROM duckdb_views() WHERE NOT internal"
            )
        ).fetchall()
        tables = {
            (ns, name): Table(
                name, None if ns == default else ns, [], view=view, qualify=ns != default
            )
            for ns, name, view in rows
            if ns in wanted
        }
        for ns, name, col, type_, nullable, default_ in conn.execute(
            sa.text(
                "SELECT schema_name, table_name, column_name, data_type, is_nullable, "
                "column_default FROM duckdb_columns() WHERE NOT internal "
                "ORDER BY schema_name, table_name, column_index"
            )
        ):
            if (ns, name) in tables:
                tables[(ns, name)].columns.append(
                    Column(col, clean_type(type_), bool(nullable), default_)
                )
        q = quoter(self._preparer)
        for ns, name, kind, cols, ref, ref_cols in conn.execute(
            sa.text(
                "SELECT schema_name, table_name, constraint_type, constraint_column_names, "
                "referenced_table, referenced_column_names FROM duckdb_constraints()"
            )
        ):
            t = tables.get((ns, name))
            if t is None:
                continue
            if kind == "PRIMARY KEY":
                t.primary_key = list(cols)
            elif kind == "UNIQUE":
                t.unique.append(list(cols))
            elif kind == "FOREIGN KEY":
                t.foreign_keys.append((list(cols), q(ref), list(ref_cols)))
                t.parents.append((t.namespace, ref))
        return sorted(tables.values(), key=lambda t: (t.namespace or "", t.name))

    def _read_namespace(self, insp, ns: str | None, bare: bool) -> list[Table]:
        """One namespace's tables and views through the inspector (bare: written unqualified)."""
        from sqlalchemy.engine.reflection import ObjectKind

        views = set(insp.get_view_names(schema=ns))
        if self.backend in MULTI_REFLECTION:  # one query per kind of fact for all tables
            kinds = ObjectKind.TABLE | ObjectKind.VIEW | ObjectKind.MATERIALIZED_VIEW
            columns = insp.get_multi_columns(schema=ns, kind=kinds)
            pks = insp.get_multi_pk_constraint(schema=ns)
            fks = insp.get_multi_foreign_keys(schema=ns)
            uniques = insp.get_multi_unique_constraints(schema=ns)
        else:
            # dialects whose multi-table queries are PostgreSQL's own (duckdb-engine, CockroachDB's)
            names = insp.get_table_names(schema=ns)
            columns = {(ns, t): insp.get_columns(t, schema=ns) for t in names + sorted(views)}
            pks = {(ns, t): insp.get_pk_constraint(t, schema=ns) for t in names}
            fks = {(ns, t): insp.get_foreign_keys(t, schema=ns) for t in names}
            uniques = {}
            for t in names:
                try:
                    uniques[(ns, t)] = insp.get_unique_constraints(t, schema=ns)
                except NotImplementedError:
                    break
        q = quoter(self._preparer)
        out = []
        for key in sorted(columns, key=lambda k: k[1]):
            name = key[1]
            cols = []
            for c in columns[key]:
                enum = list(getattr(c["type"], "enums", None) or [])
                try:
                    type_ = c["type"].compile(dialect=self._engine.dialect)
                except Exception:  # a type the dialect cannot spell: its generic name
                    type_ = "TEXT"
                if enum and getattr(c["type"], "name", None):
                    type_ = c["type"].name
                cols.append(
                    Column(
                        c["name"],
                        clean_type(type_),
                        bool(c.get("nullable", True)),
                        c.get("default"),
                        enum,
                    )
                )
            pk = (pks.get(key) or {}).get("constrained_columns") or []
            foreign = []
            parents = []
            for fk in fks.get(key) or []:
                ref_ns = fk.get("referred_schema")
                ref = q(fk["referred_table"])
                if ref_ns is not None and ref_ns != ns:
                    ref = f"{q(ref_ns)}.{ref}"
                foreign.append((fk["constrained_columns"], ref, fk["referred_columns"]))
                parents.append((ref_ns, fk["referred_table"]))
            unique = [u["column_names"] for u in uniques.get(key) or []]
            out.append(
                Table(
                    name,
                    ns,
                    cols,
                    list(pk),
                    unique,
                    foreign,
                    view=name in views,
                    qualify=not bare,
                    parents=parents,
                )
            )
        return out

    # ------------------------------------------------------------ values

    def find_column(self, column: str, tables: list[str]) -> tuple[Table, Column] | None:
        """The column by name in the first of `tables` (names as written in SQL) that has it, else
        in any table."""
        col = unquote(column).lower()
        wanted = [unquote(t.split(".")[-1]).lower() for t in tables]
        named = [t for w in wanted for t in self.tables if t.name.lower() == w]
        for t in (
            named or self.tables
        ):  # a table the statement names exists: do not guess another one
            for c in t.columns:
                if c.name.lower() == col:
                    return t, c
        return None

    def values(self, table: Table, column: Column) -> list[str]:
        """The column's most common values, most common first (cached; [] for a non-text column)."""
        if not TEXT_TYPE.search(column.type) and not column.enum:
            return []
        if _NOT_TEXT.search(column.type):
            return []
        key = (table.namespace, table.name, column.name)
        if key not in self._values:
            if column.enum:
                vals = list(column.enum)
            else:
                with self._lock:
                    try:
                        vals = self._read_values(table, column)
                    except Exception:  # no values this time; never logged: errors may quote data
                        return []
            self._values[key] = [
                v for v in vals if v is not None and len(str(v)) <= MAX_VALUE_CHARS
            ][: self.opts.values_per_column]
        return self._values[key]

    def _read_values(self, table: Table, column: Column) -> list[str]:
        n, rows = self.opts.values_per_column, self.opts.sample_rows
        if self.path:
            con = self._connect_sqlite()
            timer = self._watchdog(con.interrupt)
            try:
                c, t = quote(column.name), quote(table.name)
                return [
                    str(v)
                    for (v,) in con.execute(
                        f"SELECT {c} FROM (SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT ?) "
                        f"GROUP BY {c} ORDER BY count(*) DESC, {c} LIMIT ?",
                        (rows, n),
                    ).fetchall()
                ]
            finally:
                timer.cancel()
                con.close()
        import sqlalchemy as sa

        q = quoter(self._preparer)
        c = q(column.name)
        t = f"{q(table.namespace)}.{q(table.name)}" if table.namespace else q(table.name)
        with self._engine.connect() as conn:
            timer = (
                self._watchdog(conn.connection.dbapi_connection.interrupt)
                if self.backend == "duckdb"
                else None
            )
            try:
                sample = ""
                if self.backend == "postgresql":
                    mcv = conn.execute(
                        sa.text(
                            "SELECT most_common_vals::text::text[] FROM pg_catalog.pg_stats "
                            "WHERE schemaname = coalesce(:ns, current_schema()) "
                            "AND tablename = :t AND attname = :c"
                        ),
                        {"ns": table.namespace, "t": table.name, "c": column.name},
                    ).scalar()
                    if mcv:
                        return [str(v) for v in mcv[:n]]
                    est = (
                        conn.execute(
                            sa.text(
                                "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = "
                                "CAST(:t AS regclass)"
                            ),
                            {"t": t},
                        ).scalar()
                        or 0
                    )
                    if est > rows * 4:  # reads about `rows` rows' pages, not the table
                        sample = f" TABLESAMPLE SYSTEM ({max(0.01, 100.0 * rows * 2 / est):.4f})"
                result = conn.execute(
                    sa.text(
                        f"SELECT v FROM (SELECT {c} AS v FROM {t}{sample} "
                        f"WHERE {c} IS NOT NULL LIMIT {int(rows)}) s "
                        f"GROUP BY v ORDER BY count(*) DESC, v LIMIT {int(n)}"
                    )
                )
                return [str(v) for v in result.scalars()]
            finally:
                if timer is not None:
                    timer.cancel()
                conn.rollback()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


# ---------------------------------------------------------------- value completion

_COMPARED = re.compile(
    rf"({WRITTEN_NAME}(?:\.{WRITTEN_NAME})?)\s*(?:=|<>|!=|(?:not\s+)?i?like)\s*\Z", re.I
)
_IN_LIST = re.compile(
    rf"({WRITTEN_NAME}(?:\.{WRITTEN_NAME})?)\s+(?:not\s+)?in\s*\(\s*(?:'(?:[^']|'')*'\s*,\s*)*\Z",
    re.I,
)
_INSERT = re.compile(
    rf"\binsert\s+into\s+({WRITTEN_NAME}(?:\.{WRITTEN_NAME})?)\s*\(([^()]*)\)\s*values\s*", re.I
)
_TABLE_REF = re.compile(
    rf"\b(?:from|join|update|into)\s+({WRITTEN_NAME}(?:\.{WRITTEN_NAME})?)(?:\s+(?:as\s+)?({WRITTEN_NAME}))?",
    re.I,
)
_NOT_ALIAS = {
    "where",
    "set",
    "on",
    "join",
    "left",
    "right",
    "inner",
    "outer",
    "full",
    "cross",
    "group",
    "order",
    "limit",
    "values",
    "using",
    "natural",
    "having",
    "union",
    "returning",
    "default",
    "select",
}


# a VALUES list's units: literals, quoted names and comments whole (their commas do not count)
_LEX = re.compile(
    r"'(?:[^']|'')*(?:'|\Z)|\"[^\"]*(?:\"|\Z)|--[^\n]*|/\*.*?(?:\*/|\Z)|[^'\"/-]+|.", re.S
)


def _insert_column(before: str) -> tuple[str, str] | None:
    """(table, column) whose value the text after INSERT ... VALUES ( is at, counting top-level
    commas."""
    matches = list(_INSERT.finditer(before))
    if not matches:
        return None
    m = matches[-1]
    cols = [c.strip() for c in m.group(2).split(",")]
    depth, index = 0, 0
    for tok in _LEX.finditer(before, m.end()):
        s = tok.group(0)
        if s.startswith("'"):
            continue
        for ch in s:
            if ch == "(":
                depth += 1
                if depth == 1:
                    index = 0
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                index += 1
    if depth != 1 or index >= len(cols):
        return None
    return m.group(1), cols[index]


class ValueTarget(NamedTuple):
    table: str | None  # the column's qualifier (an alias resolved) or the INSERT's table
    column: str
    tables: list[str]  # the tables the statement names
    typed: str  # the value's text typed so far, inside the quotes
    quoted: bool  # the cursor is inside the quotes (else a value may start here)
    listed: tuple = ()  # values already in the IN (...) list: not offered again


def value_target(prefix: str) -> ValueTarget | None:
    """The column whose value the cursor is at: inside (or where one may start) a string compared
    with a column (`= '`, `IN ('`, `LIKE '`, `SET c = '`) or inserted into one (`VALUES (..., '`);
    else None."""
    start = string_start(prefix)
    if start is not None:
        typed, before = prefix[start + 1 :].replace("''", "'"), prefix[:start]
    elif (
        re.search(r"(?:[=(,]|\blike|\s)\s*\Z", prefix, re.I)
        and string_start(prefix + "'") is not None
    ):
        typed, before = "", prefix  # a value may start here (not inside a comment or a name)
    else:
        return None
    refs = _TABLE_REF.findall(before)
    tables = [t for t, _ in refs]
    aliases = {a.lower(): t for t, a in refs if a and a.lower() not in _NOT_ALIAS}
    ins = _insert_column(before)
    if ins is not None and re.search(r"[(,]\s*\Z", before):
        return ValueTarget(ins[0], ins[1], tables, typed, start is not None)
    m = _COMPARED.search(before) or _IN_LIST.search(before)
    if m is None:
        return None
    qual, _, col = m.group(1).rpartition(".")
    if qual:
        qual = aliases.get(unquote(qual).lower(), qual)
    listed = tuple(v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'", m.group(0)))
    return ValueTarget(qual or None, col, tables, typed, start is not None, listed)


def value_completions(db: Database, prefix: str, suffix: str = "", n: int = 5) -> list[str]:
    """A text column's common values where the cursor is at its value, as text to insert: the rest
    of the value and the closing quote inside a string, the whole quoted value before one; []
    elsewhere."""
    target = value_target(prefix)
    if target is None:
        return []
    found = db.find_column(target.column, [target.table] if target.table else target.tables)
    if found is None:
        return []
    typed = target.typed
    opening = "" if target.quoted else "'"
    closing = "" if target.quoted and suffix.startswith("'") else "'"
    out = []
    for v in db.values(*found):
        if v.startswith(typed) and v != typed and v not in target.listed:
            out.append(opening + v[len(typed) :].replace("'", "''") + closing)
        if len(out) >= n:
            break
    return out


def merge(values: list[str], suggestions: list[str], n: int) -> list[str]:
    """The database's values first (they are what the data holds), then the model's suggestions."""
    out = list(dict.fromkeys(values))
    out += [s for s in suggestions if s not in out]
    return out[:n]


# ---------------------------------------------------------------- command line


def add_db_args(ap: argparse.ArgumentParser) -> None:
    """The --db flags every front-end shares."""
    g = ap.add_argument_group("live database")
    g.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="read the schema from a database: postgresql://user@host/db, cockroachdb://..., "
        "mysql+pymysql://..., duckdb:///file.duckdb, sqlite:///file.db",
    )
    g.add_argument(
        "--db-schema",
        action="append",
        default=[],
        metavar="NAME",
        help="namespace to read (repeatable; default: PostgreSQL's search_path, else the default)",
    )
    g.add_argument(
        "--db-values",
        action="store_true",
        help=(
            "offer the most common values inside string literals "
            "(reads data; never logged or sent on)"
        ),
    )
    g.add_argument(
        "--db-refresh-s", type=float, default=60.0, help="re-read the schema this often (0: never)"
    )
    g.add_argument("--db-connect-timeout", type=float, default=5.0, help="seconds")
    g.add_argument("--db-query-timeout", type=float, default=10.0, help="seconds per query")


def db_options(args: argparse.Namespace) -> DbOptions | None:
    if not args.db:
        return None
    return DbOptions(
        url=args.db,
        schemas=list(args.db_schema),
        connect_timeout=args.db_connect_timeout,
        query_timeout=args.db_query_timeout,
        values=args.db_values,
        refresh_s=args.db_refresh_s,
    )


def open_database(args: argparse.Namespace, prog: str) -> Database | None:
    """The --db database with its schema read (None without --db); exits with one line when it
    cannot be read."""
    opts = db_options(args)
    if opts is None:
        return None
    try:
        db = Database(opts)
        db.refresh()
    except (DatabaseError, ValueError) as e:
        sys.exit(f"{prog}: {e}")
    return db


def db_flags(args: argparse.Namespace) -> list[str]:
    """The --db flags of `args` again, for a program that hands over to another (sample.py to
    tui.py)."""
    if not args.db:
        return []
    out = [
        "--db",
        args.db,
        "--db-refresh-s",
        str(args.db_refresh_s),
        "--db-connect-timeout",
        str(args.db_connect_timeout),
        "--db-query-timeout",
        str(args.db_query_timeout),
    ]
    out += [a for name in args.db_schema for a in ("--db-schema", name)]
    return out + (["--db-values"] if args.db_values else [])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Print the schema (and values) the completer reads from a database."
    )
    add_db_args(ap)
    ap.add_argument("url", nargs="?", help="same as --db")
    ap.add_argument(
        "--values",
        action="append",
        default=[],
        metavar="TABLE.COLUMN",
        help="print a column's values",
    )
    args = ap.parse_args(argv)
    args.db = args.db or args.url
    if not args.db:
        ap.error("give a database URL")
    try:
        db = Database(db_options(args))
        db.refresh()
    except (DatabaseError, ValueError) as e:
        print(f"db/database.py: {e}", file=sys.stderr)
        return 2
    print("\n\n".join(db.ddl))
    print(f"-- {len(db.tables)} tables read in {db.read_s * 1000:.0f} ms", file=sys.stderr)
    for spec in args.values:
        table, _, column = spec.rpartition(".")
        found = db.find_column(column, [table] if table else [])
        print(f"-- {spec}: {db.values(*found) if found else 'no such column'}")
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
