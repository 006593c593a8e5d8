import json
import subprocess
import sys
import time

import pytest

from conftest import SCHEMA
from sample import Completer, run_batch


@pytest.fixture(scope="module")
def completer(tiny_ckpt):
    c = Completer(tiny_ckpt, max_tokens=8, ngram=None)  # the model's own decoding
    c.set_schema(SCHEMA)
    return c


def test_suggestions_are_distinct_and_non_blank(completer):
    for prefix in ("SELECT ", "SELECT na", "", "INSERT INTO orders (", "SELECT c."):
        out = completer.complete(prefix, n=5)
        assert len(out) <= 5
        assert len({s.rstrip() for s in out}) == len(out)
        assert all(s.strip() for s in out)


def test_heal_backs_off_the_partial_word(completer):
    ids, heal = completer._heal("SELECT product_na")
    assert completer.sp.decode(ids) + heal.decode() == "SELECT product_na"
    assert heal.strip() == b"product_na"  # the whole partial word is re-typed under constraint
    ids, heal = completer._heal("SELECT name FROM ")
    assert heal.endswith(b" ") and b"FROM" not in heal
    assert completer._heal("") == ([], b"")


def test_healed_generation_continues_the_typed_characters(completer):
    # every first token is constrained to agree with the re-typed text (case-insensitively)
    ids, heal = completer._heal("SELECT emai")
    allowed = completer._allowed(heal).nonzero().flatten().tolist()
    assert allowed
    for t in allowed:
        p = completer.piece_lower[t]
        assert heal.lower().startswith(p) or p.startswith(heal.lower())


def test_typing_reuses_cached_tokens(completer, monkeypatch):
    fed = []
    forward = completer.model.forward

    def counting(tokens, *a, cache=None, **kw):
        if cache is completer.cache:
            fed.append(tokens.shape[1])
        return forward(tokens, *a, cache=cache, **kw)

    monkeypatch.setattr(completer.model, "forward", counting)
    text = "SELECT name, email FROM customers WHERE name = 'x'"
    completer.complete(text[:20])
    fed.clear()
    for i in range(21, len(text)):
        completer.complete(text[:i])
    # one more character re-feeds only the changed tail (a few tokens), never the schema or the whole statement
    assert fed and max(fed) <= 6


def test_bad_inputs_do_not_crash(completer):
    c = completer
    c.set_schema("")
    assert isinstance(c.complete("SELECT "), list)
    c.set_schema("this is not sql at all \x00\x07 ☃")
    assert isinstance(c.complete("hello \x1b[31m world"), list)
    long_schema = "\n\n".join(f"CREATE TABLE t{i} (id INT PRIMARY KEY, v{i} STRING, w{i} TEXT)" for i in range(400))
    c.set_schema(long_schema)
    t = time.time()
    assert isinstance(c.complete("SELECT * FROM t399 WHERE "), list)
    assert isinstance(c.complete("SELECT " + "x, " * 33000), list)  # a 100,000-character prefix
    assert time.time() - t < 30
    c.set_schema(SCHEMA)


@pytest.fixture(scope="module")
def hybrid(tiny_ckpt):
    c = Completer(tiny_ckpt, max_tokens=8)  # the default: n-gram proposals, model reranking
    if c.ngram is None:
        pytest.skip("no shipped n-gram in models/ngram.json.gz")
    c.set_schema(SCHEMA)
    return c


def test_log_probs_match_a_full_forward(hybrid):
    import torch
    prefix = "SELECT name FROM cu"
    ids, heal = hybrid._heal(prefix)
    hybrid.prefill(prefix)
    hybrid._feed(ids)
    texts = [heal.decode() + t for t in ("stomers", "stomers WHERE", "")]
    got = hybrid._log_probs(texts)
    prompt = hybrid.sp.encode(__import__("prepare").prompt_text(hybrid._fitted))
    for text, lp in zip(texts, got):
        seq = prompt + ids + hybrid.sp.encode(text)
        with torch.inference_mode():
            logp = torch.log_softmax(hybrid.model(torch.tensor([seq]))[0].float(), -1)
        start = len(prompt) + len(ids)
        want = sum(float(logp[j - 1, seq[j]]) for j in range(start, len(seq)))
        want += float(torch.log1p(-logp[len(seq) - 1].exp()[hybrid.continues_word].sum()))
        assert abs(lp - want) < 1e-3, (text, lp, want)


