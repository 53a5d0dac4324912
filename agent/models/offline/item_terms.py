"""Misspelt pieces matched to an order's lines: "the prnit", "the pitchr", "the serveing board".

The shopper's words that name no line are compared with the words of the lines' names with
rapidfuzz, and replaced by the closest one when it is close enough. Only the order's own lines are
candidates, so a typo can only ever land on something the shopper bought.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz, process

MIN_LETTERS = 4  # "mog" → "mug" is a guess too far; short words must be spelt right
MIN_SCORE = 75.0  # rapidfuzz's normalised Indel similarity, 0..100: "prnit"/"print" is 80


def mend_terms(terms: set[str], vocabulary: Iterable[str]) -> set[str]:
    """`terms`, with each one that is not in `vocabulary` joined by its closest word there."""
    known = {word for word in vocabulary if len(word) >= MIN_LETTERS}
    mended = set(terms)
    for term in terms:
        if term in known or len(term) < MIN_LETTERS or term.isdigit():
            continue
        match = process.extractOne(term, known, scorer=fuzz.ratio, score_cutoff=MIN_SCORE)
        if match is not None:
            mended.add(match[0])
    return mended


__all__ = ["mend_terms"]
