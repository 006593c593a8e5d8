"""Curses SQL editor with schema-aware autocompletion.

    python -m sqlcomplete.tui [--schema FILE] [--ckpt DIR] [--num 5] [the Completer's flags]
    python sample.py --interactive [...]          # the same: sample.py hands over to this program

SQL editor: the best suggestion shows as dim ghost text after the cursor and the top ones are
listed below. Tab accepts the best, Alt-1..5 picks one (plain digits are always typed: SQL is
full of them), Esc hides them, Ctrl-Space asks again. Ctrl-S switches to the schema editor (type
or paste CREATE TABLE statements) and back. Ctrl-Q, Ctrl-D or Ctrl-C quit; the SQL is printed
on exit so it is not lost.

The Completer is not thread-safe, so one worker thread owns it. The UI posts the newest (buffer,
cursor) state with a version number; the worker waits for ~60 ms of quiet before computing, and
the UI drops any result whose version is no longer the current one.
"""

import argparse
import curses
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

from sqlcomplete.cli import EDITOR_KEYS, read_schema
from sqlcomplete.completion.engine import (
    Completer,
    add_completer_flags,
    completer_options,
    resolve_ckpt,
)
from sqlcomplete.completion.menu import menu_item, name_spelling
from sqlcomplete.completion.service import CompletionService, LatestRequests
from sqlcomplete.db.database import add_db_args, open_database
from sqlcomplete.sql.scan import SqlDocument
from sqlcomplete.sql.schema import parse_schema

DEBOUNCE_S = 0.06  # quiet time before a completion starts: typing bursts cost one completion
BUFFER = "sql"  # the one document whose requests the worker serves
POLL_MS = 25  # key wait; also how often finished completions are picked up
MAX_PICK = 9  # Alt-1..9 at most
TAB = "    "
NEWLINE_MARK = "\u21b5"  # shown for a newline inside a listed suggestion
_CONTROL = {c: " " for c in range(32) if c != 10}


# ---------------------------------------------------------------- text


class CursorText:
    """Editable text with a cursor: a flat string and an offset; rows and columns are derived."""

    def __init__(self, text: str = ""):
        self.text, self.pos = "", 0
        self.goal: int | None = None  # column kept across up/down moves
        self.top = self.left = 0  # scroll position of the view
        self.insert(text)
        self.pos = 0

    def row_col(self) -> tuple[int, int]:
        start = self.text.rfind("\n", 0, self.pos) + 1
        return self.text.count("\n", 0, self.pos), self.pos - start

    def insert(self, s: str):
        # pasted text: CRLF/CR newlines, tabs as spaces (Tab is a key here), no control characters
        s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\t", TAB).translate(_CONTROL)
        self.text = self.text[: self.pos] + s + self.text[self.pos :]
        self.pos += len(s)
        self.goal = None

    def backspace(self):
        if self.pos:
            self.text = self.text[: self.pos - 1] + self.text[self.pos :]
            self.pos -= 1
        self.goal = None

    def delete(self):
        self.text = self.text[: self.pos] + self.text[self.pos + 1 :]
        self.goal = None

    def move(self, n: int):
        self.pos = max(0, min(len(self.text), self.pos + n))
        self.goal = None

    def home(self):
        self.pos = self.text.rfind("\n", 0, self.pos) + 1
        self.goal = None

    def end(self):
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end
        self.goal = None

    def vertical(self, n: int):
        """Move n lines up (<0) or down, keeping the column; past the first/last line go to its
        start/end."""
        row, col = self.row_col()
        goal = col if self.goal is None else self.goal
        lines = self.text.split("\n")
        target = row + n
        if target < 0:
            self.pos, goal = 0, 0
        elif target >= len(lines):
            self.pos, goal = len(self.text), len(lines[-1])
        else:
            start = sum(len(line) + 1 for line in lines[:target])
            self.pos = start + min(goal, len(lines[target]))
        self.goal = goal


