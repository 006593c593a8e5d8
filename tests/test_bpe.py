"""fim/bpe.py against the `tokenizers` library on a small Qwen-style byte-level BPE trained here."""

import json
import random
import time
import unicodedata

import pytest

from sqlcomplete.fim.bpe import BPETokenizer

try:
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
except ImportError:
    pytest.skip("could not import 'tokenizers'", allow_module_level=True)

QWEN_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIALS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
]

KEYWORDS = [
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "INSERT INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "CREATE TABLE",
    "PRIMARY KEY",
    "NOT NULL",
    "AND",
    "OR",
    "AS",
    "COUNT(*)",
    "SUM",
    "DISTINCT",
    "HAVING",
    "WITH",
    "CASE WHEN",
    "THEN",
    "ELSE",
    "END",
    "select",
    "from",
    "where",
    "is null",
    "in",
    "between",
    "like",
    "desc",
    "asc",
    "coalesce",
    "now()",
    "INTERVAL '1 day'",
]
IDENTS = [
    "users",
    "orders",
    "o.id",
    "u.email",
    "created_at",
    "order_items",
    "product_id",
    "total_cents",
    '"Mixed Case"',
    "`weird-name`",
    "t1",
    "customer_name",
    "qty",
    "price",
    "_tmp",
    "schema1.table_2",
    "données",
    "名前",
    "ユーザー",
    "таблица",
    "naïve_col",
    "straße",
]
UNICODE = [
    "日本語のテキスト",
    "中文字符串测试",
    "한국어 문장",
    "emoji 😀🎉👍🏽",
    "👨‍👩‍👧‍👦 family",
    "🇫🇷🇯🇵",
    "e\u0301te\u0301",
    "cafe\u0301",
    "A\u030a",
    "\u1100\u1161\u11a8",
    "Ω≈ç√∫",
    "ﬁ ligature",
    "Ｆｕｌｌｗｉｄｔｈ",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Привет, мир",
    "Ελληνικά",
    "ſtraße",
    "İstanbul",
    "ǅemal",
    "\u200b\u200d",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\U0001f9d1\u200d\U0001f4bb",
    "½ ² ³ ⅷ",
    "٣٤٥",
    "a\u0300\u0301\u0302\u0303",
]
SPACES = [
    " ",
    "  ",
    "   ",
    "\t",
    "\t\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r\n\r\n",
    "\r",
    " \n",
    "\n  ",
    "\u00a0",
    "\u3000",
    "\x0b",
    "\x0c",
    "\x85",
    "\u2028",
    "\x1c",
    "    \n\t",
    " \r\n ",
]
PUNCT = [
    ",",
    ";",
    "(",
    ")",
    "'",
    "''",
    '"',
    ".",
    "*",
    "=",
    "<>",
    "!=",
    ">=",
    "::",
    "--",
    "/*",
    "*/",
    "||",
    "%",
    "'s",
    "'S",
    "'LL",
    "'re",
    "'VE",
    "'d",
    "'m",
    "'t",
    "don't",
    "it's",
    "@",
    "$1",
    "?",
    "#",
]
NUMBERS = [
    "0",
    "1",
    "42",
    "3.14159",
    "1e-9",
    "100000",
    "2024-01-31",
    "0xFF",
    "007",
    "12345678901234567890",
]


def _random_sql(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(3, 30)):
        r = rng.random()
        if r < 0.35:
            out.append(rng.choice(KEYWORDS))
        elif r < 0.6:
            out.append(rng.choice(IDENTS))
        elif r < 0.72:
            out.append(rng.choice(NUMBERS))
        elif r < 0.85:
            out.append(rng.choice(PUNCT))
        elif r < 0.92:
            out.append("'" + rng.choice(UNICODE) + "'")
        else:
            out.append(rng.choice(SPACES))
        out.append(rng.choice([" ", " ", " ", "", "\n", "\n    ", ", ", "\r\n"]))
    return "".join(out)


def _random_chars(rng: random.Random) -> str:
    pools = [
        (0x20, 0x7E),
        (0x00, 0x20),
        (0xA0, 0x2FF),
        (0x300, 0x36F),
        (0x400, 0x4FF),
        (0x3040, 0x30FF),
        (0x4E00, 0x4FFF),
        (0xAC00, 0xAC40),
        (0x1F300, 0x1F64F),
        (0x2000, 0x206F),
        (0xFE00, 0xFE0F),
    ]
    chars = []
    for _ in range(rng.randint(1, 40)):
        lo, hi = rng.choice(pools)
        chars.append(chr(rng.randint(lo, hi)))
    return "".join(chars)


