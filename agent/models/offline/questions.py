"""Answering several questions in one message: each part (as the turn split it:
agent/models/questions.py) quoted from the passage that fits it best, and cited."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import permutations

from agent.models.base import PassageFact, QuestionFact
from agent.models.offline import slots

OWN_BONUS = 0.3


def own_bonus(question: QuestionFact, n: int) -> float:
    return OWN_BONUS / (1 + question.passages.index(n)) if n in question.passages else 0.0


def answer_parts(
    questions: Sequence[QuestionFact], passages: Sequence[PassageFact], threshold: float
) -> str:
    """Each question answered by a passage found for it, quoted and cited [n]: the passages go to
    the questions so that together they fit best (two never share one when another fits). A
    question nothing answers is named, not guessed at."""
    answerable = [q for q in questions if q.confidence >= threshold and q.passages]
    unknown = [q.text.rstrip("?") for q in questions if q not in answerable]
    # Any passage may answer any question (its own search can rank a near miss first), but the
    # ones found for it count more, its best the most: that search read the whole question.
    fits = [
        [part_fit(q.text, p, passages) + own_bonus(q, n) for n, p in enumerate(passages)]
        for q in answerable
    ]
    best: tuple[float, tuple[int, ...]] = (-1e9, ())
    for chosen in permutations(range(len(passages)), min(len(answerable), len(passages))):
        total = sum(fits[i][n] for i, n in enumerate(chosen))
        if total > best[0]:
            best = (total, chosen)
    answers = [
        f"{slots.best_sentences(q.text, passages[n].text)} [{n + 1}]"
        for q, n in zip(answerable, best[1], strict=False)
    ]
    answers += [f"I'm sorry, I don't know the answer to \u201c{text}\u201d." for text in unknown]
    return " ".join(answers)


def part_fit(part: str, passage: PassageFact, passages: Sequence[PassageFact]) -> float:
    """How well a passage answers one part: its terms weighted by how rare they are among the
    passages retrieved ("engraved" tells more than "return"), the heading counting double."""
    terms = slots.content_terms(part)
    if not terms:
        return 0.0
    # The section's own heading: the page's title ("Shipping and delivery") is shared by its
    # sections and would draw every "ship" to whichever of them ranked first.
    docs = [slots.content_terms(f"{own_heading(p)} {p.text}") for p in passages]
    heading = slots.content_terms(own_heading(passage))
    text = slots.content_terms(passage.text)
    weight = {t: math.log(1 + len(docs) / (1 + sum(t in d for d in docs))) for t in terms}
    got = sum(w * (2 * (t in heading) + (t in text)) for t, w in weight.items())
    return got / (3 * sum(weight.values()) or 1.0) + 0.1 * passage.score


def own_heading(passage: PassageFact) -> str:
    return passage.heading.rsplit(">", 1)[-1]
