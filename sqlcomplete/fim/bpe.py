"""Byte-level BPE tokenizer read straight from a Hugging Face tokenizer.json.

No transformers/tokenizers dependency: the SFT script, the converter and the
LSP server all count and encode tokens with this one reader. It implements the
subset of tokenizer.json that GPT-2/Qwen2/Qwen3-style tokenizers use:

- added tokens (special or not) matched first, leftmost-longest, on the raw
  text (normalized=False) or on the normalized text (normalized=True), with
  their lstrip/rstrip/single_word flags;
- normalizer: NFC/NFD/NFKC/NFKD, a Sequence of them, or none;
- pre-tokenizer: Split (regex or string pattern, Isolated or Removed behavior),
  ByteLevel (add_prefix_space, use_regex with the GPT-2 pattern), or a
  Sequence of those;
- model: BPE with merges as "a b" strings or ["a", "b"] lists, ignore_merges,
  an optional unk_token; merges applied lowest rank first, leftmost on ties
  (the order tokenizers' Rust BPE uses), so ids match it exactly;
- decoder: ByteLevel.

encode() adds no BOS/EOS (the post-processor is ignored: Qwen's is a no-op).
decode() writes added tokens as their text; tokenizers runs them through the
ByteLevel decoder, which differs only for non-ASCII added tokens (none in Qwen).
Anything else in the file (another model type, a Metaspace pre-tokenizer, ...)
raises ValueError at load time rather than encoding differently.
"""

import json
import re
import unicodedata
from heapq import heapify, heappop, heappush
from pathlib import Path

import regex

