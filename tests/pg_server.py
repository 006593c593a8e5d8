"""A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` package, initdb and
pg_ctl in a temporary directory, run as the `postgres` user when we are root (the server refuses
root), listening only on a Unix socket in that directory, with password (SCRAM) logins.

It stops by itself: on leaving the `with` block, and, should this process die without leaving it,
through a watcher process that stops the server once this process is gone.
"""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

USER, PASSWORD, DATABASE = "sqlc", "s3cret-pw", "app"
WATCHER = """
import os, signal, sys, time
parent, pidfile = int(sys.argv[1]), sys.argv[2]
while os.path.exists(pidfile):
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        try:
            # the postmaster's immediate shutdown
            os.kill(int(open(pidfile).readline()), signal.SIGQUIT)
        except (OSError, ValueError):
            pass
        break
    time.sleep(1)
"""


class Unavailable(RuntimeError):
    """The server cannot start here; the message says why."""


def bindir() -> str:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return os.path.dirname(found[-1])
    exe = shutil.which("pg_ctl")
    if exe:
        return os.path.dirname(os.path.realpath(exe))
    raise Unavailable("PostgreSQL is not installed (apt-get install postgresql)")


class Server:
    def __init__(self, root: str, as_user: str | None):
        self.root, self.as_user = root, as_user
        self.data, self.socket_dir = os.path.join(root, "data"), root
        self.bin = bindir()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kw = {"user": self.as_user} if self.as_user else {}
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
            cwd=self.root,
            **kw,
        )

    def url(
        self,
        password: str | None = PASSWORD,
        user: str = USER,
        database: str = DATABASE,
        scheme: str = "postgresql",
    ) -> str:
        auth = user + (":" + urllib.parse.quote(password, safe="") if password is not None else "")
        return f"{scheme}://{auth}@/{database}?host={urllib.parse.quote(self.socket_dir)}&port=5432"

    def sql(self, *statements: str, database: str = DATABASE, role: str | None = USER) -> str:
        """Run statements through psql as `role` (writes, which the completer never does); role
        None: superuser."""
        statements = ((f"SET ROLE {role}",) if role else ()) + statements
        commands = [
            arg for s in statements for arg in ("-c", s)
        ]  # one -c each: CREATE DATABASE refuses a block
        r = self.run(
            os.path.join(self.bin, "psql"),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.socket_dir,
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
            *commands,
            check=False,
        )
        if r.returncode:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return r.stdout


@contextlib.contextmanager
def postgres_server():
    """Start a server (Unavailable when it cannot), yield a Server, stop it."""
    b = bindir()
    as_user = None
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable(
                "running as root and there is no `postgres` user to run the server as"
            ) from None
        as_user = "postgres"
    root = tempfile.mkdtemp(
        prefix="pgtest-", dir="/tmp"
    )  # short: a socket path has ~100 characters
    try:
        if as_user:
            os.chown(root, pw.pw_uid, pw.pw_gid)
        server = Server(root, as_user)
        pwfile = os.path.join(root, "pw")
        with open(pwfile, "w") as f:
            f.write("postgres-pw\n")
        if as_user:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        r = server.run(
            os.path.join(b, "initdb"),
            "-D",
            server.data,
            "-U",
            "postgres",
            "--pwfile",
            pwfile,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
            check=False,
        )
        if r.returncode:
            raise Unavailable(f"initdb failed: {r.stderr.strip()[-300:]}")
        with open(os.path.join(server.data, "pg_hba.conf"), "w") as f:
            # superuser without a password (the test's own setup), everyone else with theirs
            f.write("local all postgres trust\nlocal all all scram-sha-256\n")
        opts = (
            f"-k {root} -c listen_addresses='' -p 5432 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c autovacuum=off -c shared_buffers=16MB -c max_connections=20"
        )
        r = server.run(
            os.path.join(b, "pg_ctl"),
            "-D",
            server.data,
            "-o",
            opts,
            "-l",
            os.path.join(root, "log"),
            "-w",
            "-t",
            "60",
            "start",
            check=False,
        )
        if r.returncode:
            log = (
                open(os.path.join(root, "log")).read()[-400:]
                if os.path.exists(os.path.join(root, "log"))
                else ""
            )
            raise Unavailable(f"pg_ctl start failed: {(r.stderr + log).strip()[-400:]}")
        try:
            pidfile = os.path.join(server.data, "postmaster.pid")
            subprocess.Popen(
                [sys.executable, "-c", WATCHER, str(os.getpid()), pidfile],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            server.sql(
                f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'",
                f"CREATE DATABASE {DATABASE} OWNER {USER}",
                database="postgres",
                role=None,
            )
            yield server
        finally:
            server.run(
                os.path.join(b, "pg_ctl"),
                "-D",
                server.data,
                "-m",
                "immediate",
                "-w",
                "stop",
                check=False,
            )
    finally:
        for _ in range(20):  # the server's files go once it is down
            shutil.rmtree(root, ignore_errors=True)
            if not os.path.exists(root):
                break
            time.sleep(0.1)


def fixture_server(*setup: str):
    """For a pytest fixture, `yield from fixture_server(SQL, ...)`: a server with `setup` run on
    it. One that cannot start skips the tests, except under CI, which must run them."""
    import pytest

    pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    try:
        with postgres_server() as server:
            server.sql(*setup)
            yield server
    except Unavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL must run under CI: {e}")
        pytest.skip(str(e))
