"""The package's layers: a module imports only from its own layer or lower ones (imports inside
functions count too), and scripts import the package, never each other."""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "sqlcomplete")

# lowest first; a module's layer is that of its longest listed prefix
LAYERS = [
    ["sqlcomplete", "sqlcomplete.sql", "sqlcomplete.files"],  # SQL's text rules, atomic files
    ["sqlcomplete.corpus", "sqlcomplete.model"],  # the corpus and the network
    [
        "sqlcomplete.db",
        "sqlcomplete.fim",
        "sqlcomplete.training",
    ],  # databases, FIM, training's skeleton
    ["sqlcomplete.completion"],  # the engine, the n-gram, the backends, the service
    ["sqlcomplete.cli", "sqlcomplete.tui", "sqlcomplete.lsp", "sqlcomplete.evaluate"],  # front ends
]
SCRIPTS = [
    "model.py",
    "train.py",
    "prepare.py",
    "sample.py",
    "modal_train.py",
    "fim",
    "datagen",
    "web",
]


def layer_of(module: str) -> int:
    best, rank = "", None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > len(best):
                best, rank = p, i
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def imports(path: str) -> set[str]:
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


def package_modules() -> dict[str, str]:
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), ROOT)[:-3].replace(os.sep, ".")
                modules[rel.removesuffix(".__init__")] = os.path.join(folder, name)
    return modules


def test_lower_layers_never_import_higher_ones():
    modules = package_modules()
    wrong = []
    for module, path in modules.items():
        if module == "sqlcomplete":
            continue  # the package's door: `from sqlcomplete import Completer`, resolved lazily
        for name in imports(path):
            target = max(
                (m for m in modules if name == m or name.startswith(m + ".")), key=len, default=None
            )
            if target and target != "sqlcomplete" and layer_of(target) > layer_of(module):
                low, high = layer_of(module), layer_of(target)
                wrong.append(f"{module} (layer {low}) imports {target} (layer {high})")
    assert not wrong, "\n".join(wrong)


def test_every_package_module_has_a_layer():
    for module in package_modules():
        layer_of(module)


def test_scripts_import_the_package_not_each_other():
    """train.py, fim/sft.py, ... reach shared code through sqlcomplete, not `import train`."""
    top = {os.path.splitext(n)[0] for n in os.listdir(ROOT) if n.endswith(".py")}
    wrong = []
    for entry in SCRIPTS:
        path = os.path.join(ROOT, entry)
        files = (
            [path]
            if entry.endswith(".py")
            else [
                os.path.join(d, f)
                for d, _, fs in os.walk(path)
                if "node_modules" not in d
                for f in fs
                if f.endswith(".py")
            ]
        )
        for f in files:
            for name in imports(f):
                head = name.split(".")[0]
                if head in top and head != os.path.splitext(os.path.basename(f))[0]:
                    wrong.append(f"{os.path.relpath(f, ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_no_path_hacks_outside_tests_and_bench():
    hacks = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if d not in {".venv", ".git", "node_modules", "tests", "bench", "out", "data"}
        ]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    if "sys.path" in f.read():
                        hacks.append(os.path.relpath(path, ROOT))
    assert not hacks, hacks
