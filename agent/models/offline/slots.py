"""Reading what a shopper typed: order numbers, emails, items, reasons, yes/no — and word overlap.

Plain functions of text, no state. Deliberately lexical: the offline model must be predictable, and a
store owner reading a transcript should be able to see why it did what it did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from agent.models.offline.item_terms import mend_terms
from agent.models.offline.order_ids import (
    EMAIL_RE,
    OrderShape,
    compile_pattern,
    learn_shape,
)
from agent.models.offline.reasons import find_reason, find_resolution, pick_value
from agent.models.questions import FUNCTION_WORDS

WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# The words that carry no subject: the same list the turn splits questions by.
STOPWORDS = FUNCTION_WORDS


# Words ------------------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    return WORD_RE.findall(text.lower().replace("’", "'"))


def stem(word: str) -> str:
    """A crude English stemmer: enough to match 'returns'/'returning'/'returned' to 'return'
    and 'shipping' to 'ship'."""
    for suffix in ("ing", "ed", "es", "s"):
        if suffix == "es" and not re.search(r"(?:[sxz]|[cs]h)es$", word):
            continue  # plates → plate, not plat; boxes → box
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


# "no wait, just two of them", "no, actually the plates": a correction, not a decline.
CORRECTION_RE = re.compile(
    r"^\W*no\W+(?:wait|sorry|actually|hold on|i mean|i meant|just|only)\b", re.I
)


def leading_answer(text: str) -> str | None:
    """'yes' or 'no' when the message starts with one ("yes, and make the label too")."""
    if NO_RE.match(text):
        return None if CORRECTION_RE.match(text) else "no"
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
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "both": 2,
    "couple": 2,
    "pair": 2,
}
# Every unit of a line: "all of the plates", "all of them", "the lot".
ALL_UNITS_RE = re.compile(r"\ball (?:of )?(?:the|them|those|these|my)\b|\bthe lot\b", re.I)
EVERYTHING_RE = re.compile(r"\b(?:everything|all of it|the whole order|all the items)\b", re.I)
# "not the mug", "without the writing": what the shopper rules out names nothing they want.
RULED_OUT_RE = re.compile(
    r"\b(?:not|without|instead of|rather than) (?:the |my |a |an )?[a-z-]+", re.I
)


def find_quantity(text: str) -> int | None:
    match = re.search(r"\b(\d{1,3})\s*(?:x|×|of)?\s+[a-z]", text.lower())
    if match and not re.search(r"[#-]\s*" + match.group(1), text):
        return int(match.group(1))
    for word, number in NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", text.lower()):
            return number if word != "one" else None
    return None


# How shoppers describe pieces, in the catalogue's own words: "the green one" is the sage mug,
# "the little pots" the small planters.
DESCRIBED = {
    "green": ("sage", "celadon", "olive"),
    "blue": ("cobalt", "navy"),
    "little": ("small", "mini"),
    "tiny": ("small", "mini"),
    "big": ("large",),
    "pot": ("planter",),
    "jug": ("pitcher",),
}
# Words that mark a personalised piece: "the plain one" is the line without them.
PERSONALISED = frozenset({"engraved", "personalised", "personalized", "monogrammed", "custom"})


def described_terms(text: str) -> set[str]:
    # An email names the shopper, not an item ("sam.adeyemi@…" is no "Adeyemis" platter).
    terms = content_terms(EMAIL_RE.sub(" ", text))
    for word in list(terms):
        terms.update(DESCRIBED.get(word, ()))
    return terms


def item_terms(text: str, items: Iterable[dict[str, Any]]) -> set[str]:
    """The text's words for pieces, a misspelt one also read as the order line's word it is
    closest to ("the prnit" → print)."""
    names = [content_terms(str(item.get("name", ""))) for item in items]
    return mend_terms(described_terms(text), set().union(*names))


def plain_wanted(text: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of the lines the text names equally, the plain (not personalised) ones, if it says so."""
    if not re.search(r"\b(?:plain|normal|regular|ordinary|unengraved)\b", text, re.I):
        return items
    plain = [i for i in items if not PERSONALISED & set(words(str(i.get("name", ""))))]
    return plain or items


def match_item(text: str, items: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The order line the text names ('the mug', 'the oak serving board', a sku), or None.

    Scores each line by shared (stemmed) words with its name and category; a sku match wins.
    Ties between lines mean the text is ambiguous: None, so the caller asks."""
    lowered = text.lower()
    items = list(items)
    terms = item_terms(text, items)
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
    tied = [item for score, item in best if score == best[0][0]]
    headed = [item for item in tied if head_term(item) in terms]
    if len(headed) == 1:  # "the planters": the small planter, not the planter saucer
        tied = headed
    tied = plain_wanted(text, tied)
    return tied[0] if len(tied) == 1 else None


def head_term(item: dict[str, Any]) -> str:
    """The word a line's name is about: the last of its first part ("Small footed planter" is a
    planter, "Planter saucer" a saucer, "Rimmed serving bowl, oatmeal glaze" a bowl)."""
    first = re.split(r"\s[—–-]\s|[,(]", str(item.get("name", "")))[0]
    named = [stem(w) for w in words(first) if w not in STOPWORDS and len(w) > 1]
    return named[-1] if named else ""


def find_units(text: str, available: int) -> int | None:
    """How many units of a line the text asks for, `available` for "all of them"."""
    if ALL_UNITS_RE.search(text):
        return available
    return find_quantity(text)


def match_items(text: str, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every order line the text names by something only that line has ("the mug and the plate"),
    else the single best match (match_item), else nothing; never a line it rules out ("not the
    mug, the plates")."""
    text = RULED_OUT_RE.sub(" ", text)
    lowered = text.lower()
    by_sku = [
        item
        for item in items
        if item.get("sku")
        and re.search(rf"(?<![a-z0-9-]){re.escape(str(item['sku']).lower())}(?![a-z0-9-])", lowered)
    ]
    if by_sku:
        return by_sku
    terms = item_terms(text, items)
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


def join_or(names: list[str], word: str = "or") -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


__all__ = ["find_reason", "find_resolution", "pick_value"]
