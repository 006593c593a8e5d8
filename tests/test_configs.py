"""The named configs have llama2.c's shapes (issue 18): its hidden_dim rule and its parameter
counts."""

import pytest

from sqlcomplete.model import ModelArgs, Transformer
from train import load_config

# name: (multiple_of in llama2.c's run, parameters at vocab 512, parameters at llama2.c's 32,000)
LLAMA2C = {
    "260K": (4, 260_032, None),
    "15M": (32, 6_123_168, 15_191_712),
    "42M": (32, 25_567_744, 41_689_600),
}


def llama2c_hidden_dim(dim: int, multiple_of: int) -> int:
    # llama2.c model.py FeedForward: 2/3 of 4 * dim, rounded up to multiple_of
    hidden = int(2 * (4 * dim) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


@pytest.mark.parametrize("name", sorted(LLAMA2C))
def test_config_has_llama2c_shape(name):
    multiple_of, n512, n32k = LLAMA2C[name]
    model = load_config(f"configs/{name}.py")["model"]
    assert model["hidden_dim"] == llama2c_hidden_dim(model["dim"], multiple_of)
    assert Transformer(ModelArgs(**model, vocab_size=512)).num_params() == n512
    if n32k:  # the name counts llama2.c's own vocabulary
        assert Transformer(ModelArgs(**model, vocab_size=32000)).num_params() == n32k


def test_help_reads_a_key_comment_on_its_line_or_above_it():
    """--help shows every key's comment, also one moved above its key to keep lines short."""
    import train
    from sqlcomplete.training import config_help, field_comments

    source = (
        "class C:\n    a: int = 1  # on the line\n    # above,\n    # in two lines\n"
        "    b: int = 2\n    c: int = 3\n"
    )
    assert field_comments(source) == {"a": "on the line", "b": "above, in two lines", "c": ""}
    shown = config_help(train.TrainConfig)
    assert "--max_minutes=0.0" in shown and "a wall-clock budget" in shown