# Qwen2/Qwen3's Split pattern (Isolated), for building a Qwen-style tokenizer.json
QWEN2_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# GPT-2's pattern, used by ByteLevel(use_regex=True)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CACHE_MAX = 100_000  # word cache entries before it is cleared
CACHE_MAX_WORD = 256  # longer pieces are not cached (as in tokenizers)
# whole text segments between added tokens, e.g. a system prompt repeated in every chat prompt
SEGMENT_CACHE_MAX, SEGMENT_CACHE_MAX_LEN = 512, 8192


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable unicode char map."""
    # printable Latin-1 bytes map to themselves, the rest to 256+n
    bs = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def _normalizer(spec: dict | None):
    """A str -> str function for the tokenizer.json normalizer (None: identity)."""
    if spec is None:
        return None
    kind = spec["type"]
    if kind in ("NFC", "NFD", "NFKC", "NFKD"):
        return lambda s, form=kind: unicodedata.normalize(form, s)
    if kind == "Sequence":
        steps = [_normalizer(s) for s in spec["normalizers"]]
        steps = [s for s in steps if s is not None]

        def run(s: str) -> str:
            for step in steps:
                s = step(s)
            return s

        return run if steps else None
    raise ValueError(f"unsupported normalizer {kind!r} (only NFC/NFD/NFKC/NFKD and Sequence)")


def _split_isolated(pattern: "regex.Pattern"):
    """Split keeping both the matches and the text between them as pieces."""
    findall = (
        pattern.findall if pattern.groups == 0 else None
    )  # with groups, findall returns the groups
    finditer = pattern.finditer

    def split(s: str) -> list[str]:
        if findall is not None:
            pieces = findall(s)
            if sum(map(len, pieces)) == len(
                s
            ):  # fast path: the matches cover everything (Qwen's always do)
                return pieces
        out, pos = [], 0
        for m in finditer(s):
            if m.start() > pos:
                out.append(s[pos : m.start()])
            if m.end() > m.start():
                out.append(m.group())
            pos = m.end()
        if pos < len(s):
            out.append(s[pos:])
        return out

    return split


def _split_removed(pattern: "regex.Pattern"):
    """Split dropping the matches (e.g. Split on whitespace, Removed)."""

    def split(s: str) -> list[str]:
        out, pos = [], 0
        for m in pattern.finditer(s):
            if m.start() > pos:
                out.append(s[pos : m.start()])
            pos = m.end()
        if pos < len(s):
            out.append(s[pos:])
        return out

    return split


def _pretokenizer_steps(spec: dict | None) -> tuple[list, bool]:
    """(list of str -> list[str] steps, whether a ByteLevel step was seen)."""
    if spec is None:
        return [], False
    kind = spec["type"]
    if kind == "Sequence":
        steps, byte_level = [], False
        for sub in spec["pretokenizers"]:
            s, b = _pretokenizer_steps(sub)
            steps += s
            byte_level |= b
        return steps, byte_level
    if kind == "Split":
        pat = spec["pattern"]
        source = pat["Regex"] if "Regex" in pat else regex.escape(pat["String"])
        compiled = regex.compile(source)
        if spec.get("invert"):
            raise ValueError("unsupported Split with invert=true")
        behavior = spec.get("behavior", "Isolated")
        if behavior == "Isolated":
            return [_split_isolated(compiled)], False
        if behavior == "Removed":
            return [_split_removed(compiled)], False
        raise ValueError(f"unsupported Split behavior {behavior!r} (only Isolated and Removed)")
    if kind == "ByteLevel":
        steps = []
        if spec.get("add_prefix_space"):
            # tokenizers prepends a space to each split that lacks one
            steps.append(lambda s: [s if s.startswith(" ") else " " + s])
        if spec.get("use_regex", True):
            steps.append(_split_isolated(regex.compile(GPT2_PATTERN)))
        return steps, True
    raise ValueError(f"unsupported pre_tokenizer {kind!r} (only Split, ByteLevel and Sequence)")


# Rust regex's Unicode \w and \s, which tokenizers uses for single_word/lstrip/rstrip
_WORD_CHAR = regex.compile(r"[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]")
_SPACE_CHAR = regex.compile(r"\p{White_Space}")


class BPETokenizer:
    """Byte-level BPE tokenizer equivalent to tokenizers' for GPT-2/Qwen-style tokenizer.json
    files."""

    def __init__(self, spec: dict):
        model = spec["model"]
        if model.get("type", "BPE") != "BPE":
            raise ValueError(f"unsupported model type {model.get('type')!r} (only BPE)")
        if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
            raise ValueError("unsupported BPE with continuing_subword_prefix/end_of_word_suffix")
        if model.get("byte_fallback"):
            raise ValueError("unsupported BPE with byte_fallback (not a byte-level tokenizer)")
        if model.get("dropout"):
            raise ValueError(
                "BPE dropout is a training-time option; refusing to encode nondeterministically"
            )
        self.vocab: dict[str, int] = dict(model["vocab"])
        self.ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(model["merges"]):
            a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
            self.ranks.setdefault((a, b), rank)  # first occurrence wins, like tokenizers
        self.ignore_merges = bool(model.get("ignore_merges", False))
        unk = model.get("unk_token")
        self.unk_id = self.vocab.get(unk) if unk else None

        self.normalize = _normalizer(spec.get("normalizer"))
        steps, byte_level = _pretokenizer_steps(spec.get("pre_tokenizer"))
        decoder = spec.get("decoder")
        if not byte_level and not (decoder and _has_byte_level(decoder)):
            raise ValueError("not a byte-level tokenizer: no ByteLevel pre-tokenizer or decoder")
        self._steps = steps

        # added tokens: id -> content, split by where they are matched
        self.added: dict[str, int] = {}
        self.special_ids: set[int] = set()
        self._added_flags: dict[str, dict] = {}
        raw, norm = [], []
        for t in spec.get("added_tokens", []):
            self.added[t["content"]] = t["id"]
            if t.get("special"):
                self.special_ids.add(t["id"])
            self._added_flags[t["content"]] = t
            if t.get("normalized", not t.get("special")):
                # matched on normalized text, so match the normalized content
                norm.append(
                    (self.normalize(t["content"]) if self.normalize else t["content"], t["content"])
                )
            else:
                raw.append((t["content"], t["content"]))
        self._raw_split = self._added_matcher(raw)
        self._norm_split = self._added_matcher(norm)

        self.id_to_token: dict[int, str] = {i: s for s, i in self.vocab.items()}
        self.id_to_token.update({i: s for s, i in self.added.items()})
        self._id_bytes: dict[int, bytes] = {}
        for i, s in self.id_to_token.items():
            if s in self.added:
                self._id_bytes[i] = s.encode("utf-8")
            elif all(c in CHAR_TO_BYTE for c in s):
                self._id_bytes[i] = bytes(CHAR_TO_BYTE[c] for c in s)
            else:  # tokenizers' ByteLevel decoder passes such tokens through as UTF-8
                self._id_bytes[i] = s.encode("utf-8")
        self.cache: dict[str, list[int]] = {}
        self.segment_cache: dict[str, list[int]] = {}

    @classmethod
    def from_file(cls, path_or_dir: str | Path) -> "BPETokenizer":
        """Load tokenizer.json, or the tokenizer.json inside a directory."""
        path = Path(path_or_dir)
        if path.is_dir():
            path = path / "tokenizer.json"
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    @property
    def vocab_size(self) -> int:
        return max(self.id_to_token) + 1

    def token_to_id(self, token: str) -> int | None:
        """Id of a vocabulary or added token, None if absent."""
        i = self.added.get(token)
        return i if i is not None else self.vocab.get(token)

    def id_to_piece(self, i: int) -> str | None:
        return self.id_to_token.get(i)

    # ---- encoding

    def _added_matcher(self, patterns: list[tuple[str, str]]):
        """A function text -> [(segment, added_id or None)] for (pattern, content) pairs; None if
        there are none."""
        patterns = [(p, c) for p, c in patterns if p]
        if not patterns:
            return None
        # longest first so the alternation is leftmost-longest, like tokenizers' Aho-Corasick
        pat = re.compile(
            "|".join(
                re.escape(p) for p, _ in sorted(patterns, key=lambda pc: len(pc[0]), reverse=True)
            )
        )
        flags = {p: self._added_flags[c] for p, c in patterns}
        added = {p: self.added[c] for p, c in patterns}
        word, space = _WORD_CHAR.match, _SPACE_CHAR.match
        plain = all(
            not (f.get("lstrip") or f.get("rstrip") or f.get("single_word")) for f in flags.values()
        )

        def split(text: str) -> list[tuple[str, int | None]]:
            out, pos = [], 0
            for m in pat.finditer(text):
                start, end = m.span()
                if not plain:
                    f = flags[m.group()]
                    if f.get("single_word") and not (
                        (start == 0 or not word(text[start - 1]))
                        and (end == len(text) or not word(text[end]))
                    ):
                        continue
                    if f.get("lstrip"):
                        while start > pos and space(text[start - 1]):
                            start -= 1
                    if f.get("rstrip"):
                        while end < len(text) and space(text[end]):
                            end += 1
                if start > pos:
                    out.append((text[pos:start], None))
                out.append((m.group(), added[m.group()]))
                pos = end
            if pos < len(text):
                out.append((text[pos:], None))
            return out

        return split

    def _bpe(self, word: str) -> list[str]:
        """Merge the byte-level chars of one piece: lowest rank first, leftmost on ties."""
        parts = list(word)
        # a rescan per merge is fastest for the short pieces that make up most text
        return self._bpe_scan(parts) if len(parts) <= 48 else self._bpe_heap(parts)

    def _bpe_scan(self, parts: list[str]) -> list[str]:
        get = self.ranks.get
        while len(parts) > 1:
            best_rank, best = None, -1
            prev = parts[0]
            for i in range(1, len(parts)):
                cur = parts[i]
                r = get((prev, cur))
                if r is not None and (best_rank is None or r < best_rank):
                    best_rank, best = r, i - 1
                prev = cur
            if best < 0:
                break
            parts[best : best + 2] = [parts[best] + parts[best + 1]]
        return parts

    def _bpe_heap(self, parts: list[str]) -> list[str]:
        """Same merge order as _bpe in O(n log n), for long pieces (a linked list plus a heap)."""
        ranks = self.ranks
        n = len(parts)
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        alive = [True] * n
        heap = [
            (ranks[(parts[i], parts[i + 1])], i, parts[i], parts[i + 1])
            for i in range(n - 1)
            if (parts[i], parts[i + 1]) in ranks
        ]
        heapify(heap)
        while heap:
            _, i, a, b = heappop(heap)
            j = nxt[i]
            if not alive[i] or j >= n or parts[i] != a or parts[j] != b:
                continue  # stale entry: a neighbour was merged since it was pushed
            parts[i] = a + b
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] < n:
                prv[nxt[j]] = i
            p = prv[i]
            if p >= 0 and (parts[p], parts[i]) in ranks:
                heappush(heap, (ranks[(parts[p], parts[i])], p, parts[p], parts[i]))
            k = nxt[i]
            if k < n and (parts[i], parts[k]) in ranks:
                heappush(heap, (ranks[(parts[i], parts[k])], i, parts[i], parts[k]))
        return [parts[i] for i in range(n) if alive[i]]

    def _encode_piece(self, piece: str) -> list[int]:
        # bytes -> latin-1 chars (code point = byte) -> GPT-2's printable chars, all in C
        word = piece.encode("utf-8").decode("latin-1").translate(BYTE_TO_CHAR)
        vocab = self.vocab
        if self.ignore_merges and word in vocab:
            return [vocab[word]]
        ids = []
        for sym in self._bpe(word):
            i = vocab.get(sym)
            if i is None:
                # a symbol outside the vocab: unk if defined, else dropped (tokenizers does the
                # same)
                if self.unk_id is not None:
                    ids.append(self.unk_id)
                continue
            ids.append(i)
        return ids

    def _encode_plain(self, text: str, ids: list[int]) -> None:
        """Pre-tokenize and BPE-encode text that holds no added token, appending to ids."""
        if len(text) <= SEGMENT_CACHE_MAX_LEN:
            seg = self.segment_cache.get(text)
            if seg is None:
                seg = []
                self._encode_pieces(text, seg)
                if len(self.segment_cache) >= SEGMENT_CACHE_MAX:
                    self.segment_cache.clear()
                self.segment_cache[text] = seg
            ids.extend(seg)
        else:
            self._encode_pieces(text, ids)

    def _encode_pieces(self, text: str, ids: list[int]) -> None:
        pieces = [text]
        for step in self._steps:
            pieces = [p for s in pieces for p in step(s)] if len(pieces) > 1 else step(pieces[0])
        cache = self.cache
        get = cache.get
        extend = ids.extend
        for piece in pieces:
            enc = get(piece)
            if enc is None:
                enc = self._encode_piece(piece)
                if len(piece) <= CACHE_MAX_WORD:
                    if len(cache) >= CACHE_MAX:
                        cache.clear()
                    cache[piece] = enc
            extend(enc)

    def encode(self, text: str) -> list[int]:
        """Token ids of text (no BOS/EOS added)."""
        ids: list[int] = []
        segments = self._raw_split(text) if self._raw_split else [(text, None)]
        for seg, added_id in segments:
            if added_id is not None:
                ids.append(added_id)
                continue
            if self.normalize is not None:
                seg = self.normalize(seg)
            if self._norm_split is None:
                self._encode_plain(seg, ids)
                continue
            for sub, sub_id in self._norm_split(seg):
                if sub_id is not None:
                    ids.append(sub_id)
                else:
                    self._encode_plain(sub, ids)
        return ids

    def count(self, text: str) -> int:
        """Number of tokens of text."""
        return len(self.encode(text))

    # ---- decoding

    def decode_bytes(self, ids: list[int], skip_special_tokens: bool = False) -> bytes:
        """Raw bytes of ids; useful for streaming, where a token may end mid UTF-8 character."""
        table = self._id_bytes
        try:
            if skip_special_tokens:
                special = self.special_ids
                return b"".join([table[i] for i in ids if i not in special])
            return b"".join([table[i] for i in ids])
        except KeyError as e:
            raise ValueError(f"token id {e.args[0]} is not in the vocabulary") from None

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        """Text of ids; invalid UTF-8 (a split character) becomes U+FFFD, as in tokenizers."""
        return self.decode_bytes(ids, skip_special_tokens).decode("utf-8", errors="replace")


def _has_byte_level(decoder: dict) -> bool:
    if decoder["type"] == "ByteLevel":
        return True
    return decoder["type"] == "Sequence" and any(_has_byte_level(d) for d in decoder["decoders"])
