"""Text to statements: find the SQL statement under an editor's cursor.

A statement ends at a top-level ';' or, outside parentheses, at a blank line (scratch
files often leave out the ';'). The scanner skips string literals ('it''s'),
quoted names ("a;b", `a;b`), comments (-- and /* */) and dollar quotes ($$...$$),
so a ';' inside any of them ends nothing.

SqlDocument holds a document as lines and caches the scanner state at the start of every
line, so finding the statement under the cursor costs the lines of that statement,
not the file: an edit only drops the cached states after the edited line.
"""

import itertools
import re
from bisect import bisect_right
from typing import NamedTuple

from sqlcomplete.sql.schema import split_tables

# interesting characters in code; $tag$ only where a name cannot continue (a$b$ is a name)
_CODE_EVENT = re.compile(r"[;'\"`()]|--|/\*|(?<![A-Za-z0-9_$])\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_LINE_BREAK = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")  # LSP line breaks: \n, \r\n, \r
_CREATE = re.compile(r"\bcreate\b", re.I)  # the word only: not created_at
MAX_STATEMENT_LINES = 200  # a statement longer than this is read from its last lines only
MAX_SUFFIX_LINES = 50
_DDL_VERSIONS = itertools.count()  # unique across buffers: a cache key can mix several


class ScanState(NamedTuple):
    """Scanner state: mode is "" (code), a quote (' " `), "/*", "--" or a dollar tag; depth counts
    open '('."""

    mode: str = ""
    depth: int = 0


CODE = ScanState()


def _walk(
    text: str, state: ScanState, spans: list[tuple[int, int, str]] | None = None
) -> tuple[ScanState, list[int], int]:
    """scan(), and where the mode the text ends in was entered (-1: before `text`, or in code);
    with `spans`, each string, quoted name, comment or dollar quote is added to it."""
    mode, depth = state
    ends, i, n, opened = [], 0, len(text), -1
    while i < n:
        if mode == "":
            m = _CODE_EVENT.search(text, i)
            if m is None:
                break
            tok, i = m.group(0), m.end()
            if tok == ";":
                if depth == 0:
                    ends.append(i)
                depth = 0  # a ';' inside '(' means unbalanced text: start afresh
            elif tok == "(":
                depth += 1
            elif tok == ")":
                depth = max(0, depth - 1)
            else:
                mode, opened = tok, m.start()  # ' " ` -- /* or $tag$
        else:
            close = "\n" if mode == "--" else "*/" if mode == "/*" else mode
            j = text.find(close, i)
            if j < 0:
                break
            if close in ("'", '"') and text.startswith(close, j + 1):
                i = j + 2  # '' inside a literal, "" inside a name: an escaped quote, still inside
                continue
            if spans is not None:
                spans.append((max(opened, 0), j + len(close), mode))
            mode, i, opened = "", j + len(close), -1
    if spans is not None and mode:
        spans.append((max(opened, 0), n, mode))
    return ScanState(mode, depth), ends, opened


def scan(text: str, state: ScanState = CODE) -> tuple[ScanState, list[int]]:
    """The state after `text` and the offsets just past each top-level ';' in it."""
    state, ends, _ = _walk(text, state)
    return state, ends


def string_start(text: str) -> int | None:
    """Where the string literal that `text` ends inside opens (the offset of its quote), else None.
    The one answer to "is the cursor inside a string?": comments, quoted names and dollar quotes
    are skipped, and '' inside a literal is an escaped quote."""
    state, _, opened = _walk(text, CODE)
    return opened if state.mode == "'" else None


def quoted_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each string literal, quoted name, comment and dollar-quoted body of
    `text`, in order; kind is the scanner's mode (' " ` -- /* or the $tag$). One left open runs to
    the end. Readers of DDL (schema.py) skip what is inside them."""
    spans: list[tuple[int, int, str]] = []
    _walk(text, CODE, spans)
    return spans


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks; a text ending in a break has a last, empty line (as LSP
    counts)."""
    return _LINE_BREAK.split(text)