def statement_at(text: str, pos: int) -> tuple[str, str]:
    """The statement around the cursor as (prefix, suffix), cut as the language server cuts it
    (sqlscan): at a top-level `;` or a blank line, never inside strings, quoted names, comments
    or `$$` bodies; the suffix runs to the statement's end."""
    line = text.count("\n", 0, pos)
    cursor = SqlDocument(text).cursor(line, pos - (text.rfind("\n", 0, pos) + 1))
    return cursor.prefix, cursor.suffix


def visible(s: str) -> str:
    """A suggestion on one list row: newlines marked, tabs and control characters as spaces."""
    return s.replace("\t", TAB).replace("\n", NEWLINE_MARK).translate(_CONTROL)


# ---------------------------------------------------------------- completion worker


class Worker(threading.Thread):
    """Owns the Completer: loads it, prefills the schema, then serves the newest request after a
    quiet spell."""

    def __init__(self, make: Callable[[], object], schema: str, num: int):
        super().__init__(name="completer", daemon=True)
        self.make, self.schema, self.num = make, schema, num
        self.cv = threading.Condition()
        self.requests = LatestRequests()  # the buffer's newest (version, schema, prefix, suffix)
        self.result: tuple | None = None  # (version, suggestions, ms, error)
        self.status = "loading model..."
        self.busy = False
        self.stopping = False

    def submit(self, version: int, schema: str, prefix: str, suffix: str):
        with self.cv:
            self.requests.post(BUFFER, (version, schema, prefix, suffix))
            self.cv.notify()

    def cancel(self):
        with self.cv:
            self.requests.cancel(BUFFER)

    def take(self) -> tuple | None:
        with self.cv:
            result, self.result = self.result, None
        return result

    def stop(self):
        with self.cv:
            self.stopping = True
            self.cv.notify()

    def run(self):
        try:
            t0 = time.perf_counter()
            completer = self.make()
            completer.set_schema(self.schema)
            completer.complete("", n=1)  # prefill the schema's KV cache before the first keystroke
            self.status = f"ready (loaded in {time.perf_counter() - t0:.1f} s)"
        except Exception as e:  # the editor still works; the status line says why nothing completes
            self.status = f"model error: {type(e).__name__}: {e}"
            return
        while True:
            with self.cv:
                while not self.stopping:
                    quiet_s = self.requests.quiet_left(BUFFER, DEBOUNCE_S)
                    if quiet_s == 0:
                        break
                    self.cv.wait(quiet_s)  # None: until a request comes
                if self.stopping:
                    return
                version, schema, prefix, suffix = self.requests.take(BUFFER)
                self.busy = True
            t0 = time.perf_counter()
            try:
                completer.set_schema(schema)
                out, err = completer.complete(prefix, suffix, self.num), None
            except Exception as e:  # one bad request must not kill the worker
                out, err = [], f"{type(e).__name__}: {e}"
            ms = 1000 * (time.perf_counter() - t0)
            with self.cv:
                self.result, self.busy = (version, out, ms, err), False


# ---------------------------------------------------------------- the screen


def put(scr, y: int, x: int, s: str, attr: int = 0):
    """addstr clipped to the screen; curses raises after writing the bottom-right cell, ignore
    that."""
    h, w = scr.getmaxyx()
    if 0 <= y < h and 0 <= x < w and s:
        try:
            scr.addstr(y, x, s[: w - x], attr)
        except curses.error:
            pass


