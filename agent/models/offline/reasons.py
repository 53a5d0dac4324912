"""Return reasons and resolutions in the shopper's words, read with the lexicon in reason_words.py.

Reading goes in three steps, each a general rule rather than a list of sentences:
- the text is evened out: lower case, "do not"/"dont" written "don't", emails dropped, and a word
  that is no English word but one slip from a lexicon word ("broekn", "chnaged") mended to it
  (rapidfuzz's optimal-string-alignment distance: a swapped pair of letters is one slip);
- every lexicon phrase found is a span; where spans overlap the longest wins ("doesn't work with
  my kitchen" is a matter of taste, not "doesn't work"), and a denial ("not broken") wins over the
  fault it denies;
- of what is left the highest-priority reason counts (a fault before a buyer's reason).
"I'd like store credit instead of a refund" names the refund only to set it aside, so such a
clause is dropped before either is read.

Only codes the action's schema offers are used; a missing one falls back to the nearest it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from agent.models.offline.order_ids import EMAIL_RE
from agent.models.offline.reason_words import (
    NOT_A_REASON,
    REASON_FALLBACKS,
    REASON_PHRASES,
    RESOLUTION_FALLBACKS,
    RESOLUTION_PHRASES,
)

__all__ = [
    "REASON_PHRASES",
    "RESOLUTION_PHRASES",
    "find_reason",
    "find_resolution",
    "mend_words",
    "pick_value",
]

WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)?")
CONTRACTIONS = {
    "do not": "don't",
    "does not": "doesn't",
    "did not": "didn't",
    "is not": "isn't",
    "was not": "wasn't",
    "are not": "aren't",
    "were not": "weren't",
    "will not": "won't",
    "would not": "wouldn't",
    "cannot": "can't",
    "dont": "don't",
    "doesnt": "doesn't",
    "didnt": "didn't",
    "isnt": "isn't",
    "wasnt": "wasn't",
    "arent": "aren't",
}
CONTRACTION_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, CONTRACTIONS)) + r")\b")
_RESOLUTION_WORDS = "|".join(
    re.escape(p) for phrases in RESOLUTION_PHRASES.values() for p in phrases
)
# "instead of a refund", "rather than store credit", "not a replacement": set aside, not asked for.
SET_ASIDE_RE = re.compile(
    rf"\b(?:instead of|rather than|not)\s+(?:(?:a|an|my|the|full|cash)\s+)*(?:{_RESOLUTION_WORDS})\b"
)
# Shorter words are too often another word one slip away ("chip" / "ship" / "chop").
MEND_MIN_CHARS = 4
NO_REASON = ""  # the value of a denial's span


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The English words of symspellpy's frequency dictionary: a word in it is no typo."""
    try:
        source = resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
        lines = source.read_text(encoding="utf-8").splitlines()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return frozenset()
    return frozenset(line.split(" ", 1)[0] for line in lines if line)


def _lexicon_words() -> frozenset[str]:
    phrases = [
        p for table in (REASON_PHRASES, RESOLUTION_PHRASES) for ps in table.values() for p in ps
    ]
    return frozenset(w for p in phrases for w in WORD_RE.findall(p) if len(w) >= MEND_MIN_CHARS)


LEXICON_WORDS = _lexicon_words()


def _mended(word: str) -> str:
    if len(word) < MEND_MIN_CHARS or word in LEXICON_WORDS or word in english_words():
        return word
    allowed = 1 if len(word) < 8 else 2
    bare = word.replace("'", "")  # "dosent" is one swap from "doesnt", i.e. "doesn't"
    best, best_distance = word, allowed + 1
    for candidate in LEXICON_WORDS:
        plain = candidate.replace("'", "")
        if plain[0] != bare[0] or abs(len(plain) - len(bare)) > allowed:
            continue
        distance = OSA.distance(bare, plain, score_cutoff=allowed)
        if distance < best_distance:
            best, best_distance = candidate, distance
    return best


def mend_words(text: str) -> str:
    """Each word that is no English word but one slip from a lexicon word, mended to it."""
    return WORD_RE.sub(lambda m: _mended(m.group(0)), text)