def test_rerank_orders_ngram_proposals_by_both_models(hybrid, monkeypatch):
    prefix = "SELECT name, email FROM customers "  # keywords come next
    from sample import RERANK_PROPOSALS
    proposals = [first for _, first, _ in hybrid.ngram.proposals(prefix, "", RERANK_PROPOSALS) if first is not None]
    assert len(proposals) >= 2
    out = hybrid.complete(prefix, n=5)
    assert out and all(any(s.startswith(first) for first in proposals) for s in out)
    # a model that strongly prefers the n-gram's last proposal moves it to the top...
    last = proposals[-1]
    monkeypatch.setattr(hybrid, "_log_probs", lambda texts: [100.0 if t.endswith(last) else 0.0 for t in texts])
    assert hybrid.complete(prefix, n=5)[0].startswith(last)
    # ...unless the n-gram's weight says otherwise
    monkeypatch.setattr(hybrid, "ngram_weight", 1e6)
    assert hybrid.complete(prefix, n=5)[0].startswith(proposals[0])


def test_rerank_leaves_the_choice_among_names_to_the_ngram(hybrid, monkeypatch):
    prefix = "SELECT * FROM "  # table names come next
    names = [first for _, first, _ in hybrid.ngram.proposals(prefix, "", 8) if first in ("customers", "orders")]
    assert len(names) == 2
    monkeypatch.setattr(hybrid, "_log_probs", lambda texts: [100.0 if t.endswith(names[-1]) else 0.0 for t in texts])
    assert [s.split()[0] for s in hybrid.complete(prefix, n=5) if s.split()[0] in names] == names


def test_rerank_leaves_literals_to_the_model(hybrid, monkeypatch):
    prefix = "SELECT * FROM customers WHERE name = "  # a string comes next: the n-gram cannot spell it
    assert hybrid.ngram.proposals(prefix, "", 5)[0][1] is None
    monkeypatch.setattr(hybrid, "_log_probs", lambda texts: pytest.fail("the model decodes here, no reranking"))
    assert isinstance(hybrid.complete(prefix, n=3), list)


def test_a_sure_ngram_proposal_skips_the_model(hybrid, monkeypatch):
    prefix = "SELECT name, email FROM customers "
    monkeypatch.setattr(hybrid, "ngram_sure", 0.0)  # every spelled top proposal counts as sure
    monkeypatch.setattr(hybrid, "_log_probs", lambda texts: pytest.fail("the model was asked"))
    assert hybrid.complete(prefix, n=5) == hybrid.ngram.complete(prefix, "", 5)


def test_a_word_before_a_final_newline_is_whole(hybrid):
    # `$` in a Python regex also matches before a final newline: "customers\n" is not a partial word
    for text in ("SELECT * FROM customers\n", "SELECT * FROM customers\n  "):
        firsts = [first for _, first, _ in hybrid.ngram.proposals(text, "", 8) if first]
        assert "WHERE" in firsts and not any(f.startswith("_") for f in firsts)
    from sample import text_state
    assert text_state("SELECT * FROM customers\n") == ("", False)


