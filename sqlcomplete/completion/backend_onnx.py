"""The engine's model on onnxruntime: the graph web/export.py writes (`make export`), the one the
page runs, so a user's install needs no torch.

The graph (web/export.py's docstring) takes input_ids (B, T) and per layer a shared batch-1 `prefix`
cache and each row's own `past` cache, and returns logits and `present` = past + the new positions.
The statement cache is fed as `past`; suggestion rows pass it as `prefix`. A token tree is scored as
its root-to-leaf paths, one padded row each over the shared cache, as the page's logProbs does: a
position sees the cache and the tokens before it in its row, which are exactly its ancestors.
"""

import os

import numpy as np

from sqlcomplete.completion.backends import (
    GRAPH_FORMAT,
    ONNX_FILE,
    BackendError,
    export_metadata,
    model_shape,
    safetensors_params,
)

REMEDY = "run `make export` (web/export.py --runtime) to write it from model.safetensors"


def session(path: str, threads: int):
    """An onnxruntime session on `threads` CPU threads; BackendError for a missing or bad file."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise BackendError(f"{path}: the onnx backend needs onnxruntime ({e})") from e
    if not os.path.isfile(path):
        raise BackendError(f"{path}: no ONNX export of this model; {REMEDY}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle between keys
    try:
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/... kinds
        raise BackendError(f"{path}: not a readable ONNX model ({str(e)[:200]}); {REMEDY}") from e


def check_export(sess, path: str, ckpt: str) -> None:
    """Refuse a graph exported for another tokenizer, shape or weights than the checkpoint's."""
    found = sess.get_modelmeta().custom_metadata_map
    want = export_metadata(ckpt)
    if found.get("sqlcomplete.format") != GRAPH_FORMAT:
        raise BackendError(
            f"{path}: not an export of web/export.py's {GRAPH_FORMAT} graph "
            f"(format {found.get('sqlcomplete.format')!r}); {REMEDY}"
        )
    what = {
        "sqlcomplete.tokenizer_sha256": f"another tokenizer than {ckpt}/tok.model",
        "sqlcomplete.shape": f"another model shape than {ckpt}/config.json gives "
        f"({found.get('sqlcomplete.shape')} there, {want['sqlcomplete.shape']} here)",
        "sqlcomplete.weights_sha256": f"other weights than {ckpt}'s model.safetensors",
    }
    for key, why in what.items():
        if found.get(key) != want[key]:
            raise BackendError(f"{path}: exported for {why}; refusing to run it; {REMEDY}")


class OnnxRows:
    """Rows over the backend's cache (the graph's shared `prefix`), their own caches as `past`."""

    def __init__(self, backend: "OnnxBackend", batch: int):
        self.backend = backend
        self.past = backend.empty(batch)

    def step(self, tokens: list[int]) -> np.ndarray:
        ids = np.asarray(tokens, dtype=np.int64)[:, None]
        logits, self.past = self.backend.run(ids, self.backend.cache, self.past)
        return logits[:, -1]


class OnnxBackend:
    name = "onnx"

    def __init__(self, ckpt: str, threads: int = 1):
        path = os.path.join(ckpt, ONNX_FILE)
        self.sess = session(path, threads)
        check_export(self.sess, path, ckpt)
        shape = model_shape(ckpt)
        self.n_layers, self.n_kv, self.head_dim = (
            shape["n_layers"],
            shape["n_kv_heads"],
            shape["head_dim"],
        )
        self.max_seq_len = shape["max_seq_len"]
        self.num_params = safetensors_params(ckpt)
        kv = [f"{i}.{t}" for i in range(self.n_layers) for t in ("key", "value")]
        self.prefix_names = [f"prefix.{n}" for n in kv]
        self.past_names = [f"past.{n}" for n in kv]
        self.cache = self.empty(1)  # batch 1: the schema prompt, then the statement

    def empty(self, batch: int) -> list[np.ndarray]:
        return [
            np.zeros((batch, self.n_kv, 0, self.head_dim), np.float32)
            for _ in range(2 * self.n_layers)
        ]

    def run(self, ids: np.ndarray, prefix: list[np.ndarray], past: list[np.ndarray]):
        """Logits (B, T, V) and the rows' present caches."""
        feed = {"input_ids": ids}
        feed.update(zip(self.prefix_names, prefix))
        feed.update(zip(self.past_names, past))
        logits, *present = self.sess.run(None, feed)
        return logits, present

    def feed(self, keep: int, ids: list[int]) -> np.ndarray:
        past = [np.ascontiguousarray(t[:, :, :keep]) for t in self.cache]
        logits, self.cache = self.run(np.asarray([ids], np.int64), self.empty(1), past)
        return logits[0, -1]

    def rows(self, batch: int, steps: int) -> OnnxRows:
        return OnnxRows(self, batch)

    def score_tree(self, tokens: list[int], parents: list[int]) -> np.ndarray:
        """A row per leaf's path (shorter ones padded): a node's logits come from a row with it."""
        children = {p for p in parents if p >= 0}
        paths, at = [], {}
        for leaf in (i for i in range(len(tokens)) if i not in children):
            path = [leaf]
            while parents[path[-1]] >= 0:
                path.append(parents[path[-1]])
            path.reverse()
            for depth, node in enumerate(path):
                at.setdefault(node, (len(paths), depth))
            paths.append([tokens[i] for i in path])
        width = max(len(p) for p in paths)
        ids = np.zeros((len(paths), width), np.int64)
        for r, p in enumerate(paths):
            ids[r, : len(p)] = p
        logits, _ = self.run(ids, self.cache, self.empty(len(paths)))
        rows, depths = zip(*(at[i] for i in range(len(tokens))))
        return logits[list(rows), list(depths)]

    def set_threads(self, n: int) -> None:
        pass  # the session's thread count is set when it is made (CompleterOptions.threads)