def skip_space_and_comments(text: str, i: int = 0) -> int:
    """Offset of the first character at or after i that is neither whitespace nor in a comment."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    return i


def split_statements(text: str) -> list[str]:
    """The statements of a text (with their ';'), leading comments dropped, empty ones left out."""
    buf = SqlDocument(text)
    return buf.statements(0, len(buf.lines))


class Cursor(NamedTuple):
    prefix: str  # the statement from its first token up to the cursor
    suffix: str  # from the cursor to the statement's end (its ';' included)
    mode: str  # scanner mode at the cursor: "" in code, else inside a string, name or comment
    start: tuple[int, int]  # (line, column) where the statement's text was taken from


class SqlDocument:
    """A document as a list of lines, with scanner states cached at line starts."""

    def __init__(self, text: str = ""):
        self.set_text(text)

    def set_text(self, text: str) -> None:
        self.lines = split_lines(text)
        # _starts[i]: (state at the start of line i, (line, col) where the statement open there
        # began)
        self._starts: list[tuple[ScanState, tuple[int, int]]] = [(CODE, (0, 0))]
        self._ddl: list[str] | None = None
        self._ddl_spans: list[tuple[int, int]] = []  # line ranges whose edits can change the DDL
        self.ddl_version = next(_DDL_VERSIONS)  # a new value whenever the DDL may have changed

    def text(self) -> str:
        return "".join(self.lines)

    def line_text(self, i: int) -> str:
        """Line i without its line break."""
        return self.lines[i].rstrip("\r\n")

    def edit(self, l0: int, c0: int, l1: int, c1: int, new: str) -> None:
        """Replace the text from (l0, c0) to (l1, c1) (code point columns, clamped to the lines) by
        `new`."""
        last = len(self.lines) - 1
        l0, l1 = min(max(l0, 0), last), min(max(l1, 0), last)
        if (l1, c1) < (l0, c0):
            l0, c0, l1, c1 = l1, c1, l0, c0
        c0, c1 = min(c0, len(self.line_text(l0))), min(c1, len(self.line_text(l1)))
        old = self.lines[l0 : l1 + 1]
        hi = l1 + 1
        joined = self.lines[l0][:c0] + new + self.lines[l1][c1:]
        if joined.endswith("\r") and hi <= last and self.lines[hi].startswith("\n"):
            joined, hi = joined + self.lines[hi], hi + 1  # a \r meeting a \n is one line break
        replacement = split_lines(joined)
        if hi <= last:
            # joined ends with a line break, and line hi follows it, not an empty line
            replacement.pop()
        self.lines[l0:hi] = replacement
        del self._starts[l0 + 1 :]
        self._note_ddl_edit(l0, hi - 1, len(replacement), "".join(old) + new)

    # ------------------------------------------------------------ statements

    def _start_of(self, line: int) -> tuple[ScanState, tuple[int, int]]:
        """Scanner state and statement start at the start of `line`, scanning from the last cached
        line."""
        while len(self._starts) <= line:
            i = len(self._starts) - 1
            state, start = self._starts[i]
            text = self.lines[i]
            if state == CODE and not text.strip():
                new_state, start = (
                    CODE,
                    (i + 1, 0),
                )  # a blank line outside parentheses ends a statement
            else:
                new_state, ends = scan(text, state)
                if ends:
                    start = (i, ends[-1])
                if new_state.mode == "--":
                    new_state = ScanState("", new_state.depth)  # the line break ended the comment
            self._starts.append((new_state, start))
        return self._starts[line]

    def cursor(self, line: int, col: int) -> Cursor:
        """The statement under (line, col): its text before and after the cursor."""
        state, (sl, sc) = self._start_of(line)
        head = self.lines[line][:col]
        here, ends = scan(head, state)
        if ends:
            sl, sc = line, ends[-1]
        if (
            line - sl > MAX_STATEMENT_LINES
        ):  # keep the tail of a huge statement (or of a file with no ';')
            sl, sc = line - MAX_STATEMENT_LINES, 0
        if sl == line:
            before = head[sc:]
        else:
            before = self.lines[sl][sc:] + "".join(self.lines[sl + 1 : line]) + head
        prefix = before[skip_space_and_comments(before) :]
        return Cursor(prefix, self._suffix(line, col, here), here.mode, (sl, sc))

    def _suffix(self, line: int, col: int, state: ScanState) -> str:
        rest = self.lines[line][col:]
        state, ends = scan(rest, state)
        if ends:
            return rest[: ends[0]]
        parts = [rest]
        for i in range(line + 1, min(len(self.lines), line + 1 + MAX_SUFFIX_LINES)):
            text = self.lines[i]
            if state.mode == "--":
                state = ScanState("", state.depth)
            if state == CODE and not text.strip():
                break
            state, ends = scan(text, state)
            if ends:
                parts.append(text[: ends[0]])
                break
            parts.append(text)
        return "".join(parts)

    def statements(self, lo: int, hi: int, end: tuple[int, int] | None = None) -> list[str]:
        """Whole statements that start on or after line lo and end before line hi (or before
        `end`), in order."""
        state, (sl, sc) = self._start_of(lo)
        # a statement open at lo that began earlier with more than blanks is not whole: skip it
        whole = all(not self.lines[i][sc if i == sl else 0 :].strip() for i in range(sl, lo))
        out, cur = [], "" if whole else None
        for i in range(lo, min(hi, len(self.lines))):
            text = self.lines[i] if end is None or i < end[0] else self.lines[i][: end[1]]
            if state.mode == "--":
                state = ScanState("", state.depth)
            if state == CODE and not text.strip():
                if cur:
                    out.append(cur)
                cur = ""
                continue
            state, ends = scan(text, state)
            pos = 0
            for e in ends:
                if cur is not None:
                    out.append(cur + text[pos:e])
                cur, pos = "", e
            if cur is not None:
                cur += text[pos:]
        if cur:
            out.append(
                cur
            )  # the last one, unterminated (before `end` this holds only blanks and comments)
        out = [s[skip_space_and_comments(s) :].rstrip() for s in out]
        return [s for s in out if s]

    def history(
        self, start: tuple[int, int], max_lines: int = 100, max_statements: int = 20
    ) -> list[str]:
        """Statements that end before `start` (a Cursor.start), oldest first, from at most
        max_lines lines."""
        sl, sc = start
        return self.statements(max(0, sl - max_lines), sl + 1, end=(sl, sc))[-max_statements:]

    # ------------------------------------------------------------ CREATE TABLE statements

    def ddl(self) -> list[str]:
        """The CREATE TABLE statements of the buffer; re-read only after an edit that can change
        them."""
        if self._ddl is None:
            text = self.text()
            line_starts, pos = [], 0
            for ln in self.lines:
                line_starts.append(pos)
                pos += len(ln)

            def line_of(offset: int) -> int:
                return bisect_right(line_starts, offset) - 1

            self._ddl, spans, found, pos = split_tables(text), [], set(), 0
            for part in self._ddl:
                at = text.find(part, pos)
                pos = at + len(part)
                found.add(at)
                spans.append((line_of(at), line_of(pos) + 1))  # +1: a ';' typed on the next line
            for m in _CREATE.finditer(
                text
            ):  # an unfinished CREATE TABLE may become one a few lines down
                if m.start() not in found:
                    first = line_of(m.start())
                    spans.append((first, first + 8))
            self._ddl_spans = sorted(spans)
        return self._ddl

    def _note_ddl_edit(self, l0: int, l1: int, new_count: int, touched: str) -> None:
        """Forget the DDL if lines l0..l1 (now new_count lines) could hold or start a CREATE
        TABLE."""
        if self._ddl is None:
            return
        hit = _CREATE.search(touched) is not None or any(
            a <= l1 and l0 <= b for a, b in self._ddl_spans
        )
        if hit:
            self._ddl, self._ddl_spans = None, []
            self.ddl_version = next(_DDL_VERSIONS)
            return
        shift = new_count - (l1 - l0 + 1)
        if shift:
            self._ddl_spans = [
                (a + shift, b + shift) if a > l1 else (a, b) for a, b in self._ddl_spans
            ]