def _random_special(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(2, 8)):
        r = rng.random()
        if r < 0.35:
            parts.append(rng.choice(SPECIALS + ["<think>", "</think>"]))
        elif r < 0.45:
            parts.append(
                rng.choice(
                    [
                        "<|im_start",
                        "im_end|>",
                        "<|fim_",
                        "<|<|im_end|>|>",
                        "< |im_start|>",
                        "<|IM_START|>",
                    ]
                )
            )
        elif r < 0.75:
            parts.append(_random_sql(rng)[:60])
        else:
            parts.append(rng.choice(UNICODE + SPACES))
    return "".join(parts)


def _strings(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    gens = [
        _random_sql,
        _random_sql,
        _random_chars,
        _random_special,
        lambda r: "".join(r.choice(SPACES) for _ in range(r.randint(1, 12))),
        lambda r: r.choice(UNICODE) + r.choice(SPACES) + r.choice(UNICODE),
    ]
    out = [rng.choice(gens)(rng) for _ in range(n)]
    out += [
        "",
        " ",
        "\n",
        "\r\n",
        "SELECT",
        "<|im_start|>",
        "<|endoftext|><|endoftext|>",
        " <|fim_middle|> ",
        "a" * 300,
        "ab" * 200 + "\n" * 50,
        "😀" * 80,
        "x = 'it''s'",
        "\t\tSELECT *\r\n\tFROM t;\r\n",
    ]
    return out


@pytest.fixture(scope="module")
def tok_path(tmp_path_factory) -> str:
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_strings(1, 20_000), trainer)
    # like Qwen: special tokens after the BPE vocab, plus non-special added tokens
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    tok.add_tokens(
        [
            AddedToken("<think>", special=False, normalized=False),
            AddedToken("</think>", special=False, normalized=False),
            # matched after NFC, so "cafe\u0301" finds "café" too
            AddedToken("ORDER BY", special=False, normalized=True),
            AddedToken("cafe\u0301", special=False, normalized=True),
        ]
    )
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


def test_ids_match_tokenizers(tok_path):
    ref = Tokenizer.from_file(tok_path)
    ours = BPETokenizer.from_file(tok_path)
    assert 1000 <= ours.vocab_size <= 2000
    strings = _strings(2, 5000)
    for s in strings:
        expected = ref.encode(s, add_special_tokens=False).ids
        got = ours.encode(s)
        assert got == expected, repr(s)
    # a second pass runs from the word cache and must agree too
    for s in strings[:500]:
        assert ours.encode(s) == ref.encode(s, add_special_tokens=False).ids


def test_decode_round_trip(tok_path):
    ref = Tokenizer.from_file(tok_path)
    ours = BPETokenizer.from_file(tok_path)
    # tokenizers runs added tokens through the ByteLevel decoder, which garbles non-ASCII ones
    # ("café" -> "caf\ufffd"); ours emits their text as is. All of Qwen's added tokens are ASCII,
    # where the two agree.
    cafe = ours.token_to_id("cafe\u0301")
    assert ours.decode([cafe]) == "cafe\u0301"
    for s in _strings(3, 2000):
        ids = ours.encode(s)
        text = ours.decode(ids)
        if cafe not in ids:
            assert text == ref.decode(ids, skip_special_tokens=False)
        if not any(t in s for t in SPECIALS + ["<think>", "</think>"]):
            # NFC on both sides: the normalized added token decodes to its (decomposed) content
            assert unicodedata.normalize("NFC", text) == unicodedata.normalize("NFC", s)
            if cafe not in ids:
                assert text == unicodedata.normalize("NFC", s)
        else:
            assert ours.encode(text) == ids
    # arbitrary id sequences, split UTF-8 included, decode like tokenizers (lossy U+FFFD)
    rng = random.Random(4)
    n = ours.vocab_size
    for _ in range(500):
        ids = [i for i in (rng.randrange(n) for _ in range(rng.randint(1, 20))) if i != cafe]
        assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=False)
        plain = [i for i in ids if i not in ours.special_ids]
        assert ours.decode(ids, skip_special_tokens=True) == ours.decode(plain)


def test_token_to_id_and_specials(tok_path):
    ref = Tokenizer.from_file(tok_path)
    ours = BPETokenizer.from_file(tok_path)
    for s in SPECIALS + ["<think>", "SELECT", "Ġ", "!"]:
        assert ours.token_to_id(s) == ref.token_to_id(s)
        if s in SPECIALS:
            assert ours.encode(s) == [ref.token_to_id(s)]
    assert ours.token_to_id("<|not_a_token|>") is None
    with pytest.raises(ValueError):
        ours.decode([10**9])


