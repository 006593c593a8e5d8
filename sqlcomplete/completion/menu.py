"""A menu worth accepting: the rules every suggestion passes before a person sees it.

- Whole words and closed structure: a suggestion ends after a whole word, and never inside a
  parenthesis or a quote it opened itself (right after its `(` is fine: the user fills it in).
  Where it would, it is cut back to its last clean point.
- Grammar and types: each word must be one the statement allows at its place, by the n-gram's
  statement state (ngram.constrain: a table where a table must come, a literal of the column's type
  where its value comes, no type name or DDL word in DML). A suggestion whose first word is not
  allowed is dropped; a later one cuts it there.
- Case: keywords take the case the user types in, schema names the schema's spelling.
- Quoted names ("Order Items", `product reviews`, [Sales Order Header], with their escapes) are
  one name each: never split, cut or recased inside. A suggestion that closes a quote the user
  opened (`FROM "Ord` + `er Items" WHERE`) keeps its closing quote.
- How an item looks (label, filter text, replacing edit): the whole word being completed with
  what follows, while the text inserted at the cursor still continues the typed word.

The engine (completion/engine.py) passes its suggestions through Menu.clean before it lists the
first n; tui.py and lsp.py show them with menu_item(). web/menu.js is the same for the page
(tests/test_web.py checks that they agree).
"""

import functools
import re
from dataclasses import dataclass

from sqlcomplete.completion.ngram import (
    BOS,
    Schema,
    TypedStatement,
    at_table,
    constrain,
    copy_state,
)
from sqlcomplete.sql.lexicon import (
    IDENT,
    KEYWORDS,
    NAME,
    SHORT_ALIAS,
    SQL_VOCABULARY,
    TOKEN,
    known_words,
    unquote,
)
from sqlcomplete.sql.scan import string_start

_WORD = NAME  # a word: a name of any script (客户, café), as lexicon.IDENT defines it
# the words whose case follows the user's: SQL's keywords (not its functions and types, which many
# write in lower case among upper-case keywords); the word being typed follows its own case
CASED = (KEYWORDS - {"count", "sum", "avg", "min", "max"}) | frozenset(
    """natural using intersect except nulls first last recursive true false over partition filter
any some only lateral window rows range preceding following unbounded current interval escape
similar glob regexp collate top fetch next within if""".split()
)
_TAIL = re.compile(r"[\w$]*\Z")  # the partly typed word before the cursor
# the scorer's tokens, but a word of any script is one word (客户, not 2 symbols), and a quoted
# name in any dialect's quotes is one token, escapes and all ("a ""b""", `a``b`, [a]]b]); `[`
# right after a word, `]` or `)` subscripts an array
NAME_TOKEN = re.compile(
    r'"(?:[^"]|"")*"|`(?:[^`]|``)*`|(?<![\w\])])\[(?:[^\]]|\]\])*\]|' + IDENT + "|" + TOKEN.pattern
)
_OPENERS = ('"', "`", "[")


@functools.lru_cache(maxsize=16)  # asked per suggestion and per item of one prefix
def open_name(prefix: str) -> int | None:
    """Where the quoted name that `prefix` ends inside opens (the offset of its quote: `FROM "Ord`,
    `[Sales Ord`), else None. A quote NAME_TOKEN leaves alone is one that nothing closes."""
    for m in NAME_TOKEN.finditer(prefix):
        if m.group(0) in _OPENERS and (m.group(0) != "[" or _name_bracket(prefix, m.start())):
            return m.start()
    return None


def _name_bracket(text: str, i: int) -> bool:
    """Whether the `[` at text[i] opens a name, not an array subscript (`tags[1`)."""
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_])")


def is_quoted(tok: str) -> bool:
    """Whether a NAME_TOKEN token is a whole quoted name ("a b", `a b`, [a b])."""
    return len(tok) >= 2 and tok[0] in _OPENERS


def typed_word(prefix: str) -> str:
    """The partly typed word at the end of `prefix` ("" after a space or symbol, or in a string)."""
    if string_start(prefix) is not None:
        return ""
    return _TAIL.search(prefix).group(0)


def word_case(word: str) -> str | None:
    """'lower', 'upper' or 'title' for a word with letters, else None."""
    letters = [ch for ch in word if ch.isalpha()]
    if not letters:
        return None
    if word.islower():
        return "lower"
    if word.isupper():
        return "upper"
    return "title" if letters[0].isupper() and "".join(letters[1:]).islower() else None


def keyword_case(prefix: str) -> str | None:
    """'lower' or 'upper': the case of the last keyword the user typed before the word being typed
    (None when there is none, or it is mixed)."""
    head = prefix[: len(prefix) - len(typed_word(prefix))]
    for m in reversed(list(NAME_TOKEN.finditer(head[-2000:]))):
        tok = m.group(0)
        if tok.lower() in CASED:
            case = word_case(tok)
            return case if case in ("lower", "upper") else None
    return None


