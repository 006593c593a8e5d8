"""Mistakes a user makes at the command line get one line, not a traceback (issue 28, item 19).
train.py's and prepare.py's are in test_train.py and test_prepare.py."""

import pytest

from sqlcomplete import cli, evaluate
from sqlcomplete.completion.engine import CompleterOptions


@pytest.mark.parametrize("flag", ["--threads", "--max-tokens"])
def test_sample_refuses_a_count_below_one(flag, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([flag, "-2", "--schema", "examples/schema.sql", "--prefix", "SELECT "])
    assert str(e.value.code) == f"{flag} -2: give a whole number, 1 or more"
    with pytest.raises(ValueError, match="--threads 0"):
        CompleterOptions(threads=0)
    assert CompleterOptions(threads=None).threads is None


def test_evaluate_names_a_missing_data_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        evaluate.main([str(tmp_path / "nope.jsonl"), "--baseline", "ngram"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"error: no data file {tmp_path / 'nope.jsonl'}" in err and "Traceback" not in err
