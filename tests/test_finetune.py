"""train.py init_from=DIR: fine-tune a checkpoint's weights (sqlcomplete/models/default, out/x/best)
on new shards."""

import pytest
import torch
from test_train import cfg, data_dir  # noqa: F401 (fixture)

import train
from sqlcomplete.model import from_pretrained


def test_init_from_checkpoint_starts_from_its_weights(data_dir, tmp_path):  # noqa: F811
    train.train(cfg(data_dir, tmp_path / "base", max_iters=4))
    base = from_pretrained(str(tmp_path / "base" / "last"))
    out = train.train(
        cfg(
            data_dir,
            tmp_path / "tuned",
            max_iters=1,
            learning_rate=0.0,
            min_lr=0.0,
            init_from=str(tmp_path / "base" / "last"),
        )
    )
    assert out["state"]["iter"] == 1  # a fresh schedule, not the base run's
    tuned = from_pretrained(str(tmp_path / "tuned" / "last"))
    for a, b in zip(base.parameters(), tuned.parameters()):
        torch.testing.assert_close(a, b)  # lr 0: the weights are the base checkpoint's


def test_init_from_refuses_another_tokenizer(data_dir, tmp_path):  # noqa: F811
    train.train(cfg(data_dir, tmp_path / "base", max_iters=1))
    ckpt = tmp_path / "base" / "last"
    (ckpt / "tok.model").write_bytes(b"another tokenizer")
    with pytest.raises(SystemExit, match="tok.model differs"):
        train.train(cfg(data_dir, tmp_path / "tuned", max_iters=1, init_from=str(ckpt)))
    with pytest.raises(SystemExit, match="checkpoint directory"):
        train.train(
            cfg(data_dir, tmp_path / "tuned", max_iters=1, init_from=str(tmp_path / "nowhere"))
        )