def in_case(word: str, case: str | None) -> str:
    return {"lower": word.lower(), "upper": word.upper(), "title": word.capitalize()}.get(
        case, word
    )


class Menu:
    """Menu rules for one schema: clean(prefix, suffix, texts) and recase(prefix, text)."""

    def __init__(self, schema: str = ""):
        self._text: str | None = None
        self.set_schema(schema)

    def set_schema(self, schema: str, parsed: Schema | None = None):
        """Use this schema; `parsed` is the n-gram's Schema of the same text, when there is one."""
        if schema != self._text or parsed is not None:
            self._text = schema
            self.schema = parsed or Schema(schema)
            self.words = known_words(schema)  # every word of the schema text is a whole word
            self._state_of: tuple[str, tuple] | None = None

    # ------------------------------------------------------------ the statement so far

    def _state(self, prefix: str) -> tuple[TypedStatement, str, str]:
        """(statement state before the partly typed word, its last symbol, that partial word). The
        partial word of a quoted name the user opened is all of it from its quote: `"Order It`."""
        if self._state_of is None or self._state_of[0] != prefix:
            opened = open_name(prefix)
            if opened is not None:
                toks = [m.group(0) for m in NAME_TOKEN.finditer(prefix, 0, opened)]
                partial = prefix[opened:]
            else:
                toks = NAME_TOKEN.findall(prefix)
                partial = ""
                if toks and re.search(r"\w\Z", prefix) and toks[-1][0] not in "'\"":
                    partial = toks.pop()
            state, prev = TypedStatement(), BOS
            for word in toks:
                norm = self.normalize(word, prev)
                state.push(word, norm, self.schema)
                prev = norm
            self._state_of = (prefix, (state, prev, partial))
        return self._state_of[1]

    def normalize(self, tok: str, prev: str) -> str:
        """The n-gram's symbol of a NAME_TOKEN token: a name in any quotes as a "quoted" one."""
        if is_quoted(tok):
            return self.schema.normalize(f'"{unquote(tok)}"', prev)
        return self.schema.normalize(tok, prev)

    def _allowed(self, state: TypedStatement, norm: str) -> bool:
        return norm in constrain(state, self.schema, {norm: None})

    # ------------------------------------------------------------ the rules

    def clean(self, prefix: str, suffix: str, texts: list[str]) -> list[str]:
        """Each text cut back to its last clean point and recased; those whose first word the
        statement does not allow here (or that nothing clean is left of) are left out."""
        if string_start(prefix) is not None:
            return list(texts)  # inside the user's string literal: its value, not SQL
        state, prev, partial = self._state(prefix)
        typed = known_words(prefix[: len(prefix) - len(partial)], suffix)  # not the partial word
        out = []
        for text in texts:
            cut = self._cut(state, prev, partial, text, typed)
            if cut is not None and cut.strip():
                out.append(self.recase(prefix, cut))
        return out

    def _cut(
        self, state0: TypedStatement, prev: str, lead: str, text: str, typed: set[str]
    ) -> str | None:
        """`text` (after the partly typed `lead`) up to its last clean point; None when its first
        word is not allowed here."""
        full = lead + text
        state, depth = copy_state(state0), 0
        ends: list[tuple[int, str, str]] = []  # clean points: (offset in text, token, token before)
        toks = list(NAME_TOKEN.finditer(full))
        known = self.words | typed
        if lead[:1] in _OPENERS and toks and toks[0].group(0) == lead[0]:
            return self._inside_name(full, text)  # it never closes the quote the user opened
        if lead and toks and toks[0].end() == len(lead) and not self._whole_lead(lead, known):
            return None  # it does not finish the word being typed, and that word is no word
        before = ""
        for i, m in enumerate(toks):
            tok, end = m.group(0), m.end() - len(lead)
            if tok in ("'", *_OPENERS) and (tok != "[" or _name_bracket(full, m.start())):
                break  # a string or quoted name it opens and never closes
            norm = self.normalize(tok, prev)
            qualifier = i + 1 < len(toks) and toks[i + 1].group(0) == "."
            if not (qualifier and at_table(state)) and not self._allowed(state, norm):
                if i == 0:
                    return None  # its first word is of the wrong class here
                break
            state.push(tok, norm, self.schema)
            prev = norm
            depth = depth + 1 if tok == "(" else max(depth - (tok == ")"), 0)
            if depth == 0 or depth == 1 and tok == "(":
                ends.append((end, tok, before))
            before = tok
        # the last word must be whole: a name of the schema or statement, a word of SQL, a number
        # (one right after AS is an alias: whole unless it starts a longer name, as `user_` does)
        while ends:
            end, tok, before = ends[-1]
            low = tok.lower()
            if not _WORD.fullmatch(tok) or self._whole(low, known):
                break  # a symbol, or a word found whole
            if before.lower() == "as" and not self._starts_name(low, known):
                break
            ends.pop()
            if before.lower() == "as" and ends:
                ends.pop()  # `AS` without its alias
        if not ends:
            return None
        end = ends[-1][0]
        return text if text[end:].isspace() else text[: max(end, 0)]

    def _inside_name(self, full: str, text: str) -> str | None:
        """`text` when all of it stays inside the quoted name the user opened (`full` is that name
        so far) and it ends that name whole (`"Ord` + `ers`): the user closes the quote."""
        close = "]" if full[0] == "[" else full[0]
        name = full[1:].replace(close * 2, close).lower()
        return text if name in self.schema.spelling or name in self.words else None

    @staticmethod
    def _whole(word: str, known: set[str]) -> bool:
        return word in known or word in SQL_VOCABULARY

    def _whole_lead(self, lead: str, known: set[str]) -> bool:
        """Whether the typed word is whole as it is: a word, a number or a short alias (T1)."""
        low = lead.lower()
        return (
            lead[0].isdigit() or SHORT_ALIAS.fullmatch(low) is not None or self._whole(low, known)
        )

    def _starts_name(self, word: str, known: set[str]) -> bool:
        """Whether `word` is the start of a longer name or word (a cut one, not an alias)."""
        return any(w.startswith(word) and w != word for w in known) or any(
            w.startswith(word) and w != word for w in SQL_VOCABULARY
        )

    def recase(self, prefix: str, text: str) -> str:
        """Keywords in the user's case, names in the schema's spelling. The rest of the partly typed
        word follows that word: `na` + `TURAL JOIN` -> `tural JOIN`, `Se` + `LECT` -> `lect`. A word
        both SQL and a schema name (`date`, `name`) keeps its case, except the one being typed.
        Quoted names are left as they are, and so is the rest of a quoted name the user opened."""
        opened = open_name(prefix)
        if opened is None:
            return self._recase(text, typed_word(prefix), keyword_case(prefix))
        head = prefix[opened:]
        m = NAME_TOKEN.match(head + text)
        if not is_quoted(m.group(0)):
            return text  # all of it inside the user's quotes
        keep = m.end() - len(head)
        return text[:keep] + self._recase(text[keep:], "", keyword_case(prefix[:opened]))

    def _recase(self, text: str, lead: str, case: str | None) -> str:
        lead_case = word_case(lead)
        spelling = self.schema.spelling
        out, pos = [], 0
        for m in NAME_TOKEN.finditer(text):  # words, outside strings and quoted names
            tok, first = m.group(0), m.start() == 0 and bool(lead)
            out.append(text[pos : m.start()])
            pos = m.end()
            whole = lead + tok if first else tok
            low = whole.lower()
            name, sql = low in spelling, low in SQL_VOCABULARY
            if not _WORD.fullmatch(tok) or not (name or sql):
                new = whole
            elif name and (first or not sql):
                new = spelling[low]
            elif sql and not name and (first or low in CASED):
                new = in_case(whole, lead_case if first else case)
            else:
                new = whole
            out.append(new[len(lead) :] if first else new)
        out.append(text[pos:])
        return "".join(out)


