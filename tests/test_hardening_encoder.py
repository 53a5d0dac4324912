"""One bad query never fails its batch. The finding: a message with one lone surrogate made the
batched query encoder fail every query in its batch, and honest shoppers asking at the same moment
got "I don't know" (2 of 8 answered in one run, 0 of 8 in another).

Eight searches are queued into one batch (the encoder's worker is held off until all eight wait),
one of them poisoned; the seven honest ones must come back exactly as they do when asked alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from knowledge import KnowledgeBase, SearchResult, embedding, queries

FILES = {
    "returns.md": "# Returns\n\n## Window\n\nReturn most items within 30 days of delivery.\n\n"
    "## Personalised items\n\nEngraved and monogrammed pieces are final sale.\n",
    "shipping.md": "# Shipping\n\n## Times\n\nOrders ship in 2 business days; delivery takes "
    "3 to 5 more.\n\n## International\n\nWe ship to Canada and the EU; duties are paid on "
    "arrival.\n",
    "care.md": "# Care\n\n## Dishwasher\n\nGlazed stoneware is dishwasher safe; hand-wash the "
    "gold rim.\n",
    "gift-cards.md": "# Gift cards\n\n## Expiry\n\nGift cards never expire and cannot be "
    "refunded.\n",
}
HONEST = [
    "can I return my engraved mug?",
    "how long does delivery take",
    "do you ship to Germany?",
    "is the mug dishwasher safe",
    "do gift cards expire",
    "how many days do I have to send something back",
    "who pays customs duties",
]
# The finding's poison: a lone surrogate (a JSON "\ud800" escape) and a NUL.
POISON = "refund \ud800 now\x00 please"


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnowledgeBase]:
    root = tmp_path_factory.mktemp("encoder-kb")
    (root / "kb").mkdir()
    for name, text in FILES.items():
        (root / "kb" / name).write_text(text, encoding="utf-8")
    base = KnowledgeBase(root / "kb", root / "data", index_threads=1)
    base.index()
    yield base
    base.close()


def answers_alone(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Each honest question asked on its own; then a fresh encoder, so the batch that follows
    encodes every query again rather than answering from this run's cache."""
    monkeypatch.setattr(queries, "_query_encoder", queries.QueryEncoder())
    alone = {q: shape(kb.search(q, k=3)) for q in HONEST}
    monkeypatch.setattr(queries, "_query_encoder", queries.QueryEncoder())
    return alone


def shape(result: SearchResult) -> list[tuple[str, str, float]]:
    return [(p.source, p.heading, round(p.score, 5)) for p in result.passages]


async def one_batch(kb: KnowledgeBase, texts: Sequence[str]) -> list[object]:
    """Search all `texts` at once, in a single encoder batch; results or exceptions, in order."""
    encoder = queries.query_encoder()
    await asyncio.to_thread(kb._ensure_loaded)  # so each search reaches the encoder at once
    with encoder._cond:  # the worker waits on this lock: nothing is encoded until all are queued
        tasks = [asyncio.create_task(kb.asearch(text, k=3)) for text in texts]
        while len(encoder._pending) < len(texts):
            await asyncio.sleep(0)  # let each task run up to its submit; no timer involved
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def test_eight_at_once_with_one_poisoned_the_seven_honest_answer_as_alone(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = answers_alone(kb, monkeypatch)
    batches: list[int] = []
    real = queries.encode_queries

    def counted(texts: Sequence[str]) -> np.ndarray:
        batches.append(len(texts))
        return real(texts)

    monkeypatch.setattr(queries, "encode_queries", counted)
    texts = HONEST[:3] + [POISON] + HONEST[3:]
    results = await one_batch(kb, texts)
    assert batches == [8]  # one forward pass for all eight, the poisoned one included
    assert not [r for r in results if isinstance(r, BaseException)]
    for text, result in zip(texts, results, strict=True):
        assert isinstance(result, SearchResult)
        if text != POISON:
            assert shape(result) == alone[text], text
            assert result.passages, text  # an answer, not "I don't know"


async def test_a_query_the_model_cannot_take_fails_alone_and_the_rest_answer(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever else could make the encoder raise on one text (a tokenizer bug, a future model),
    the batch falls back to one text at a time: only that shopper's search fails."""
    alone = answers_alone(kb, monkeypatch)
    real = embedding._encode
    batches: list[int] = []

    def fussy(texts: Sequence[str], threads: int) -> np.ndarray:
        batches.append(len(texts))
        if any("unencodable" in t for t in texts):
            raise ValueError("the tokenizer cannot take this text")
        return real(texts, threads)

    monkeypatch.setattr(queries, "_onnx", None)  # the torch path, where `fussy` sits
    monkeypatch.setattr(embedding, "_encode", fussy)
    texts = HONEST[:5] + ["an unencodable question"] + HONEST[5:]
    results = await one_batch(kb, texts)
    assert batches[0] == 8  # one batch first, then one by one
    for text, result in zip(texts, results, strict=True):
        if "unencodable" in text:
            assert isinstance(result, ValueError)
        else:
            assert isinstance(result, SearchResult) and shape(result) == alone[text], text