class App:
    """The editor state, key handling and drawing; run() returns the SQL text."""

    def __init__(self, scr, worker: Worker, schema: str, num: int, ckpt: str):
        self.scr, self.worker = scr, worker
        self.sql, self.schema = CursorText(), CursorText(schema)
        self.rows = max(1, min(num, MAX_PICK))  # list rows; Alt-1..rows pick
        self.ckpt = os.path.basename(os.path.normpath(ckpt))
        self.mode = "sql"
        self.version = (
            0  # bumped by every edit or cursor move; results for older versions are stale
        )
        self.suggestions: list[str] = []
        self.pending = False  # a request for the current version is out
        self.answered = (
            False  # the worker has answered for the current version (maybe with nothing)
        )
        self.latency: float | None = None
        self.error: str | None = None
        self.schema_sent = schema

    # ------------------------------------------------------------ loop

    def run(self) -> str:
        curses.raw()  # Ctrl-C/S/Q arrive as keys: no SIGINT, no XON/XOFF flow control
        curses.set_escdelay(
            25
        )  # Esc must feel instant (ncurses waits 1 s for a sequence by default)
        try:
            curses.curs_set(1)
            curses.use_default_colors()
        except curses.error:
            pass
        self.scr.timeout(POLL_MS)
        seen = None
        try:
            while True:
                keys = self.read_keys()
                if self.handle_keys(keys):
                    return self.sql.text
                changed = bool(keys) | self.check_size() | self.poll()  # all three must run
                state = (self.worker.status, self.worker.busy)
                if changed or state != seen:
                    seen = state
                    self.draw()
        except KeyboardInterrupt:  # SIGINT/SIGTERM/SIGHUP from outside: leave like Ctrl-C
            return self.sql.text

    def read_keys(self) -> list:
        """Wait up to POLL_MS for a key, then take everything already typed (a paste) in one go."""
        keys = []
        try:
            keys.append(self.scr.get_wch())
            self.scr.nodelay(True)
            while len(keys) < 65536:
                keys.append(self.scr.get_wch())
        except curses.error:
            pass
        finally:
            self.scr.timeout(POLL_MS)
        return keys

    def poll(self) -> bool:
        result = self.worker.take()
        if result is None:
            return False
        version, out, ms, err = result
        self.latency, self.error = ms, err
        if version == self.version:  # else stale: computed for a buffer that has changed since
            self.suggestions, self.pending, self.answered = out, False, True
        return True

    # ------------------------------------------------------------ keys

    def request(self):
        prefix, suffix = statement_at(self.sql.text, self.sql.pos)
        self.worker.submit(self.version, self.schema.text, prefix, suffix)
        self.pending = True

    def changed(self, edit: bool):
        """The SQL buffer or cursor changed: current suggestions are void; an edit asks for new
        ones."""
        self.version += 1
        self.suggestions, self.answered = [], False
        if edit:
            self.request()
        else:
            self.worker.cancel()
            self.pending = False

    def pick(self, i: int):
        if self.mode == "sql" and 0 <= i < len(self.suggestions):
            self.sql.insert(self.suggestions[i])
            self.changed(edit=True)  # ask again: Tab, Tab, ... builds a statement

    def spelling(self) -> dict[str, str]:
        """The schema's names as it writes them (lowercase -> spelling), per schema text."""
        if getattr(self, "_spelled", (None,))[0] != self.schema.text:
            self._spelled = (self.schema.text, name_spelling(parse_schema(self.schema.text)))
        return self._spelled[1]

    def check_size(self) -> bool:
        """Follow the terminal's size. ncurses turns SIGWINCH into KEY_RESIZE only when the signal
        interrupts its own wait for input, so a resize landing while we draw would be missed."""
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())
        except OSError:
            return False
        if (size.lines, size.columns) == self.scr.getmaxyx():
            return False
        curses.resizeterm(size.lines, size.columns)  # also queues a KEY_RESIZE
        self.scr.clear()
        return True

    def handle_keys(self, keys: list) -> bool:
        """Handle a batch of keys; True means quit."""
        i = 0
        while i < len(keys):
            key = keys[i]
            if key in ("\x11", "\x04", "\x03"):  # Ctrl-Q, Ctrl-D, Ctrl-C
                return True
            if key == "\x1b" and i + 1 < len(keys) and keys[i + 1] in tuple("123456789"):
                self.pick(int(keys[i + 1]) - 1)  # Alt-digit arrives as ESC then the digit
                i += 2
                continue
            if not (key == "\r" and i + 1 < len(keys) and keys[i + 1] == "\n"):  # a pasted CRLF
                self.handle(key)
            i += 1
        return False

    def handle(self, key):
        if key == curses.KEY_RESIZE:  # ncurses has resized its screen already
            curses.update_lines_cols()
            self.scr.clear()
            return
        if key == "\x13":  # Ctrl-S
            self.toggle()
            return
        sql = self.mode == "sql"
        buf = self.sql if sql else self.schema
        if key == "\t" and sql and self.suggestions:
            self.pick(0)
            return
        if key == "\x1b":
            if sql:
                self.changed(edit=False)
            return
        if key == "\x00":  # Ctrl-Space
            if sql:
                self.changed(edit=True)
            return
        edit = True
        if isinstance(key, str) and (key.isprintable() or key in "\t\n\r"):
            buf.insert(key)
        elif key == curses.KEY_ENTER:
            buf.insert("\n")
        elif key in (curses.KEY_BACKSPACE, "\x7f", "\x08"):
            buf.backspace()
        elif key == curses.KEY_DC:
            buf.delete()
        else:
            edit = False
            h = max(1, self.scr.getmaxyx()[0] - 10)
            moves = {
                curses.KEY_LEFT: lambda: buf.move(-1),
                curses.KEY_RIGHT: lambda: buf.move(1),
                curses.KEY_UP: lambda: buf.vertical(-1),
                curses.KEY_DOWN: lambda: buf.vertical(1),
                curses.KEY_PPAGE: lambda: buf.vertical(-h),
                curses.KEY_NPAGE: lambda: buf.vertical(h),
                curses.KEY_HOME: buf.home,
                curses.KEY_FIND: buf.home,
                "\x01": buf.home,
                curses.KEY_END: buf.end,
                curses.KEY_SELECT: buf.end,
                "\x05": buf.end,
            }
            if key not in moves:
                return  # unbound key
            moves[key]()
        if sql:
            self.changed(edit)

    def toggle(self):
        if self.mode == "sql":
            self.mode = "schema"
            self.changed(edit=False)
        else:
            self.mode = "sql"
            if self.schema.text != self.schema_sent:  # new schema: start its prefill now
                self.schema_sent = self.schema.text
                self.changed(edit=True)

    # ------------------------------------------------------------ drawing

    def draw(self):
        scr = self.scr
        h, w = scr.getmaxyx()
        scr.erase()
        if h < 6 or w < 20:
            put(scr, 0, 0, "terminal too small")
            scr.refresh()
            return
        sql = self.mode == "sql"
        list_h = min(self.rows, max(1, h - 8)) if sql else 0
        edit_h = h - 3 - (list_h + 1 if sql else 0)
        if sql:
            n = self.schema.text.upper().count("CREATE TABLE")
            title = f" SQL  schema: {n} table{'s' * (n != 1)} (^S to edit)"
            if not self.schema.text.strip():
                title = " SQL  no schema (^S to paste one)"
        else:
            title = " Schema  type or paste CREATE TABLE statements; ^S returns to SQL"
        put(scr, 0, 0, title.ljust(w), curses.A_REVERSE)
        put(scr, 0, max(0, w - len(self.ckpt) - 2), f" {self.ckpt} ", curses.A_REVERSE)
        ghost = self.suggestions[0].replace("\t", TAB) if sql and self.suggestions else ""
        buf = self.sql if sql else self.schema
        cy, cx = self.draw_buffer(buf, 1, edit_h, w, ghost)
        if sql:
            y = 1 + edit_h
            label = " suggestions ..." if self.pending else " suggestions "
            put(scr, y, 0, ("\u2500" * 2 + label).ljust(w, "\u2500"), curses.A_DIM)
            if self.answered and not self.suggestions:
                put(scr, y + 1, 4, "(no suggestions)", curses.A_DIM)
            before = self.sql.text[: self.sql.pos]
            for i, s in enumerate(self.suggestions[:list_h]):
                # the whole word being completed with what follows (menu.py); Tab inserts only s
                text = visible(menu_item(before, s, self.spelling()).new_text)
                if len(text) > w - 5:
                    text = text[: w - 6] + "\u2026"
                put(scr, y + 1 + i, 0, f" {i + 1} ", curses.A_BOLD)
                put(scr, y + 1 + i, 4, text)
        row, col = buf.row_col()
        status = [self.error or self.worker.status]
        if self.latency is not None:
            status.append(f"last completion {self.latency:.0f} ms")
        status.append(f"Ln {row + 1}, Col {col + 1}")
        put(scr, h - 2, 0, (" " + " | ".join(status)).ljust(w), curses.A_REVERSE)
        keys = (
            f" Tab accept  Alt-1..{self.rows} pick  Esc hide  ^Space suggest  ^S schema  ^Q quit"
            if sql
            else " ^S back to SQL  ^Q quit  (Tab inserts spaces)"
        )
        put(scr, h - 1, 0, keys)
        try:
            scr.move(cy, cx)
        except curses.error:
            pass
        scr.refresh()

    def draw_buffer(
        self, buf: CursorText, y0: int, height: int, width: int, ghost: str
    ) -> tuple[int, int]:
        """Draw the visible part of buf with ghost (dim) at its cursor; return the cursor's screen
        position."""
        row, col = buf.row_col()
        view_w = width - 1  # the last column stays free for the cursor
        if row < buf.top:
            buf.top = row
        elif row >= buf.top + height:
            buf.top = row - height + 1
        if col < buf.left:
            buf.left = col
        elif col >= buf.left + view_w:
            buf.left = col - view_w + 1
        shown = buf.text[: buf.pos] + ghost + buf.text[buf.pos :]
        g0, g1 = buf.pos, buf.pos + len(ghost)
        start = 0  # offset of the current line in shown
        for i, line in enumerate(shown.split("\n")):
            if i >= buf.top + height:
                break
            if i >= buf.top:
                a, b = start + buf.left, start + min(len(line), buf.left + view_w)
                for s, e, attr in (
                    (a, min(b, g0), 0),
                    (max(a, g0), min(b, g1), curses.A_DIM),
                    (max(a, g1), b, 0),
                ):
                    if s < e:
                        put(self.scr, y0 + i - buf.top, s - start - buf.left, shown[s:e], attr)
            start += len(line) + 1
        return y0 + row - buf.top, col - buf.left


