"""The bus between replicas: what one replica tells the others (conversation events, console
updates, answers to confirmations, return decisions, "knowledge changed").

`publish(channel, payload)` reaches the subscribers of `channel` on every *other* replica; the
publisher acts on its own sockets itself, directly. So no echo is ever delivered (a replica drops
messages stamped with its own id), and a socket never sees an event twice. Payloads are small JSON
objects. `LocalBus` is the embedded default: one replica, nobody else to tell. `RedisBus` runs on
Redis pub/sub: one connection publishes in order from a queue (a turn's events stay in order), one
pattern subscription receives every channel of this store's prefix.

Anyone may use it (e.g. `bus.subscribe("knowledge", reload)` and `bus.publish("knowledge", {...})`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis

log = logging.getLogger("shopdesk.bus")

Payload = dict[str, Any]
Handler = Callable[[Payload], Awaitable[None]]


class Bus(Protocol):
    replica: str  # this replica's id (stamped on what it publishes)

    @property
    def distributed(self) -> bool:
        """Whether other replicas may exist (False: everything is in this process)."""
        ...

    def publish(self, channel: str, payload: Payload) -> None:
        """Tell the other replicas; returns at once, messages leave in the order published."""
        ...

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        """Run `handler` with what other replicas publish on `channel`; returns the unsubscribe."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _Handlers:
    def __init__(self) -> None:
        self.by_channel: dict[str, list[Handler]] = {}

    def add(self, channel: str, handler: Handler) -> Callable[[], None]:
        self.by_channel.setdefault(channel, []).append(handler)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self.by_channel.get(channel, []).remove(handler)

        return remove

    async def run(self, channel: str, payload: Payload) -> None:
        for handler in list(self.by_channel.get(channel, ())):
            try:
                await handler(payload)
            except Exception:  # one bad handler must not stop the others, or the listener
                log.exception("bus handler for %s failed", channel)


class LocalBus:
    """One replica: there is nobody else to tell."""

    def __init__(self) -> None:
        self.replica = uuid.uuid4().hex[:12]
        self._handlers = _Handlers()

    @property
    def distributed(self) -> bool:
        return False

    def publish(self, channel: str, payload: Payload) -> None:
        return None

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        return self._handlers.add(channel, handler)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBus:
    """Redis pub/sub under `prefix` (one store's namespace; a test's own)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.replica = uuid.uuid4().hex[:12]
        self.prefix = prefix
        self.redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self._handlers = _Handlers()
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._tried = asyncio.Event()  # the first subscription attempt has succeeded or failed
        # Our own echoes are recognised by their first bytes, before any JSON is parsed.
        self._own = json.dumps({"from": self.replica}, separators=(",", ":"))[:-1].encode()

    @property
    def distributed(self) -> bool:
        return True

    def publish(self, channel: str, payload: Payload) -> None:
        message = json.dumps({"from": self.replica, "data": payload}, separators=(",", ":"))
        self._outgoing.put_nowait((self.prefix + channel, message))

    def subscribe(self, channel: str, handler: Handler) -> Callable[[], None]:
        return self._handlers.add(channel, handler)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send(), name="bus-send"),
            asyncio.create_task(self._listen(), name="bus-listen"),
        ]
        # Subscribed before the replica serves anyone: nothing published after start is missed.
        # With Redis away it serves alone meanwhile (/readyz says not ready) and keeps retrying.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._tried.wait()
        if not self._subscribed.is_set():
            log.warning("Redis does not answer: this replica hears no other until it does")

    async def stop(self) -> None:
        await self.flush()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.redis.aclose()

    async def flush(self) -> None:
        """Wait until everything published so far has left (a graceful stop; tests)."""
        if any(not t.done() for t in self._tasks):
            await self._outgoing.join()

    async def _send(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for channel, message in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
            except Exception:  # Redis away: these events are lost; the store still has them
                log.exception("could not publish %d bus message(s)", len(batch))
            finally:
                for _ in batch:
                    self._outgoing.task_done()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(self.prefix + "*")
                    self._subscribed.set()
                    self._tried.set()
                    async for message in pubsub.listen():
                        await self._receive(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # reconnect: a replica that cannot hear the others says so
                (log.warning if self._tried.is_set() else log.exception)(
                    "bus subscription lost; reconnecting"
                )
                self._tried.set()
                await asyncio.sleep(1.0)

    async def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") != "pmessage":
            return
        if message["data"].startswith(self._own):
            return  # our own echo: we acted on it when we published it
        channel = message["channel"].decode()[len(self.prefix) :]
        try:
            envelope = json.loads(message["data"])
        except ValueError:
            log.warning("unreadable bus message on %s", channel)
            return
        await self._handlers.run(channel, envelope.get("data") or {})


def open_bus(redis_url: str | None, prefix: str) -> Bus:
    """RedisBus when a Redis URL is configured, else the in-process LocalBus."""
    return RedisBus(redis_url, prefix) if redis_url else LocalBus()


__all__ = ["Bus", "Handler", "LocalBus", "Payload", "RedisBus", "open_bus"]