def normalise(text: str) -> str:
    lowered = text.lower().replace("’", "'").replace("‘", "'")
    lowered = EMAIL_RE.sub(" ", lowered)
    lowered = CONTRACTION_RE.sub(lambda m: CONTRACTIONS[m.group(0)], lowered)
    return re.sub(r"\s+", " ", mend_words(lowered))


STAR = r"(?:[\w'-]+\s+){0,3}"  # a "*" of the lexicon: up to three words


def _compile(phrase: str) -> re.Pattern[str]:
    body = ""
    for word in phrase.split():
        gap = r"\s+" if body and not body.endswith(STAR) else ""
        body += gap + (STAR if word == "*" else re.escape(word))
    return re.compile(rf"(?<![a-z']){body}(?:e?s)?(?![a-z])")  # "gift cards", "chips"


def _table(phrases: Mapping[str, tuple[str, ...]]) -> list[tuple[int, str, re.Pattern[str]]]:
    return [
        (priority, value, _compile(phrase))
        for priority, (value, values) in enumerate(phrases.items())
        for phrase in values
    ]


REASON_TABLE = _table({**REASON_PHRASES, NO_REASON: NOT_A_REASON})
RESOLUTION_TABLE = _table(RESOLUTION_PHRASES)


# A slip across words ("to small" for "too small") is a near match of the whole phrase, tried only
# when nothing matched exactly; short phrases are too often other words.
FUZZY_MIN_CHARS = 8
FUZZY_RATIO = 88.0


def _near(text: str, phrases: Mapping[str, tuple[str, ...]]) -> str | None:
    tokens = WORD_RE.findall(text)
    for value, values in phrases.items():
        for phrase in values:
            if len(phrase) < FUZZY_MIN_CHARS or "*" in phrase:
                continue
            size = len(phrase.split())
            for start in range(len(tokens) - size + 1):
                window = " ".join(tokens[start : start + size])
                if window[0] == phrase[0] and fuzz.ratio(window, phrase) >= FUZZY_RATIO:
                    return value
    return None


def _strongest(text: str, table: list[tuple[int, str, re.Pattern[str]]]) -> str | None:
    """The highest-priority value among the spans left once overlaps go to the longest."""
    spans = [
        (match.start(), match.end(), priority, value)
        for priority, value, pattern in table
        for match in pattern.finditer(text)
    ]
    spans.sort(key=lambda s: (s[0] - s[1], s[2]))  # longest first; ties by priority
    kept: list[tuple[int, int, int, str]] = []
    for span in spans:
        if all(span[1] <= other[0] or span[0] >= other[1] for other in kept):
            kept.append(span)
    named = [span for span in kept if span[3] != NO_REASON]
    return min(named, key=lambda s: s[2])[3] if named else None


def _denied(text: str) -> bool:
    return any(pattern.search(text) for _p, value, pattern in REASON_TABLE if value == NO_REASON)


@lru_cache(maxsize=2048)
def _reason_in(text: str) -> str | None:
    cleaned = SET_ASIDE_RE.sub(" ", normalise(text))
    found = _strongest(cleaned, REASON_TABLE)
    if found is None and not _denied(cleaned):
        found = _near(cleaned, REASON_PHRASES)
    return found


@lru_cache(maxsize=2048)
def _resolution_in(text: str) -> str | None:
    cleaned = SET_ASIDE_RE.sub(" ", normalise(text))
    return _strongest(cleaned, RESOLUTION_TABLE) or _near(cleaned, RESOLUTION_PHRASES)


def find_reason(text: str, allowed: Sequence[str] | None = None) -> str | None:
    found = _reason_in(text)
    return pick_value(found, allowed, REASON_FALLBACKS) if found else None


def find_resolution(text: str, allowed: Sequence[str] | None = None) -> str | None:
    found = _resolution_in(text)
    return pick_value(found, allowed, RESOLUTION_FALLBACKS) if found else None


def pick_value(
    value: str, allowed: Sequence[str] | None, fallbacks: Mapping[str, tuple[str, ...]]
) -> str | None:
    if not allowed or value in allowed:
        return value
    for other in fallbacks.get(value, ()):
        if other in allowed:
            return other
    return None
