"""The query side of the embedding model: which model answers queries (the checked ONNX export when
a cache dir holds one, else torch), and `QueryEncoder`, which caches and micro-batches them.

embedding.py re-exports these names. Everything here reaches torch as `embedding._encode`, looked
up at each call, so a test that swaps that one function sees every query and passage go through it.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from knowledge import embedding, onnx_encoder

T = TypeVar("T")
log = logging.getLogger(__name__)


# Which model answers queries ---------------------------------------------------------------
_onnx: onnx_encoder.OnnxEncoder | None = None  # once `use_onnx_queries` succeeded


def query_model_dir(data_dir: Path | str) -> Path:
    """Where a data directory keeps its ONNX export of the query model."""
    return Path(data_dir) / "models"


def export_query_model(cache_dir: Path) -> Path | None:
    """Make sure `cache_dir` holds a checked ONNX export of the packaged model (exporting it now,
    with torch, when missing) and return its path; None when it cannot be had, with the reason
    logged. An export once rejected is not tried again (delete its .rejected note to retry)."""
    try:
        model_dir = embedding.model_path()
        if not embedding._is_plain_mean_pooling(model_dir):  # the graph hard-codes mean pooling
            return None
        target = onnx_encoder.onnx_file(model_dir, cache_dir)
        if target.exists():
            return target
        if onnx_encoder.rejected_note(target).exists():
            return None
        from knowledge import onnx_export

        # One export at a time; the lock also holds torch's thread count steady for the check.
        with embedding._lock:
            if target.exists():
                return target
            report = onnx_export.export(
                embedding.get_model(),
                model_dir,
                target,
                embedding.MAX_TOKENS,
                lambda t: embedding._encode(t, embedding.QUERY_THREADS),
            )
        log.info(
            "exported the query model to %s in %.1fs (min cosine %.7f against torch)",
            report.path,
            report.seconds,
            report.min_cosine,
        )
        return report.path
    except Exception:  # noqa: BLE001 - an optimisation only: queries keep torch
        log.warning("no ONNX query model in %s; queries use torch", cache_dir, exc_info=True)
        return None


def _existing_export(cache_dir: Path) -> Path | None:
    model_dir = embedding.model_path()
    path = onnx_encoder.onnx_file(model_dir, cache_dir)
    return path if path.exists() and embedding._is_plain_mean_pooling(model_dir) else None


def use_onnx_queries(cache_dir: Path, export: bool = True) -> bool:
    """Run queries on the ONNX export in `cache_dir` (with `export`, made now when missing).
    Returns False, leaving queries on torch, when there is none or onnxruntime cannot load it."""
    global _onnx
    try:
        path = export_query_model(cache_dir) if export else _existing_export(cache_dir)
        if path is None:
            return False
        if _onnx is None or _onnx.path != path:
            _onnx = onnx_encoder.OnnxEncoder(
                path, embedding.model_path(), embedding.MAX_TOKENS, embedding.QUERY_THREADS
            )
        return True
    except Exception:  # noqa: BLE001 - a corrupt file or a broken onnxruntime: keep torch
        log.warning("cannot load the ONNX query model; queries use torch", exc_info=True)
        return False


def onnx_model() -> onnx_encoder.OnnxEncoder | None:
    """The ONNX encoder this process switched to, if any."""
    return _onnx


def use_torch_queries() -> None:
    """Back to torch for queries and passages (tests; SHOPDESK_QUERY_MODEL=torch never leaves it)."""
    global _onnx
    _onnx = None


def encode_texts(texts: Sequence[str], threads: int = 1) -> np.ndarray:
    """Vectors from the ONNX export when this process loaded one, else (or when onnxruntime
    fails) from torch on `threads` threads. The ONNX session always runs on one thread."""
    onnx = _onnx
    if onnx is not None:
        try:
            return onnx.encode(texts)
        except Exception:  # noqa: BLE001 - onnxruntime failed: torch still answers
            log.warning("the ONNX model failed; this batch uses torch", exc_info=True)
    return embedding._encode(texts, threads)


def encode_queries(texts: Sequence[str]) -> np.ndarray:
    return encode_texts(texts, embedding.QUERY_THREADS)


class QueryEncoder:
    """Query embeddings with an LRU cache and micro-batching.

    Concurrent callers (threads, or asyncio tasks via `submit`) queue their queries; one worker
    thread encodes everything waiting in a single forward pass, so N simultaneous questions cost
    about one encode instead of N. `submit(query, then=fn)` also runs `fn(vector)` on that thread
    and resolves to its result: a search right behind its encode, without a second thread hop.
    """

    def __init__(self, cache_size: int = 1024, max_batch: int = 32) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._max_batch = max_batch
        self._pending: list[tuple[str, Future[Any], Callable[[np.ndarray], Any] | None]] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    def submit(self, query: str, then: Callable[[np.ndarray], T] | None = None) -> Future[Any]:
        future: Future[Any] = Future()
        with self._cond:
            cached = self._cache.get(query)
            if cached is not None and then is None:
                self._cache.move_to_end(query)
                future.set_result(cached)
                return future
            self._pending.append((query, future, then))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="shopdesk-query-encoder", daemon=True
                )
                self._worker.start()
            self._cond.notify()
        return future

    def encode(self, query: str) -> np.ndarray:
        """Synchronous callers encode in their own thread: handing the query to the worker and
        back costs two thread switches, which on a busy machine added ~10 ms a query."""
        with self._cond:
            cached = self._cache.get(query)
            if cached is not None:
                self._cache.move_to_end(query)
                return cached
        vector = encode_queries([query])[0]
        self._remember({query: vector})
        return vector

    def _remember(self, vectors: dict[str, np.ndarray]) -> None:
        with self._cond:
            for query, vector in vectors.items():
                self._cache[query] = vector
                self._cache.move_to_end(query)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(timeout=30):
                        if not self._pending:  # idle: let the thread go, submit restarts it
                            self._worker = None
                            return
                batch, self._pending = (
                    self._pending[: self._max_batch],
                    self._pending[self._max_batch :],
                )
            with self._cond:  # cached queries (queued only for their `then`) skip the encode
                vectors = {q: self._cache[q] for q, _, _ in batch if q in self._cache}
            queries = list(dict.fromkeys(q for q, _, _ in batch if q not in vectors))
            errors: dict[str, BaseException] = {}
            try:
                if queries:
                    found, failed = embedding._encode_each(queries, encode_queries)
                    vectors.update((queries[i], v) for i, v in found.items())
                    errors.update((queries[i], e) for i, e in failed.items())
            except BaseException as exc:  # noqa: BLE001 - handed to every caller it concerns
                errors.update(dict.fromkeys(queries, exc))
            self._remember(vectors)
            for query, future, then in batch:
                if query in errors:
                    future.set_exception(errors[query])
                    continue
                if then is None:
                    future.set_result(vectors[query])
                    continue
                try:
                    future.set_result(then(vectors[query]))
                except BaseException as exc:  # noqa: BLE001 - the caller's own error
                    future.set_exception(exc)


_query_encoder = QueryEncoder()


def query_encoder() -> QueryEncoder:
    return _query_encoder
