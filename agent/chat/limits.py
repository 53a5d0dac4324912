"""Abuse limits for the chat socket: per-conversation message rate and allowed origins.

Message length, frame size and idle timeout are plain comparisons done where the frame is read
(agent/chat/endpoint.py); the two things here keep state or need parsing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit


class RateLimiter:
    """At most `limit` events per `window` seconds per key (sliding window).

    Memory stays bounded by the keys active in the last window: stale keys are swept as others arrive.
    """

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._last_sweep = clock()

    def allow(self, key: str) -> bool:
        now = self._clock()
        self._sweep(now)
        events = self._events.setdefault(key, deque())
        cutoff = now - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def _sweep(self, now: float) -> None:
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        cutoff = now - self.window
        for key in [k for k, v in self._events.items() if not v or v[-1] <= cutoff]:
            del self._events[key]


def _origin_key(origin: str) -> tuple[str, str] | None:
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    if not parts.scheme or not parts.netloc:
        return None
    default = {"http": "80", "https": "443", "ws": "80", "wss": "443"}.get(parts.scheme, "")
    host = parts.hostname or ""
    port = str(parts.port) if parts.port else default
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, f"{host}:{port}"


def origin_allowed(origin: str | None, host_header: str | None, allowed: Iterable[str]) -> bool:
    """Browsers always send Origin on a websocket handshake; accept our own origin and configured ones.

    No Origin header means a non-browser client (the CLI, a bench): nothing for CORS-style checks to
    protect there, so it is allowed. `*` in the allowed list admits every origin.
    """
    if origin is None:
        return True
    allowed = list(allowed)
    if "*" in allowed:
        return True
    key = _origin_key(origin)
    if key is None:  # "null" (sandboxed iframes, file://) and garbage
        return False
    if host_header and key[1] in {_host_port(host_header, "80"), _host_port(host_header, "443")}:
        # Same host and port as the request: the page was served by us.
        return True
    return any(_origin_key(item) == key for item in allowed)


def _host_port(host_header: str, default_port: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):  # IPv6 literal
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        return f"{name.strip('[]')}:{rest[1:] if rest.startswith(':') else default_port}"
    if ":" in host:
        return host
    return f"{host}:{default_port}"


__all__ = ["RateLimiter", "origin_allowed"]
