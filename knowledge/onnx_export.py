"""Exporting the packaged MiniLM to ONNX and checking the export against torch before anyone uses it.

Run by a process that has torch loaded anyway (`shopdesk index`, or a server start that finds no
export). torch 2.13's default exporter is the dynamo one, which needs `onnxscript`; the legacy
TorchScript exporter (`dynamo=False`) needs only the `onnx` package and traces this model cleanly.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.onnx_encoder import OnnxEncoder, rejected_note, write_atomically

# The calibrated retrieval threshold was set on torch vectors: an export that moves any vector
# further than this from torch's could shift confidences across it.
MIN_COSINE = 0.9999
OPSET = 17

# A fixed sample covering what shoppers and passages look like: empty and one-character texts,
# questions, markdown, numbers, several scripts and emoji, and texts past 256 tokens (truncation).
CHECK_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "?",
    "refund",
    "Can I return an engraved mug?",
    "How long does standard shipping take to Ireland, and is it free over €50?",
    "My parcel says delivered but it is not here. Order #10234, email sam@example.com",
    "## Returns > Custom items\n\nEngraved and monogrammed pieces are final sale.",
    "Wie lange dauert der Versand nach Österreich?",
    "退货政策是什么？可以换货吗？",
    "Ελληνικά: πόσο κοστίζει η αποστολή;",
    "هل يمكنني إرجاع الطلب؟",
    "gift 🎁 card 💳 — works?",
    "ÀÉÎÕÜ çñß ÆØÅ",
    "0123456789 %$&*() [] {} <> | \\ / ~",
    "tab\tseparated\nand new\r\nlines",
    "RETURN WINDOW IS THIRTY DAYS FROM DELIVERY",
    "return " * 300,
    " ".join(f"word{n}" for n in range(400)),
    "Our kiln-fired stoneware is dishwasher safe. " * 40,
)


class ExportRejected(RuntimeError):
    """The export's vectors drifted from torch's: it is not used."""


@dataclass
class ExportReport:
    path: Path
    min_cosine: float
    seconds: float


def _pooled_module(transformer: Any) -> Any:
    import torch

    class Pooled(torch.nn.Module):
        """BERT → mean over the attention mask → L2 norm, as sentence-transformers' modules.json
        says, so onnxruntime hands back finished sentence vectors."""

        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Pooled().eval()


def _export_graph(model: Any, path: Path) -> None:
    import torch

    # One row must be padded: with an all-ones mask transformers skips building the attention
    # mask, and the trace would keep that shortcut for every later input.
    sample = model.tokenizer(
        ["a warm-up question", "a second, somewhat longer warm-up question for the encoder"],
        padding=True,
        return_tensors="pt",
    )
    # The tracer notes transformers' shape-dependent branches (each fixed for a padded batch,
    # which the check below covers) and torch marks this exporter legacy. Not `catch_warnings`:
    # it swaps the process-wide filter list, unsafe off the main thread.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX")
    warnings.filterwarnings("ignore", message="Exporting aten::index operator")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="torch.onnx")
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    with torch.inference_mode():
        torch.onnx.export(
            _pooled_module(model.transformer),
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )


def agreement(
    encode: Callable[[Sequence[str]], np.ndarray],
    reference: Callable[[Sequence[str]], np.ndarray],
    texts: Sequence[str] = CHECK_TEXTS,
) -> float:
    """The lowest cosine between `encode`'s vectors and the reference's, over `texts` encoded as one
    padded batch and one by one (the two shapes the query encoder runs)."""
    expected = reference(texts)
    batched = encode(texts)
    single = np.concatenate([encode([t]) for t in texts])
    return float(min((batched * expected).sum(1).min(), (single * expected).sum(1).min()))


def export(
    model: Any,
    model_dir: Path,
    target: Path,
    max_tokens: int,
    reference: Callable[[Sequence[str]], np.ndarray],
) -> ExportReport:
    """Export `model` (embedding._Model) to `target`, check it against `reference` (torch's
    vectors) and only then move it into place. Raises ExportRejected, leaving a note beside
    `target`, when it disagrees."""
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as scratch:
        candidate = Path(scratch) / target.name
        _export_graph(model, candidate)
        encoder = OnnxEncoder(candidate, model_dir, max_tokens)
        cosine = agreement(encoder.encode, reference)
        del encoder  # release the file before it moves
        if not cosine >= MIN_COSINE:  # also refuses NaN
            note = f"min cosine {cosine!r} against torch, below {MIN_COSINE}\n"
            write_atomically(rejected_note(target), note.encode())
            raise ExportRejected(note.strip())
        candidate.replace(target)  # same folder: an atomic rename
    return ExportReport(target, cosine, time.perf_counter() - started)