# ---------------------------------------------------------------- entry point


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # unwinds through curses.wrapper, which restores the terminal


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, start loading the model, run the editor; print the SQL on exit."""
    ap = argparse.ArgumentParser(
        description="Curses SQL editor with schema-aware autocompletion.",
        epilog=EDITOR_KEYS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--ckpt",
        default=None,
        help="checkpoint directory (default: the shipped sqlcomplete/models/default)",
    )
    ap.add_argument(
        "--schema", default=None, help="file with CREATE TABLE statements (Ctrl-S edits it)"
    )
    ap.add_argument("--num", type=int, default=5, help=f"suggestions listed (at most {MAX_PICK})")
    add_completer_flags(ap)
    add_db_args(ap)
    args = ap.parse_args(argv)
    db = open_database(
        args, "tui.py"
    )  # --db: its schema when --schema gives none, its values with --db-values
    schema = read_schema(args.schema) or ("\n\n".join(db.ddl) if db else "")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.exit("the editor needs a terminal")
    try:
        ckpt = resolve_ckpt(args.ckpt)
    except FileNotFoundError as e:
        sys.exit(str(e))
    options = completer_options(args)
    worker = Worker(
        lambda: CompletionService(Completer(ckpt, options=options), db, args.db_values),
        schema,
        args.num,
    )
    worker.start()  # the model loads while the screen comes up
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    sql = ""
    try:
        sql = curses.wrapper(lambda scr: App(scr, worker, schema, args.num, ckpt).run())
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        worker.join(timeout=2.0)  # a completion in flight finishes in well under that
    if sql.strip():
        print(sql)
    return 0


if __name__ == "__main__":
    sys.exit(main())
