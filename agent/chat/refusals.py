"""A typed answer to an open confirmation card that declines it, as its Decline button would.

Shoppers refuse in words: "no", "nope, not now", "actually no, I'll keep it", "wait, don't do
that", "no, I'll do the label later". A message declines when it opens with a refusal (after
fillers such as "actually" or "hmm") and whatever follows only keeps things as they are or puts
them off. A message that goes on to ask for something else ("no, the plates instead") is not a
decline: it waits for the card to be answered, so it is never half-read.
"""

from __future__ import annotations

import re

MAX_CHARS = 120  # a decline is short; a long message is a new request
FILLERS = (
    r"(?:(?:actually|wait|hmm+|oh|um+|uh+|ah|sorry|on second thoughts?|hold on|hang on|"
    r"ok(?:ay)?|well|erm)[\s,.!]+)*"
)
REFUSALS = (
    r"(?:no+|nope|nah|not now|not yet|not today|cancel(?: it| that| this)?|"
    r"don'?t(?: do (?:it|that|this))?(?: yet)?|do not(?: do (?:it|that|this))?|stop|"
    r"never ?mind|no thanks?|no thank you|i'?ve changed my mind|decline|forget it|leave it|"
    r"skip(?: it| that)?|wait|hold on|hang on|please|thanks?|thank you)"
)
HEAD_RE = re.compile(rf"^\s*{FILLERS}(?!please|thanks?|thank you){REFUSALS}\b", re.I)
ONLY_REFUSALS_RE = re.compile(rf"^(?:[\s,.!;:-]*{REFUSALS})*[\s,.!;:-]*$", re.I)
# What may follow the refusal: keeping the item, or putting the step off.
KEEP_OR_LATER_RE = re.compile(
    r"\b(?:keep|keeping|later|after all|another time|some other time|not (?:now|yet|today)|"
    r"don'?t (?:do|want|need)|do not|rather not|no need|changed my mind|hold off|"
    r"think about it|leave it)\b",
    re.I,
)
# ...unless it also turns to something else.
SOMETHING_ELSE_RE = re.compile(r"\b(?:instead|but|rather than|the other|different|only)\b", re.I)


def is_refusal(text: str) -> bool:
    """Whether `text`, typed while a confirmation card is open, declines it."""
    text = text.replace("\u2019", "'")
    if len(text) > MAX_CHARS:
        return False
    head = HEAD_RE.match(text)
    if head is None:
        return False
    rest = text[head.end() :]
    if ONLY_REFUSALS_RE.match(rest):
        return True
    return KEEP_OR_LATER_RE.search(rest) is not None and SOMETHING_ELSE_RE.search(rest) is None


__all__ = ["is_refusal"]
