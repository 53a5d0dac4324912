"""Misspelt questions: words the store's own text does not know, corrected before the search.

A shopper typing in a hurry writes "can i exchnage a mug" or "do u shp to canda"; neither the
keyword index nor the embedding model knows "exchnage", so the search ranks on what is left ("mug")
and lands on the wrong section. `Speller` corrects such words against a vocabulary built from the
knowledge base itself (every section's heading path and text, so product and policy words the
store uses: "engraved", "restocking", "giclée"), optionally with extra words a caller passes in
(the catalogue's product names, which live with the order records in actions/).

What is corrected, and what never is:
- only a word that is unknown: not in the knowledge base's text, not an extra word, and not an
  English word (the frequency list symspellpy ships). So a question spelt correctly comes back
  unchanged, character for character, and searches exactly as before;
- never a short word ("u", "pls", "thx": shorthand more often than typos), an all-capitals code
  ("RMA", "CER-MUG-SAGE"), a contraction, or a token with a digit, "@", "/", "#" or "_" in it
  (order numbers, emails, amounts, links);
- one edit for words under six letters, two from six; among the closest of the knowledge base's
  words the one it uses most. When none is one edit away, the commonest English word one edit
  away, if the knowledge base uses its family ("exchnage" → "exchange" for a text that only says
  "exchanges"); an English word nearer than the store's and foreign to them means leave it.
  A run-together word with no candidate is split in two known words ("giftcards" → "gift cards").

Cheap at query time: a known word costs a set lookup; an unknown one a symspell lookup (tens of
microseconds), remembered until the vocabulary changes. `speller_for(kb)` keeps one speller per
knowledge base and brings it in line with the index before each use: it compares the index's
section table with the one it last saw (a dict comparison, identical objects match by identity)
and recounts only the sections that changed, so an edit picked up by reindex or the watcher is in
the vocabulary for the next question.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
import unicodedata
import weakref
from collections import Counter
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from symspellpy import SymSpell, Verbosity  # type: ignore[import-untyped]

from knowledge.bm25 import stem
from knowledge.models import Chunk

MAX_DISTANCE = 2
MIN_LENGTH = 4  # shorter words are left alone
LONG_WORD = 6  # from this length two edits are allowed, below it one
MIN_PART = 3  # each half of a split run-together word
MEMO_SIZE = 4096

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# A token holding any of these is an order number, an amount, an email, a link or a code.
_OPAQUE = re.compile(r"[\d@/\\#_]")
_ENGLISH = "frequency_dictionary_en_82_765.txt"


@functools.cache
def english() -> dict[str, int]:
    """symspellpy's English frequency list (installed with it: nothing downloads), word → count.
    It recognises correct words ("colour", "hello" are not the store's words, nor typos) and
    offers one-edit corrections the store's text lacks ("pakage" → "package")."""
    source = resources.files("symspellpy").joinpath(_ENGLISH)
    with source.open(encoding="utf-8") as lines:
        pairs = (line.split() for line in lines)
        return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}


@functools.cache
def contractions() -> dict[str, str]:
    """ "doesnt" → "doesn't": contractions typed without their apostrophe are not typos."""
    return {w.replace("'", ""): w for w in english() if "'" in w}


