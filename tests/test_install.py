"""The project as an installed package (issues 24 and 25). A wheel built from a copy of the source
is installed into fresh venvs, then used from a folder holding its own `model.py`, `ngram.py`,
`train.py`, `eval.py`, `database.py` and `sample.py` (each raises when imported): a completion
through the API, the `sqlcomplete` command and the `sqlcomplete-lsp` language server.

Two venvs, and no download (this environment's packages are reused, not fetched):
- "runtime": what `pip install sqlcomplete` gives a user. It sees only the base install's packages
  and pip, linked file by file from this environment into one folder that a .pth names, so
  `import torch` fails in it.
- "torch": sees all of this environment's packages, torch included, through a .pth."""

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import metadata

import pytest
from conftest import SCHEMA
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = {
    ".venv",
    ".git",
    "data",
    "out",
    "runs",
    "build",
    "dist",
    "node_modules",
    "__pycache__",
    "results",
    ".pytest_cache",
}
# the user's own modules, named like the project's old top-level ones: the installed package must
# not import them (a bare `import model` would find these first when run from this folder)
DECOYS = ("model", "ngram", "train", "eval", "database", "sample")
# the shipped models the runtime reads: the model in both forms, its tokenizer, the n-gram
SHIPPED = (
    "sqlcomplete/models/default/config.json",
    "sqlcomplete/models/default/model.safetensors",
    "sqlcomplete/models/default/model.onnx",
    "sqlcomplete/models/default/tok.model",
    "sqlcomplete/models/ngram.safetensors",
)
# what a runtime install must never pull in (issue 25): the GPU training stack, the data pipeline's
NOT_IN_RUNTIME = ("torch", "triton", "pyarrow", "sqlglot")


def pyproject() -> dict:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def heavy(name: str) -> bool:
    name = canonicalize_name(name)
    return name in NOT_IN_RUNTIME or name.startswith(("nvidia-", "cuda-"))


def test_one_import_name_is_installed():
    """Only the package `sqlcomplete` (and its subpackages) is installed: no top-level module."""
    setup = pyproject()["tool"]["setuptools"]
    assert "py-modules" not in setup
    assert all(p == "sqlcomplete" or p.startswith("sqlcomplete.") for p in setup["packages"])
    for package in setup["packages"]:
        assert os.path.isfile(os.path.join(ROOT, *package.split("."), "__init__.py"))


def test_no_import_cycle_among_the_modules():
    """Imports anywhere in a file (also inside functions) among the top-level modules: no cycle."""
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


def runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in pyproject()["project"]["dependencies"]]


def closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The distributions of this environment that `requirements` need, their requirements too."""
    found, todo = {}, [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in found:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{req.name} (needed by the runtime) is not installed here")
        found[name] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((sub, frozenset(sub.extras)))
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    """The project's wheel, built offline from a copy of its source (as `pip install .` does)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=lambda d, names: [n for n in names if n in SKIP or n.endswith(".egg-info")],
    )
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["--no-index", "--disable-pip-version-check", "-w", str(tmp / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (built,) = glob.glob(str(tmp / "dist" / "sqlcomplete-*.whl"))
    return built


@pytest.fixture(scope="module")
def runtime_site(tmp_path_factory) -> str:
    """A folder holding links to the files of the runtime's distributions (the base install's
    requirements, recursively) and pip's: what a runtime venv sees instead of this environment."""
    site = tmp_path_factory.mktemp("runtime-site")
    dists = closure(runtime_requirements()) | {"pip": metadata.distribution("pip")}
    for dist in dists.values():
        for file in dist.files or []:
            source = dist.locate_file(file)
            if str(file).startswith("..") or not os.path.isfile(source):
                continue  # console scripts (bin/), and files RECORD lists but the install lacks
            link = site / file
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(source)
    return str(site)


@dataclass
class Venv:
    kind: str  # "runtime" or "torch"
    bin: str  # the venv's bin/
    cwd: str  # the user's project folder, with the decoys and schema.sql

    def run(self, *cmd: str, **kw) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(
            cmd, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=300, **kw
        )

    def tool(self, name: str) -> str:
        return os.path.join(self.bin, name)


def make_venv(path, paths: list[str]) -> str:
    """A venv without pip whose site-packages also reads `paths` (a .pth); returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = str(path / "bin" / "python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with open(os.path.join(purelib, "_packages.pth"), "w") as f:
        f.write("\n".join(paths) + "\n")
    return python


def install(tmp, kind: str, wheel: str, paths: list[str]) -> Venv:
    python = make_venv(tmp / "venv", paths)
    r = subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed"]
        + ["--disable-pip-version-check", wheel],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    cwd = tmp / "userproj"
    cwd.mkdir()
    (cwd / "schema.sql").write_text(SCHEMA)
    for name in DECOYS:
        (cwd / f"{name}.py").write_text(
            f"raise RuntimeError('the user project\\'s own {name}.py was imported')\n"
        )
    return Venv(kind, os.path.dirname(python), str(cwd))


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory, wheel, runtime_site) -> Venv:
    return install(tmp_path_factory.mktemp("runtime"), "runtime", wheel, [runtime_site])


@pytest.fixture(scope="module")
def torch_venv(tmp_path_factory, wheel) -> Venv:
    here = list(dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]))
    return install(tmp_path_factory.mktemp("torch"), "torch", wheel, here)


@pytest.fixture(scope="module", params=["runtime", "torch"])
def installed(request) -> Venv:
    return request.getfixturevalue(f"{request.param}_venv")


def test_wheel_holds_one_import_name_the_model_file_and_the_shipped_models(wheel):
    with zipfile.ZipFile(wheel) as z:
        (record,) = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")]
        listed = [line.split(",")[0] for line in z.read(record).decode().splitlines() if line]
        tops = {name.split("/")[0] for name in listed}
        assert tops == {"sqlcomplete", record.split("/")[0]}, sorted(tops)
        # sqlcomplete/model.py is a symlink to ../model.py in the repo: the wheel carries the file
        with open(os.path.join(ROOT, "model.py"), "rb") as f:
            assert z.read("sqlcomplete/model.py") == f.read()
        for name in SHIPPED:
            assert name in listed, f"{name} is not in the wheel"
            assert z.getinfo(name).file_size == os.path.getsize(os.path.join(ROOT, name)), name


def test_runtime_requirements_hold_no_torch(wheel):
    """The wheel's own Requires-Dist (no extra) and what they need in turn: no torch, no nvidia-*,
    no pyarrow or sqlglot; torch is in the [train] extra."""
    with zipfile.ZipFile(wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        lines = z.read(meta).decode().splitlines()
    requires = [
        Requirement(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")
    ]
    base = [r for r in requires if r.marker is None or r.marker.evaluate({"extra": ""})]
    assert base and not [r.name for r in base if heavy(r.name)]
    assert not [name for name in closure(base) if heavy(name)]
    train = [r.name for r in requires if r.marker and r.marker.evaluate({"extra": "train"})]
    assert "torch" in train


def test_runtime_resolves_offline_without_torch(tmp_path, wheel, runtime_site):
    """`pip install --dry-run --report` of the wheel, offline, where only the runtime's packages are
    installed: it resolves (so nothing else is required) and installs nothing but sqlcomplete."""
    python = make_venv(tmp_path / "venv", [runtime_site])
    r = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", "--no-index"]
        + ["--disable-pip-version-check", "--find-links", os.path.dirname(wheel), "sqlcomplete"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    names = [item["metadata"]["name"] for item in json.loads(r.stdout)["install"]]
    assert names == ["sqlcomplete"]
    r = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr  # every runtime package's requirements are there


def test_import_torch_fails_in_the_runtime(runtime_venv):
    r = runtime_venv.run(runtime_venv.tool("python"), "-c", "import torch")
    assert r.returncode != 0 and "No module named 'torch'" in r.stderr, r.stderr


def test_api_from_another_directory(installed):
    code = (
        "import sqlcomplete; from sqlcomplete import Completer; c = Completer(); "
        "c.set_schema(open('schema.sql').read()); "
        "print(sqlcomplete.__file__); print(c.ngram is not None); "
        "print(c.complete('SELECT name, ema')[0])"
    )
    r = installed.run(installed.tool("python"), "-c", code)
    assert r.returncode == 0, r.stderr
    where, has_ngram, best = r.stdout.splitlines()
    assert where.startswith(os.path.dirname(installed.bin))  # the installed copy, not the source
    assert has_ngram == "True"  # the shipped n-gram was found too
    assert best.startswith("il")


def suggestions_of(r: subprocess.CompletedProcess) -> list[str]:
    assert r.returncode == 0, r.stderr
    return [json.loads(line.split("\t", 1)[1]) for line in r.stdout.splitlines()]


def test_cli_from_another_directory(installed):
    args = ("--schema", "schema.sql", "--prefix", "SELECT * FROM ")
    backends = [()] if installed.kind == "runtime" else [(), ("--backend", "torch")]
    for backend in backends:
        suggestions = suggestions_of(installed.run(installed.tool("sqlcomplete"), *args, *backend))
        assert suggestions and any(
            s.split()[0] in ("customers", "orders") for s in suggestions if s.split()
        ), (backend, suggestions)


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
    r = installed.run(installed.tool("sqlcomplete-lsp"), "--help")
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.Popen(
        [installed.tool("sqlcomplete-lsp"), "--schema", "schema.sql"],
        cwd=installed.cwd,
        env=env,
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
        uri = "file:///userproj/q.sql"
        text = "SELECT name, email FROM "
        notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "sql", "version": 1, "text": text}},
        )
        done = request(
            2,
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": len(text)}},
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
