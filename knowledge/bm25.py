"""A small incremental BM25 (Okapi) index: postings per term, documents added and removed in place.

Incremental because an edit to one file must be searchable in well under a second on a 2,000-section
knowledge base; rebuilding the whole index from the manifest is only done at start-up.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just me more most my myself no nor not now of
    off on once only or other our ours out over own same she should so some such than that the their
    theirs them then there these they this those through to too under until up very was we were what
    when where which while who whom why will with would you your yours yourself yourselves i'm i've
    i'd you're it's don't can't what's get got""".split()
)


def stem(word: str) -> str:
    """A deliberately light suffix stripper: returns/returned/returning → return, policies → policy."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if not word.endswith(suffix) or len(word) - len(suffix) < 3:
            continue
        if suffix == "s" and word.endswith(("ss", "us", "is")):
            break
        if suffix == "es" and not word.endswith(("shes", "ches", "xes", "zes", "oes")):
            repl = "e"  # "fees" → "fee", "prices" → "price"
        word = word[: len(word) - len(suffix)] + repl
        if suffix in ("ing", "ed") and word[-1] == word[-2] and word[-1] not in "lsz":
            word = word[:-1]  # shipped → shipp → ship
        break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]  # engrave/engraved → engrav, price/prices → pric
    return word


def tokenize(text: str) -> list[str]:
    tokens = []
    for raw in _TOKEN.findall(text.lower()):
        raw = raw.split("'")[0] if raw.endswith("'s") else raw
        if raw not in STOPWORDS:
            tokens.append(stem(raw))
    return tokens


class BM25Index:
    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[str, int]] = {}
        self._lengths: dict[str, int] = {}
        self._terms: dict[str, tuple[str, ...]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._lengths

    def add(self, doc_id: str, text: str) -> None:
        if doc_id in self._lengths:
            self.remove(doc_id)
        tokens = tokenize(text)
        counts = Counter(tokens)
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[doc_id] = tf
        self._terms[doc_id] = tuple(counts)
        self._lengths[doc_id] = len(tokens)
        self._total_length += len(tokens)

    def remove(self, doc_id: str) -> None:
        length = self._lengths.pop(doc_id, None)
        if length is None:
            return
        self._total_length -= length
        for term in self._terms.pop(doc_id, ()):
            docs = self._postings.get(term)
            if docs is not None:
                docs.pop(doc_id, None)
                if not docs:
                    del self._postings[term]

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        n = len(self._lengths)
        if not n:
            return []
        avg = self._total_length / n or 1.0
        scores: dict[str, float] = {}
        for term in set(tokenize(query)):
            docs = self._postings.get(term)
            if not docs:
                continue
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            for doc_id, tf in docs.items():
                norm = tf + self.k1 * (1 - self.b + self.b * self._lengths[doc_id] / avg)
                scores[doc_id] = scores.get(doc_id, 0.0) + idf * tf * (self.k1 + 1) / norm
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]