def _plain(word: str) -> str:
    """Without accents: "café" is known as "cafe" (the English list is unaccented)."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def one_edit(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away (a-z)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return (
        {a + b[1:] for a, b in splits if b}
        | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        | {a + c + b[1:] for a, b in splits if b for c in letters}
        | {a + c + b for a, b in splits for c in letters}
    ) - {word}


def words_of(text: str) -> list[str]:
    """The lower-cased words of `text` (letters, with inner apostrophes), as the vocabulary
    counts them."""
    return [w.replace("’", "'") for w in _WORD.findall(text.lower())]


class Speller:
    """A vocabulary with word frequencies, and the corrections it allows.

    Thread-safe: a knowledge base is searched from the event loop and the encoder thread while
    a watcher re-indexes; every read and update holds one short lock."""

    def __init__(self, texts: Iterable[str] = (), extra: Iterable[str] = ()) -> None:
        self._sym = SymSpell(max_dictionary_edit_distance=MAX_DISTANCE, prefix_length=7)
        self._counts: Counter[str] = Counter()
        self._sorted: list[str] | None = None  # the words in order, for prefix look-ups
        self._lock = threading.RLock()
        self._memo: dict[str, str | None] = {}
        self._seen: dict[str, Chunk] = {}  # the section table last synced
        self._per_chunk: dict[str, Counter[str]] = {}
        for text in texts:
            self._change(Counter(words_of(text)), 1)
        self.add_words(extra)

    # ------------------------------------------------------------ vocabulary
    def add_words(self, words: Iterable[str]) -> None:
        """More words to know and to correct towards (product names, say), once each."""
        with self._lock:
            self._change(Counter(w for phrase in words for w in words_of(phrase)), 1)

    def sync(self, chunks: Mapping[str, Chunk]) -> bool:
        """Follow the index's section table (chunk id → chunk): sections gone or edited are
        uncounted, new or edited ones counted. Returns whether anything changed."""
        with self._lock:
            if chunks == self._seen:
                return False
            for cid, chunk in self._seen.items():
                if chunks.get(cid) != chunk:
                    self._change(self._per_chunk.pop(cid, Counter()), -1)
            for cid, chunk in chunks.items():
                if self._seen.get(cid) != chunk:
                    counted = Counter(words_of(f"{chunk.heading}\n{chunk.text}"))
                    self._per_chunk[cid] = counted
                    self._change(counted, 1)
            self._seen = dict(chunks)
            return True

    def _change(self, words: Counter[str], sign: int) -> None:
        for word, n in words.items():
            before = self._counts[word]
            after = before + sign * n
            if after > 0:
                self._counts[word] = after
                if before <= 0:
                    self._sym.create_dictionary_entry(word, 1)  # frequencies live in _counts
            else:
                del self._counts[word]
                if before > 0:
                    self._sym.delete_dictionary_entry(word)
        if words:
            self._memo.clear()
            self._sorted = None

    def known(self, word: str) -> bool:
        lower = word.lower().replace("’", "'")
        with self._lock:
            if lower in self._counts:
                return True
        words = english()
        return lower in words or _plain(lower) in words or lower in contractions()

    def frequency(self, word: str) -> int:
        with self._lock:
            return self._counts[word.lower()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._counts)

    # ------------------------------------------------------------ correcting
    def correct(self, word: str) -> str | None:
        """The correction of one word, or None when it is left as it is."""
        # All capitals: a code or an acronym (RMA, USPS, each part of CER-MUG-SAGE).
        if len(word) < MIN_LENGTH or word.isupper() or "'" in word or "’" in word:
            return None
        if self.known(word):
            return None
        lower = word.lower()
        with self._lock:
            if lower in self._memo:
                found = self._memo[lower]
            else:
                found = self._closest(lower) or self._split(lower)
                if len(self._memo) >= MEMO_SIZE:
                    self._memo.clear()
                self._memo[lower] = found
        if found is None:
            return None
        return found[:1].upper() + found[1:] if word[:1].isupper() else found

    def _closest(self, word: str) -> str | None:
        """The nearest of the knowledge base's words (one edit, or two for a long word), the one
        it uses most; or, when none is one edit away, the commonest English word one edit away,
        if the knowledge base uses its family ("exchnage" → "exchange", though the text only says
        "exchanges"; "pakage" → "package", for "packaging"). An English word nearer than any of
        the store's words and foreign to them ("amex" → "alex") means: leave it alone."""
        distance = 1 if len(word) < LONG_WORD else MAX_DISTANCE
        found = self._sym.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        store = min(found, key=lambda s: (s.distance, -self._counts[s.term], s.term), default=None)
        if store is not None and store.distance <= 1:
            return str(store.term)
        words = english()
        nearby = one_edit(word)
        common = max(nearby & words.keys(), key=lambda w: (words[w], w), default=None)
        if common is None:
            spoken = nearby & contractions().keys()
            return contractions()[min(spoken)] if spoken else (store and str(store.term))
        return common if self._uses_family(common) else None

    def _uses_family(self, word: str) -> bool:
        """Whether the knowledge base has a word of `word`'s family: one that starts with its
        stem ("exchanges" for "exchange"). A prefix look-up in the sorted words; stemming every
        word of the text instead cost ~0.2 ms a word (the Snowball stemmer is pure Python)."""
        root = stem(word)
        if len(root) < MIN_PART:
            return False
        if self._sorted is None:
            self._sorted = sorted(self._counts)
        at = bisect.bisect_left(self._sorted, root)
        return at < len(self._sorted) and self._sorted[at].startswith(root)

    def _split(self, word: str) -> str | None:
        """Two of the knowledge base's words run together ("giftcards"), the most used pair."""
        pairs = [
            (word[:i], word[i:])
            for i in range(MIN_PART, len(word) - MIN_PART + 1)
            if word[:i] in self._counts and word[i:] in self._counts
        ]
        if not pairs:
            return None
        left, right = max(pairs, key=lambda p: min(self._counts[p[0]], self._counts[p[1]]))
        return f"{left} {right}"

    def corrections(self, text: str) -> list[tuple[str, str]]:
        """(word as typed, correction) for every word of `text` that would change, in order."""
        found: list[tuple[str, str]] = []
        for token in _TOKEN.findall(text):
            if _OPAQUE.search(token):
                continue
            for word in _WORD.findall(token):
                fixed = self.correct(word)
                if fixed is not None:
                    found.append((word, fixed))
        return found

    def mend(self, text: str) -> str:
        """`text` with its unknown words corrected; everything else (spacing, punctuation, order
        numbers, emails, known words) exactly as typed."""

        def token(match: re.Match[str]) -> str:
            if _OPAQUE.search(match.group()):
                return match.group()
            return _WORD.sub(lambda w: self.correct(w.group()) or w.group(), match.group())

        return _TOKEN.sub(token, text)


