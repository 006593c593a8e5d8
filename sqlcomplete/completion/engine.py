"""The completion engine: schema-aware SQL suggestions from a tiny LLaMA and the n-gram.

    from sqlcomplete import Completer
    c = Completer()                      # the shipped model (sqlcomplete/models/default)
    c.set_schema(open("schema.sql").read())
    c.complete("SELECT product_na")      # ['me FROM products', 'me, price FROM products', ...]

The schema's prompt goes through the model once and its KV cache is kept; each call
re-uses the cached statement tokens up to the longest common token prefix. The schema-aware
n-gram (completion/ngram.py) proposes next words and the model reranks them; where the n-gram
expects a literal it cannot spell, the model decodes on its own. When the cursor is inside a
word, the trailing tokens are backed off and generation is constrained to re-type them (token
healing), so a suggestion is only the missing text.

The model is called through backends.py's small interface only (feed the cache, decode rows over
it, score a token tree): onnxruntime on the exported graph (no torch needed) or torch on model.py.
"""

import argparse
import math
import os
import re
from dataclasses import dataclass, field, fields, replace

import numpy as np

from sqlcomplete import MODELS_DIR
from sqlcomplete.completion.backends import BACKENDS, load_backend
from sqlcomplete.completion.menu import Menu
from sqlcomplete.sql.lexicon import SHORT_ALIAS, SQL_WORDS, invented_at, known_words, schema_words
from sqlcomplete.sql.prompt import STATEMENT_HEADER, marker_piece, prompt_text
from sqlcomplete.sql.scan import string_start
from sqlcomplete.sql.schema import fit_schema, names_in, parse_schema, requote, spelling_of

DEFAULT_CKPT = os.path.join(MODELS_DIR, "default")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_$]")
MAX_HEAL_TOKENS = 16  # how far token healing may back off
RERANK_PROPOSALS = (
    5  # n-gram proposals the model weighs (8: +0.003 next@1 on dev_seed, 260K p50 3.3 -> 2.6 ms)
)
NGRAM_SURE = 0.95  # an n-gram proposal at least this likely is taken as is, without the model
STATEMENT_RESERVE = 256  # context tokens kept for the statement when a schema must be shortened
IN_STRING_TOKENS = (
    3  # inside a string literal a suggestion finishes the literal, within this many tokens
)
IN_STRING_ROWS = (
    3  # ... and fewer rows are decoded: a literal's value seldom has five likely endings
)
MAX_PREFIX_CHARS = (
    16_384  # a longer statement is read from its tail (the model keeps ~5,000 characters anyway)
)
MAX_SUFFIX_CHARS = 4_096
MAX_WORD_CHARS = (
    64  # longer words are not lexicon words: their prefixes would cost memory by the square
)
PARALLEL_TOKENS = (
    256  # a forward pass of this many tokens (a schema prefill) uses more than one thread
)
_IDENT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def ident_tail(text: str) -> str:
    """The identifier characters at the end of `text` (rstrip: a regex would rescan a long word from
    each of its characters)."""
    return text[len(text.rstrip(_IDENT_CHARS)) :]


