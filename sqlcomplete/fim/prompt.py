"""Fill-in-the-middle prompt building, shared by the dataset converter and the editor server.

build_prompt(context, prefix, suffix) returns exactly

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n{user}<|im_end|>\\n
    <|im_start|>assistant\\n<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>

(one line, split here for reading) with the sections of fim/fim_prompt.tmpl, so that a
prompt built at serving time is byte-identical to the training prompts. The wrapping is what
the original pipeline (ArcticTraining's csv_to_hf_fim.py) gets from Qwen3's chat template with
add_generation_prompt: no line break before <|im_end|> (its README draws one; its code, through
apply_chat_template, writes none), then the assistant section. The default template orders the
context as the original does: sql_history, ddl_context, last_few_executed, file_content.

Text rules, the same for every caller:
- CRLF and lone CR become LF everywhere (the model is trained on LF only; a
  server editing a CRLF buffer converts the completion back).
- A context value is a string, a list (items joined by newlines, empty items
  dropped), or any other JSON value (written as JSON); None, empty and
  whitespace-only values are left out, and values are stripped. The prefix and
  suffix are used as they are.

Truncation (max_length, in tokens of the prompt alone): nothing is cut while the
prompt fits. Otherwise whole units are dropped, in this order, until it fits:
1. context fields, oldest first: sql_history, last_few_executed, recent_queries, the fields this
   template does not name, file_content, ddl_context. List items are units,
   taken as oldest first. A string is cut into units at statement ends (a line
   ending in ";"), blank lines or every 16 lines, dropped from the top;
2. the prefix from its start and the suffix from its end, lines (cut into
   256-character chunks) alternately so that about 3/4 of what remains is
   prefix; the chunk just before and the chunk just after the cursor are
   never dropped.
If even that does not fit, PromptTooLong is raised.
"""

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE = "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"
REQUIRED_TOKENS = (IM_START, IM_END, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)
# Qwen2.5/Qwen3 control tokens: text holding one would be read as the token itself
CONTROL_TOKENS = (
    "<|endoftext|>",
    IM_START,
    IM_END,
    FIM_PREFIX,
    FIM_MIDDLE,
    FIM_SUFFIX,
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
DEFAULT_TEMPLATE = Path(__file__).with_name("fim_prompt.tmpl")
TRIM_ORDER = (
    "sql_history",
    "last_few_executed",
    "recent_queries",
    "*",
    "file_content",
    "ddl_context",
)
CHUNK = 256  # longest prefix/suffix unit when truncating, in characters
UNIT_LINES = 16  # longest unit of a string context value when truncating, in lines
PREFIX_SHARE = 0.75  # of the prefix+suffix text kept when truncating


class PromptTooLong(ValueError):
    """The prompt exceeds max_length even with all context and far prefix/suffix text dropped."""


@dataclass(frozen=True)
class Template:
    system: str
    user: tuple[str, str]  # text around {context}
    no_context: str
    fields: tuple[tuple[str, str, str], ...]  # (key or "*", text before {value}, text after)
    assistant: tuple[
        str, str, str
    ]  # text before {prefix}, between {prefix} and {suffix}, after {suffix}
    path: str = ""
    # the original's Go-style template: its user text in pieces, literal text and context keys
    # alternating ("text", "sql_history", "text", ...); each key's value, or "", in its place
    go_user: tuple[str, ...] | None = None
    control_text: tuple[str, ...] = ()  # control tokens written as text in system/user (Go style)


GO_SECTION = re.compile(r'\{\{define\s+"(\w+)"\}\}(.*?)\{\{end\}\}', re.S)
GO_FIELD = re.compile(r"\{\{\.(\w+)\}\}")


def parse_go_template(text: str, path: str = "") -> Template:
    """The original pipeline's fim_prompt.tmpl: {{define "system"}}...{{end}} sections (stripped, as
    its csv_to_hf_fim.py strips them), {{.SQL_HISTORY}}-style placeholders for the context fields in
    the user section (each key lowercased: sql_history), {{.PREFIX}} and {{.SUFFIX}} in the
    assistant's."""
    body = {m[1]: m[2].strip() for m in GO_SECTION.finditer(normalize_newlines(text))}
    for name in ("system", "user", "assistant"):
        if name not in body:
            raise ValueError(
                f'template section {name!r} not found ({{{{define "{name}"}}}}...{{{{end}}}})'
            )
    pieces = GO_FIELD.split(body["user"])  # text, KEY, text, KEY, ..., text
    go_user = tuple(p.lower() if i % 2 else p for i, p in enumerate(pieces))
    keys = tuple(dict.fromkeys(go_user[1::2]))
    assistant = GO_FIELD.sub(lambda m: "{" + m[1].lower() + "}", body["assistant"])
    a0, rest = _split_once(assistant, "{prefix}", "assistant")
    a1, a2 = _split_once(rest, "{suffix}", "assistant")
    loose = body["system"] + "".join(go_user[::2])
    return Template(
        system=body["system"],
        user=("", ""),
        no_context="",
        fields=tuple((k, "", "") for k in keys),
        assistant=(a0, a1, a2),
        path=path,
        go_user=go_user,
        control_text=tuple(t for t in CONTROL_TOKENS if t in loose),
    )


def _split_once(text: str, placeholder: str, section: str) -> tuple[str, str]:
    if text.count(placeholder) != 1:
        raise ValueError(f"template section {section!r} must contain {placeholder} exactly once")
    head, tail = text.split(placeholder)
    return head, tail


def parse_template(text: str, path: str = "") -> Template:
    """Parse the sectioned template format (see fim/fim_prompt.tmpl), or the original pipeline's
    Go-style template ({{define "system"}}...{{end}}: parse_go_template)."""
    if GO_SECTION.search(text):
        return parse_go_template(text, path)
    sections: dict[str, list[str]] = {}
    order: list[str] = []
    current = None
    for line in normalize_newlines(text).split("\n"):
        if line.startswith("=== ") and line.endswith(" ===") and len(line) > 8:
            current = line[4:-4].strip()
            if current in sections:
                raise ValueError(f"template section {current!r} appears twice")
            sections[current] = []
            order.append(current)
        elif current is not None:
            sections[current].append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"template text before the first section: {line!r}")
    body = {name: "\n".join(lines).rstrip("\n") for name, lines in sections.items()}
    for name in ("system", "user", "assistant"):
        if name not in body:
            raise ValueError(f"template lacks the {name!r} section")
    for name in order:
        if name != "assistant" and has_control_token(body[name]):
            raise ValueError(
                f"template section {name!r} holds a control token's text; only 'assistant' may"
            )
    fields = []
    for name in order:
        if name.startswith("field "):
            key = name[len("field ") :].strip()
            fields.append((key, *_split_once(body[name], "{value}", name)))
    a0, rest = _split_once(body["assistant"], "{prefix}", "assistant")
    a1, a2 = _split_once(rest, "{suffix}", "assistant")
    return Template(
        system=body["system"],
        user=_split_once(body["user"], "{context}", "user"),
        no_context=body.get("no_context", ""),
        fields=tuple(fields),
        assistant=(a0, a1, a2),
        path=path,
    )


