"""Schema-aware SQL autocompletion with tiny LLaMA models.

    from sqlcomplete import Completer
    c = Completer()                          # the shipped model (sqlcomplete/models/default)
    c.set_schema(open("schema.sql").read())
    c.complete("SELECT name, ema")           # only the missing text of each suggestion

Layers, lowest first (tests/test_layers.py keeps them): `sql/` (lexicon, schema, scanner, prompt
format), `corpus` and `model` (the data and the network), `db/` (live databases), `fim/` (Qwen3
FIM prompts and SFT), `completion/` (the engine, the n-gram, the backends), then the front ends
`cli`, `tui`, `lsp` and `evaluate`.
"""

import os

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
__version__ = "0.1.0"


def __getattr__(name: str):
    # lazy, so that `import sqlcomplete.sql.schema` loads no model code
    if name in ("Completer", "CompleterOptions"):
        from sqlcomplete.completion import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'sqlcomplete' has no attribute {name!r}")
