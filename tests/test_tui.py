"""tui.py: the editor's pieces, the completion worker, and the whole UI driven through tmux.

The tmux test runs `sample.py --interactive` in an 80x24 pane, types with send-keys and reads
the screen with capture-pane. It uses the random tiny checkpoint, so it checks what the UI does
with suggestions, never their quality.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid

import pytest
from conftest import SCHEMA

from sqlcomplete.tui import CursorText, Worker, statement_at

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- pieces


def test_statement_at_splits_on_semicolons_outside_quotes_and_comments():
    text = "SELECT 1;\nSELECT ';' FROM t -- it's; fine\nWHERE a = 1; DELETE FROM t;"
    pos = text.index("WHERE a") + len("WHERE a")
    assert statement_at(text, pos) == ("SELECT ';' FROM t -- it's; fine\nWHERE a", " = 1;")
    assert statement_at(text, len(text)) == ("", "")
    assert statement_at("SELECT ", 7) == ("SELECT ", "")


def test_statement_at_cuts_as_the_language_server_does():
    """A `;` inside a /* */ comment or a $$ body ends nothing, a blank line ends a statement: the
    TUI cuts the statement at the cursor as lsp.py does (sqlscan)."""
    comment = "SELECT name /* not; here */ FROM t WHERE "
    body = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE "
    cases = {
        "SELECT 1;\n" + comment: comment,
        body: body,
        "SELECT 1 FROM t\n\nSELECT na": "SELECT na",
        "SELECT 1 FROM t\n\n  -- a note\nSELECT na": "SELECT na",
    }
    for text, prefix in cases.items():
        assert statement_at(text, len(text)) == (prefix, ""), text
    text = "SELECT a /* ; */ FROM t WHERE x = 1;\nSELECT 2;"
    assert statement_at(text, len("SELECT a")) == ("SELECT a", " /* ; */ FROM t WHERE x = 1;")


def test_buffer_editing_and_moves():
    b = CursorText(
        "ab\tc\r\nxyz"
    )  # pasted text: tabs become spaces, CRLF a newline; cursor at the start
    assert (b.text, b.pos) == ("ab    c\nxyz", 0)
    b.end()
    assert b.row_col() == (0, 7)
    b.vertical(1)  # column kept as far as the shorter line allows, and restored on the way back
    assert b.row_col() == (1, 3)
    b.vertical(-1)
    assert b.row_col() == (0, 7)
    b.vertical(1)
    b.home()
    b.backspace()  # joins the lines
    assert (b.text, b.row_col()) == ("ab    cxyz", (0, 7))
    b.delete()
    b.insert("Q\n")
    assert (b.text, b.row_col()) == ("ab    cQ\nyz", (1, 0))
    b.vertical(5)
    assert b.pos == len(b.text)
    b.vertical(-5)
    assert b.pos == 0


def test_tui_is_its_own_program_with_the_completer_flags(capsys):
    from sqlcomplete.tui import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--ngram" in out and "--max-tokens" in out and "Ctrl-S" in out


class FakeCompleter:
    def __init__(self):
        self.calls, self.threads = [], set()

    def set_schema(self, schema):
        self.threads.add(threading.get_ident())

    def complete(self, prefix, suffix="", n=5):
        self.threads.add(threading.get_ident())
        self.calls.append(prefix)
        return [prefix.upper()][:n]


def test_worker_debounces_and_owns_the_completer():
    fake = FakeCompleter()
    w = Worker(lambda: fake, "", 5)
    w.start()
    try:
        for v, text in enumerate(["s", "se", "sel"], 1):  # a typing burst
            w.submit(v, "", text, "")
        deadline = time.time() + 5
        while (result := w.take()) is None and time.time() < deadline:
            time.sleep(0.01)
        assert result is not None and result[:2] == (3, ["SEL"])
        assert fake.calls == ["", "sel"]  # the warm-up, then only the newest request
        assert fake.threads == {w.ident}  # never called from this (the UI's) thread
    finally:
        w.stop()
        w.join(2)
    assert not w.is_alive()


# ---------------------------------------------------------------- the UI under tmux


class Tmux:
    """One private tmux server (its own socket), running one pane."""

    def __init__(self, tmp_path):
        self.socket = f"tui-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = str(tmp_path / "tmux.conf")
        with open(self.conf, "w") as f:
            f.write(
                "set -g remain-on-exit on\n"
            )  # keep a dead pane to read its exit status and screen

    def __call__(self, *args: str, check: bool = True) -> str:
        cmd = ["tmux", "-L", self.socket, "-f", self.conf, *args]
        env = {
            k: v for k, v in os.environ.items() if k != "TMUX"
        }  # also when pytest runs inside tmux
        return subprocess.run(
            cmd, capture_output=True, text=True, check=check, timeout=10, env=env
        ).stdout

    def screen(self, escapes: bool = False, history: bool = False) -> list[str]:
        opts = ["-e"] * escapes + ["-S", "-"] * history
        return self("capture-pane", "-p", "-J", *opts, "-t", "tui").split("\n")[:-1]

    def info(self, fmt: str) -> str:
        return self("display-message", "-p", "-t", "tui", fmt).strip()

    def wait(self, what: str, pred, timeout: float = 20) -> list[str]:
        deadline = time.time() + timeout
        while True:
            lines = self.screen()
            if pred(lines):
                return lines
            if time.time() > deadline or self.info("#{pane_dead}") == "1":
                size = self.info("#{pane_width}x#{pane_height}, dead=#{pane_dead}")
                pytest.fail(
                    f"timed out waiting for {what}; pane {size}; screen:\n" + "\n".join(lines)
                )
            time.sleep(0.05)


def suggestions(lines: list[str]) -> list[str]:
    """The numbered rows under the separator line, as shown (newlines as the return mark)."""
    sep = next(
        (i for i, line in enumerate(lines) if line.startswith("\u2500\u2500 suggestions")), None
    )
    if sep is None:
        return []
    rows = []
    for line in lines[sep + 1 :]:
        m = re.match(r" (\d) {2}(.*)$", line)
        if not m:
            break
        rows.append(m.group(2).rstrip())
    return rows


def column(lines: list[str]) -> int | None:
    m = re.search(r"Ln \d+, Col (\d+)", "\n".join(lines))
    return int(m.group(1)) if m else None


@pytest.fixture
def tmux(tiny_ckpt, tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip(
            "tmux is not installed (apt-get install -y tmux); "
            "the TUI test drives a real terminal through it"
        )
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA)
    t = Tmux(tmp_path)
    # short suggestions fit a list row whole, so the screen shows their exact text
    cmd = shlex.join(
        [
            sys.executable,
            os.path.join(ROOT, "sample.py"),
            "--interactive",
            "--ckpt",
            tiny_ckpt,
            "--schema",
            str(schema),
            "--max-tokens",
            "6",
        ]
    )
    # the exit status goes to a file: some tmux builds leave #{pane_dead_status} empty in containers
    t.status_file = tmp_path / "exit-status"
    cmd = f"{cmd}; echo $? > {shlex.quote(str(t.status_file))}"
    t(
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "24",
        "-s",
        "tui",
        "-c",
        ROOT,
        "-e",
        "LANG=C.UTF-8",
        cmd,
    )
    try:
        yield t
    finally:
        socket_path = t("display-message", "-p", "#{socket_path}", check=False).strip()
        t("kill-server", check=False)
        if socket_path and os.path.exists(socket_path):
            os.unlink(socket_path)


def test_tui_in_tmux(tmux):
    # startup imports torch: slow on a busy machine, so it gets more time than the steps below
    tmux.wait("the model to load", lambda s: "ready" in "\n".join(s), timeout=90)
    lines = tmux.screen()
    assert len(lines) == 24 and "2 tables" in lines[0] and "^Q quit" in lines[-1]

    # typing shows the list and the best suggestion as dim ghost text after the cursor
    tmux("send-keys", "-t", "tui", "-l", "SELECT ")
    lines = tmux.wait("suggestions for 'SELECT '", lambda s: suggestions(s) and column(s) == 8)
    first = suggestions(lines)
    best = first[0].replace("\u21b5", "\n").split("\n")[0]
    assert lines[1].startswith("SELECT " + best[:72])
    assert re.search(r"\x1b\[(\d+;)*2m", tmux.screen(escapes=True)[1])  # dim
    assert "last completion" in lines[-2] and " ms" in lines[-2]

    # Esc hides them, and a completion still in flight must not bring them back; Ctrl-Space asks
    # again
    tmux("send-keys", "-t", "tui", "Escape")
    tmux.wait("Esc to hide the list", lambda s: not suggestions(s))
    time.sleep(0.5)
    assert not suggestions(tmux.screen()) and not re.search(
        r"\x1b\[(\d+;)*2m", tmux.screen(escapes=True)[1]
    )
    tmux("send-keys", "-t", "tui", "C-Space")
    assert suggestions(tmux.wait("Ctrl-Space to ask again", suggestions)) == first

    # Alt-2 picks the second; then, in a new statement with the same start, Tab accepts the best
    tmux("send-keys", "-t", "tui", "M-2")
    tmux.wait("the cursor to move after Alt-2", lambda s: column(s) not in (None, 8))
    tmux("send-keys", "-t", "tui", "-l", "\\;")  # a bare ";" separates tmux commands
    tmux("send-keys", "-t", "tui", "Enter")
    tmux("send-keys", "-t", "tui", "-l", "SELECT ")
    lines = tmux.wait(
        "suggestions in the second statement", lambda s: suggestions(s) and "Ln 2, Col 8 " in s[-2]
    )
    again = suggestions(lines)
    tmux("send-keys", "-t", "tui", "Tab")
    tmux.wait(
        "the cursor to move after Tab",
        lambda s: "Ln 2, Col 8 " not in s[-2] and column(s) is not None,
    )

    # Ctrl-S shows the schema, and back
    tmux("send-keys", "-t", "tui", "C-s")
    tmux.wait(
        "the schema editor",
        lambda s: s[0].startswith(" Schema") and "CREATE TABLE customers (" in s[1],
    )
    tmux("send-keys", "-t", "tui", "C-s")
    tmux.wait("the SQL editor", lambda s: s[0].startswith(" SQL"))

    # a resize redraws at the new size and keeps running
    tmux("resize-window", "-t", "tui", "-x", "100", "-y", "30")
    tmux.wait(
        "a redraw at 100x30",
        lambda s: (
            len(s) == 30
            and "^Q quit" in s[-1]
            and len(next((x for x in s if x.startswith("\u2500\u2500")), "")) == 100
        ),
    )
    assert tmux.info("#{pane_dead}") == "0"

    # Ctrl-C: a clean exit, the terminal restored, and the SQL printed
    tmux("send-keys", "-t", "tui", "C-c")
    deadline = time.time() + 20
    while tmux.info("#{pane_dead}") != "1":
        assert time.time() < deadline, "the UI did not exit on Ctrl-C:\n" + "\n".join(tmux.screen())
        time.sleep(0.05)
    assert tmux.status_file.read_text().strip() == "0"
    screen = "\n".join(tmux.screen(history=True))  # the printed SQL may have scrolled up
    assert "Traceback" not in screen and "suggestions" not in screen  # the editor's screen is gone
    printed = screen.split("Pane is dead")[0].strip()
    # the row text lost trailing spaces, so allow whitespace between the parts
    parts = ["SELECT " + first[1], ";", "SELECT " + again[0]]
    pattern = r"\s*".join(re.escape(p.replace("\u21b5", "\n")) for p in parts)
    assert re.fullmatch(pattern + r"\s*", printed), (printed, parts)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_tui_menus_for_issue_26_examples(tmp_path):
    """The shipped model in the editor: for issue 26's examples every listed item is whole, closed,
    of the right class and type (tests/clean_menus.py), and shows the whole word being completed
    (`SELECT na` lists `name, ...`); Alt-1 inserts the first item's rest at the cursor."""
    from clean_menus import PREFIXES, SHIPPED, problems
    from clean_menus import SCHEMA as MENU_SCHEMA

    if not (SHIPPED / "model.safetensors").is_file():
        pytest.skip("no shipped model")
    (tmp_path / "schema.sql").write_text(MENU_SCHEMA)
    t = Tmux(tmp_path)
    cmd = shlex.join(
        [sys.executable, os.path.join(ROOT, "sample.py"), "--interactive"]
        + ["--schema", str(tmp_path / "schema.sql")]
    )
    t(
        "new-session",
        "-d",
        "-x",
        "200",
        "-y",
        "30",
        "-s",
        "tui",
        "-c",
        ROOT,
        "-e",
        "LANG=C.UTF-8",
        cmd,
    )
    try:
        t.wait("the model to load", lambda s: "ready" in "\n".join(s), timeout=120)
        bad, shown = [], {}
        for i, prefix in enumerate(PREFIXES):
            if i:
                t("send-keys", "-t", "tui", "Enter", "Enter")  # a blank line ends a statement
            t("send-keys", "-t", "tui", "-l", prefix)
            lines = t.wait(
                f"the list for {prefix!r}",
                lambda s, p=prefix: (
                    suggestions(s)
                    and column(s) == len(p) + 1
                    and not any(x.startswith("\u2500\u2500 suggestions ...") for x in s)
                ),
                timeout=30,
            )
            rows = [r.replace("\u21b5", "\n") for r in suggestions(lines)]
            shown[prefix] = rows
            word = re.search(r"[A-Za-z0-9_$]*$", prefix).group(0)
            for row in rows:
                assert row.lower().startswith(word.lower()) and not row.endswith("\u2026"), row
                bad += [(prefix, row, p) for p in problems(prefix, row[len(word) :], row)]
            if "AND em" in prefix:  # Alt-1 picks the first: the word finished at the cursor
                t("send-keys", "-t", "tui", "M-1")
                t.wait(
                    "Alt-1's insertion", lambda s, r=rows[0]: any(x.endswith("AND " + r) for x in s)
                )
        assert not bad, (bad, shown)
        assert all(r.startswith("orders") for r in shown["INSERT INTO ord"]), shown
        assert any(r.startswith("name") for r in shown["SELECT na"]), shown
    finally:
        t("kill-server", check=False)
