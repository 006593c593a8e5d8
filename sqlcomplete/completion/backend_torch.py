"""The engine's model on PyTorch (model.py): for training, export, research, and users with torch.

Imported only when this backend is chosen (backends.load_backend), so the runtime needs no torch.
"""

import numpy as np
import torch

from sqlcomplete.model import KVCache, from_pretrained


class TorchRows:
    """Rows that share the backend's cache (KVCache(prefix=): the cache is attended, not copied)."""

    def __init__(self, backend: "TorchBackend", batch: int, steps: int):
        self.backend = backend
        self.cache = KVCache(
            backend.model.args, batch, steps, prefix=backend.cache, device=backend.device
        )

    def step(self, tokens: list[int]) -> np.ndarray:
        x = torch.tensor(tokens, device=self.backend.device)[:, None]
        with torch.inference_mode():
            return self.backend.model(x, cache=self.cache)[:, -1].float().cpu().numpy()


class TorchBackend:
    name = "torch"

    def __init__(self, ckpt: str, device: str = "cpu"):
        self.model = from_pretrained(ckpt, device=device)
        self.device = device
        self.max_seq_len = self.model.args.max_seq_len
        self.num_params = self.model.num_params()
        self.cache: KVCache | None = None  # batch 1: the schema prompt, then the statement

    def feed(self, keep: int, ids: list[int]) -> np.ndarray:
        if keep == 0 or self.cache is None:
            args = self.model.args
            self.cache = KVCache(args, 1, args.max_seq_len, device=self.device)
        else:
            self.cache.truncate(keep)
        x = torch.tensor([ids], device=self.device)
        with torch.inference_mode():
            logits = self.model(x, cache=self.cache, last_only=True)[0, -1]
        return logits.float().cpu().numpy()

    def rows(self, batch: int, steps: int) -> TorchRows:
        return TorchRows(self, batch, steps)

    def score_tree(self, tokens: list[int], parents: list[int]) -> np.ndarray:
        tree = KVCache(self.model.args, 1, len(tokens), prefix=self.cache, device=self.device)
        x = torch.tensor([tokens], device=self.device)
        with torch.inference_mode():
            return self.model(x, cache=tree, tree=parents)[0].float().cpu().numpy()

    def set_threads(self, n: int) -> None:
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