@lru_cache(maxsize=8)
def _load_template_cached(path: str, mtime_ns: int) -> Template:
    return parse_template(Path(path).read_text(encoding="utf-8"), path)


def load_template(template: "str | Path | Template | None" = None) -> Template:
    """A Template from a path (default fim/fim_prompt.tmpl); a Template passes through."""
    if isinstance(template, Template):
        return template
    path = Path(template) if template is not None else DEFAULT_TEMPLATE
    return _load_template_cached(str(path), path.stat().st_mtime_ns)


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR to LF."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def has_control_token(text: str) -> bool:
    """Whether text holds a Qwen control token's literal text (it would encode as that token)."""
    return "<|" in text and any(t in text for t in CONTROL_TOKENS)


def check_tokenizer(tokenizer) -> None:
    """Raise ValueError unless the chat and FIM tokens exist and encode as single tokens."""
    problems = []
    for tok in REQUIRED_TOKENS:
        i = tokenizer.token_to_id(tok)
        if i is None:
            problems.append(f"{tok} is not in the vocabulary")
        elif tokenizer.encode(tok) != [i]:
            problems.append(
                f"{tok} does not encode as the single token {i} (got {tokenizer.encode(tok)})"
            )
    if problems:
        raise ValueError(
            "tokenizer is not a Qwen2.5/Qwen3-style FIM tokenizer: " + "; ".join(problems)
        )


# ---- context fields


@dataclass
class _Field:
    key: str
    head: str
    tail: str
    value: str  # the whole value as shown
    units: list[str]  # what truncation drops from the front: list items, or lines of a string
    joiner: str

    def trimmed(self, dropped: int) -> str:
        return self.joiner.join(self.units[dropped:]).strip() if dropped else self.value


def _item_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return normalize_newlines(v).strip()
    return json.dumps(v, ensure_ascii=False)


def _context_fields(context: dict | None, t: Template) -> list[_Field]:
    """Non-empty context fields in template order; keys the template does not name go to its "*"
    slot."""
    context = context or {}
    named = {key for key, _, _ in t.fields if key != "*"}
    out = []
    for key, head, tail in t.fields:
        if key != "*":
            entries = [(key, head, tail)] if key in context else []
        else:
            entries = [
                (k, head.replace("{name}", k), tail.replace("{name}", k))
                for k in context
                if k not in named
            ]
        for k, h, tl in entries:
            v = context[k]
            if isinstance(v, list):
                items = [s for s in map(_item_text, v) if s]
                if items:
                    out.append(_Field(k, h, tl, "\n".join(items), items, "\n"))
            else:
                text = _item_text(v)
                if text:
                    out.append(_Field(k, h, tl, text, [], ""))
    return out


