"""A small incremental BM25 (Okapi) index: postings per term, documents added and removed in place.

Incremental because an edit to one file must be searchable in well under a second on a 2,000-section
knowledge base; rebuilding the whole index from the manifest is only done at start-up.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import snowballstemmer  # type: ignore[import-untyped]

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


_STEMMER = snowballstemmer.stemmer("english")


def stem(word: str) -> str:
    """The Snowball (Porter 2) English stemmer: returns/returned/returning → return."""
    return word if word.isdigit() else str(_STEMMER.stemWord(word))


def tokenize(text: str) -> list[str]:
    tokens = []
    for raw in _TOKEN.findall(text.lower()):
        raw = raw.split("'")[0] if raw.endswith("'s") else raw
        if raw not in STOPWORDS:
            tokens.append(stem(raw))
    return tokens


class BM25Index:
    """Postings in dicts (cheap to update), mirrored lazily into numpy arrays per term (cheap to
    score): a query costs a few vector operations per term instead of a Python loop per posting,
    which matters on large knowledge bases with common words (~10x on 2,000 sections)."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}  # term -> {slot: tf}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # term -> (slots, tfs)
        self._slot: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._lengths = np.zeros(0, dtype=np.float32)
        self._terms: dict[str, tuple[str, ...]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, doc_id: str) -> bool:
        return doc_id in self._slot

    def _allocate(self, doc_id: str) -> int:
        if self._free:
            slot = self._free.pop()
            self._ids[slot] = doc_id
        else:
            slot = len(self._ids)
            self._ids.append(doc_id)
            if slot >= len(self._lengths):
                grown = np.zeros(max(64, 2 * len(self._lengths)), dtype=np.float32)
                grown[: len(self._lengths)] = self._lengths
                self._lengths = grown
        self._slot[doc_id] = slot
        return slot

    def add(self, doc_id: str, text: str) -> None:
        if doc_id in self._slot:
            self.remove(doc_id)
        tokens = tokenize(text)
        slot = self._allocate(doc_id)
        counts = Counter(tokens)
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[slot] = tf
            self._arrays.pop(term, None)
        self._terms[doc_id] = tuple(counts)
        self._lengths[slot] = len(tokens)
        self._total_length += len(tokens)

    def remove(self, doc_id: str) -> None:
        slot = self._slot.pop(doc_id, None)
        if slot is None:
            return
        self._total_length -= int(self._lengths[slot])
        self._lengths[slot] = 0
        self._ids[slot] = None
        self._free.append(slot)
        for term in self._terms.pop(doc_id, ()):
            docs = self._postings.get(term)
            self._arrays.pop(term, None)
            if docs is not None:
                docs.pop(slot, None)
                if not docs:
                    del self._postings[term]

    def _array(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        cached = self._arrays.get(term)
        if cached is None:
            docs = self._postings.get(term)
            if not docs:
                return None
            slots = np.fromiter(docs.keys(), dtype=np.int64, count=len(docs))
            tfs = np.fromiter(docs.values(), dtype=np.float32, count=len(docs))
            cached = self._arrays[term] = (slots, tfs)
        return cached

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        n = len(self._slot)
        if not n:
            return []
        avg = self._total_length / n or 1.0
        scores = np.zeros(len(self._ids), dtype=np.float32)
        for term in set(tokenize(query)):
            postings = self._array(term)
            if postings is None:
                continue
            slots, tfs = postings
            idf = math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
            norm = tfs + self.k1 * (1 - self.b + self.b * self._lengths[slots] / avg)
            scores[slots] += idf * tfs * (self.k1 + 1) / norm
        hits = np.flatnonzero(scores > 0)
        if not len(hits):
            return []
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        ranked = sorted(
            ((self._ids[i], float(scores[i])) for i in hits), key=lambda x: (-x[1], x[0])
        )
        return ranked[:k]  # type: ignore[return-value]
