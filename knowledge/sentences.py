"""Sentence vectors: how well a section's best sentence matches a question.

A section is stored as one vector (its text plus its heading, see `embedding.embed_chunks`), which
averages everything the section says. A shopper's question usually matches one sentence of it: "when
do I get my money back?" is one line of *How long a refund takes*, which also talks about inspection
and emails. So each sentence (with its section's own heading in front, for the topic) gets a vector
too, and the hybrid ranking blends the best sentence's cosine into the section's
(`ranking.SENTENCE_WEIGHT`).

The vectors are kept in the manifest by the section's content hash, so an unchanged section is
never embedded again, a moved one reuses its rows, and a replica on a shared store fills in only
what its own manifest lacks.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

import numpy as np

from knowledge import embedding
from knowledge.embedding import embed_passages
from knowledge.manifest import Manifest
from knowledge.models import Chunk

VERSION = "2"  # of `split`: rows made by another split are embedded again
MIN_WORDS = 4  # "Prefer a person?" alone says nothing a section's vector does not
# Paragraphs and list items end a sentence; a single line break is only the editor's wrapping.
_BLOCKS = re.compile(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MARKUP = re.compile(r"^[\s>*#+-]+|[*_`]+")


def split(chunk: Chunk) -> list[str]:
    """The sentences of a section's body, each prefixed with the section's own heading."""
    topic = chunk.heading.rsplit(" > ", 1)[-1]
    blocks = (" ".join(block.split()) for block in _BLOCKS.split(chunk.text))
    parts = (
        _MARKUP.sub("", piece).strip()
        for block in blocks
        for piece in _SENTENCE_END.split(_MARKUP.sub("", block))
    )
    return [f"{topic}: {part}" for part in parts if len(part.split()) >= MIN_WORDS]


# Sentence → vector for this process: a knowledge base opened again on a fresh data directory (a
# rebuilt index, a second store in one process, every test server) does not embed the same
# sentences again. ~1.5 KB a row; the oldest go first past MEMO_MAX.
MEMO_MAX = 10_000
_memo: dict[str, np.ndarray] = {}
_memo_lock = threading.Lock()


def _embed(texts: list[str], threads: int | None) -> np.ndarray:
    with _memo_lock:
        known = {t: _memo[t] for t in texts if t in _memo}
    todo = [t for t in dict.fromkeys(texts) if t not in known]
    if todo:
        made = dict(zip(todo, embed_passages(todo, threads=threads), strict=True))
        known |= made
        with _memo_lock:
            _memo.update(made)
            for old in list(_memo)[: max(0, len(_memo) - MEMO_MAX)]:
                del _memo[old]
    return np.stack([known[t] for t in texts]).astype(np.float32, copy=False)


def _key(chunk: Chunk) -> str:
    return f"{chunk.hash}|{VERSION}"


class SentenceIndex:
    """Every live section's sentence vectors, by content hash, with a stacked matrix for scoring."""

    def __init__(self, manifest: Manifest, threads: int | None = None) -> None:
        self._manifest = manifest
        self._threads = threads
        self._lock = threading.Lock()
        self._by_hash: dict[str, np.ndarray] | None = None
        # (each key's position, each row's position, the rows stacked): rebuilt after any change
        self._matrix: tuple[dict[str, int], np.ndarray, np.ndarray] | None = None

    def sync(self, chunks: Iterable[Chunk]) -> int:
        """Embed the sentences of sections not seen before; forget those of gone sections.
        Returns how many sentences were embedded. Searches keep scoring with the rows they have
        while new ones are embedded: the lock is held only to read and to swap."""
        live = {_key(c): c for c in chunks}
        with self._lock:
            if self._by_hash is None:
                self._by_hash = self._manifest.sentence_vectors()
            todo = [c for key, c in live.items() if key not in self._by_hash]
            gone = self._by_hash.keys() - live.keys()
        if not todo and not gone:
            return 0
        texts = [split(c) for c in todo]
        flat = [t for group in texts for t in group]
        vectors = (
            _embed(flat, self._threads)
            if flat
            else np.zeros((0, embedding.DIMENSIONS), dtype=np.float32)
        )
        added: dict[str, np.ndarray] = {}
        start = 0
        for chunk, group in zip(todo, texts, strict=True):
            added[_key(chunk)] = vectors[start : start + len(group)]
            start += len(group)
        self._manifest.keep_sentence_vectors(added, set(live))
        with self._lock:
            kept = {key: rows for key, rows in self._by_hash.items() if key in live}
            self._by_hash = kept | added
            self._matrix = None
        return len(flat)

    def best(self, vector: np.ndarray, chunks: Iterable[Chunk]) -> dict[str, float]:
        """By content hash, the best cosine of any sentence of these sections (absent: none)."""
        with self._lock:
            if self._by_hash is None:
                return {}
            if self._matrix is None:
                self._matrix = self._stack(self._by_hash)
            position, owners, matrix = self._matrix
        if not position:
            return {}
        top = np.full(len(position), -np.inf, dtype=np.float32)
        np.maximum.at(top, owners, matrix @ vector.astype(np.float32, copy=False))
        found = ((c.hash, position.get(_key(c))) for c in chunks)
        return {h: float(top[i]) for h, i in found if i is not None}

    @staticmethod
    def _stack(by_hash: dict[str, np.ndarray]) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
        keys = [h for h, rows in by_hash.items() if len(rows)]
        if not keys:
            return {}, np.zeros(0, dtype=np.intp), np.zeros((0, embedding.DIMENSIONS), np.float32)
        owners = np.concatenate(
            [np.full(len(by_hash[h]), i, dtype=np.intp) for i, h in enumerate(keys)]
        )
        matrix = np.concatenate([by_hash[h] for h in keys]).astype(np.float32, copy=False)
        return {h: i for i, h in enumerate(keys)}, owners, matrix
