"""Webhooks: subscriptions, a persisted outbox of deliveries, and an asyncio sender with retries.

Each delivery body is fixed when the change commits (same transaction: the outbox) and signed at
each attempt with the subscription's current secret (actions/webhook_signing.py: Standard Webhooks
headers and the original X-Shopdesk-Signature), with `X-Shopdesk-Event` and `X-Shopdesk-Delivery`
(the delivery id, also `webhook-id` and in the body: receivers dedupe on it).

A failed attempt (non-2xx, timeout, refused) is retried after base_delay × 2^(n-1), capped at
max_delay, each wait stretched or shrunk by up to ±jitter (so receivers that fail together are not
retried together); the defaults (30 s, 8 h cap, 13 attempts) spread them over about 24 hours. Due
times come from the product's clock; `deliver_due()` sends whatever is due (the background task calls
it; tests call it after moving the clock). Every attempt is a row in webhook_attempts and a log line.
Pending deliveries survive restarts. Staff can delete a subscription, rotate its secret and
redeliver a delivery (actions/webhook_admin.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions import webhook_admin
from actions.sender_loop import SenderLoop, seconds_to_next_due
from actions.store.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookSubscriptionRow
from actions.store.orders import OrderStore
from actions.webhook_signing import new_secret, sign, signed_headers, verify

log = logging.getLogger("shopdesk.webhooks")
EVENTS = (
    "return.created",
    "return.updated",
    "return.collection_requested",
    "conversation.handoff",
    "conversation.resolved",
)

# A claimed job: delivery id, event, body, url, and the secrets that sign it (current first).
Job = tuple[str, str, str, str, tuple[str, ...]]


class WebhookService:
    def __init__(
        self,
        store: OrderStore,
        *,
        base_delay: float = 30.0,
        max_delay: float = 8 * 3600.0,
        max_attempts: int = 13,
        jitter: float = 0.2,
        secret_grace: float = 24 * 3600.0,
        timeout: float = 10.0,
        poll_interval: float = 2.0,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.jitter, self.secret_grace = jitter, secret_grace
        self.timeout, self.poll_interval = timeout, poll_interval
        # The product's clock: it advances in real time even when pinned, so backoff waits real
        # seconds, and delivery times agree with the returns they report.
        self.clock = clock
        # Jitter only spreads retries out; tests pass a seeded generator to know the schedule.
        self.rng = rng or random.Random()
        self._transport = transport
        self._sender = SenderLoop("webhooks", self.deliver_due, self._seconds_to_next_due)
        self._client: httpx.AsyncClient | None = None

    # Subscriptions ----------------------------------------------------------------------
    def subscribe(self, url: str, events: list[str]) -> dict[str, Any]:
        """Register a receiver; the answer holds the signing secret (shown only here)."""
        unknown = sorted(set(events) - set(EVENTS) - {"*"})
        if unknown or not events:
            raise ValueError(f"Unknown events {unknown}; choose from {', '.join(EVENTS)} or '*'.")
        if not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise ValueError("url must be an http:// or https:// URL.")
        row = WebhookSubscriptionRow(
            id="whk_" + secrets.token_hex(8), url=url, events=sorted(set(events)),
            secret=new_secret(), active=True, created_at=self.clock(),
        )  # fmt: skip
        with self.store.writing() as s:
            s.add(row)
        return {**self._public(row), "secret": row.secret}

    @staticmethod
    def _public(row: WebhookSubscriptionRow) -> dict[str, Any]:
        return webhook_admin.public(row)

    def delete(self, subscription_id: str) -> dict[str, Any]:
        """Remove a subscription with its deliveries; KeyError when there is none."""
        return webhook_admin.delete(self.store, subscription_id)

    def rotate_secret(self, subscription_id: str) -> dict[str, Any]:
        """A new signing secret (in the answer, only there); the old one co-signs for the grace."""
        return webhook_admin.rotate(self.store, subscription_id, self.clock(), self.secret_grace)

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """One more attempt of a delivery, now, whatever its state; KeyError when unknown."""
        found = webhook_admin.redeliver(self.store, delivery_id, self.clock())
        self.wake()
        return found

    # Retry schedule ---------------------------------------------------------------------
    def nominal_delay(self, failures: int) -> float:
        """The wait after the n-th failed scheduled attempt, before jitter."""
        return float(min(self.max_delay, self.base_delay * 2.0 ** (failures - 1)))

    def retry_delay(self, failures: int) -> float:
        spread = self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return self.nominal_delay(failures) * (1 + spread)

    def schedule(self) -> list[float]:
        """Nominal waits between the attempts of a delivery that keeps failing (for the docs)."""
        return [self.nominal_delay(n) for n in range(1, self.max_attempts)]

    def subscriptions(self) -> list[dict[str, Any]]:
        with self.store.reading() as s:
            rows = s.scalars(
                sa.select(WebhookSubscriptionRow).order_by(WebhookSubscriptionRow.created_at)
            )
            return [self._public(r) for r in rows]

    # Outbox -----------------------------------------------------------------------------
    def enqueue(self, s: Session, event: str, data: dict[str, Any]) -> int:
        """Inside the caller's transaction: one delivery per matching subscription."""
        now = self.clock()
        count = 0
        for sub in s.scalars(
            sa.select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.active)
        ):
            if event not in sub.events and "*" not in sub.events:
                continue
            delivery_id = "dlv_" + secrets.token_hex(10)
            body = {"id": delivery_id, "event": event, "created_at": now.isoformat(), "data": data}
            s.add(WebhookDeliveryRow(
                id=delivery_id, subscription_id=sub.id, event=event,
                body=json.dumps(body, separators=(",", ":"), default=str), status="pending",
                attempts=0, next_attempt_at=now, created_at=now,
            ))  # fmt: skip
            count += 1
        return count

    def deliveries(self, subscription_id: str | None = None) -> list[dict[str, Any]]:
        return webhook_admin.deliveries(self.store, subscription_id)

    # Sender -----------------------------------------------------------------------------
    def wake(self) -> None:
        """Thread-safe nudge: something was enqueued, send now rather than at the next poll."""
        self._sender.wake()

    async def start(self) -> None:
        if self._sender.running:
            return
        self._client = httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        await self._sender.start()

    async def stop(self) -> None:
        await self._sender.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _seconds_to_next_due(self) -> float:
        with self.store.reading() as s:
            return seconds_to_next_due(s, WebhookDeliveryRow, self.poll_interval, self.clock())

    async def run_once(self) -> int:
        return await self.deliver_due()

    async def deliver_due(self) -> int:
        """Send every delivery due by the clock once; returns how many were attempted."""
        claimed = await asyncio.to_thread(self._claim_due)
        if not claimed:
            return 0
        client = self._client or httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        try:
            await asyncio.gather(*(self._send(client, *job) for job in claimed))
        finally:
            if client is not self._client:
                await client.aclose()
        return len(claimed)

    def _claim_due(self, limit: int = 50) -> list[Job]:
        """Lease due deliveries so that N senders send each one once.

        On PostgreSQL the rows are claimed with `FOR UPDATE SKIP LOCKED`: a second replica's pass
        skips the rows this one holds instead of waiting for them, and takes the next ones. The
        conditional update is the lease (and the only guard on SQLite, which ignores the clause
        and keeps one writer at a time)."""
        now = self.clock()
        lease = now + timedelta(seconds=self.timeout * 3)
        jobs: list[Job] = []
        with self.store.writing() as s:
            rows = s.execute(
                sa.select(WebhookDeliveryRow.id, WebhookDeliveryRow.next_attempt_at,
                          WebhookDeliveryRow.event, WebhookDeliveryRow.body,
                          WebhookSubscriptionRow.url, WebhookSubscriptionRow.secret,
                          WebhookSubscriptionRow.previous_secret,
                          WebhookSubscriptionRow.previous_secret_expires_at)
                .join(WebhookSubscriptionRow)
                .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.next_attempt_at).limit(limit)
                .with_for_update(skip_locked=True, of=WebhookDeliveryRow)
            ).all()  # fmt: skip
            for did, due, event, body, url, secret, previous, expires in rows:
                signing = (
                    (secret, previous) if previous and expires and expires > now else (secret,)
                )
                result = s.execute(
                    sa.update(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id == did, WebhookDeliveryRow.next_attempt_at == due)
                    .values(next_attempt_at=lease)
                )
                assert isinstance(result, sa.CursorResult)  # what an UPDATE returns
                claimed = result.rowcount
                if claimed:
                    jobs.append((did, event, body, url, signing))
        return jobs

    async def _send(self, client: httpx.AsyncClient, did: str, event: str, body: str, url: str, signing: tuple[str, ...]) -> None:  # fmt: skip
        raw = body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "shopdesk-webhooks/1",
            "X-Shopdesk-Event": event,
            "X-Shopdesk-Delivery": did,
            # Signed at the attempt, not at enqueue: the timestamp is this attempt's, and a
            # rotated secret applies to every attempt after the rotation.
            **signed_headers(did, self.clock(), raw, signing),
        }
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            response = await client.post(url, content=raw, headers=headers)
            code = response.status_code
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        ms = int((time.perf_counter() - started) * 1000)
        await asyncio.to_thread(self._record, did, code, error, ms)

    def _record(self, did: str, code: int | None, error: str | None, ms: int) -> None:
        now = self.clock()
        with self.store.writing() as s:
            row = s.get(WebhookDeliveryRow, did)
            if row is None:
                return
            manual = row.redeliver_requested_at is not None
            row.attempts += 1
            row.manual_attempts += int(manual)
            row.redeliver_requested_at = None
            s.add(WebhookAttemptRow(delivery_id=did, at=now, status_code=code, error=error,
                                    duration_ms=ms, manual=manual))  # fmt: skip
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
                log.info(
                    "webhook %s %s delivered (attempt %d, %d ms)", did, row.event, row.attempts, ms
                )
                return
            row.last_error = error
            failures = row.attempts - row.manual_attempts  # staff's extra tries use up nothing
            if failures >= self.max_attempts or (manual and row.delivered_at is not None):
                row.status = "failed"
                log.warning("webhook %s failed for good after %d attempts: %s", did, row.attempts, error)  # fmt: skip
                return
            delay = self.retry_delay(failures)
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.warning(
                "webhook %s attempt %d failed (%s); retry in %.0fs", did, row.attempts, error, delay
            )


__all__ = ["EVENTS", "WebhookService", "sign", "verify"]
