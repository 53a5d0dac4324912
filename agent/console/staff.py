"""Staff sign-in for the console: server-side sessions, CSRF tokens and a sign-in rate limit.

Sessions live in the server's memory, keyed by a hash of the cookie's random token: signing out
deletes the entry, so a copied cookie is worthless afterwards (and a restart signs everyone out).
The cookie is HttpOnly and SameSite=Strict; every state-changing request must also carry the
session's CSRF token (header `X-CSRF-Token` or form field `csrf`), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

COOKIE = "shopdesk_staff"
LOGIN_CSRF_COOKIE = "shopdesk_login_csrf"


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class StaffSession:
    name: str
    csrf: str
    created: datetime
    last_seen: datetime


class StaffAuth:
    def __init__(
        self,
        password: str,
        *,
        clock: Callable[[], datetime],
        lifetime: float = 12 * 3600,
        max_failures: int = 5,
        window: float = 300.0,
    ) -> None:
        self._password = password.encode()
        # Sessions are dated by the product's clock; the sign-in throttle's window is a duration
        # and stays on the monotonic clock.
        self._clock = clock
        self.lifetime = lifetime
        self.max_failures = max_failures
        self.window = window
        self._sessions: dict[str, StaffSession] = {}
        self._failures: dict[str, deque[float]] = {}

    # Sign-in ----------------------------------------------------------------------------------
    def blocked(self, client: str) -> bool:
        """Too many failed sign-ins from this client within the window."""
        failures = self._failures.get(client)
        if not failures:
            return False
        cutoff = time.monotonic() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return len(failures) >= self.max_failures

    def sign_in(self, client: str, name: str, password: str) -> tuple[str, StaffSession] | None:
        """A new session's cookie token, or None for a wrong password (counted against client)."""
        # Digests first: equal lengths, so the compare leaks nothing about the password's length.
        ok = hmac.compare_digest(
            hashlib.sha256(password.encode()).digest(), hashlib.sha256(self._password).digest()
        )
        if not ok:
            self._failures.setdefault(client, deque()).append(time.monotonic())
            return None
        self._failures.pop(client, None)
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = StaffSession(
            name=name, csrf=secrets.token_urlsafe(32), created=now, last_seen=now
        )
        self._sessions[_key(token)] = session
        return token, session

    def session(self, token: str | None) -> StaffSession | None:
        if not token:
            return None
        session = self._sessions.get(_key(token))
        if session is None:
            return None
        now = self._clock()
        if (now - session.created).total_seconds() > self.lifetime:
            self._sessions.pop(_key(token), None)
            return None
        session.last_seen = now
        return session

    def sign_out(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_key(token), None)

    @staticmethod
    def csrf_ok(session: StaffSession, supplied: str | None) -> bool:
        return bool(supplied) and hmac.compare_digest(session.csrf.encode(), str(supplied).encode())


__all__ = ["COOKIE", "LOGIN_CSRF_COOKIE", "StaffAuth", "StaffSession"]