def _render(t: Template, values: list[tuple[_Field, str]], prefix: str, suffix: str) -> str:
    if t.go_user is not None:  # each placeholder gets its field's value, "" when absent
        given = {f.key: v for f, v in values}
        user = "".join(given.get(p, "") if i % 2 else p for i, p in enumerate(t.go_user))
    else:
        blocks = [f.head + v + f.tail for f, v in values if v]
        context = "\n\n".join(blocks) if blocks else t.no_context
        user = f"{t.user[0]}{context}{t.user[1]}"
    a0, a1, a2 = t.assistant
    return (
        f"{IM_START}system\n{t.system}{IM_END}\n"
        f"{IM_START}user\n{user}{IM_END}\n"
        f"{IM_START}assistant\n{a0}{prefix}{a1}{suffix}{a2}"
    )


# ---- truncation


def _statements(text: str) -> list[str]:
    """Lines grouped into units that end at a statement end (";"), a blank line, or after
    UNIT_LINES lines, so that dropping units from the top does not leave half a CREATE TABLE
    behind."""
    units, cur = [], []
    for line in text.splitlines(keepends=True):
        cur.append(line)
        end = line.rstrip()
        if not end or end.endswith(";") or len(cur) >= UNIT_LINES:
            units.append("".join(cur))
            cur = []
    if cur:
        units.append("".join(cur))
    return units


def _chunks(text: str) -> list[str]:
    """Lines (with their newline) cut into CHUNK-character pieces; "".join gives text back."""
    out = []
    for line in text.splitlines(keepends=True):
        out.extend(line[i : i + CHUNK] for i in range(0, len(line), CHUNK))
    return out


def _trim_plan(fields: list[_Field], pre: list[str], suf: list[str]) -> list[int]:
    """Order in which units are dropped: field index, then -1 (a prefix chunk) / -2 (a suffix
    chunk)."""
    rank = {k: i for i, k in enumerate(TRIM_ORDER)}
    order = sorted(range(len(fields)), key=lambda i: rank.get(fields[i].key, rank["*"]))
    plan = [i for i in order for _ in fields[i].units]
    # the chunk next to the cursor on each side stays
    p_left = sum(map(len, pre[:-1]))
    s_left = sum(map(len, suf[1:]))
    pi, si = 0, len(suf) - 1
    while pi < len(pre) - 1 or si > 0:
        keep_prefix = p_left * (1 - PREFIX_SHARE) <= s_left * PREFIX_SHARE
        if si > 0 and (keep_prefix or pi >= len(pre) - 1):
            plan.append(-2)
            s_left -= len(suf[si])
            si -= 1
        else:
            plan.append(-1)
            p_left -= len(pre[pi])
            pi += 1
    return plan


def fit_prompt(
    context: dict | None,
    prefix: str,
    suffix: str,
    template: "str | Path | Template | None" = None,
    tokenizer=None,
    max_length: int | None = None,
) -> tuple[str, int | None, int]:
    """(prompt, its token count or None without a tokenizer, units dropped to fit max_length)."""
    t = load_template(template)
    prefix, suffix = normalize_newlines(prefix), normalize_newlines(suffix)
    fields = _context_fields(context, t)
    prompt = _render(t, [(f, f.value) for f in fields], prefix, suffix)
    if tokenizer is None:
        if max_length is not None:
            raise ValueError("max_length needs a tokenizer")
        return prompt, None, 0
    n = len(tokenizer.encode(prompt))
    if max_length is None or n <= max_length:
        return prompt, n, 0

    for f in fields:
        if not f.joiner:  # string values: split only now that truncation needs them
            f.units = _statements(f.value)
    pre, suf = _chunks(prefix), _chunks(suffix)
    plan = _trim_plan(fields, pre, suf)

    def build(k: int) -> tuple[str, int]:
        drops = [0] * len(fields)
        dp = ds = 0
        for target in plan[:k]:
            if target == -1:
                dp += 1
            elif target == -2:
                ds += 1
            else:
                drops[target] += 1
        p = _render(
            t,
            [(f, f.trimmed(d)) for f, d in zip(fields, drops)],
            "".join(pre[dp:]),
            "".join(suf[: len(suf) - ds]),
        )
        return p, len(tokenizer.encode(p))

    # smallest k that fits, by bisection: dropping more never makes the prompt longer in practice,
    # and the result is checked either way (hi always fits)
    hi = len(plan)
    best = build(hi)
    if best[1] > max_length:
        raise PromptTooLong(
            f"prompt needs {best[1]} tokens even fully truncated (max_length {max_length})"
        )
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        cand = build(mid)
        if cand[1] <= max_length:
            hi, best = mid, cand
        else:
            lo = mid
    return best[0], best[1], hi


def build_prompt(
    context: dict | None,
    prefix: str,
    suffix: str,
    template: "str | Path | Template | None" = None,
    tokenizer=None,
    max_length: int | None = None,
) -> str:
    """The FIM prompt for the SQL around the cursor; with max_length (prompt tokens), truncated to
    fit."""
    return fit_prompt(context, prefix, suffix, template, tokenizer, max_length)[0]
