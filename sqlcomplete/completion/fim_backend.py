"""The language server's FIM backend: a fine-tuned Qwen3 behind vLLM's OpenAI-compatible
/v1/completions.

The prompt is fim/prompt.py's, built exactly as fim/csv_to_fim.py builds training prompts, from the
schema, the statements before the cursor and the file around it. Nothing else is sent: in particular
not the database's values (db/database.py), which completion/service.py merges into the answer
locally. The backend keeps its own outage state: after a failure the caller's local model answers
alone for retry_s, and the outage's start and end are logged once each.
"""

import asyncio
import os
import re
import sys
import time
from collections.abc import Callable

FILE_LINES_BEFORE, FILE_LINES_AFTER, FILE_CHARS = (
    40,
    10,
    6000,
)  # file_content window for the FIM prompt
# Qwen's control tokens: a FIM completion ends at any of them
FIM_STOP = [
    "<|im_end|>",
    "<|endoftext|>",
    "<|fim_pad|>",
    "<|file_sep|>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|im_start|>",
]


def fim_context(schema: str, buf, line: int, start: tuple[int, int]) -> dict:
    """The context fields of a FIM prompt: the schema, earlier statements, the file around the
    cursor (buf: a sqlscan buffer)."""
    history = [s for s in buf.history(start) if not re.match(r"create\s+table\b", s, re.I)]
    lines = buf.lines[max(0, line - FILE_LINES_BEFORE) : line + FILE_LINES_AFTER + 1]
    while len(lines) > 1 and sum(map(len, lines)) > FILE_CHARS:
        lines = lines[1:]  # fim/prompt.py's policy for a string field: whole lines from the top
    return {
        "ddl_context": schema,
        "sql_history": history,
        "file_content": "".join(lines)[-FILE_CHARS:],
    }


class FimBackend:
    """The client, the prompt template and tokenizer, and whether the backend is down.
    log(message, warning) hears when an outage starts and ends (default: stderr)."""

    def __init__(
        self,
        url: str,
        model: str,
        tokenizer: str | None = None,
        max_prompt_tokens: int = 4096,
        max_tokens: int = 64,
        timeout: float = 2.0,
        retry_s: float = 30.0,
        log: Callable[[str, bool], None] | None = None,
    ):
        from openai import AsyncOpenAI

        from sqlcomplete.fim.bpe import BPETokenizer
        from sqlcomplete.fim.hub import tokenizer_file
        from sqlcomplete.fim.prompt import load_template

        self.url, self.model = url, model
        self.client = AsyncOpenAI(
            base_url=url,
            api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY",
            timeout=timeout,
            max_retries=0,
        )
        self.template = load_template()
        # a tokenizer.json, a folder holding one, or a hub model id (ValueError names a missing one)
        path = tokenizer_file(tokenizer, "--fim-tokenizer") if tokenizer else None
        self.tokenizer = BPETokenizer.from_file(path) if path else None
        self.max_prompt_tokens = max_prompt_tokens if self.tokenizer else None
        self.max_tokens, self.timeout, self.retry_s = max_tokens, timeout, retry_s
        extra = {}
        if (
            self.tokenizer is not None
        ):  # vLLM: stop on the control tokens' ids too (stop strings see decoded text)
            extra["stop_token_ids"] = [
                i for i in map(self.tokenizer.token_to_id, FIM_STOP) if i is not None
            ]
        self.extra_body = extra or None
        self.down_until = 0.0  # while down, the local model answers without trying
        self.failing = False
        self.log = log or (lambda message, warning: print(message, file=sys.stderr))

    def available(self) -> bool:
        """Not in an outage: worth building a prompt for."""
        return time.monotonic() >= self.down_until

    def prompt(self, context: dict, prefix: str, suffix: str) -> str:
        """fim/prompt.py's prompt, as fim/csv_to_fim.py writes it for this context, prefix and
        suffix."""
        from sqlcomplete.fim.prompt import build_prompt

        return build_prompt(
            context, prefix, suffix, self.template, self.tokenizer, self.max_prompt_tokens
        )

    async def complete(self, prompt: str) -> list[str] | None:
        """The model's suggestions; None when it fails (a timeout, an error): the caller's local
        model answers, alone for retry_s, and the outage is logged once."""
        try:
            r = await asyncio.wait_for(
                self.client.completions.create(
                    model=self.model,
                    prompt=prompt,
                    max_tokens=self.max_tokens,
                    temperature=0.0,
                    n=1,
                    stop=FIM_STOP,
                    extra_body=self.extra_body,
                ),
                self.timeout + 0.5,
            )
            texts = [c.text for c in r.choices if c.text and c.text.strip()]
        except Exception as e:  # any failure (CancelledError is not one): the local model answers
            self.down_until = time.monotonic() + self.retry_s
            if not self.failing:
                self.failing = True
                failed = f"FIM backend {self.url} failed ({self.failure(e)})"
                self.log(f"{failed}: falling back to the local model", True)
            return None
        if self.failing:
            self.failing = False
            self.log(f"FIM backend {self.url} answers again", False)
        return texts

    def failure(self, e: Exception) -> str:
        """A failure in a few words, for the editor's log."""
        if isinstance(e, asyncio.TimeoutError) or type(e).__name__ == "APITimeoutError":
            return f"no answer in {self.timeout:g} s"
        return f"{type(e).__name__}: {str(e)[:200]}"
