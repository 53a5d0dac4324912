"""What staff do to webhooks besides subscribing: read the delivery log, delete a subscription,
rotate its secret, redeliver a delivery. `WebhookService` exposes these; the REST routes call it.

Unknown ids raise `KeyError` with a sentence for the person who typed them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions.store.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookSubscriptionRow
from actions.store.orders import OrderStore
from actions.webhook_signing import new_secret


def public(row: WebhookSubscriptionRow) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    rotated = row.secret_rotated_at.isoformat() if row.secret_rotated_at else None
    return {"id": row.id, "url": row.url, "events": list(row.events), "active": row.active,
            "created_at": row.created_at.isoformat(), "secret_rotated_at": rotated}  # fmt: skip


def _delivery(row: WebhookDeliveryRow, attempts: list[WebhookAttemptRow]) -> dict[str, Any]:
    return {
        "id": row.id, "subscription_id": row.subscription_id, "event": row.event,
        "status": row.status, "attempts": row.attempts, "manual_attempts": row.manual_attempts,
        "last_error": row.last_error,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == "pending" else None,
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "log": [{"at": a.at.isoformat(), "status_code": a.status_code, "error": a.error,
                 "duration_ms": a.duration_ms, "manual": a.manual} for a in attempts],
    }  # fmt: skip


def deliveries(store: OrderStore, subscription_id: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.created_at)
    if subscription_id:
        query = query.where(WebhookDeliveryRow.subscription_id == subscription_id)
    with store.reading() as s:
        rows = s.scalars(query).all()
        attempts: dict[str, list[WebhookAttemptRow]] = {row.id: [] for row in rows}
        ids = list(attempts)
        for start in range(0, len(ids), 500):
            for attempt in s.scalars(
                sa.select(WebhookAttemptRow)
                .where(WebhookAttemptRow.delivery_id.in_(ids[start : start + 500]))
                .order_by(WebhookAttemptRow.id)
            ):
                attempts[attempt.delivery_id].append(attempt)
        return [_delivery(row, attempts[row.id]) for row in rows]


def _subscription(s: Session, subscription_id: str) -> WebhookSubscriptionRow:
    row = s.get(WebhookSubscriptionRow, subscription_id, with_for_update=True)
    if row is None:
        raise KeyError(f"There is no webhook subscription {subscription_id}.")
    return row


def delete(store: OrderStore, subscription_id: str) -> dict[str, Any]:
    """The subscription and its delivery log go; nothing more is sent to it (an attempt already
    in flight finds its delivery gone and records nothing)."""
    with store.writing() as s:
        row = _subscription(s, subscription_id)
        ids = sa.select(WebhookDeliveryRow.id).where(
            WebhookDeliveryRow.subscription_id == subscription_id
        )
        pending = s.scalar(
            sa.select(sa.func.count()).where(
                WebhookDeliveryRow.subscription_id == subscription_id,
                WebhookDeliveryRow.status == "pending",
            )
        )
        s.execute(sa.delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(ids)))
        s.execute(
            sa.delete(WebhookDeliveryRow).where(
                WebhookDeliveryRow.subscription_id == subscription_id
            )
        )
        answer = {**public(row), "deleted": True, "pending_deliveries_dropped": int(pending or 0)}
        s.delete(row)
    return answer


def rotate(store: OrderStore, subscription_id: str, now: datetime, grace: float) -> dict[str, Any]:
    """A new secret, returned here only. Every attempt from now on is signed with it; for `grace`
    seconds the old secret adds a second Standard Webhooks signature, so a receiver can switch
    over without rejecting what is in flight (X-Shopdesk-Signature uses the new one at once)."""
    with store.writing() as s:
        row = _subscription(s, subscription_id)
        if grace > 0:
            row.previous_secret = row.secret
            row.previous_secret_expires_at = now + timedelta(seconds=grace)
        else:
            row.previous_secret = row.previous_secret_expires_at = None
        row.secret, row.secret_rotated_at = new_secret(), now
        answer = {
            **public(row),
            "secret": row.secret,
            "previous_secret_valid_until": (
                row.previous_secret_expires_at.isoformat()
                if row.previous_secret_expires_at
                else None
            ),
        }
    return answer


def redeliver(store: OrderStore, delivery_id: str, now: datetime) -> dict[str, Any]:
    """Queue one extra attempt now: for a delivered one (the receiver lost it), a failed one
    (the receiver is fixed) or a pending one (do not wait for the next retry)."""
    with store.writing() as s:
        row = s.get(WebhookDeliveryRow, delivery_id, with_for_update=True)
        if row is None:
            raise KeyError(f"There is no webhook delivery {delivery_id}.")
        row.status, row.next_attempt_at, row.redeliver_requested_at = "pending", now, now
        return {"id": row.id, "subscription_id": row.subscription_id, "event": row.event,
                "status": row.status, "next_attempt_at": now.isoformat()}  # fmt: skip
