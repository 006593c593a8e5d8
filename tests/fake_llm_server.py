"""A small OpenAI-compatible chat server for the datagen.llm tests (stdlib http.server in a thread).

It answers every stage with canned structured JSON derived only from the prompt (so reruns get
the same answers), injects faults chosen by a plan (HTTP 500, stalls past the client's timeout,
malformed, truncated or wrongly shaped JSON, schemas with invalid SQL, statements that must be
dropped), and tallies what it injected in the client's vocabulary, per stage, so a test can
compare the tally with the pipeline's report. It shuts itself down on exit, or after `lifetime`.
"""

import json
import re
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlcomplete.sql.schema import parse_schema

STAGE = {
    "Topics": "topics",
    "Subtopics": "details",
    "Examples": "details",
    "DatabaseSchema": "schemas",
    "SQLStatements": "statements",
}
# fault name -> reason as datagen.llm reports it
REASON = {
    "500": "http 500",
    "timeout": "timeout",
    "malformed": "malformed json",
    "truncated": "truncated",
    "wrong shape": "invalid output",
    "invalid schema": "invalid schema",
}
DOMAINS = [
    "e-commerce",
    "healthcare",
    "logistics",
    "banking",
    "education",
    "gaming",
    "travel",
    "farming",
]

# plan(response model name, prompt, attempt number for this exact prompt) -> fault name or None
Plan = Callable[[str, str, int], str | None]


def crc(text: str) -> int:
    return zlib.crc32(text.encode())


def tables_in(prompt: str) -> int:
    return int(re.search(r"exactly (\d+) table", prompt).group(1))


# -----------------------------------------------------------------------------
# canned answers


def answer_topics(prompt: str) -> dict:
    n = int(re.search(r"list of (\d+)", prompt).group(1))
    return {
        "topics": [
            DOMAINS[i % len(DOMAINS)] + ("" if i < len(DOMAINS) else f" {i}") for i in range(n)
        ]
    }


def answer_subtopics(prompt: str) -> dict:
    n = int(re.search(r"Generate (\d+) topics", prompt).group(1))
    topic = re.search(r"following topic: (.+)$", prompt).group(1)
    return {
        "subtopics": [f"{j + 1}. {topic} area {j}" for j in range(n)]
    }  # numbering, as models do


def answer_examples(prompt: str) -> dict:
    n = int(re.search(r"Generate (\d+) examples", prompt).group(1))
    subtopic = re.search(r"in the context of (.+?)\.\n", prompt).group(1)
    return {"examples": [f"Track {subtopic} record kind {j} for reporting." for j in range(n)]}


def answer_schema(prompt: str, broken: bool = False) -> dict:
    base = f"t{crc(prompt) % 100000}"
    tables = []
    for j in range(tables_in(prompt)):
        fk = f",\n    parent_id INT REFERENCES {base}_{j - 1}(id)" if j else ""
        tables.append(
            f"CREATE TABLE {base}_{j} (\n    id INT PRIMARY KEY,\n    name VARCHAR(50) NOT NULL,\n"
            f"    amount DECIMAL(10, 2),\n    created_at TIMESTAMP{fk}\n);"
        )
    if broken:  # no closing parenthesis: sqlglot cannot parse it
        tables[-1] = tables[-1].replace("\n);", "\n")
    return {"tables": [{"table_schema": t} for t in tables]}


def good_statements(kind: str, complex_: bool, n: int, tables: list[str]) -> list[str]:
    out = []
    for i in range(n):
        v = i + (100 if complex_ else 0)  # simple and complex never coincide
        t = tables[i % len(tables)]
        if kind == "select" and complex_ and len(tables) > 1:
            out.append(
                f"SELECT a.name, COUNT(*) FROM {tables[0]} a "
                f"JOIN {tables[1]} b ON b.parent_id = a.id "
                f"WHERE a.id > {v} GROUP BY a.name;"
            )
        elif kind == "select":
            out.append(f"SELECT name, amount FROM {t} WHERE id = {v} ORDER BY name;")
        elif kind == "insert":
            more = f", ({v + 50}, 'm{v}')" if complex_ else ""
            out.append(f"INSERT INTO {t} (id, name) VALUES ({v}, 'n{v}'){more};")
        elif kind == "upsert":
            out.append(f"UPSERT INTO {t} (id, name) VALUES ({v}, 'u{v}');")
        elif kind == "update":
            out.append(f"UPDATE {t} SET name = 'n{v}' WHERE id = {v};")
        elif kind == "delete":
            out.append(f"DELETE FROM {t} WHERE id = {v};")
        elif kind == "truncate":
            out.append(f"TRUNCATE {t} CASCADE;" if complex_ else f"TRUNCATE TABLE {t};")
    return out


