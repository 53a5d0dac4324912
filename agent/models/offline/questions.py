"""Several questions in one message ("do you ship to canada? and how long do refunds take?"):
split into their parts, so that each part gets the passage that fits it best, quoted and cited.

A part is a sentence ending in "?", or a clause joined by "and"/"also"/"plus" that starts a new
question of its own ("…, and does the refund go back to my card?"). A clause that does not start
a question ("the mug and the plates") is never split off.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

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


def answer_parts(
    parts: list[str],
    passages: Sequence[PassageFact],
    score: Callable[[str, PassageFact, int], float],
) -> str:
    """Each part answered by the passage that fits it best, quoted and cited [n]; a passage that
    answers two parts is quoted once."""
    answers: list[str] = []
    used: set[int] = set()
    for part in parts:
        rank, passage = max(
            enumerate(passages), key=lambda pair: (score(part, pair[1], -1), -pair[0])
        )
        if rank in used:
            continue
        used.add(rank)
        answers.append(f"{slots.best_sentences(part, passage.text)} [{rank + 1}]")
    return " ".join(answers)
