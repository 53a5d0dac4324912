"""The index manifest: which files were indexed (stat + content hash) and their chunks (id, hash, text).

SQLite in the data dir. It is the source of truth for what the knowledge base holds: the BM25 index is
rebuilt from it at start-up, and Chroma is reconciled against it. Writes are one transaction per
index run, committed after Chroma has been updated, so a crash in between only means re-doing work.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from knowledge.models import Chunk, FileState

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, sha1 TEXT NOT NULL,
    title TEXT NOT NULL, tags TEXT NOT NULL, headings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, heading TEXT NOT NULL, part INTEGER NOT NULL,
    ordinal INTEGER NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source);
CREATE TABLE IF NOT EXISTS sentences (hash TEXT PRIMARY KEY, count INTEGER NOT NULL, vectors BLOB NOT NULL);
"""


class Manifest:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def files(self) -> dict[str, FileState]:
        with self._lock:
            rows = self._db.execute(
                "SELECT source, mtime_ns, size, sha1, title, tags, headings FROM files"
            ).fetchall()
        return {
            r[0]: FileState(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]))
            for r in rows
        }

    def chunks(self, source: str | None = None) -> list[Chunk]:
        sql = "SELECT id, source, heading, part, text, hash, ordinal FROM chunks"
        args: tuple = ()
        if source is not None:
            sql, args = sql + " WHERE source = ?", (source,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY source, ordinal", args).fetchall()
        return [Chunk(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def sentence_vectors(self) -> dict[str, np.ndarray]:
        """Per chunk content hash, the vectors of its sentences (see knowledge/sentences.py)."""
        with self._lock:
            rows = self._db.execute("SELECT hash, count, vectors FROM sentences").fetchall()
        return {r[0]: np.frombuffer(r[2], dtype=np.float32).reshape(r[1], -1).copy() for r in rows}

    def keep_sentence_vectors(self, added: dict[str, np.ndarray], live: set[str]) -> None:
        """Store `added` and drop the rows of content no chunk has any more, in one transaction."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT OR REPLACE INTO sentences VALUES (?, ?, ?)",
                    [
                        (h, len(v), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                        for h, v in added.items()
                    ],
                )
                stale = [
                    (h,) for (h,) in cur.execute("SELECT hash FROM sentences") if h not in live
                ]
                cur.executemany("DELETE FROM sentences WHERE hash = ?", stale)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def apply(
        self,
        files: Iterable[FileState],
        chunks_by_source: dict[str, list[Chunk]],
        removed_sources: Iterable[str],
        meta: dict[str, str] | None = None,
    ) -> None:
        """One transaction: upsert file states, replace the chunks of the given sources, drop sources."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for source in removed_sources:
                    cur.execute("DELETE FROM files WHERE source = ?", (source,))
                    cur.execute("DELETE FROM chunks WHERE source = ?", (source,))
                for state in files:
                    cur.execute(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            state.source,
                            state.mtime_ns,
                            state.size,
                            state.sha1,
                            state.title,
                            json.dumps(state.tags),
                            json.dumps(state.headings),
                        ),
                    )
                for source, chunks in chunks_by_source.items():
                    cur.execute("DELETE FROM chunks WHERE source = ?", (source,))
                    cur.executemany(
                        "INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [
                            (c.id, c.source, c.heading, c.part, c.ordinal, c.text, c.hash)
                            for c in chunks
                        ],
                    )
                for key, value in (meta or {}).items():
                    cur.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
