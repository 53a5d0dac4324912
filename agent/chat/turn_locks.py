"""One turn per conversation across replicas: a lock with a lease.

The replica that takes a conversation's lock renews its lease while the turn runs and releases it
when the turn ends. A replica that dies stops renewing, so its lease lapses and the conversation is
free again after `turn_lease_seconds`. `LocalTurnLocks` (one process) always grants: the session's
own `busy` already keeps one turn at a time there. `RedisTurnLocks` is `SET key token NX PX`,
renewed and released only by the holder of the token (a check-and-set script), so a late release
never frees a lock someone else has taken since.

`claim(key)` is a once-only marker with the same machinery (a return notice stored exactly once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Protocol

import redis.asyncio as aioredis

log = logging.getLogger("shopdesk.locks")

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# A released lock keeps the name of the replica that held it ("free:<replica>"), so the next
# holder knows whether the conversation changed hands (and its in-memory history is stale).
_ACQUIRE = """
local v = redis.call('get', KEYS[1])
if v and string.sub(v, 1, 5) ~= 'free:' then return false end
redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
return v or ''
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('set', KEYS[1], 'free:' .. ARGV[2], 'px', ARGV[3])
end
return 0
"""
_KEEP_FREE_MS = 3600 * 1000


class Lease(Protocol):
    # Another replica (or nobody known) held it last: what this one holds in memory may be stale.
    changed_hands: bool

    async def release(self) -> None: ...


class TurnLocks(Protocol):
    async def acquire(self, conv_id: str) -> Lease | None:
        """The conversation's lock, or None while another replica's turn holds it."""
        ...

    async def claim(self, key: str, seconds: float) -> bool:
        """True for the first caller (on any replica) in `seconds`; False for the others."""
        ...

    async def close(self) -> None: ...


class _NoLease:
    changed_hands = False

    async def release(self) -> None:
        return None


class LocalTurnLocks:
    async def acquire(self, conv_id: str) -> Lease | None:
        return _NoLease()

    async def claim(self, key: str, seconds: float) -> bool:
        return True  # one replica: its callers already do each thing once

    async def close(self) -> None:
        return None


class RedisLease:
    """A held lock: renewed every third of its lease until released."""

    def __init__(self, locks: RedisTurnLocks, key: str, token: str, changed_hands: bool) -> None:
        self.locks, self.key, self.token = locks, key, token
        self.changed_hands = changed_hands
        self._renewing = asyncio.create_task(self._renew(), name=f"lease-{key}")

    async def _renew(self) -> None:
        ms = self.locks.lease_ms
        while True:
            await asyncio.sleep(ms / 3000)
            try:
                if not await self.locks.redis.eval(_RENEW, 1, self.key, self.token, ms):
                    log.warning("lost the turn lock %s (lease lapsed)", self.key)
                    return
            except Exception:  # Redis away for a moment: try again before the lease lapses
                log.exception("could not renew the turn lock %s", self.key)

    async def release(self) -> None:
        self._renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewing
        try:
            locks = self.locks
            await locks.redis.eval(_RELEASE, 1, self.key, self.token, locks.replica, _KEEP_FREE_MS)
        except Exception:  # the lease lapses on its own
            log.exception("could not release the turn lock %s", self.key)


class RedisTurnLocks:
    def __init__(self, url: str, prefix: str, lease_seconds: float, replica: str) -> None:
        self.redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self.replica = replica
        self.prefix = prefix
        self.lease_ms = max(1, int(lease_seconds * 1000))

    async def acquire(self, conv_id: str) -> Lease | None:
        key = f"{self.prefix}turn:{conv_id}"
        token = uuid.uuid4().hex
        before = await self.redis.eval(_ACQUIRE, 1, key, token, self.lease_ms)
        if before is None:
            return None
        return RedisLease(self, key, token, changed_hands=before != f"free:{self.replica}".encode())

    async def claim(self, key: str, seconds: float) -> bool:
        ms = max(1, int(seconds * 1000))
        return bool(await self.redis.set(f"{self.prefix}claim:{key}", "1", nx=True, px=ms))

    async def close(self) -> None:
        await self.redis.aclose()


def open_turn_locks(
    redis_url: str | None, prefix: str, lease_seconds: float, replica: str
) -> TurnLocks:
    if redis_url:
        return RedisTurnLocks(redis_url, prefix, lease_seconds, replica)
    return LocalTurnLocks()


__all__ = [
    "Lease",
    "LocalTurnLocks",
    "RedisTurnLocks",
    "TurnLocks",
    "open_turn_locks",
]