def test_batch_contract(tiny_ckpt, tmp_path):
    c = Completer(tiny_ckpt, max_tokens=4)
    reqs = [
        {"id": "a", "schema": SCHEMA, "prefix": "SELECT name FROM cu"},
        {"id": "b", "schema": SCHEMA, "prefix": "SELECT ", "suffix": " FROM customers"},
        {"id": "c", "schema": "", "prefix": "SELECT 1"},
        {"id": "d", "schema": SCHEMA, "prefix": 42},
    ]
    inp = tmp_path / "in.jsonl"
    with open(inp, "wb") as f:
        for r in reqs[:2]:
            f.write(json.dumps(r).encode() + b"\n")
        f.write(b"{not json\n")
        f.write(b'{"id": "u", "schema": "\xff", "prefix": "x"}\n')
        for r in reqs[2:]:
            f.write(json.dumps(r).encode() + b"\n")
    stats = run_batch(c, str(inp), str(tmp_path / "out.jsonl"), 3)
    out = [json.loads(l) for l in open(tmp_path / "out.jsonl")]
    assert len(out) == 6 and stats["requests"] == 6 and stats["errors"] == 3
    assert [o["id"] for o in out] == ["a", "b", None, None, "c", "d"]
    for o in out:
        assert isinstance(o["completions"], list) and len(o["completions"]) <= 3
    assert "error" in out[2] and "line 3" in out[2]["error"]
    assert "error" in out[3] and "UnicodeDecodeError" in out[3]["error"]
    assert "error" in out[5] and "error" not in out[0] and "error" not in out[4]


def test_cli_one_shot_and_missing_checkpoint(tiny_ckpt, tmp_path):
    schema = tmp_path / "s.sql"
    schema.write_text(SCHEMA)
    r = subprocess.run([sys.executable, "sample.py", "--ckpt", tiny_ckpt, "--schema", str(schema), "--prefix", "SELECT "],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 1 <= len(r.stdout.strip().splitlines()) <= 5
    r = subprocess.run([sys.executable, "sample.py", "--ckpt", str(tmp_path / "nope"), "--prefix", "x"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "no model in" in r.stderr


def test_shipped_model_knows_the_schema(shipped_ckpt):
    c = Completer(shipped_ckpt)
    c.set_schema(SCHEMA)
    tables = {"customers", "orders"}
    assert any(s.split()[0].strip(";") in tables for s in c.complete("SELECT * FROM ") if s.split())
    best = c.complete("SELECT name, ema")[0]
    assert best.startswith("il")  # only the missing part of `email`
    assert "customer_id" in " ".join(c.complete("SELECT * FROM orders WHERE ", n=5)) or \
        "total" in " ".join(c.complete("SELECT * FROM orders WHERE ", n=5))


def test_schema_lexicon_bias():
    from sample import SchemaLexicon, text_state
    pieces = [b" cust", b"omers", b"omerz", b" FROM", b",", b"'x", b" zzzq", b"ers"]
    lex = SchemaLexicon(pieces, bonus=2.0, penalty=4.0)
    lex.set_schema(SCHEMA)
    start = lex.bias("")
    assert start[0] == 2.0  # towards `customers`
    assert start[3] == 0.0  # a keyword: neither pushed nor pulled
    assert start[6] == -4.0  # a word found nowhere
    mid = lex.bias("cust")
    assert mid[1] == 2.0 and mid[2] == -4.0  # `customers` yes, `customerz` no
    assert lex.bias("custo")[4] == -4.0  # ending the word at `custo` is penalized
    assert text_state("SELECT na") == ("na", False)
    assert text_state("WHERE x = 'ab") == ("", True)
    lex.add_words(["custodian"])
    assert lex.bias("custo")[4] == -4.0 and "custodian" in lex.words


def test_every_flag_has_a_help_text_and_the_help_lists_the_editor_keys(capsys):
    from sample import arg_parser
    ap = arg_parser()
    assert [a.dest for a in ap._actions if not a.help] == []
    ap.print_help()
    out = capsys.readouterr().out
    assert all(key in out for key in ("Tab", "Alt-1..Alt-5", "Esc", "Ctrl-Space", "Ctrl-S", "Ctrl-Q"))


def test_options_from_flags_and_keyword_overrides():
    from sample import CompleterOptions, arg_parser, completer_options
    assert completer_options(arg_parser().parse_args([])) == CompleterOptions(threads=1)
    opts = completer_options(arg_parser().parse_args(["--ngram", "none", "--max-tokens", "4", "--schema-bonus", "0"]))
    assert (opts.ngram, opts.max_tokens, opts.schema_bonus) == (None, 4, 0.0)


def test_the_completer_imports_neither_the_data_pipeline_nor_sqlglot():
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "import sys, sample, ngram, tui; print(sorted(m for m in ('sqlglot', 'prepare', 'datagen') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr
