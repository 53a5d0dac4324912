"""Several questions in one message ("do you ship to canada? and how long do refunds take?"):
split into their parts, so that each part gets the passage that fits it best, quoted and cited.

A part is a sentence ending in "?", or a clause joined by "and"/"also"/"plus" that starts a new
question of its own ("…, and does the refund go back to my card?"). A clause that does not start
a question ("the mug and the plates") is never split off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import permutations

from agent.models.base import PassageFact
from agent.models.offline import slots

ASKS = (
    r"(?:do|does|did|can|could|how|what|what's|whats|where|when|is|are|will|would|which|who|why|"
    r"should|may|if|any|u)"
)
# "? and how…", ", and does…", ". Also, do…", "plus can…": the start of another question.
JOIN_RE = re.compile(
    rf"(?:[?.!;]+\s*|,\s*|\s+)(?:(?:and|also|plus|oh and|and also)\s*,?\s+)(?={ASKS}\b)"
    rf"|[?.!;]+\s+(?=(?:also\s*,?\s+)?{ASKS}\b)",
    re.I,
)
QUESTION_RE = re.compile(rf"^\s*{ASKS}\b", re.I)
MAX_PARTS = 3  # a message of many questions is answered for its first three


LEAD_RE = re.compile(r"^\s*(?:and|also|plus|oh and|and also)\b\s*,?\s*", re.I)


def split_questions(text: str) -> list[str]:
    """The questions in `text`, in order; one item when it asks one thing."""
    parts: list[str] = []
    for sentence in re.split(r"(?<=\?)\s+", text):  # every "?" ends a question
        sentence = LEAD_RE.sub("", sentence)
        parts += [p.strip(" ,.;") for p in JOIN_RE.split(sentence) if p.strip(" ,.;?")]
    meaningful = [p for p in parts if len(slots.content_terms(p)) >= 1]
    if len(meaningful) < 2:
        return [text]
    return meaningful[:MAX_PARTS]


def only_questions(text: str) -> bool:
    """Several parts, each one a question ("how do I print the label, and where do I drop it
    off?"): the shopper asks how things work, not for an action on an order."""
    parts = split_questions(text)
    return len(parts) > 1 and all(p.endswith("?") or QUESTION_RE.match(p) for p in parts)


def answer_parts(parts: list[str], passages: Sequence[PassageFact]) -> str:
    """Each part answered by its own passage, quoted and cited [n]: the passages go to the parts
    so that together they fit best (two parts never share one passage when another fits)."""
    fits = [[part_fit(part, p, passages) for p in passages] for part in parts]
    best: tuple[float, tuple[int, ...]] = (-1.0, ())
    for chosen in permutations(range(len(passages)), min(len(parts), len(passages))):
        total = sum(fits[i][n] for i, n in enumerate(chosen))
        if total > best[0]:
            best = (total, chosen)
    answers = [
        f"{slots.best_sentences(part, passages[n].text)} [{n + 1}]"
        for part, n in zip(parts, best[1], strict=False)
    ]
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
