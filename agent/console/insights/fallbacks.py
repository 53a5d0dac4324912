"""Dead ends (issue 13): which stored answers were fallbacks, and when a shopper repeated themselves.

A **fallback** is an answer that did not answer. The loop marks the ones it decides on the stored
answer, `"fallback"` (agent/turn/loop.py `_rounds`): `round_limit` (it ran out of steps),
`model_down` (every model failed), `empty` (the model said nothing) and `no_answer` (the model
abstained, as the offline model does below the confidence threshold). Two second signals are read
here, and only here:
- an answer stored before the mark, or by a path that does not mark, with one of the exact fallback
  texts: the loop's three, the offline model's abstention, the model budget's "very busy" reply;
- a language model's own "I don't know": an answer that cites no passage and says one of the
  phrases of `_NO_ANSWER` ("I don't know", "I'm not sure", "I don't have that information", "I
  couldn't find any information", "I have no idea"…). "I'm not sure which order you mean" asks the
  shopper something back and is not one; nor is an answer that cites the knowledge base, even
  with a doubt about a detail.

**Repeated themselves**: three shopper messages of one conversation that say the same thing — equal
once case, punctuation and spacing are ignored, or near-identical (difflib ratio ≥ REPEAT_RATIO).
Short acknowledgements ("yes", "ok", "thanks") are not counted: answering three offers is not
repeating oneself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher
from typing import Any

from agent.chat.model_budget import busy_text
from agent.models.offline.abstain import ABSTAIN_TEXT
from agent.store.transcript import message_text
from agent.turn.loop import EMPTY_TEXT, MODEL_DOWN_TEXT, ROUND_LIMIT_TEXT

WHY = {
    "no_answer": "no answer",
    "empty": "empty answer",
    "model_down": "the model was down",
    "busy": "too busy to answer",
    "round_limit": "ran out of steps",
}
REPEATED = "shopper repeated themselves"
REPEAT_RATIO = 0.9
REPEAT_TIMES = 3
MAX_REPEAT_SCAN = 200  # shopper messages compared per conversation (pairwise: keep it bounded)

_BUSY_PREFIX = busy_text("\0").split("\0")[0]  # the text up to the window, which varies
_EXACT: tuple[tuple[str, str], ...] = (
    (ROUND_LIMIT_TEXT, "round_limit"),
    (MODEL_DOWN_TEXT, "model_down"),
    (EMPTY_TEXT, "empty"),
    (ABSTAIN_TEXT, "no_answer"),  # followed by the offer of a person
    (_BUSY_PREFIX, "busy"),
)
_NOT_ASKING = r"(?! which\b)"  # "I'm not sure which order you mean": a question back
_NO_ANSWER = re.compile(
    r"\bi (?:really |just )?(?:don't|do not|dont) know\b" + _NOT_ASKING
    + r"|\bi(?:'m| am|m) not (?:sure|certain)\b" + _NOT_ASKING
    + r"|\bi (?:don't|do not|dont) have (?:that|this|any|enough|the) information\b"
    + r"|\bi (?:don't|do not|dont) have an answer\b"
    + r"|\bi (?:couldn't|could not|can't|cannot) find (?:any |that |this )?information\b"
    + r"|\bi have no (?:idea|information)\b"
)  # fmt: skip
ACKNOWLEDGEMENTS = frozenset(
    "yes|yes please|yeah|yep|y|no|no thanks|no thank you|nope|n|ok|okay|ok thanks|sure|please|"
    "thanks|thank you|thx|confirm|cancel|go ahead|hi|hello|hey".split("|")
)
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def said_no_answer(text: str) -> bool:
    """A language model's own wording of "I don't know" (see the module's rule)."""
    return bool(_NO_ANSWER.search(text.lower().replace("\u2019", "'")))


def fallback_of(content: Mapping[str, Any], citations: Sequence[Any] | None = None) -> str | None:
    """The kind of fallback a stored final answer was, or None when it answered."""
    mark = content.get("fallback")
    if isinstance(mark, str) and mark:
        return mark if mark in WHY else "no_answer"  # a kind this reader does not know yet
    text = message_text(content.get("content")).strip()
    for exact, kind in _EXACT:
        if text.startswith(exact):
            return kind
    cited = citations or content.get("citations")
    if not cited and said_no_answer(text):
        return "no_answer"
    return None


def repeat_key(text: str) -> str:
    """What two messages share when they say the same thing: case, punctuation and spacing off."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower().replace("\u2019", ""))).strip()


def third_repeat(texts: Sequence[str]) -> int | None:
    """The index of the first message that says the same thing as two earlier ones, or None."""
    seen: Counter[str] = Counter()  # the distinct keys so far, with how often each was said
    matcher = SequenceMatcher(autojunk=False)
    for index, text in enumerate(texts[:MAX_REPEAT_SCAN]):
        key = repeat_key(text)
        if not key or key in ACKNOWLEDGEMENTS:
            continue
        same = seen[key]
        matcher.set_seq2(key)  # difflib caches what it learns about seq2: the new message
        for other, times in seen.items():
            if same >= REPEAT_TIMES - 1:
                break
            if other == key:
                continue
            matcher.set_seq1(other)
            # The cheap upper bounds first: most pairs fail on length or letters alone.
            if (
                matcher.real_quick_ratio() >= REPEAT_RATIO
                and matcher.quick_ratio() >= REPEAT_RATIO
                and matcher.ratio() >= REPEAT_RATIO
            ):
                same += times
        if same >= REPEAT_TIMES - 1:
            return index
        seen[key] += 1
    return None


__all__ = [
    "ACKNOWLEDGEMENTS",
    "REPEATED",
    "REPEAT_RATIO",
    "WHY",
    "fallback_of",
    "repeat_key",
    "said_no_answer",
    "third_repeat",
]