class SchemaLexicon:
    """Soft constraint that keeps generated identifiers on the schema (a copy bias).

    Tiny models misspell names they should copy. While an identifier is being generated
    (outside string literals), a token that extends it towards a schema table or column gets
    +bonus, and one that makes it, or ends it as, a word of 3+ characters found nowhere (schema,
    SQL words, words already typed) gets -penalty. The bias per partial word is cached.
    """

    def __init__(self, piece_bytes: list[bytes | None], bonus: float, penalty: float):
        self.bonus, self.penalty = bonus, penalty
        # per token: (starts with space, leading ident chars, ends the word inside, starts with a
        # non-ident char)
        self.shapes = []
        for b in piece_bytes:
            text = b.decode("utf-8", errors="replace") if b else ""
            space = text.startswith(" ")
            body = text[1:] if space else text
            ident = re.match(r"[A-Za-z0-9_$]*", body).group(0).lower()
            self.shapes.append((space, ident, len(body) > len(ident), bool(text) and not ident))
        self.schema_prefixes: set[str] = set()
        self.words: set[str] = set()
        self.prefixes: set[str] = set()
        self.cache: dict[str, np.ndarray] = {}

    def set_schema(self, schema: str):
        names = set()
        for table, cols in parse_schema(schema).items():
            names |= {n.lower() for n in [table, *cols]}
        self.schema_prefixes = {
            n[:i] for n in names if len(n) <= MAX_WORD_CHARS for i in range(1, len(n) + 1)
        }
        self.words, self.prefixes, self.cache = set(), set(), {}
        # every word of the schema text (types, constraint names) is a real word too
        self.add_words(names | SQL_WORDS | schema_words(schema))

    def add_words(self, words):
        new = {w.lower() for w in words if len(w) <= MAX_WORD_CHARS} - self.words
        if new:
            self.words |= new
            added = {w[:i] for w in new for i in range(1, len(w) + 1)}
            self.prefixes |= added
            # only the biases of partial words that a new word extends can change
            for key in [k for k in self.cache if k in added or k == ""]:
                del self.cache[key]

    def bias(self, word: str) -> np.ndarray:
        """Additive logits for the next token given the partial identifier before the cursor."""
        if word not in self.cache:
            out = np.zeros(len(self.shapes), np.float32)
            for t, (space, ident, ends, breaks) in enumerate(self.shapes):
                if word and (space or breaks):  # the token ends the current word first
                    if len(word) >= 3 and word not in self.words:
                        out[t] -= self.penalty
                        continue
                if not ident or ident[0].isdigit() and not (word and not space):
                    continue
                cand = word + ident if word and not space else ident
                if cand[0].isdigit():
                    continue
                if cand in self.schema_prefixes and (not ends or cand in self.words):
                    out[t] += self.bonus
                elif len(cand) >= 3 and (
                    cand not in self.prefixes or ends and cand not in self.words
                ):
                    out[t] -= self.penalty
            self.cache[word] = out
        return self.cache[word]


_QUALIFIER = re.compile(r"\b([A-Za-z_][A-Za-z0-9_$]*)\.(?=[A-Za-z_\"])")


def _distinct(texts: list[str], n: int, relations: set[str] = frozenset()) -> list[str]:
    """The first n texts that are neither blank nor a repeat: texts that differ only in surrounding
    whitespace, case, double quotes or a schema qualifier (`public.`: a qualifier that names no
    table or alias in `relations`) are one suggestion."""

    def unqualified(m: re.Match) -> str:
        word = m.group(1).lower()
        return m.group(0) if word in relations or SHORT_ALIAS.fullmatch(word) else ""

    out, seen = [], set()
    for text in texts:
        key = _QUALIFIER.sub(unqualified, text.strip().replace('"', "").lower())
        if key and key not in seen:
            seen.add(key)
            out.append(text)
    return out[:n]


def _after_end(prefix: str, texts: list[str]) -> list[str]:
    """A suggestion right after a `;` starts the next statement on a new line."""
    return [t if t[:1].isspace() else "\n" + t for t in texts] if prefix.endswith(";") else texts


