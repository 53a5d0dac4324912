"""Webhook secrets and signatures: Standard Webhooks, plus the original X-Shopdesk-Signature.

Standard Webhooks (standardwebhooks.com): the secret is `whsec_<base64 of 32 random bytes>`; each
attempt carries `webhook-id` (the delivery id, the same on every retry: receivers dedupe on it),
`webhook-timestamp` (integer seconds of the attempt, from the product's clock) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, space-separated when a
rotated-out secret still signs too. Receivers reject a timestamp more than a few minutes from their
own clock, which is what makes a captured request useless to replay later.

`X-Shopdesk-Signature: sha256=<hex HMAC-SHA256 of the body, keyed by the whole secret string>` stays
for receivers written before Standard Webhooks; it has no timestamp, so it cannot stop a replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    """The HMAC key a Standard Webhooks library derives from the secret. Secrets made before
    Standard Webhooks were URL-safe base64: decoded as such (rotate them to standard ones)."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def sign(secret: str, body: bytes) -> str:
    """The X-Shopdesk-Signature value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): constant-time check of X-Shopdesk-Signature."""
    return hmac.compare_digest(sign(secret, body), header or "")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    msg_id: str, at: datetime, body: bytes, secrets_in_use: Sequence[str]
) -> dict[str, str]:
    """Both signature schemes for one attempt; the first secret is the current one."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            standard_signature(s, msg_id, timestamp, body) for s in secrets_in_use
        ),
        "X-Shopdesk-Signature": sign(secrets_in_use[0], body),
    }


__all__ = ["new_secret", "sign", "signed_headers", "standard_signature", "verify"]
