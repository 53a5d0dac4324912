"""The return portal's session: a signed cookie, dated by the settings' clock, with a CSRF token.

The cookie holds who the shopper proved to be and the return they are putting together; it is
signed (HMAC-SHA256 keyed from the store secret) so it cannot be edited, and it carries its own
start time so that it expires by the product's clock, not the browser's. Every POST must carry
the session's CSRF token as a form field; compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

COOKIE = "shopdesk_portal"
MAX_COOKIE = 3800  # browsers keep 4 KB a cookie; the draft is bounded well below that


class Draft(BaseModel):
    """The return the shopper has chosen, waiting for their confirmation."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=40)
    resolution: str = Field(max_length=20)
    lines: dict[str, int] = Field(max_length=50)
    photos: list[str] = Field(default_factory=list, max_length=5)
    key: str = Field(default_factory=lambda: secrets.token_hex(12), max_length=32)


class PortalSession(BaseModel):
    """One portal visit. `email` is set only once the shopper is verified."""

    model_config = ConfigDict(extra="forbid")

    started: datetime
    csrf: str = Field(default_factory=lambda: secrets.token_urlsafe(24))
    email: str | None = None
    signed: bool = False  # verified by the host page's signature (may choose among orders)
    order_id: str | None = None
    conversation_id: str | None = None  # holds an emailed code while one is outstanding
    code_sent: bool = False
    draft: Draft | None = None
    rma_id: str | None = None
    rma_message: str | None = Field(None, max_length=600)  # the confirmation's own sentence
    notice: str | None = None  # one message for the next page (post-redirect-get)


class SessionCodec:
    """Signs and reads portal cookies; `read` says None for a missing, forged or expired one."""

    def __init__(self, secret: str, clock: Callable[[], datetime], minutes: float) -> None:
        self._key = hashlib.sha256(f"return-portal\x1f{secret}".encode()).digest()
        self.clock = clock
        self.lifetime = timedelta(minutes=minutes)

    def new(self) -> PortalSession:
        return PortalSession(started=self.clock())

    def dump(self, session: PortalSession) -> str:
        body = base64.urlsafe_b64encode(session.model_dump_json().encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def read(self, cookie: str | None) -> tuple[PortalSession | None, bool]:
        """(session, expired): a valid session, or None and whether it was one that ran out."""
        if not cookie or len(cookie) > MAX_COOKIE or "." not in cookie:
            return None, False
        body, _, signature = cookie.rpartition(".")
        if not hmac.compare_digest(self._sign(body).encode(), signature.encode()):
            return None, False
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            session = PortalSession.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            return None, False
        if self.expired(session):
            return None, True
        return session, False

    def expired(self, session: PortalSession) -> bool:
        return self.clock() >= session.started + self.lifetime

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()


def csrf_ok(session: PortalSession, supplied: object) -> bool:
    return isinstance(supplied, str) and hmac.compare_digest(
        session.csrf.encode(), supplied.encode()
    )


__all__ = ["COOKIE", "Draft", "PortalSession", "SessionCodec", "csrf_ok"]
