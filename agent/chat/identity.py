"""Signed shopper identity: the host page signs the shopper's email with the store secret.

The widget passes `{email, signature}` in `hello`; a valid signature verifies the shopper without asking for
an order number (the same scheme as Chatwoot's identity validation: hex HMAC-SHA256).
"""

from __future__ import annotations

import hashlib
import hmac


def normalize_email(email: str) -> str:
    return email.strip().lower()


def sign_email(email: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the lower-cased, stripped email, keyed with the store secret."""
    return hmac.new(
        secret.encode("utf-8"), normalize_email(email).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def verify_signature(email: str, signature: str, secret: str) -> bool:
    """True when `signature` is `sign_email(email, secret)`; constant-time, case-insensitive hex."""
    if not email or not signature or not secret:
        return False
    expected = sign_email(email, secret)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8"))


__all__ = ["normalize_email", "sign_email", "verify_signature"]
