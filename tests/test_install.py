"""The project as an installed package: `pip install .` into a fresh venv, then, from another
directory, a completion through the API, the `sqlcomplete` command and the `sqlcomplete-lsp`
language server. No download: the new venv sees this environment's packages (torch, pygls, ...)
through a .pth file and installs only the project itself (--no-deps)."""

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib

import pytest
from conftest import SCHEMA

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = {
    ".venv",
    ".git",
    "data",
    "out",
    "runs",
    "build",
    "node_modules",
    "__pycache__",
    "results",
    ".pytest_cache",
}


def pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_one_import_name_is_installed():
    """Only the package `sqlcomplete` (and its subpackages) is installed: no top-level module."""
    setup = pyproject()["tool"]["setuptools"]
    assert "py-modules" not in setup
    assert all(p == "sqlcomplete" or p.startswith("sqlcomplete.") for p in setup["packages"])
    for package in setup["packages"]:
        assert os.path.isfile(os.path.join(ROOT, *package.split("."), "__init__.py"))


def test_no_import_cycle_among_the_modules():
    """Imports anywhere in a file (also inside functions) among the top-level modules form no cycle."""
    modules = {
        os.path.splitext(os.path.basename(p))[0]: p for p in glob.glob(os.path.join(ROOT, "*.py"))
    }
    edges = {}
    for name, path in modules.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
        edges[name] = found & set(modules) - {name}

    def cycle_from(start, node, path):
        for nxt in edges[node]:
            if nxt == start:
                return path + [nxt]
            if nxt not in path:
                found = cycle_from(start, nxt, path + [nxt])
                if found:
                    return found
        return None

    cycles = [c for c in (cycle_from(m, m, [m]) for m in sorted(modules)) if c]
    assert not cycles, " -> ".join(cycles[0])


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    """A fresh venv holding the project installed from a copy of its source; returns its bin/ folder."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")],
    )
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # this environment's packages (torch, sentencepiece, pygls, pip, setuptools) after the venv's own
    paths = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    with open(os.path.join(site, "_this_env.pth"), "w") as f:
        f.write("\n".join(paths) + "\n")
    r = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--ignore-installed",
            "--disable-pip-version-check",
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "schema.sql").write_text(SCHEMA)
    return str(venv / "bin")


def run_elsewhere(installed: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
    cwd = os.path.join(os.path.dirname(installed), "..", "elsewhere")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw)


def test_api_from_another_directory(installed):
    code = (
        "import sqlcomplete; from sqlcomplete import Completer; c = Completer(); "
        "c.set_schema(open('schema.sql').read()); "
        "print(sqlcomplete.__file__); print(c.ngram is not None); print(c.complete('SELECT name, ema')[0])"
    )
    r = run_elsewhere(installed, os.path.join(installed, "python"), "-c", code)
    assert r.returncode == 0, r.stderr
    where, has_ngram, best = r.stdout.splitlines()
    assert where.startswith(os.path.dirname(installed))  # the installed copy, not the source
    assert has_ngram == "True"  # the shipped n-gram was found too
    assert best.startswith("il")


def test_cli_from_another_directory(installed):
    r = run_elsewhere(
        installed,
        os.path.join(installed, "sqlcomplete"),
        "--schema",
        "schema.sql",
        "--prefix",
        "SELECT name, email FROM ",
    )
    assert r.returncode == 0, r.stderr
    suggestions = [json.loads(line.split("\t", 1)[1]) for line in r.stdout.splitlines()]
    assert suggestions and any(
        s.split()[0] in ("customers", "orders") for s in suggestions if s.split()
    )


def lsp_message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_message(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        assert line, "the server closed its output"
        if not line.strip():
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return json.loads(stream.read(length))


def test_lsp_initialize_and_complete_from_another_directory(installed):
    pytest.importorskip("pygls")
    cwd = os.path.join(os.path.dirname(installed), "..", "elsewhere")
    proc = subprocess.Popen(
        [os.path.join(installed, "sqlcomplete-lsp"), "--schema", "schema.sql"],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        def request(id_, method, params):
            proc.stdin.write(
                lsp_message({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
            )
            proc.stdin.flush()
            while True:
                msg = read_message(proc.stdout)
                if msg.get("id") == id_:
                    return msg

        def notify(method, params):
            proc.stdin.write(lsp_message({"jsonrpc": "2.0", "method": method, "params": params}))
            proc.stdin.flush()

        init = request(1, "initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        assert "completionProvider" in init["result"]["capabilities"]
        notify("initialized", {})
        uri = "file:///elsewhere/q.sql"
        notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "sql",
                    "version": 1,
                    "text": "SELECT name, email FROM ",
                }
            },
        )
        done = request(
            2,
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 24}},
        )
        items = done["result"]["items"] if isinstance(done["result"], dict) else done["result"]
        assert items, done
        request(3, "shutdown", None)
        notify("exit", None)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
