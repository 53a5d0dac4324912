"""KnowledgeBase: incremental indexing of a markdown folder and hybrid search over it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from actions.text import normalise_text
from knowledge import embedding, queries, ranking, shopper_words, spelling
from knowledge.bm25 import BM25Index, tokenize
from knowledge.chunker import CHUNKER_VERSION
from knowledge.manifest import Manifest
from knowledge.models import (
    Chunk,
    FileInfo,
    IndexReport,
    IndexWarning,
    Passage,
    SearchResult,
)
from knowledge.remote import IndexLock, LocalLock
from knowledge.retrieval import dense_confidence, keyword_confidence, rrf
from knowledge.scan import scan
from knowledge.sentences import SentenceIndex
from knowledge.store import VectorStore
from knowledge.watch import Watcher

Mode = Literal["hybrid", "dense", "keyword"]
Fusion = Literal["convex", "rrf"]
MODES: tuple[str, ...] = ("hybrid", "dense", "keyword")
INDEX_VERSION = f"{embedding.MODEL_NAME}|chunker-{CHUNKER_VERSION}"
CANDIDATES = 30  # per ranking, before fusion


class KnowledgeBase:
    """A folder of markdown files, indexed into `data_dir` (manifest + Chroma), searchable.

    Thread-safe: one index run at a time (`index` may be called from a watcher thread while
    searches run); searches read an in-memory snapshot guarded by a short lock.
    """

    def __init__(
        self,
        kb_dir: Path | str,
        data_dir: Path | str,
        fusion: Fusion = "convex",
        index_threads: int | None = None,
        *,
        store: VectorStore | None = None,
        lock: IndexLock | None = None,
        dense_in_memory_max: int | None = None,
    ) -> None:
        self.kb_dir = Path(kb_dir)
        self.data_dir = Path(data_dir)
        self.fusion = fusion
        self.index_threads = index_threads  # None: chosen by the machine's load per index run
        self._index_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._manifest = Manifest(self.data_dir / "knowledge.sqlite")
        # A store given here is shared by replicas (a Chroma server): the record, written under
        # `lock`; `on_indexed` hears the sources this replica changed, `refresh` loads others'.
        self._store: VectorStore | None = store
        self.shared, self._lock = store is not None, lock or LocalLock()
        self.on_indexed: Callable[[list[str]], None] | None = None
        self.dense_in_memory_max = dense_in_memory_max  # above it, Chroma ranks (see _dense)
        self._chunks: dict[str, Chunk] = {}
        self._vectors: dict[str, np.ndarray] = {}  # every chunk's vector, as stored in Chroma
        # `_vectors` stacked for the dense ranking, rebuilt after any change (see `_dense`).
        self._matrix: tuple[list[str], np.ndarray] | None = None
        self._by_source: dict[str, list[str]] = {}
        self._bm25 = BM25Index()
        self._sentences = SentenceIndex(self._manifest, index_threads)
        self._loaded = False
        self._warnings: list[IndexWarning] = []

    # ---------------------------------------------------------------- state
    @property
    def store(self) -> VectorStore:
        with self._state_lock:
            if self._store is None:
                self._store = VectorStore(self.data_dir / "chroma")
            return self._store

    @property
    def warnings(self) -> list[IndexWarning]:
        with self._state_lock:
            return list(self._warnings)

    def __len__(self) -> int:
        self._ensure_loaded()
        return len(self._chunks)

    def files(self) -> list[FileInfo]:
        return [
            FileInfo(source=s.source, title=s.title, tags=s.tags, headings=s.headings)
            for s in sorted(self._manifest.files().values(), key=lambda s: s.source)
        ]

    def chunks(self) -> list[Chunk]:
        self._ensure_loaded()
        with self._state_lock:
            return sorted(self._chunks.values(), key=lambda c: (c.source, c.ordinal))

    def _ensure_loaded(self) -> None:
        """Load the manifest into memory (BM25 + chunk table) and reconcile Chroma with it."""
        with self._state_lock:
            if self._loaded:
                return
            if self.shared:
                self._load_shared(None)
                self._loaded = True
                return
            if self._manifest.get_meta("version") not in (None, INDEX_VERSION):
                self._reset()
            for chunk in self._manifest.chunks():
                self._put(chunk)
            self._reconcile()
            self._vectors = {
                cid: vec for cid, vec in self.store.vectors().items() if cid in self._chunks
            }
            self._matrix = None
            self._sentences.sync(self._chunks.values())
            self._loaded = True

    def _load_shared(self, sources: list[str] | None) -> list[str]:
        """Replace these sources (None: all) with what the shared store holds now."""
        found = self.store.chunks(sources)
        with self._state_lock:
            for source in sources if sources is not None else []:
                self._drop_source(source)
            for chunk, vector in sorted(found, key=lambda cv: (cv[0].source, cv[0].ordinal)):
                if chunk.id in self._chunks:
                    self._drop_source(chunk.source)
                self._put(chunk)
                self._vectors[chunk.id] = vector
            self._matrix = None
            self._sentences.sync(self._chunks.values())
        return sorted({c.source for c, _ in found})

    def refresh(self, sources: list[str]) -> None:
        """Another replica changed these sources in the shared store: load them as they are."""
        if self.shared and self._loaded:  # else the first search loads everything anyway
            self._load_shared(sources)

    def _reset(self) -> None:
        # The model or the chunker changed: nothing in the old index can be trusted.
        stale = [c.id for c in self._manifest.chunks()]
        self.store.delete(stale)
        self._manifest.apply([], {}, list(self._manifest.files()), {"version": INDEX_VERSION})

    def _reconcile(self) -> None:
        # A crash between the Chroma write and the manifest commit leaves them out of step.
        if self.store.count() == len(self._chunks):
            return
        present = self.store.ids()
        extra = present - self._chunks.keys()
        if extra:
            self.store.delete(sorted(extra))
        missing = [self._chunks[i] for i in self._chunks.keys() - present]
        if missing:
            vectors = embedding.embed_chunks(
                [c.embed_text for c in missing],
                [c.heading for c in missing],
                threads=self.index_threads,
            )
            self.store.upsert(missing, vectors)

    def _put(self, chunk: Chunk) -> None:
        self._chunks[chunk.id] = chunk
        self._by_source.setdefault(chunk.source, []).append(chunk.id)
        self._bm25.add(chunk.id, chunk.embed_text)

    def _drop_source(self, source: str) -> list[str]:
        ids = self._by_source.pop(source, [])
        for chunk_id in ids:
            self._chunks.pop(chunk_id, None)
            self._vectors.pop(chunk_id, None)
            self._bm25.remove(chunk_id)
        self._matrix = None
        return ids

    # ---------------------------------------------------------------- indexing
    def index(self, progress: bool = False) -> IndexReport:
        """Bring the index in line with the folder, touching only what changed."""
        with self._index_lock:
            started = time.perf_counter()
            self._ensure_loaded()
            report = IndexReport()
            known = self._manifest.files()
            found = scan(self.kb_dir, known)
            report.unchanged = sum(len(self._by_source.get(s, [])) for s in found.unchanged_sources)
            states, new_chunks, removed_sources = found.states, found.chunks, found.removed
            warnings = found.warnings

            to_embed, delete_ids = self._diff(new_chunks, removed_sources, report)
            vectors = self._embed(to_embed, progress)
            touched = self._touched(to_embed, delete_ids, removed_sources)
            if to_embed or delete_ids:
                with self._lock.hold():  # one replica writes the shared store at a time
                    if to_embed:
                        self.store.upsert(to_embed, vectors)
                    if delete_ids:
                        self.store.delete(delete_ids)
            if states or removed_sources or not known:
                self._manifest.apply(
                    states, new_chunks, removed_sources, {"version": INDEX_VERSION}
                )

            with self._state_lock:
                kept_vectors = {cid: self._vectors.get(cid) for cid in self._chunks}
                for source in removed_sources:
                    self._drop_source(source)
                for source, chunks in new_chunks.items():
                    self._drop_source(source)
                    for chunk in chunks:
                        self._put(chunk)
                        if kept_vectors.get(chunk.id) is not None:
                            self._vectors[chunk.id] = kept_vectors[chunk.id]  # type: ignore[assignment]
                for chunk, vector in zip(to_embed, vectors, strict=True):
                    self._vectors[chunk.id] = vector
                self._matrix = None
                self._warnings = warnings
                live = list(self._chunks.values())
            self._sentences.sync(live)
            report.files = found.files
            report.warnings = warnings
            report.seconds = round(time.perf_counter() - started, 3)
        if touched and self.on_indexed is not None:
            self.on_indexed(touched)
        return report

    def _touched(self, embed: list[Chunk], deleted: list[str], removed: list[str]) -> list[str]:
        gone = {self._chunks[i].source for i in deleted if i in self._chunks}
        return sorted({c.source for c in embed} | gone | set(removed))

    def _diff(
        self, new_chunks: dict[str, list[Chunk]], removed_sources: list[str], report: IndexReport
    ) -> tuple[list[Chunk], list[str]]:
        to_embed: list[Chunk] = []
        delete_ids: list[str] = []
        with self._state_lock:
            for source in removed_sources:
                ids = self._by_source.get(source, [])
                delete_ids.extend(ids)
                report.removed += len(ids)
            for source, chunks in new_chunks.items():
                old = {cid: self._chunks[cid] for cid in self._by_source.get(source, [])}
                for chunk in chunks:
                    before = old.pop(chunk.id, None)
                    if before is None:
                        report.added += 1
                        to_embed.append(chunk)
                    elif before.hash != chunk.hash:
                        report.updated += 1
                        to_embed.append(chunk)
                    else:
                        report.unchanged += 1
                delete_ids.extend(old)
                report.removed += len(old)
        return to_embed, delete_ids

    def _embed(self, chunks: list[Chunk], progress: bool) -> np.ndarray:
        """Vectors for `chunks`; a chunk whose content hash is already indexed elsewhere (a file
        renamed or moved, a section moved between files) reuses that vector instead."""
        out = np.zeros((len(chunks), embedding.DIMENSIONS), dtype=np.float32)
        with self._state_lock:
            known = {
                c.hash: self._vectors[c.id] for c in self._chunks.values() if c.id in self._vectors
            }
        todo = [i for i, c in enumerate(chunks) if c.hash not in known]
        for i, chunk in enumerate(chunks):
            if chunk.hash in known:
                out[i] = known[chunk.hash]
        if todo:
            todo_chunks = [chunks[i] for i in todo]
            out[todo] = embedding.embed_chunks(
                [c.embed_text for c in todo_chunks],
                [c.heading for c in todo_chunks],
                threads=self.index_threads,
                progress="Embedding sections" if progress else None,
            )
        return out

    # ---------------------------------------------------------------- search
    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._ensure_loaded()
        query = self._query_words(query)
        if not query or k < 1:
            return SearchResult(passages=[], confidence=0.0)
        vector = queries.query_encoder().encode(query) if mode != "keyword" else None
        return self._search(query, vector, k, mode)

    async def asearch(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        """Safe on the event loop: the encode runs on the encoder thread, batched with any other
        queries waiting at the same moment, and the ranking (an in-memory scan and BM25, well
        under a millisecond) follows it on that thread: one hand-off per search, not two."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if not self._loaded:
            await asyncio.to_thread(self._ensure_loaded)
        query = self._query_words(query)
        if not query or k < 1:
            return SearchResult(passages=[], confidence=0.0)
        if mode == "keyword":
            return await asyncio.to_thread(self._search, query, None, k, mode)
        future = queries.query_encoder().submit(
            query, then=lambda vector: self._search(query, vector, k, mode)
        )
        return await asyncio.wrap_future(future)

    def _query_words(self, query: str) -> str:
        # The stored kind of text, its typos mended against the pages, then shoppers' words glossed.
        return shopper_words.expand(spelling.mend_query(self, normalise_text(query).strip()))

    def _dense(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine), best first: an exact scan of the in-memory copy of the vectors.

        Chroma stays the store of record (written on every index run, read back at start-up);
        asking it per query cost ~2 ms of CPU plus its own threads, where a matrix product over
        the stored vectors costs microseconds for a store-sized knowledge base (and is exact,
        where HNSW is approximate), up to `dense_in_memory_max`. Callers hold `_state_lock`."""
        limit = self.dense_in_memory_max
        if limit is not None and len(self._vectors) > limit:
            return self.store.query(vector, n)
        if self._matrix is None:
            ids = list(self._vectors)
            matrix = (
                np.stack([self._vectors[cid] for cid in ids]).astype(np.float32, copy=False)
                if ids
                else np.zeros((0, embedding.DIMENSIONS), dtype=np.float32)
            )
            self._matrix = (ids, matrix)
        ids, matrix = self._matrix
        if not ids:
            return []
        sims = matrix @ vector.astype(np.float32, copy=False)
        n = min(n, len(ids))
        top = np.argpartition(-sims, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(ids[i], float(sims[i])) for i in top]

    def _search(self, query: str, vector: np.ndarray | None, k: int, mode: str) -> SearchResult:
        n = max(CANDIDATES, 4 * k)
        with self._state_lock:
            dense = self._dense(vector, n) if vector is not None else []
            dense = [(cid, sim) for cid, sim in dense if cid in self._chunks]  # drop stale ids
            keyword = self._bm25.search(query, n) if mode != "dense" else []
            if mode == "dense":
                ranked = dense
            elif mode == "keyword":
                ranked = keyword
            elif self.fusion == "rrf":
                ranked = rrf([[c for c, _ in dense], [c for c, _ in keyword]])
            else:
                cosines = dict(dense)
                for cid, _ in keyword:
                    if cid not in cosines and cid in self._vectors:
                        cosines[cid] = float(self._vectors[cid] @ vector)
                best = self._sentences.best(vector, [self._chunks[cid] for cid in cosines])
                ranked = ranking.rank(query, self._chunks, cosines, best, keyword)
            passages = [
                Passage(
                    source=self._chunks[cid].source,
                    heading=self._chunks[cid].heading,
                    text=self._chunks[cid].text,
                    score=round(float(score), 6),
                )
                for cid, score in ranked[:k]
            ]
        if mode == "keyword":
            top = keyword[0][1] if keyword else None
            confidence = keyword_confidence(top, len(set(tokenize(query))))
        else:
            confidence = dense_confidence(dense[0][1] if dense else None)
        return SearchResult(passages=passages, confidence=confidence)

    # ---------------------------------------------------------------- watching
    def start_watching(
        self,
        on_report: Callable[[IndexReport], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> Watcher:
        """Re-index on every change below kb_dir, in a background thread. Returns a handle with
        `.stop()` (also a context manager)."""
        watcher = Watcher(self, on_report=on_report, on_error=on_error)
        watcher.start()
        return watcher

    def close(self) -> None:
        self._manifest.close()
