"""The knowledge index shared by replicas: a Chroma server (chromadb `HttpClient`) as the store of
record, and the lock that lets one replica at a time write to it.

- `RemoteVectorStore`: the same collection as the embedded store, on `SHOPDESK_CHROMA_URL`.
  Every section is stored whole (text, heading, source, part, hash, position) next to its vector,
  so a replica rebuilds its in-memory index from the server alone.
- `RedisLease`: `SET key token NX PX ttl`, released only by its holder (a compare-and-delete
  script), so a replica that dies mid-run frees the lock when the lease runs out.
- `PostgresLock`: without Redis, a transaction-level advisory lock on the shared database.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Protocol
from urllib.parse import urlsplit

from knowledge.store import COLLECTION, VectorStore

LEASE_MS = 10 * 60 * 1000  # longer than any index run of a store's knowledge base
WAIT_SECONDS = 15 * 60.0
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)


class RemoteVectorStore(VectorStore):
    def __init__(self, url: str) -> None:  # noqa: D107 - the base class's collection, remote
        import chromadb
        from chromadb.config import Settings

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("SHOPDESK_CHROMA_URL must look like http://host:port")
        self._client = chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 8000),
            ssl=parts.scheme == "https",
            settings=Settings(anonymized_telemetry=False),
        )
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model": "all-MiniLM-L6-v2"},
        )

    def heartbeat(self) -> None:
        """Raises when the Chroma server does not answer (the readiness check)."""
        self._client.heartbeat()


class IndexLock(Protocol):
    def hold(self) -> contextlib.AbstractContextManager[None]:
        """Held while one replica writes the shared index; waits for another's run to end."""
        ...


class RedisLease:
    def __init__(self, redis_url: str, key: str, *, lease_ms: int = LEASE_MS) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)
        self.key, self.lease_ms = key, lease_ms

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + WAIT_SECONDS
        pause = 0.01
        while not self._redis.set(self.key, token, nx=True, px=self.lease_ms):
            if time.monotonic() > deadline:
                raise TimeoutError("another replica has held the knowledge index lock too long")
            time.sleep(pause)  # a lock wait, not product time
            pause = min(pause * 2, 0.5)
        try:
            yield
        finally:
            self._redis.eval(_RELEASE, 1, self.key, token)

    def close(self) -> None:
        self._redis.close()


class PostgresLock:
    """`pg_advisory_xact_lock` on the shared database: released with the transaction, and by
    PostgreSQL itself when a replica's connection dies."""

    def __init__(self, database_url: str, name: str) -> None:
        import sqlalchemy as sa

        self._sa = sa
        self._engine = sa.create_engine(database_url, pool_size=1, max_overflow=0)
        self._key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._engine.begin() as conn:
            conn.execute(self._sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": self._key})
            yield

    def close(self) -> None:
        self._engine.dispose()


class LocalLock:
    """One process (the embedded default): the knowledge base's own thread lock is enough."""

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        yield


__all__ = ["IndexLock", "LocalLock", "PostgresLock", "RedisLease", "RemoteVectorStore"]
