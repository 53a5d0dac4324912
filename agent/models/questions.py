"""Several questions in one message ("do you ship to canada? and how long do refunds take?"):
split into their parts, so that the turn retrieves passages for each part and the model answers
each with its own citation (a search for the whole message finds passages for one part only).

A part is a sentence ending in "?", or a clause joined by "and"/"also"/"plus" that starts a new
question of its own ("…, and does the refund go back to my card?"). A clause that does not start
a question ("the mug and the plates") is never split off, and a sentence that asks nothing ("It's
too big for a parcel") stays with the question beside it, whose subject it often names.

It lives beside `ModelRequest` because its result is a fact the turn hands every model
(`ModelRequest.questions`); the offline model reads it there rather than splitting again.
"""

from __future__ import annotations

import re

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
LEAD_RE = re.compile(r"^\s*(?:and|also|plus|oh and|and also)\b\s*,?\s*", re.I)
WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MAX_PARTS = 3  # a message of many questions is answered for its first three

# Words that carry no subject of their own: a part made only of these ("and you?") is not a
# question to retrieve for.
FUNCTION_WORDS = frozenset(
    """a an the and or but if of to in on at for from by with about as is are was were be been am
    i me my mine we our you your it its this that these those there here do does did can could
    would should will shall may might must have has had not no yes please just so than then too
    very what when where which who why how any some all each one get got want like need know
    tell let hi hello hey thanks thank ok okay s t""".split()
)


def subject_words(text: str) -> list[str]:
    """The words of `text` that say what it is about."""
    words = WORD_RE.findall(text.lower().replace("\u2019", "'"))
    return [w for w in words if w not in FUNCTION_WORDS and len(w) > 1]


def split_questions(text: str) -> list[str]:
    """The questions in `text`, in order; one item (the text itself) when it asks one thing."""
    parts: list[str] = []
    for sentence in re.split(r"(?<=\?)\s+", text):  # every "?" ends a question
        sentence = LEAD_RE.sub("", sentence)
        parts += [p.strip(" ,.;") for p in JOIN_RE.split(sentence) if p.strip(" ,.;?")]
    meaningful = _with_context([p for p in parts if subject_words(p)])
    if len(meaningful) < 2:
        return [text]
    return meaningful[:MAX_PARTS]


def _with_context(parts: list[str]) -> list[str]:
    """A part that asks nothing ("It's too big for a parcel") tells what the question next to it is
    about: it joins the question before it, or the first one when it comes first."""
    questions: list[str] = []
    pending: list[str] = []
    for part in parts:
        if part.endswith("?") or QUESTION_RE.match(part):
            questions.append(" ".join([*pending, part]))
            pending = []
        elif questions:
            questions[-1] = f"{questions[-1]} {part}"
        else:
            pending.append(part if part.endswith((".", "!")) else f"{part}.")
    return questions if questions else parts


def only_questions(text: str) -> bool:
    """Several parts, each one a question ("how do I print the label, and where do I drop it
    off?"): the shopper asks how things work, not for an action on an order."""
    parts = split_questions(text)
    return len(parts) > 1 and all(p.endswith("?") or QUESTION_RE.match(p) for p in parts)


__all__ = ["FUNCTION_WORDS", "only_questions", "split_questions", "subject_words"]
