"""The knowledge base a server opens, and how replicas keep theirs in step.

With `SHOPDESK_CHROMA_URL` the index of record is a Chroma server that every replica reads; one
replica writes at a time (a Redis lease with `SHOPDESK_REDIS_URL`, else an advisory lock on a
PostgreSQL database). After a write the replica publishes the sources it changed on
`<prefix>:knowledge`; every other replica re-reads just those sources from Chroma.

This subscriber is deliberately small and on its own connection; when the conversation bus lands
it becomes one more topic on it (publish in `KnowledgeSync.publish`, handle in `_handle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from pathlib import Path
from typing import Any

from agent.app.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.remote import IndexLock, LocalLock, PostgresLock, RedisLease, RemoteVectorStore

log = logging.getLogger("shopdesk.knowledge")
MAX_SOURCES = 1000  # per message: a bound on what a peer can make this replica re-read


def index_lock(settings: Settings) -> IndexLock:
    name = f"{settings.redis_prefix}knowledge-index"
    if settings.redis_url:
        return RedisLease(settings.redis_url.get_secret_value(), name)
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        return PostgresLock(url, name)
    return LocalLock()  # SQLite: one machine, and the knowledge base's own lock suffices


def open_knowledge(settings: Settings) -> KnowledgeBase:
    if not settings.chroma_url:
        return KnowledgeBase(
            Path(settings.kb), Path(settings.data), index_threads=settings.index_threads,
            dense_in_memory_max=settings.knowledge_dense_in_memory_max,
        )  # fmt: skip
    return KnowledgeBase(
        Path(settings.kb), Path(settings.data), index_threads=settings.index_threads,
        store=RemoteVectorStore(settings.chroma_url), lock=index_lock(settings),
        dense_in_memory_max=settings.knowledge_dense_in_memory_max,
    )  # fmt: skip


class KnowledgeSync:
    """Publishes this replica's index changes and applies the others'."""

    def __init__(self, kb: KnowledgeBase, redis_url: str, channel: str) -> None:
        import redis
        import redis.asyncio as aioredis

        self.kb, self.channel = kb, channel
        self.origin = secrets.token_hex(8)  # this replica, so it skips its own messages
        self._pub = redis.Redis.from_url(redis_url)
        self._sub: Any = aioredis.Redis.from_url(redis_url)
        self._task: asyncio.Task[None] | None = None

    def publish(self, sources: list[str]) -> None:
        """`KnowledgeBase.on_indexed`: runs on the indexing thread."""
        message = json.dumps({"origin": self.origin, "sources": sources[:MAX_SOURCES]})
        try:
            self._pub.publish(self.channel, message)
        except Exception:  # the other replicas catch up at their next index run
            log.exception("could not tell the other replicas about a knowledge change")

    async def start(self) -> None:
        pubsub = self._sub.pubsub()
        await pubsub.subscribe(self.channel)  # subscribed before the server reports ready
        self.kb.on_indexed = self.publish
        self._task = asyncio.create_task(self._listen(pubsub), name="shopdesk-knowledge-sync")

    async def _listen(self, pubsub: Any) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                if message is not None:
                    await self._handle(message.get("data"))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _handle(self, data: object) -> None:
        try:
            body = json.loads(data) if isinstance(data, bytes | str) else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("origin") == self.origin:
            return
        sources = [s for s in body.get("sources", []) if isinstance(s, str)][:MAX_SOURCES]
        if sources:
            try:
                await asyncio.to_thread(self.kb.refresh, sources)
            except Exception:
                log.exception("could not load knowledge changed by another replica")
                return
            log.info("knowledge: loaded %d changed source(s) from another replica", len(sources))

    async def stop(self) -> None:
        self.kb.on_indexed = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._sub.aclose()
        self._pub.close()


async def start_knowledge_sync(kb: object, settings: Settings) -> KnowledgeSync | None:
    """A running sync for a shared knowledge base on Redis; None in every other setup."""
    if not isinstance(kb, KnowledgeBase) or not kb.shared or not settings.redis_url:
        return None
    url = settings.redis_url.get_secret_value()
    sync = KnowledgeSync(kb, url, f"{settings.redis_prefix}knowledge")
    await sync.start()
    return sync


__all__ = ["KnowledgeSync", "index_lock", "open_knowledge", "start_knowledge_sync"]