def load_ngram(option: str | None):
    """CompleterOptions.ngram as an NgramCompleter: None for none, or for "default" when the shipped
    file is missing; a named file that is missing is an error."""
    if not option:
        return None
    from sqlcomplete.completion.ngram import DEFAULT_MODEL, NgramCompleter

    path = DEFAULT_MODEL if option == "default" else option
    return NgramCompleter(path) if option != "default" or os.path.isfile(path) else None


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log_softmax over the last axis, in float32 (as torch computes it)."""
    x = x.astype(np.float32, copy=False)
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


def tail_of(prefix: str, limit: int = MAX_PREFIX_CHARS) -> str:
    """The end of a long statement, cut at a word boundary and outside a string literal."""
    if len(prefix) <= limit:
        return prefix
    cut = len(prefix) - limit
    space = re.compile(r"\s").search(prefix, cut)
    cut = space.end() if space else cut
    if prefix.count("'", 0, cut) % 2:  # the cut is inside a literal: start after it, or in it
        close = prefix.find("'", cut)
        return prefix[close + 1 :] if close >= 0 else "'" + prefix[cut:]
    return prefix[cut:]


def text_state(text: str) -> tuple[str, bool]:
    """(partial identifier at the end of `text`, lowercased; whether the end is inside a string
    literal)."""
    in_string = string_start(text) is not None
    return ("" if in_string else ident_tail(text).lower()), in_string


def resolve_ckpt(path: str | None) -> str:
    """A checkpoint directory: the given one (or its best/ or last/), else the shipped default."""
    path = path or DEFAULT_CKPT
    for candidate in (path, os.path.join(path, "best"), os.path.join(path, "last")):
        if os.path.isfile(os.path.join(candidate, "model.safetensors")):
            return candidate
    raise FileNotFoundError(
        f"no model in {path} (expected model.safetensors, config.json and tok.model)"
    )


@dataclass
class CompleterOptions:
    """How the Completer suggests. sample.py, tui.py and lsp.py build their flags from these fields
    (add_completer_flags), web/export.py ships their defaults to the page."""

    max_tokens: int = field(
        default=16, metadata={"type": int, "help": "longest suggestion in tokens"}
    )
    stop: str = field(
        default="statement",
        metadata={
            "choices": ("statement", "line", "word"),
            "help": "where a suggestion ends: at the end of the statement (';'), "
            "also at a newline, or after its first word",
        },
    )
    threads: int | None = field(
        default=None,
        metadata={
            "type": int,
            "help": "CPU threads (default: one for a keystroke, the fastest; with torch up to 4 "
            "for a schema prefill)",
        },
    )
    schema_bonus: float = field(
        default=2.0,
        metadata={"type": float, "help": "logit bonus for tokens spelling a schema name"},
    )
    schema_penalty: float = field(
        default=4.0, metadata={"type": float, "help": "logit penalty for identifiers found nowhere"}
    )
    ngram: str | None = field(
        default="default",
        metadata={
            "help": "n-gram model that proposes next words for the model to rerank "
            "(default: the shipped "
            "sqlcomplete/models/ngram.safetensors; 'none': the model alone)"
        },
    )
    ngram_weight: float = field(
        default=1.0, metadata={"type": float, "help": "n-gram log-prob weight at a word start"}
    )
    ngram_weight_mid: float = field(
        default=4.0, metadata={"type": float, "help": "n-gram log-prob weight inside a word"}
    )
    backend: str = field(
        default="auto",
        metadata={
            "choices": BACKENDS,
            "help": "what runs the model: onnx (onnxruntime, and the model.onnx beside the "
            "weights that `make export` writes), torch (model.py), or auto: onnx where there is "
            "a model.onnx, else torch",
        },
    )

    def __post_init__(self):
        # a bad count is one line now, not a traceback from torch at the first completion
        for name in ("threads", "max_tokens"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                flag = "--" + name.replace("_", "-")
                raise ValueError(f"{flag} {value}: give a whole number, 1 or more")


def add_completer_flags(ap: argparse.ArgumentParser):
    """CompleterOptions as flags: --max-tokens, --stop, --threads, ..., --ngram FILE|none."""
    for f in fields(CompleterOptions):
        ap.add_argument("--" + f.name.replace("_", "-"), default=f.default, **f.metadata)


def completer_options(args: argparse.Namespace) -> CompleterOptions:
    """CompleterOptions from the flags of add_completer_flags."""
    opts = CompleterOptions(**{f.name: getattr(args, f.name) for f in fields(CompleterOptions)})
    return replace(opts, ngram=None) if opts.ngram == "none" else opts


class Completer:
    """Load a checkpoint and tokenizer once; set a schema; complete prefixes."""

    def __init__(
        self,
        ckpt: str | None = None,
        device: str = "cpu",
        options: CompleterOptions | None = None,
        **changes,
    ):
        """`changes` override fields of `options` (the defaults without it):
        Completer(ngram=None)."""
        import sentencepiece as spm

        opts = replace(options or CompleterOptions(), **changes)
        self.options = opts
        self.ckpt = resolve_ckpt(ckpt)
        # the model, through feed / rows / score_tree only (backends.py): torch or onnxruntime
        self.backend = load_backend(self.ckpt, opts.backend, device, opts.threads)
        self._threads(1)
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(self.ckpt, "tok.model"))
        self.device = device
        self.max_tokens = opts.max_tokens
        self.stop = opts.stop
        self.eos = self.sp.eos_id()
        self.stop_ids = {
            self.eos,
            self.sp.piece_to_id(marker_piece(STATEMENT_HEADER)),
            self.sp.bos_id(),
        }
        # each token's text as bytes (byte-fallback pieces are single raw bytes)
        self.piece_bytes = []
        for i in range(self.sp.get_piece_size()):
            piece = self.sp.id_to_piece(i)
            if self.sp.is_byte(i):
                self.piece_bytes.append(bytes([int(piece[3:5], 16)]))
            elif self.sp.is_control(i) or self.sp.is_unknown(i) or i in self.stop_ids:
                self.piece_bytes.append(None)
            else:
                self.piece_bytes.append(piece.replace("\u2581", " ").encode())
        self.piece_lower = [b.lower() if b is not None else None for b in self.piece_bytes]
        self.lexicon = (
            SchemaLexicon(self.piece_bytes, opts.schema_bonus, opts.schema_penalty)
            if opts.schema_bonus or opts.schema_penalty
            else None
        )
        # tokens that would go on spelling an identifier: the model's P(the word ends here)
        self.continues_word = np.array(
            [
                b is not None and bool(b) and bool(_WORD_CHAR.match(chr(b[0])))
                for b in self.piece_bytes
            ]
        )
        # the reranker's score: model log-prob + weight * n-gram log-prob; inside a word the n-gram
        # counts more (weights chosen on dev_seed rows 200-259 and evalsets/hard_cases.jsonl)
        self.ngram_weight, self.ngram_weight_mid = opts.ngram_weight, opts.ngram_weight_mid
        self.ngram_sure = NGRAM_SURE
        self.ngram = load_ngram(opts.ngram)
        self.menu = Menu()  # whole words, closed structure, the place's grammar and types, case
        self.schema = None
        self._schema_tokens = 0
        self._schema_words: set[str] = set()
        self._fits: dict[
            frozenset, str
        ] = {}  # the schema fitted to the context, per set of tables kept
        self._table_names: frozenset[str] = frozenset()  # the schema's tables, lowercase
        self._spelling = spelling_of("")  # names the schema writes quoted or qualified
        self._decoded: tuple[str, str, list[str]] | None = (
            None  # (prefix, suffix, suggestions) of the last decoding
        )
        self._fitted = None  # the schema text actually in the backend's cache
        self.prompt_len = 0
        self.cached = []  # statement tokens in the cache after the prompt
        self.last_logits = None

    # ------------------------------------------------------------ schema

    def set_schema(self, schema: str):
        """Use this schema (CREATE TABLE statements; may be empty) for the following completions."""
        schema = _CONTROL.sub(" ", schema or "").strip()
        if schema != self.schema:
            self.schema = schema
            self._schema_tokens = self._count_tokens(prompt_text(schema))
            self._schema_words = schema_words(schema)
            self._table_names = frozenset(t.lower() for t in parse_schema(schema))
            self._spelling = spelling_of(schema)  # names written quoted or qualified
            self._fits, self._decoded = {}, None
            if self.lexicon:
                self.lexicon.set_schema(schema)
            if self.ngram:
                self.ngram.set_schema(schema)
            self.menu.set_schema(schema, self.ngram.schema if self.ngram else None)

    def prefill(self, statement: str = ""):
        """Run the schema prompt through the model now, not on the first complete(). A schema too
        long for the context keeps the tables the statement names and drops others, last first
        (prepare.py's policy); complete() calls this with its prefix and re-uses the cache."""
        fitted = (
            self.schema if self._schema_tokens <= self._schema_budget() else self._fit(statement)
        )
        if fitted == self._fitted:
            return
        ids = self.sp.encode(prompt_text(fitted))
        self._threads(len(ids))
        self.last_logits = self.backend.feed(0, ids)
        self._threads(1)
        self._fitted, self.prompt_len, self.cached = fitted, len(ids), []

    def _count_tokens(self, text: str) -> int:
        """Tokens of `text`; for one that cannot fit the context (more bytes than the budget's
        tokens could spell), an estimate from its first 64 KB (encoding a 1 MB schema whole took
        0.1 s)."""
        longest = max(len(p or b"") for p in self.piece_bytes)
        if len(text) <= max(65_536, longest * self._schema_budget()):  # beyond, it cannot fit
            return len(self.sp.encode(text))
        head = text[:65_536]
        return max(
            self._schema_budget() + 1, int(len(text) * len(self.sp.encode(head)) / len(head))
        )

    def _schema_budget(self) -> int:
        return self.backend.max_seq_len - self.max_tokens - STATEMENT_RESERVE

    def _fit(self, statement: str) -> str:
        """The schema cut to the context, keeping the tables the statement names: computed once per
        set of named tables, not per keystroke."""
        keep = frozenset(names_in(statement)) & self._table_names
        if keep not in self._fits:
            budget = self._schema_budget()
            chars, fitted, last = (
                int(len(self.schema) * budget / self._schema_tokens),
                self.schema,
                None,
            )
            while fitted != last and chars >= 64:  # until it fits, or no table is left to drop
                last, (fitted, _) = fitted, fit_schema(self.schema, keep, chars)
                if len(self.sp.encode(prompt_text(fitted))) <= budget:
                    break
                chars = int(chars * 0.9)
            if (
                len(self.sp.encode(prompt_text(fitted))) > budget
            ):  # a single huge table: keep the end of its text
                fitted = self.sp.decode(self.sp.encode(fitted)[-(budget - 16) :])
            self._fits[keep] = fitted
        return self._fits[keep]

    def _listed(self, prefix: str, suffix: str, texts: list[str], n: int) -> list[str]:
        """The first n distinct suggestions a person could take (menu.py's rules)."""
        return _distinct(self.menu.clean(prefix, suffix, texts), n, self._relations(prefix))

    def _relations(self, prefix: str) -> set[str]:
        """Names a qualifier (`x.`) may stand for: the schema's tables, and the statement's words
        (aliases)."""
        return self._table_names | known_words(prefix)

    def _threads(self, tokens: int):
        """CPU threads for a forward pass of this many tokens: `threads` when set, else one for a
        keystroke (waking other threads costs more than they save, and far more on a busy machine)
        and the cores for a schema prefill (the onnx backend keeps its session's count)."""
        n = self.options.threads or (1 if tokens < PARALLEL_TOKENS else min(4, os.cpu_count() or 1))
        self.backend.set_threads(n)

    # ------------------------------------------------------------ completion

    def _heal(self, prefix: str, in_string: bool = False) -> tuple[list[int], bytes]:
        """Statement tokens to feed, and the trailing text to re-type under constraint.

        Backs off the tokens that cover the partly typed word (or the trailing whitespace,
        which the vocabulary glues to the next word as in '▁FROM'), plus a whitespace-only
        token left in front of them. Inside a string literal there is no name to respell: only
        the last token is backed off (re-typing a UUID's whole tail took 10+ decoding steps)."""
        ids = self.sp.encode(prefix)
        if not ids:
            return [], b""
        if prefix[-1].isspace():
            tail = prefix[len(prefix.rstrip()) :]
        elif _WORD_CHAR.match(prefix[-1]):
            tail = prefix[-1] if in_string else ident_tail(prefix)
        else:
            tail = prefix[-1]
        need, removed, k = len(tail.encode()), 0, 0
        while k < min(len(ids), MAX_HEAL_TOKENS) and (removed < need or k == 0):
            k += 1
            removed += len(self.piece_bytes[ids[-k]] or b"")
        while (
            k < min(len(ids), MAX_HEAL_TOKENS) and (self.piece_bytes[ids[-k - 1]] or b"x").isspace()
        ):
            k += 1
        keep = ids[: len(ids) - k]
        heal = prefix.encode()[len(self.sp.decode(keep).encode()) :]
        return keep, heal

    def _feed(self, ids: list[int]):
        """Make the cache hold prompt + ids, re-using the longest common prefix."""
        common = 0
        for a, b in zip(self.cached, ids):
            if a != b:
                break
            common += 1
        if common == len(ids) and common == len(self.cached) and self.last_logits is not None:
            return
        common = min(common, len(ids) - 1) if ids else 0
        if not ids:  # nothing typed: logits at the end of the prompt
            keep, new = self.prompt_len - 1, self.sp.encode(prompt_text(self._fitted))[-1:]
        else:
            keep, new = self.prompt_len + common, ids[common:]
        self.last_logits = self.backend.feed(keep, new)
        self.cached = list(ids)

    def _allowed(self, heal: bytes) -> np.ndarray:
        """Mask of tokens consistent with still having to type `heal`, case-insensitively: `sel` may
        continue as the model spells it (SELECT); only the missing part is returned either way."""
        h = heal.lower()
        return np.array(
            [
                p is not None and len(p) > 0 and (h.startswith(p) or p.startswith(h))
                for p in self.piece_lower
            ]
        )

    def complete(self, prefix: str, suffix: str = "", n: int = 5) -> list[str]:
        """Up to n distinct suggestions, best first, each the exact text to insert at the cursor.
        None names a table, column or alias found nowhere (not in the schema, not typed, not
        SQL)."""
        if self.schema is None:
            self.set_schema("")
        self._threads(1)
        prefix = tail_of(_CONTROL.sub(" ", prefix))
        return _after_end(prefix, self._suggest(prefix, suffix[:MAX_SUFFIX_CHARS], n))

    def _suggest(self, prefix: str, suffix: str, n: int) -> list[str]:
        self.prefill(prefix)
        proposals = (
            self.ngram.proposals(prefix, suffix, max(n, RERANK_PROPOSALS)) if self.ngram else []
        )
        spelled = [first + rest for _, first, rest in proposals if first is not None]
        decoded, self._decoded = (
            self._decoded,
            None,
        )  # the previous keystroke's own decoding, if it was one
        if proposals and proposals[0][1] is not None and proposals[0][0] >= self.ngram_sure:
            # the model seldom overturns such a one (measured: no loss at 0.95): skip it; its cache
            # catches up later
            return self._listed(prefix, suffix, spelled, n)
        in_string = string_start(prefix) is not None
        ids, heal = self._heal(prefix, in_string)
        max_new = IN_STRING_TOKENS if in_string else self.max_tokens
        # room for the suggestion rows (or the reranked words) after the statement; a very long
        # statement keeps its tail (the schema stays)
        longest = max(
            [max_new + len(heal)]
            + [len(heal) + len(first.encode()) for _, first, _ in proposals if first]
        )
        room = self.backend.max_seq_len - self.prompt_len - longest - 1
        if len(ids) > room:
            ids = ids[len(ids) - max(room, 0) :]
        if proposals and proposals[0][1] is not None:
            self._feed(ids)
            return self._rerank(proposals, prefix, heal.decode("utf-8", errors="ignore"), n)
        if (
            decoded
            and decoded[1] == suffix
            and len(prefix) > len(decoded[0])
            and prefix.startswith(decoded[0])
        ):
            # the user typed what the last decoding predicted: the rest of it, without the model
            # (a literal is typed a character at a time: this is most of the long tail's keystrokes)
            typed = prefix[len(decoded[0]) :]
            rest = [
                t[len(typed) :]
                for t in decoded[2]
                if t.startswith(typed) and t[len(typed) :].strip()
            ]
            if rest and (
                in_string or len(rest) >= n
            ):  # outside a literal, a short menu is worth a decoding
                self._decoded = (prefix, suffix, rest)
                return self._listed(prefix, suffix, rest + spelled, n)
        self._feed(ids)
        logits = self.last_logits.copy()
        kept_text = prefix.encode()[: len(prefix.encode()) - len(heal)].decode(
            "utf-8", errors="ignore"
        )
        if self.lexicon:
            self.lexicon.add_words(names_in(kept_text))  # outside strings and comments
            word, in_string_kept = text_state(kept_text[-64:])
            if not in_string_kept:
                logits += self.lexicon.bias(word)
        if heal:
            logits[~self._allowed(heal)] = float("-inf")
        else:
            logits[[i for i in self.stop_ids if i >= 0]] = float(
                "-inf"
            )  # an empty suggestion helps no one
        allowed = int(np.isfinite(logits).sum())
        n_branch = min(IN_STRING_ROWS if in_string else n + 1, allowed)  # +1: a duplicate
        if n_branch == 0:
            return []
        ranked = np.argsort(-logits, kind="stable")[:allowed]  # ties keep the token order
        # a suggestion stops before a name found nowhere (none is left when its first word is one)
        known = self._schema_words | known_words(prefix, suffix)
        lead = "'" if in_string else ident_tail(prefix)
        texts = []
        for start in (
            0,
            n_branch,
        ):  # too few left: one more round of rows, then the n-gram's proposals fill the list
            rows = (
                self._extend(
                    ranked[start : start + n_branch],
                    heal,
                    suffix,
                    kept_text[-64:],
                    max_new,
                    in_string,
                )
                if start < len(ranked)
                else []
            )
            if not in_string:  # `Order Items WHERE` -> `"Order Items" WHERE`, the schema's way
                before = prefix[: len(prefix) - len(lead)]
                rows = [requote(t, self._spelling, lead, before) for t in rows]
            texts += [
                t[:at] if (at := invented_at(t, known, lead)) is not None else t for t in rows
            ]
            if in_string or len(self._listed(prefix, suffix, texts + spelled, n)) >= n:
                break
        self._decoded = (prefix, suffix, texts)
        return self._listed(prefix, suffix, texts + spelled, n)

    def _rerank(
        self, proposals: list[tuple[float, str | None, str]], prefix: str, heal: str, n: int
    ) -> list[str]:
        """The n-gram proposes next words (it knows the schema's names and SQL's habits), the
        model weighs them by the whole statement so far. (Where the n-gram expects a literal it
        cannot spell, or has no proposal, the model decodes on its own instead.)"""
        spelled = [(p, first, rest) for p, first, rest in proposals if first is not None]
        model_lp = self._log_probs([heal + first for _, first, _ in spelled])
        weight = (
            self.ngram_weight_mid if prefix and _WORD_CHAR.match(prefix[-1]) else self.ngram_weight
        )
        score = [lp + weight * math.log(p) for (p, _, _), lp in zip(spelled, model_lp)]
        # the model decides whether a schema name comes next, the n-gram which one:
        # the tiny model is a poor speller of names it saw once in the prompt (measured: ident@1
        # drops)
        typed = ident_tail(prefix).lower()
        names = [
            i for i, (_, first, _) in enumerate(spelled) if self.ngram.schema.is_name(typed + first)
        ]
        if names:  # the names' share as one class, split among them by the n-gram
            p_names = sum(spelled[i][0] for i in names)
            class_score = float(
                np.logaddexp.reduce(np.array([model_lp[i] for i in names], np.float32))
            ) + weight * math.log(p_names)
            for i in names:
                score[i] = class_score + math.log(spelled[i][0] / p_names)
        scored = sorted(zip(spelled, score), key=lambda x: -x[1])
        return self._listed(prefix, "", [first + rest for (_, first, rest), _ in scored], n)

    def _log_probs(self, texts: list[str]) -> list[float]:
        """The model's log P(text, then a word boundary) after the cached statement, for each text:
        one pass over a token tree of the texts, so shared beginnings are computed once."""
        first = log_softmax(self.last_logits)
        p_end_first = 1 - np.exp(first)[self.continues_word].sum()
        seqs = [self.sp.encode(t) for t in texts]
        node_of, tokens, parents, paths = {}, [], [], []
        for x in seqs:  # node i: a text's token at some depth; its logits predict what follows it
            path, parent = [], -1
            for t in x:
                key = (parent, t)
                if key not in node_of:
                    node_of[key] = len(tokens)
                    tokens.append(t)
                    parents.append(parent)
                parent = node_of[key]
                path.append(parent)
            paths.append(path)
        if tokens:
            logp = log_softmax(self.backend.score_tree(tokens, parents))
            p_end = 1 - np.exp(logp)[:, self.continues_word].sum(-1)
        floor = np.float32(1e-6)
        out = []
        for x, path in zip(seqs, paths):
            if not x:
                out.append(float(np.log(max(p_end_first, floor))))
                continue
            lp = first[x[0]] + sum(logp[path[j - 1], x[j]] for j in range(1, len(x)))
            out.append(float(lp + np.log(max(p_end[path[-1]], floor))))
        return out

    def _extend(
        self,
        first: np.ndarray,
        heal: bytes,
        suffix: str,
        context: str,
        max_new: int,
        in_string: bool = False,
    ) -> list[str]:
        """Extend each first token greedily (rows batched, sharing the cached prefix), up to max_new
        tokens past the healed text; inside a string literal a row ends where the literal does."""
        B = len(first)
        # re-typing the healed text does not count against max_new
        steps = max_new + len(heal)
        rows = self.backend.rows(B, steps + 1)
        out = [[int(t)] for t in first]
        remaining = [self._consume(heal, int(t)) for t in first]
        generated = [0 if r else 1 for r in remaining]  # tokens past the healed text
        done = [
            self._finished(o, r, in_string and g > 0) for o, r, g in zip(out, remaining, generated)
        ]
        tokens = [int(t) for t in first]
        for _ in range(steps - 1):
            if all(done):
                break
            logits = rows.step(tokens)  # (B, V)
            if self.lexicon:
                for b in range(B):
                    if not done[b]:
                        text = context + b"".join(
                            self.piece_bytes[t] or b"" for t in out[b]
                        ).decode("utf-8", "ignore")
                        word, in_string = text_state(text[-64:])
                        if not in_string:
                            logits[b] += self.lexicon.bias(word)
            nxt = logits.argmax(-1).tolist()
            for b in range(B):
                if remaining[b]:
                    mask = self._allowed(remaining[b])
                    nxt[b] = int(np.where(mask, logits[b], -np.inf).argmax())
                if not done[b]:
                    out[b].append(nxt[b])
                    generated[b] += 0 if remaining[b] else 1
                    remaining[b] = self._consume(remaining[b], nxt[b])
                    done[b] = (
                        self._finished(out[b], remaining[b], in_string and generated[b] > 0)
                        or generated[b] >= max_new
                    )
            tokens = nxt
        heal_len = len(heal)
        texts = []
        for o in out:
            text = b"".join(self.piece_bytes[t] or b"" for t in o if t not in self.stop_ids)
            texts.append(self._trim(text[heal_len:].decode("utf-8", errors="ignore"), suffix))
        return texts

    def _consume(self, heal: bytes, token: int) -> bytes:
        """What is left of `heal` to re-type after `token` (an allowed one: it matches, case
        aside)."""
        p = self.piece_bytes[token] or b""
        return heal[len(p) :] if len(p) < len(heal) else b""

    def _finished(self, out: list[int], remaining: bytes, closes_string: bool = False) -> bool:
        """Whether a row is done: its last token ends the statement (or the literal it is
        inside)."""
        if remaining:
            return False
        last = out[-1]
        if last in self.stop_ids:
            return True
        text = self.piece_bytes[last] or b""
        if b";" in text or closes_string and b"'" in text:
            return True
        if self.stop == "line" and b"\n" in text:
            return True
        return False

    def _trim(self, text: str, suffix: str) -> str:
        """Cut a suggestion at its stop rule and before text the suffix already holds."""
        if ";" in text:
            text = text[: text.index(";") + 1]
        if self.stop in ("line", "word") and "\n" in text.lstrip("\n"):
            lead = len(text) - len(text.lstrip("\n"))
            text = text[: lead + text[lead:].index("\n")]
        if self.stop == "word" or suffix.strip():
            m = re.match(
                r"\s*(?:[A-Za-z0-9_$.]+|\S)", text
            )  # mid-line insertions: the first word only
            text = m.group(0) if m else text
        if suffix.strip():
            head = suffix.strip().split()[0][:20]
            at = text.find(head)
            if at > 0:
                text = text[:at]
        return text.rstrip("\n") if text.strip() else ""
