"""Staff sign-in for the console: server-side sessions, CSRF tokens and a sign-in rate limit.

Sessions live in the conversations database (agent/store/staff_sessions.py), keyed by a hash of
the cookie's random token, so every replica behind a load balancer knows them and a restart signs
nobody out; signing out deletes the row, so a copied cookie is worthless afterwards. They expire by
the settings' clock. The cookie is HttpOnly and SameSite=Strict; every state-changing request must
also carry the session's CSRF token (header `X-CSRF-Token` or form field `csrf`). The CSRF token is
derived from the cookie's token (so any replica can put it in a page) and only its hash is stored;
it is compared by hash, in constant time.

The sign-in throttle stays per process: it counts failures from one client, and a replica that
does not see another's failures only lets an attacker a few more tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.store.staff_sessions import StaffSessionRow, StaffSessionStore

COOKIE = "shopdesk_staff"
LOGIN_CSRF_COOKIE = "shopdesk_login_csrf"


# A session is seen on every request; its row is rewritten at most this often.
TOUCH_EVERY = timedelta(minutes=1)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _csrf_for(token: str) -> str:
    """The session's CSRF token: a keyed digest of the cookie's secret token, which a cross-site
    page can neither read nor compute."""
    return hmac.new(token.encode(), b"shopdesk-staff-csrf", hashlib.sha256).hexdigest()


@dataclass
class StaffSession:
    name: str
    csrf: str
    created: datetime
    last_seen: datetime
    csrf_hash: str = ""


class StaffAuth:
    def __init__(
        self,
        password: str,
        *,
        store: StaffSessionStore,
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
        self._store = store
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
        csrf = _csrf_for(token)
        self._store.add(
            StaffSessionRow(
                token_hash=_key(token), name=name, csrf_hash=_key(csrf), created_at=now,
                last_seen_at=now, expires_at=now + timedelta(seconds=self.lifetime),
            )
        )  # fmt: skip
        return token, StaffSession(name, csrf, now, now, _key(csrf))

    def session(self, token: str | None) -> StaffSession | None:
        if not token:
            return None
        key = _key(token)
        row = self._store.get(key)
        if row is None:
            return None
        now = self._clock()
        if now > row.expires_at:
            self._store.delete(key)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            self._store.touch(key, now)
        return StaffSession(row.name, _csrf_for(token), row.created_at, now, row.csrf_hash)

    def sign_out(self, token: str | None) -> None:
        if token:
            self._store.delete(_key(token))

    @staticmethod
    def csrf_ok(session: StaffSession, supplied: str | None) -> bool:
        """The supplied token's hash against the stored one (equal lengths: nothing leaks)."""
        if not supplied or not session.csrf_hash:
            return False
        return hmac.compare_digest(session.csrf_hash.encode(), _key(str(supplied)).encode())


__all__ = ["COOKIE", "LOGIN_CSRF_COOKIE", "StaffAuth", "StaffSession"]
