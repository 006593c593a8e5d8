"""A real editor: Neovim (Debian's 0.7) headless starts the language server for a .sql buffer
through tests/nvim/init.lua, asks for completion at `SELECT * FROM ` and applies the best
suggestion."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sqlcomplete.sql.schema import parse_schema

ROOT = Path(__file__).resolve().parent.parent
NVIM = ROOT / "tests" / "nvim"


@pytest.mark.skipif(
    shutil.which("nvim") is None, reason="needs neovim (apt-get install neovim; .ci/run does)"
)
def test_neovim_offers_a_schema_table(shipped_ckpt, tmp_path):
    ws = tmp_path / "project"
    ws.mkdir()
    schema = (ROOT / "examples" / "schema.sql").read_text()
    (ws / "schema.sql").write_text(schema)  # found through the workspace glob
    (ws / "query.sql").write_text("SELECT * FROM \n")
    out = tmp_path / "result.json"
    env = {
        **os.environ,
        "SQLCOMPLETE_PYTHON": sys.executable,
        "SQLCOMPLETE_ARGS": json.dumps(["--ckpt", shipped_ckpt]),
        "SQLCOMPLETE_OUT": str(out),
    }
    for xdg in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[xdg] = str(tmp_path / xdg.lower())  # Neovim's log and state stay in the test's folder
    proc = subprocess.run(
        [
            "nvim",
            "--headless",
            "-n",
            "-u",
            str(NVIM / "init.lua"),
            "-c",
            f"luafile {NVIM / 'complete.lua'}",
            "query.sql",
        ],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.exists(), (
        f"nvim wrote no result (rc {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    )
    result = json.loads(out.read_text())
    assert "error" not in result, result
    tables = {t.lower() for t in parse_schema(schema)}
    first_words = [
        re.match(r"\s*([\w$]*)", item["newText"]).group(1).lower() for item in result["items"]
    ]
    assert result["line"] == "SELECT * FROM " and 1 <= len(result["items"]) <= 5
    assert tables & set(first_words), f"no table of {sorted(tables)} offered: {result['items']}"
    assert result["applied"].startswith("SELECT * FROM ") and result["applied"] != "SELECT * FROM "
