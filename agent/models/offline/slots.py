"""Reading what a shopper typed: order numbers, emails, items, reasons, yes/no — and word overlap.

Plain functions of text, no state. Deliberately lexical: the offline model must be predictable, and a
store owner reading a transcript should be able to see why it did what it did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agent.models.offline.order_ids import (
    EMAIL_RE,
    OrderShape,
    compile_pattern,
    learn_shape,
)

WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOPWORDS = frozenset(
    """a an the and or but if of to in on at for from by with about as is are was were be been am
    i me my mine we our you your it its this that these those there here do does did can could
    would should will shall may might must have has had not no yes please just so than then too
    very what when where which who why how any some all each one get got want like need know
    tell let hi hello hey thanks thank ok okay s t""".split()
)


# Words ------------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower().replace("’", "'"))


def stem(word: str) -> str:
    """A crude English stemmer: enough to match 'returns'/'returning'/'returned' to 'return'
    and 'shipping' to 'ship'."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(word) > 3 and word[-1] == word[-2]:
                word = word[:-1]  # shipp → ship, stopp → stop
            break
    return word


# Question phrasings that name a topic without its word ("how much" asks about cost).
PHRASE_TERMS = {
    "how much": "cost",
    "how long": "time",
    "how many days": "time",
    "phone": "phone",
    "money back": "refund",
}


def content_terms(text: str) -> set[str]:
    lowered = text.lower()
    terms = {stem(w) for w in words(lowered) if w not in STOPWORDS and len(w) > 1}
    for phrase, term in PHRASE_TERMS.items():
        if phrase in lowered:
            terms.add(term)
            terms.discard("much")
    return terms


def overlap(query: str, document: str) -> float:
    """Share of the query's content terms found in the document (0..1)."""
    q = content_terms(query)
    if not q:
        return 0.0
    return len(q & content_terms(document)) / len(q)


# Order numbers and emails -----------------------------------------------------------------------
def order_pattern(pattern: str | None) -> re.Pattern[str]:
    return compile_pattern(pattern)


def find_order_ids(text: str, pattern: re.Pattern[str] | OrderShape) -> list[str]:
    return as_shape(pattern).find(text)


def as_shape(pattern: re.Pattern[str] | OrderShape) -> OrderShape:
    if isinstance(pattern, OrderShape):
        return pattern
    return learn_shape(pattern.pattern)


def find_emails(text: str) -> list[str]:
    return [m.group(0).lower().rstrip(".") for m in EMAIL_RE.finditer(text)]


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
        "no longer need",
        "don't need",
        "do not need",
        "not needed",
        "no use for",
    ),
    "changed_mind": (
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


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None


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


# Yes / no ---------------------------------------------------------------------------------------
YES_RE = re.compile(
    r"^\s*(?:yes|yeah|yep|yup|sure|ok|okay|please|please do|go ahead|do it|sounds good|"
    r"that's fine|that is fine|fine|correct|confirm|confirmed|absolutely|definitely|of course|"
    r"y|yes please|let's do it|lets do it|great|perfect)\b",
    re.I,
)
NO_RE = re.compile(
    r"^\s*(?:no|nope|nah|not now|don't|do not|cancel|stop|never ?mind|no thanks|n)\b", re.I
)


# Words that add nothing to a yes or a no ("yes please, go ahead", "no thanks, not now").
POLITE = frozenset(
    """yes yeah yep yup sure ok okay please go ahead do it sounds good that's fine correct
    confirm confirmed absolutely definitely of course let's lets great perfect thanks thank
    you no nope nah not now cancel stop never mind that's all right alright cool""".split()
)


def leading_answer(text: str) -> str | None:
    """'yes' or 'no' when the message starts with one ("yes, and make the label too")."""
    if NO_RE.match(text):
        return "no"
    if YES_RE.match(text):
        return "yes"
    return None


def _only_polite(text: str) -> bool:
    return all(w in STOPWORDS or w in POLITE for w in words(text))


def is_yes(text: str) -> bool:
    """A bare yes: nothing else asked for in the same breath."""
    return leading_answer(text) == "yes" and _only_polite(text)


def is_no(text: str) -> bool:
    return leading_answer(text) == "no" and _only_polite(text)


# Quantities and items ---------------------------------------------------------------------------
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "both": 2}


def find_quantity(text: str) -> int | None:
    match = re.search(r"\b(\d{1,3})\s*(?:x|×|of)?\s+[a-z]", text.lower())
    if match and not re.search(r"[#-]\s*" + match.group(1), text):
        return int(match.group(1))
    for word, number in NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", text.lower()):
            return number if word != "one" else None
    return None


def match_item(text: str, items: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The order line the text names ('the mug', 'the oak serving board', a sku), or None.

    Scores each line by shared (stemmed) words with its name and category; a sku match wins.
    Ties between lines mean the text is ambiguous: None, so the caller asks."""
    lowered = text.lower()
    terms = content_terms(text)
    best: list[tuple[float, dict[str, Any]]] = []
    for item in items:
        sku = str(item.get("sku", ""))
        if sku and re.search(rf"(?<![a-z0-9-]){re.escape(sku.lower())}(?![a-z0-9-])", lowered):
            return item
        name_terms = content_terms(str(item.get("name", "")))
        category_terms = content_terms(str(item.get("category", "")).replace("-", " "))
        score = len(terms & name_terms) + 0.5 * len(terms & (category_terms - name_terms))
        if score > 0:
            best.append((score, item))
    if not best:
        return None
    best.sort(key=lambda pair: pair[0], reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]


def match_items(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every order line the text names by something only that line has ("the mug and the plate"),
    else the single best match (match_item), else nothing."""
    lowered = text.lower()
    by_sku = [
        item
        for item in items
        if item.get("sku")
        and re.search(rf"(?<![a-z0-9-]){re.escape(str(item['sku']).lower())}(?![a-z0-9-])", lowered)
    ]
    if by_sku:
        return by_sku
    terms = content_terms(text)
    names = [content_terms(str(item.get("name", ""))) for item in items]
    picked = []
    for index, item in enumerate(items):
        others = set().union(*(n for j, n in enumerate(names) if j != index))
        if terms & (names[index] - others):
            picked.append(item)
    if len(picked) > 1:
        return picked
    best = match_item(text, items)
    return [best] if best else []


# Picking sentences to quote ---------------------------------------------------------------------
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*_])")


def best_sentences(question: str, passage: str, limit: int = 3, max_chars: int = 420) -> str:
    """The passage's sentences that answer the question best, in the passage's own order."""
    text = re.sub(r"\s+", " ", passage.replace("\n- ", " ").replace("\n* ", " ")).strip()
    sentences = [s.strip() for s in SENTENCE_RE.split(text) if s.strip()]
    if len(text) <= max_chars or len(sentences) <= 1:
        return text if len(text) <= max_chars * 2 else text[: max_chars * 2].rsplit(" ", 1)[0] + "…"
    q = content_terms(question)
    scored = sorted(
        range(len(sentences)),
        key=lambda i: (-len(q & content_terms(sentences[i])), i),
    )
    chosen: list[int] = []
    length = 0
    for index in scored:
        if len(chosen) >= limit or (chosen and length + len(sentences[index]) > max_chars):
            continue
        chosen.append(index)
        length += len(sentences[index])
    return " ".join(sentences[i] for i in sorted(chosen))
