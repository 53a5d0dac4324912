"""The admin bearer token: one parser for every route that asks for it (/v1 returns, webhooks,
actions, conversations).

The scheme name is case-insensitive (RFC 7235 §2.1: "bearer" and "Bearer" are the same scheme);
the token itself is compared exactly, in constant time.
"""

from __future__ import annotations

import hmac


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None for any other header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def is_admin(authorization: str | None, admin_token: str) -> bool:
    """True when the header carries exactly the admin token."""
    token = bearer_token(authorization)
    if token is None or not admin_token:
        return False
    return hmac.compare_digest(token.encode("utf-8"), admin_token.encode("utf-8"))


__all__ = ["bearer_token", "is_admin"]
