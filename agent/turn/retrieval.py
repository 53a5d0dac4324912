"""What the turn retrieves for a shopper's message: the passages the model may quote.

A message that asks one thing gets the best five passages for it. A message that asks several
("do you ship to canada? and how long do refunds take?") is also searched part by part: a search
for the whole message ranks the passages of one part above every passage of the other, so each
part's own best passages are put first, then the whole message's, without repeats. The model is
told which passages were found for which part (`QuestionFact`), so it can answer each.
"""

from __future__ import annotations

import asyncio

from agent.models.base import PassageFact, QuestionFact
from agent.models.questions import split_questions
from agent.turn.deps import Found, Retriever

K = 5  # passages for the whole message
K_PART = 3  # passages kept for each part of a message of several questions
MAX_PASSAGES = 8


def _facts(found: Found) -> list[PassageFact]:
    return [PassageFact(p.source, p.heading, p.text, float(p.score)) for p in found.passages]


async def retrieve_for(
    kb: Retriever, text: str
) -> tuple[list[PassageFact], float, list[QuestionFact]]:
    """The passages for `text`, the retrieval's confidence, and the questions it asks (empty
    when it asks one)."""
    parts = split_questions(text)
    if len(parts) < 2:
        found = await kb.asearch(text, k=K)
        return _facts(found), float(found.confidence), []
    # One search per part and one for the whole, together: the index batches their encodes.
    whole, *each = await asyncio.gather(
        kb.asearch(text, k=K), *(kb.asearch(part, k=K_PART) for part in parts)
    )
    merged: list[PassageFact] = []
    position: dict[tuple[str, str], int] = {}

    def place(passage: PassageFact) -> int | None:
        key = (passage.source, passage.heading)
        if key not in position and len(merged) < MAX_PASSAGES:
            position[key] = len(merged)
            merged.append(passage)
        return position.get(key)

    found_for = [_facts(found) for found in each]
    for rank in range(K_PART):  # each part's best first, then each part's second…
        for passages in found_for:
            if rank < len(passages):
                place(passages[rank])
    for passage in _facts(whole):
        place(passage)
    questions = [
        QuestionFact(
            part,
            tuple(n for p in passages if (n := place(p)) is not None),
            float(found.confidence),
        )
        for part, passages, found in zip(parts, found_for, each, strict=True)
    ]
    # Answerable when one part is; the model answers the parts that are, and says which not.
    confidence = max([float(whole.confidence)] + [q.confidence for q in questions])
    return merged, confidence, questions


__all__ = ["retrieve_for"]