def test_merges_string_form_and_dir(tok_path, tmp_path):
    spec = json.load(open(tok_path, encoding="utf-8"))
    assert isinstance(spec["model"]["merges"][0], list)
    spec["model"]["merges"] = [" ".join(m) for m in spec["model"]["merges"]]
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    a = BPETokenizer.from_file(tok_path)
    b = BPETokenizer.from_file(tmp_path)  # a directory holding tokenizer.json
    ref = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    for s in _strings(5, 300):
        assert b.encode(s) == a.encode(s) == ref.encode(s, add_special_tokens=False).ids


def test_ignore_merges_and_added_token_flags(tok_path, tmp_path):
    spec = json.load(open(tok_path, encoding="utf-8"))
    spec["model"]["ignore_merges"] = True
    for t in spec["added_tokens"]:
        if t["content"] == "<|fim_pad|>":
            t["lstrip"] = t["rstrip"] = True
        if t["content"] == "<think>":
            t["single_word"] = True
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    ref = Tokenizer.from_file(str(path))
    ours = BPETokenizer.from_file(path)
    extra = ["a  <|fim_pad|>  b", "<|fim_pad|>\n\nx", "x<think>y", "x <think> y", "<think>"]
    for s in _strings(6, 1000) + extra:
        assert ours.encode(s) == ref.encode(s, add_special_tokens=False).ids, repr(s)


def test_long_pieces_use_same_merge_order(tok_path):
    ref = Tokenizer.from_file(tok_path)
    ours = BPETokenizer.from_file(tok_path)
    rng = random.Random(7)
    for _ in range(50):
        word = "".join(rng.choice("selctfromwhe_") for _ in range(rng.randint(49, 400)))
        assert ours.encode(word) == ref.encode(word, add_special_tokens=False).ids
    for _ in range(500):
        word = "".join(rng.choice("selctfromwhe_") for _ in range(rng.randint(1, 60)))
        assert ours._bpe_scan(list(word)) == ours._bpe_heap(list(word))


BYTE_LEVEL = {
    "type": "ByteLevel",
    "add_prefix_space": False,
    "trim_offsets": False,
    "use_regex": False,
}


@pytest.mark.parametrize(
    "pre_tokenizer",
    [
        {
            "type": "ByteLevel",
            "add_prefix_space": True,
            "trim_offsets": True,
            "use_regex": True,
        },  # GPT-2 style
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        {
            "type": "Sequence",
            "pretokenizers": [  # matches that leave gaps: the slow Split path
                {
                    "type": "Split",
                    "pattern": {"Regex": r"\d+|\p{Han}+"},
                    "behavior": "Isolated",
                    "invert": False,
                },
                BYTE_LEVEL,
            ],
        },
        {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"String": " "},
                    "behavior": "Removed",
                    "invert": False,
                },
                BYTE_LEVEL,
            ],
        },
        {
            "type": "Sequence",
            "pretokenizers": [  # a capturing group: findall would return the group
                {
                    "type": "Split",
                    "pattern": {"Regex": r"(\p{L})\p{L}*"},
                    "behavior": "Isolated",
                    "invert": False,
                },
                BYTE_LEVEL,
            ],
        },
    ],
)
def test_other_pre_tokenizers(tok_path, tmp_path, pre_tokenizer):
    spec = json.load(open(tok_path, encoding="utf-8"))
    spec["pre_tokenizer"] = pre_tokenizer
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    ref = Tokenizer.from_file(str(path))
    ours = BPETokenizer.from_file(path)
    for s in _strings(9, 500):
        assert ours.encode(s) == ref.encode(s, add_special_tokens=False).ids, repr(s)


def test_rejects_unsupported(tok_path):
    spec = json.load(open(tok_path, encoding="utf-8"))
    spec["model"]["type"] = "WordPiece"
    with pytest.raises(ValueError, match="model type"):
        BPETokenizer(spec)


def test_speed(tok_path):
    """Prints encode throughput on SQL-ish text (not asserted: the machine is shared)."""
    ours = BPETokenizer.from_file(tok_path)
    ref = Tokenizer.from_file(tok_path)
    rng = random.Random(8)
    docs = [_random_sql(rng) for _ in range(8000)]
    nbytes = sum(len(d.encode()) for d in docs)
    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(len(ours.encode(d)) for d in docs)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    for d in docs:
        ref.encode(d, add_special_tokens=False)
    dt_ref = time.perf_counter() - t0
    print(
        f"\nbpe encode: {nbytes / dt / 1e6:.2f} MB/s wall, {nbytes / cpu / 1e6:.2f} MB/s of CPU"
        f" ({n / cpu / 1e3:.0f}k tokens/s) on {nbytes / 1e6:.2f} MB SQL-ish text, cold cache;"
        f" tokenizers (Rust, one call per string): {nbytes / dt_ref / 1e6:.2f} MB/s wall"
    )