BAD = {  # statements the pipeline must drop, per reason
    "unknown column": {
        "select": "SELECT bogus_col FROM {t};",
        "insert": "INSERT INTO {t} (id, bogus_col) VALUES (1, 2);",
        "upsert": "UPSERT INTO {t} (bogus_col) VALUES (1);",
        "update": "UPDATE {t} SET bogus_col = 1;",
        "delete": "DELETE FROM {t} WHERE bogus_col = 1;",
    },
    "unknown table": {"truncate": "TRUNCATE TABLE bogus_table;"},
    "parse error": {
        "select": "SELECT * FROM {t} WHERE name = 'oops",
        "insert": "INSERT INTO {t} (id) VALUES (1,",
        "upsert": "UPSERT INTO {t} (id) VALUES (1,",
        "update": "UPDATE {t} SET name = 'oops",
        "delete": "DELETE FROM {t} WHERE name = 'oops",
        "truncate": "TRUNCATE TABLE {t}, ;",
    },
    "wrong kind": {
        k: "DELETE FROM {t};" if k == "select" else "SELECT 1;"
        for k in ("select", "insert", "upsert", "update", "delete", "truncate")
    },
}


def answer_statements(prompt: str) -> tuple[dict, Counter]:
    """Good statements plus, by the prompt's hash, some the pipeline must drop (tallied)."""
    n, complexity, kind = re.search(r"Generate (\d+) (simple|complex) (\w+) SQL", prompt).groups()
    kind = kind.lower()
    tables = list(parse_schema(prompt.split("Schema:\n", 1)[1]))
    statements = good_statements(kind, complexity == "complex", int(n), tables)
    h, bad = crc(prompt), Counter()
    picks = [
        ("unknown column" if kind != "truncate" else "unknown table", h % 3 == 0),
        ("parse error", h % 5 == 1),
        ("wrong kind", h % 4 == 3),
    ]
    for reason, chosen in picks:
        if chosen:
            statements.append(BAD[reason][kind].format(t=tables[0]))
            bad[reason] += 1
    if h % 7 == 2:  # the first one again, spaced differently
        statements.append(statements[0].replace(" ", "  "))
        bad["duplicate"] += 1
    return {"statements": statements}, bad


# -----------------------------------------------------------------------------
# the server


def no_faults(name: str, prompt: str, attempt: int) -> str | None:
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(
            sys.exc_info()[1], (ConnectionError, TimeoutError)
        ):  # a killed client hangs up
            super().handle_error(request, client_address)


class FakeLLM:
    """with FakeLLM(plan) as llm: ... llm.url ... llm.injected[("schemas", "invalid schema")]"""

    def __init__(
        self,
        plan: Plan = no_faults,
        stall: float = 8.0,
        lifetime: float = 240.0,
        model: str = "fake",
    ):
        self.plan, self.stall, self.model = plan, stall, model
        self.injected: Counter = Counter()  # (stage, reason) -> count
        self.requests = 0
        self._attempts: Counter = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._timer = threading.Timer(lifetime, self.close)  # a hung test must not leave it serving
        self._timer.daemon = True

    def __enter__(self) -> "FakeLLM":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._timer.cancel()
            self._server.shutdown()
            self._server.server_close()

    def tally(self, stage: str) -> Counter:
        return Counter({reason: n for (s, reason), n in self.injected.items() if s == stage})

    def respond(self, body: dict) -> tuple[int, dict | None]:
        """(status, JSON body) for one chat completion request; None body: stall, then hang up."""
        with self._lock:
            self.requests += 1
        name = body.get("response_format", {}).get("json_schema", {}).get("name")
        if name not in STAGE:
            return 400, {
                "error": {"message": "this fake only serves json_schema requests of datagen.llm"}
            }
        if body.get("model") != self.model:
            return 404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}}
        prompt = body["messages"][-1]["content"]
        with self._lock:
            attempt = self._attempts[(name, prompt)]
            self._attempts[(name, prompt)] += 1
        fault = self.plan(name, prompt, attempt)
        stage, bad = STAGE[name], Counter()
        if fault:
            with self._lock:
                self.injected[(stage, REASON[fault])] += 1
        if fault == "500":
            return 500, {"error": {"message": "injected failure"}}
        if fault == "timeout":
            self._stop.wait(self.stall)
            return 0, None
        if name == "Topics":
            answer = answer_topics(prompt)
        elif name == "Subtopics":
            answer = answer_subtopics(prompt)
        elif name == "Examples":
            answer = answer_examples(prompt)
        elif name == "DatabaseSchema":
            answer = answer_schema(prompt, broken=fault == "invalid schema")
        else:
            answer, bad = answer_statements(prompt)
        content, finish = json.dumps(answer), "stop"
        if fault == "malformed":
            content = content.replace('"', "", 1)
        elif fault == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif fault == "wrong shape":
            content = json.dumps({"answer": answer})
        elif not fault:
            with self._lock:
                self.injected.update({(stage, reason): n for reason, n in bad.items()})
        return 200, {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish,
                }
            ],
            "usage": {
                "prompt_tokens": len(prompt) // 4,
                "completion_tokens": len(content) // 4,
                "total_tokens": (len(prompt) + len(content)) // 4,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: dict | None) -> None:
                if body is None:
                    self.close_connection = True
                    return
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (its timeout)
                    self.close_connection = True

            def do_GET(self) -> None:
                if self.path == "/health":
                    self._send(200, {})
                elif self.path == "/v1/models":
                    self._send(
                        200, {"object": "list", "data": [{"id": fake.model, "object": "model"}]}
                    )
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(
                    self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}"
                )
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                else:
                    self._send(*fake.respond(body))

        return Handler
