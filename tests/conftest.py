"""Shared fixtures: a tiny checkpoint (random weights, a tokenizer trained on a few lines of
SQL)."""

import os

import pytest
import torch

SCHEMA = """CREATE TABLE customers (
    customer_id UUID PRIMARY KEY,
    name STRING NOT NULL,
    email STRING
);

CREATE TABLE orders (
    order_id INT8 PRIMARY KEY,
    customer_id UUID REFERENCES customers (customer_id),
    total DECIMAL(10,2)
);"""

STATEMENTS = [
    "SELECT name, email FROM customers WHERE name LIKE 'A%';",
    "SELECT o.order_id, c.name FROM orders AS o "
    "JOIN customers AS c ON o.customer_id = c.customer_id;",
    "INSERT INTO orders (order_id, customer_id, total) VALUES (1, 'a1b2', 10.50);",
    "UPDATE customers SET email = 'x@example.com' WHERE customer_id = 'a1b2';",
    "DELETE FROM orders WHERE total < 5;",
    "TRUNCATE orders;",
    "SELECT count(*) FROM orders GROUP BY customer_id HAVING count(*) > 2;",
]


def make_tiny_ckpt(path: str, seed: int = 0, **model_kw) -> str:
    from prepare import prompt_text, train_tokenizer
    from sqlcomplete.model import ModelArgs, Transformer, save_pretrained

    os.makedirs(path, exist_ok=True)
    texts = (
        [prompt_text(SCHEMA)]
        + STATEMENTS * 20
        + ["\t\n  \u00e9\u4e2d\U0001f600 'it''s' \"Q\" 0123456789"]
    )
    train_tokenizer(texts, 400, os.path.join(path, "tok.model"))
    torch.manual_seed(seed)
    args = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=400, max_seq_len=512)
    save_pretrained(Transformer(ModelArgs(**{**args, **model_kw})), path)
    return path


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory) -> str:
    """A checkpoint directory (config.json, model.safetensors, tok.model) with a random tiny
    model."""
    return make_tiny_ckpt(str(tmp_path_factory.mktemp("tiny_ckpt")))


@pytest.fixture(scope="session")
def shipped_ckpt() -> str:
    """The shipped default model; tests that need real suggestions use it."""
    path = os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "sqlcomplete", "models", "default"
    )
    if not os.path.isfile(os.path.join(path, "model.safetensors")):
        pytest.skip("no shipped model in sqlcomplete/models/default")
    return path
