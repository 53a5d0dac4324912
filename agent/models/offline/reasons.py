"""Return reasons and resolutions in the shopper's words: a small synonym table per reason code,
matched exactly or, for typos ("chnaged my mnid"), by close spelling of the same number of words.

Only codes the action's schema offers are used; a missing one falls back to the nearest it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher

# Return reasons and resolutions -----------------------------------------------------------------
# reason value → phrases. Only values the action's schema offers are used (see pick_reason).
REASON_PHRASES: dict[str, tuple[str, ...]] = {
    "seller_error": (
        "misspelled",
        "misspelt",
        "spelling",
        "spelled wrong",
        "typo",
        "wrong engraving",
        "engraving is wrong",
        "engraved wrong",
        "wrong name",
        "your mistake",
        "you made a mistake",
    ),
    "wrong_item": (
        "wrong one",
        "not the one i ordered",
        "isn't what i ordered",
        "wasn't what i ordered",
        "but i ordered",
        "instead of",
        "wrong colour sent",
        "wrong item",
        "wrong product",
        "sent the wrong",
        "sent me the wrong",
        "not what i ordered",
        "different item",
        "wrong colour",
        "wrong color",
        "missing part",
    ),
    "defective": (
        "defective",
        "faulty",
        "stopped working",
        "doesn't work",
        "does not work",
        "not working",
        "won't turn on",
        "leaking",
        "leaks",
    ),
    "damaged": (
        "came chipped",
        "arrived chipped",
        "flaking",
        "peeling",
        "cracks",
        "chips",
        "dents",
        "broken in",
        "glaze",
        "damaged",
        "broken",
        "broke",
        "cracked",
        "crack",
        "chipped",
        "chip",
        "shattered",
        "smashed",
        "dented",
        "in pieces",
        "scratched",
        "torn",
        "stained",
    ),
    "wrong_size": (
        "don't fit",
        "do not fit",
        "too tight",
        "too loose",
        "too narrow",
        "too wide",
        "bigger",
        "smaller",
        "wrong size",
        "too small",
        "too big",
        "too large",
        "too short",
        "too long",
        "doesn't fit",
        "does not fit",
        "didn't fit",
        "size is off",
    ),
    "not_as_described": (
        "not as described",
        "looks different",
        "different from the photo",
        "not like the picture",
        "not as pictured",
        "misleading",
        "not as advertised",
    ),
    "ordered_by_mistake": (
        "by mistake",
        "by accident",
        "accidentally",
        "ordered twice",
        "ordered the wrong",
        "duplicate order",
        "mistakenly",
    ),
    "no_longer_needed": (
        "no need for",
        "not need it",
        "no longer need",
        "don't need",
        "do not need",
        "not needed",
        "no use for",
        "too many",
        "have enough",
        "got enough",
    ),
    "changed_mind": (
        "changed our minds",
        "changed our mind",
        "change of heart",
        "not our style",
        "not my style",
        "not my taste",
        "not what i expected",
        "not for us",
        "don't love",
        "didn't love",
        "don't really like",
        "rather not have",
        "changed my mind",
        "change of mind",
        "change my mind",
        "don't want",
        "do not want",
        "don't like",
        "do not like",
        "didn't like",
        "not for me",
        "regret",
        "found it cheaper",
        "unwanted",
        "no reason",
        "just don't",
        "rather not keep",
        "too dark",
        "too light",
        "doesn't suit",
        "does not suit",
        "doesn't go with",
    ),
}
# If the store's schema lacks a value, the phrase falls back to the nearest one it has.
REASON_FALLBACKS = {
    "wrong_size": ("changed_mind",),
    "no_longer_needed": ("changed_mind",),
    "ordered_by_mistake": ("changed_mind",),
    "not_as_described": ("seller_error", "damaged"),
    "wrong_item": ("seller_error", "not_as_described"),
    "defective": ("damaged",),
    "seller_error": ("wrong_item", "not_as_described", "damaged"),
}

RESOLUTION_PHRASES: dict[str, tuple[str, ...]] = {
    "store_credit": ("store credit", "credit", "gift card", "voucher"),
    "replacement": (
        "replacement",
        "replace it",
        "exchange",
        "swap",
        "new one",
        "another one",
        "send another",
    ),
    "refund": ("refund", "money back", "my money"),
}
RESOLUTION_FALLBACKS = {"replacement": ("exchange",), "store_credit": ("credit",)}


WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# Below this length a near-spelling is too often another word ("chip" / "ship").
FUZZY_MIN_CHARS = 8
FUZZY_RATIO = 0.84


def _phrase_in(phrase: str, text: str) -> bool:
    if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text):
        return True
    if len(phrase) < FUZZY_MIN_CHARS:
        return False
    size = len(phrase.split())
    tokens = WORD_RE.findall(text)
    for start in range(len(tokens) - size + 1):
        window = " ".join(tokens[start : start + size])
        if window[0] == phrase[0] and SequenceMatcher(None, window, phrase).ratio() >= FUZZY_RATIO:
            return True
    return False


def find_reason(text: str, allowed: Sequence[str] | None = None) -> str | None:
    lowered = text.lower().replace("’", "'")
    for value, phrases in REASON_PHRASES.items():
        if any(_phrase_in(p, lowered) for p in phrases):
            return pick_value(value, allowed, REASON_FALLBACKS)
    return None


def find_resolution(text: str, allowed: Sequence[str] | None = None) -> str | None:
    lowered = text.lower()
    for value, phrases in RESOLUTION_PHRASES.items():
        if any(_phrase_in(p, lowered) for p in phrases):
            return pick_value(value, allowed, RESOLUTION_FALLBACKS)
    return None


def pick_value(
    value: str, allowed: Sequence[str] | None, fallbacks: Mapping[str, tuple[str, ...]]
) -> str | None:
    if not allowed or value in allowed:
        return value
    for other in fallbacks.get(value, ()):
        if other in allowed:
            return other
    return None