# ---------------------------------------------------------------- how items look


@dataclass
class MenuItem:
    """One suggestion as editors show it."""

    insert: str  # the text to insert at the cursor (continues the typed word)
    word: str  # the partly typed word before the cursor
    label: str  # the whole word being completed, with what follows, on one line
    new_text: str  # the text that replaces the typed word (an LSP textEdit's newText)
    filter_text: str  # starts with the typed word, exactly as typed


def name_spelling(tables: dict[str, list[str]]) -> dict[str, str]:
    """Lowercase name -> as the schema writes it, for parse_schema's {table: [columns]}."""
    return {n.lower(): n for t, cols in tables.items() for n in (t, *cols)}


def label(prefix: str, text: str) -> str:
    """What a menu shows for `text` inserted after `prefix`: the whole word being completed with
    what follows (`SELECT na` + `me, email FROM` -> `name, email FROM`), newlines as ⏎."""
    return menu_item(prefix, text).label


def menu_item(prefix: str, text: str, spelling: dict[str, str] | None = None) -> MenuItem:
    """How `text`, inserted after `prefix`, is shown: the partly typed word and its rest as one word
    (in the schema's spelling when it names one, from `spelling`: lowercase -> as written). A
    quoted name the user opened is the typed word from its quote: `"Ord` + `er Items" WHERE`
    shows `"Order Items" WHERE`."""
    opened = open_name(prefix)
    word = typed_word(prefix) if opened is None else prefix[opened:]
    whole = word + text
    m = _WORD.match(whole)
    if m and word:  # the word being completed: a name as the schema spells it, SQL as it is typed
        low = m.group(0).lower()
        if spelling and low in spelling:
            whole = spelling[low] + whole[m.end() :]
        elif low in SQL_VOCABULARY:
            whole = in_case(m.group(0), word_case(word)) + whole[m.end() :]
    shown = whole.lstrip("\n").replace("\n", " \u23ce ").replace("\t", " ")
    return MenuItem(
        insert=text,
        word=word,
        label=" ".join(shown.split()) or shown,
        new_text=whole,
        filter_text=word + whole[len(word) :],
    )
