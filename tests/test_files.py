"""sqlcomplete.files: a write that fails leaves the old file whole and no temporary file behind."""

import json
import os

import pytest

from sqlcomplete.files import (
    copy_file_atomic,
    write_atomic,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "meta.json"
    write_json_atomic(str(path), {"a": [1, 2]})
    assert path.read_text() == json.dumps({"a": [1, 2]}, indent=2)  # as model.py wrote it before

    def half_then_full(f):
        f.write('{"a": ')
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_atomic(str(path), half_then_full)
    assert json.loads(path.read_text()) == {"a": [1, 2]}
    assert os.listdir(tmp_path) == ["meta.json"]
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(path), lambda f: (_ for _ in ()).throw(KeyboardInterrupt))
    assert os.listdir(tmp_path) == ["meta.json"]


def test_text_bytes_and_copies(tmp_path):
    write_text_atomic(str(tmp_path / "a.md"), "é\n")
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "é\n"
    write_bytes_atomic(str(tmp_path / "b.bin"), b"\x00\xff")
    copy_file_atomic(str(tmp_path / "b.bin"), str(tmp_path / "c.bin"))
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\xff"
    assert sorted(os.listdir(tmp_path)) == ["a.md", "b.bin", "c.bin"]
