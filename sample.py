"""Logits to suggestions: schema-aware SQL autocompletion from the command line.

    python sample.py --schema schema.sql --prefix "SELECT * FROM "  # ranked suggestions
    python sample.py --batch IN.jsonl --out OUT.jsonl [--num 5]     # the batch contract (EVAL.md)
    python sample.py --interactive [--schema schema.sql]            # the curses editor

The same program as the installed `sqlcomplete` command. The completer itself is
sqlcomplete/completion/engine.py (`from sqlcomplete import Completer`): the schema's KV cache,
token healing, the n-gram's proposals reranked by the model, the filters and the menu.
"""

from sqlcomplete.cli import main

if __name__ == "__main__":
    main()
