"""The query encoder without torch: the packaged MiniLM as a checked ONNX export, run by onnxruntime
(which chromadb already installs) with the model folder's own tokenizer.json (the `tokenizers`
library). Measured here: import + load ~0.3 s and ~6 ms a query on one thread, against 3–6 s and
~13 ms for torch + transformers + the frozen TorchScript copy.

The export itself needs torch and lives in `knowledge.onnx_export`; this module never imports torch.
An export is kept as `<cache>/minilm-<key>.onnx`, where the key hashes the model folder's files and
the export recipe, so a new model or a new recipe gets a new file and never a stale one. A file only
appears there after it matched the torch vectors (see `onnx_export.MIN_COSINE`), so its presence
alone makes it trusted; a rejected export leaves a `.rejected` note so later starts do not retry it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actions.text import UNSAFE_BUT_CR

# Part of the file key: bump it whenever the exported graph changes (inputs, pooling, opset).
RECIPE = "bert-last-hidden-state|mean-pool|l2|opset-17|v1"
_HASH_MEMO = "minilm-hash.json"


# Text normalisation --------------------------------------------------------------------------------
# The product's one definition of unsafe characters (actions.text), CR kept as it comes.
_UNSAFE = UNSAFE_BUT_CR


def _replace(match: re.Match[str]) -> str:
    return "\ufffd" if match.group() >= "\ud800" else ""


def clean_text(text: str) -> str:
    """Text the tokenizer can always take. A lone UTF-16 surrogate (from a mangled JSON escape like
    "\\ud800") cannot be encoded to UTF-8, so the tokenizer raised and took every query of its batch
    down with it: it becomes U+FFFD. Other control characters (NUL, …) are dropped; BERT's own
    normaliser drops them too, so honest text keeps exactly its vector."""
    return _UNSAFE.sub(_replace, text)


# Where an export lives -----------------------------------------------------------------------------
def _stat_signature(model_dir: Path) -> list[list[Any]]:
    return [
        [str(p.relative_to(model_dir)), p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(model_dir.rglob("*"))
        if p.is_file()
    ]


def _content_hash(model_dir: Path) -> str:
    digest = hashlib.sha256(RECIPE.encode())
    for path in sorted(model_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(model_dir)).encode() + b"\0")
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:16]


def model_key(model_dir: Path, cache_dir: Path) -> str:
    """The hash of the model folder's contents and the recipe. Hashing 90 MB costs ~0.16 s, a fair
    share of a fast start, so it is memoised in the cache dir against the files' sizes and mtimes:
    a reinstalled package (new mtimes) is hashed again, and re-finds its file if nothing changed."""
    signature = _stat_signature(model_dir)
    memo = cache_dir / _HASH_MEMO
    try:
        saved = json.loads(memo.read_text())
        if saved.get("signature") == signature and saved.get("recipe") == RECIPE:
            return str(saved["key"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    key = _content_hash(model_dir)
    try:
        write_atomically(
            memo, json.dumps({"recipe": RECIPE, "signature": signature, "key": key}).encode()
        )
    except OSError:  # a read-only cache still works, it just hashes every time
        pass
    return key


def onnx_file(model_dir: Path, cache_dir: Path) -> Path:
    return cache_dir / f"minilm-{model_key(model_dir, cache_dir)}.onnx"


def rejected_note(target: Path) -> Path:
    return target.with_suffix(".rejected")


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file in the same folder, then rename: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide it from a server's own user
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# Running one --------------------------------------------------------------------------------------
class OnnxEncoder:
    """Sentence vectors from an exported graph: tokenizer.json → onnxruntime → the graph's own mean
    pooling and L2 normalisation. Thread-safe (onnxruntime sessions allow concurrent runs), and
    each run uses `threads` intra-op threads: one for queries, as with torch (see embedding.py)."""

    def __init__(self, path: Path, model_dir: Path, max_tokens: int, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about unused initialisers are noise here
        self.path = path
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json pads and truncates to 128 (its training length); transformers' call in
        # embedding.py truncates at the model's 256 and pads to the longest text: do the same.
        padding = tokenizer.padding or {}
        tokenizer.enable_padding(
            pad_id=padding.get("pad_id", 0),
            pad_type_id=padding.get("pad_type_id", 0),
            pad_token=padding.get("pad_token", "[PAD]"),
        )
        tokenizer.enable_truncation(max_tokens)
        self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch([clean_text(t) for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)