# ---------------------------------------------------------------- one speller per knowledge base
_spellers: weakref.WeakKeyDictionary[Any, Speller] = weakref.WeakKeyDictionary()
_spellers_lock = threading.Lock()
_latest: weakref.ref[Speller] | None = None


def speller_for(kb: Any) -> Speller:
    """The speller of a KnowledgeBase, in line with its index as it is now.

    Reads the knowledge base's section table under its state lock (this module is the spelling
    half of KnowledgeBase, kept apart because base.py is at its size limit); the comparison with
    the table last seen is all a search pays when nothing changed."""
    global _latest
    with _spellers_lock:
        speller = _spellers.get(kb)
        if speller is None:
            speller = _spellers[kb] = Speller()
        _latest = weakref.ref(speller)
    with kb._state_lock:
        current: Mapping[str, Chunk] = kb._chunks
        changed = current != speller._seen
        snapshot = dict(current) if changed else None
    if snapshot is not None:
        speller.sync(snapshot)
    return speller


def mend_query(kb: Any, query: str) -> str:
    """The query as the search should read it: `query` with the words the knowledge base does
    not know corrected against its vocabulary (unchanged when every word is known)."""
    if not query:
        return query
    return speller_for(kb).mend(query)


def mend(text: str) -> str:
    """`text` corrected by the speller of the knowledge base searched last in this process, or
    unchanged before any search. For callers that see no KnowledgeBase (the offline model's
    intent routing gets the turn's text, not the index)."""
    speller = _latest() if _latest is not None else None
    return speller.mend(text) if speller is not None else text


__all__ = ["Speller", "english", "mend", "mend_query", "speller_for", "words_of"]
