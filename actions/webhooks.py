"""Webhooks: subscriptions, a persisted outbox of deliveries, and an asyncio sender with retries.

Each delivery body is fixed when the change commits (same transaction: the outbox), signed with the
subscription's secret — `X-Shopdesk-Signature: sha256=<hex HMAC-SHA256 of the raw body>` — and sent
with `X-Shopdesk-Event` and `X-Shopdesk-Delivery` (the delivery id, also in the body: receivers dedupe
on it). A failed attempt (non-2xx, timeout, refused) is retried after base_delay × 2^(attempt-1),
capped at max_delay, until max_attempts; every attempt is a row in webhook_attempts and a log line.
Pending deliveries survive restarts: the sender picks up whatever is due when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions.store.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookSubscriptionRow
from actions.store.orders import OrderStore

log = logging.getLogger("shopdesk.webhooks")
EVENTS = (
    "return.created",
    "return.updated",
    "return.collection_requested",
    "conversation.handoff",
    "conversation.resolved",
)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): constant-time check of X-Shopdesk-Signature."""
    return hmac.compare_digest(sign(secret, body), header or "")


class WebhookService:
    def __init__(
        self,
        store: OrderStore,
        *,
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        max_attempts: int = 8,
        timeout: float = 10.0,
        poll_interval: float = 2.0,
        clock: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.timeout, self.poll_interval = timeout, poll_interval
        # The product's clock: it advances in real time even when pinned, so backoff waits real
        # seconds, and delivery times agree with the returns they report.
        self.clock = clock
        self._transport = transport
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
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
            secret="whsec_" + secrets.token_urlsafe(24), active=True, created_at=self.clock(),
        )  # fmt: skip
        with self.store.writing() as s:
            s.add(row)
        return {**self._public(row), "secret": row.secret}

    @staticmethod
    def _public(row: WebhookSubscriptionRow) -> dict[str, Any]:
        return {"id": row.id, "url": row.url, "events": list(row.events), "active": row.active,
                "created_at": row.created_at.isoformat()}  # fmt: skip

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
        query = sa.select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.created_at)
        if subscription_id:
            query = query.where(WebhookDeliveryRow.subscription_id == subscription_id)
        with self.store.reading() as s:
            out = []
            for row in s.scalars(query):
                attempts = s.scalars(
                    sa.select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id == row.id)
                    .order_by(WebhookAttemptRow.id)
                ).all()  # fmt: skip
                out.append({
                    "id": row.id, "subscription_id": row.subscription_id, "event": row.event,
                    "status": row.status, "attempts": row.attempts, "last_error": row.last_error,
                    "next_attempt_at": row.next_attempt_at.isoformat(),
                    "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
                    "log": [{"at": a.at.isoformat(), "status_code": a.status_code, "error": a.error,
                             "duration_ms": a.duration_ms} for a in attempts],
                })  # fmt: skip
            return out

    # Sender -----------------------------------------------------------------------------
    def wake(self) -> None:
        """Thread-safe nudge: something was enqueued, send now rather than at the next poll."""
        loop, event = self._loop, self._wakeup
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.timeout, transport=self._transport)
        self._task = asyncio.create_task(self._run(), name="shopdesk-webhooks")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = self._wakeup = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:  # keep the sender alive; the database may be briefly unavailable
                log.exception("webhook sender pass failed")
                sent = 0
            if sent:
                continue
            assert self._wakeup is not None
            wait = await asyncio.to_thread(self._seconds_to_next_due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            self._wakeup.clear()

    def _seconds_to_next_due(self) -> float:
        with self.store.reading() as s:
            nxt = s.scalar(
                sa.select(sa.func.min(WebhookDeliveryRow.next_attempt_at)).where(
                    WebhookDeliveryRow.status == "pending"
                )
            )
        if nxt is None:
            return self.poll_interval
        if nxt.tzinfo is None:
            nxt = nxt.replace(tzinfo=UTC)
        return max(0.01, min(self.poll_interval, (nxt - self.clock()).total_seconds()))

    async def run_once(self) -> int:
        """Send every due delivery once; returns how many were attempted."""
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

    def _claim_due(self, limit: int = 50) -> list[tuple[str, str, str, str, str]]:
        """Lease due deliveries (an optimistic update) so two senders never send the same one."""
        now = self.clock()
        lease = now + timedelta(seconds=self.timeout * 3)
        jobs = []
        with self.store.writing() as s:
            rows = s.execute(
                sa.select(WebhookDeliveryRow.id, WebhookDeliveryRow.next_attempt_at,
                          WebhookDeliveryRow.event, WebhookDeliveryRow.body,
                          WebhookSubscriptionRow.url, WebhookSubscriptionRow.secret)
                .join(WebhookSubscriptionRow)
                .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.next_attempt_at).limit(limit)
            ).all()  # fmt: skip
            for did, due, event, body, url, secret in rows:
                result = s.execute(
                    sa.update(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id == did, WebhookDeliveryRow.next_attempt_at == due)
                    .values(next_attempt_at=lease)
                )
                assert isinstance(result, sa.CursorResult)  # what an UPDATE returns
                claimed = result.rowcount
                if claimed:
                    jobs.append((did, event, body, url, secret))
        return jobs

    async def _send(self, client: httpx.AsyncClient, did: str, event: str, body: str, url: str, secret: str) -> None:  # fmt: skip
        raw = body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "shopdesk-webhooks/1",
            "X-Shopdesk-Event": event,
            "X-Shopdesk-Delivery": did,
            "X-Shopdesk-Signature": sign(secret, raw),
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
            row.attempts += 1
            s.add(
                WebhookAttemptRow(
                    delivery_id=did, at=now, status_code=code, error=error, duration_ms=ms
                )
            )
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
                log.info(
                    "webhook %s %s delivered (attempt %d, %d ms)", did, row.event, row.attempts, ms
                )
                return
            row.last_error = error
            if row.attempts >= self.max_attempts:
                row.status = "failed"
                log.warning(
                    "webhook %s failed for good after %d attempts: %s", did, row.attempts, error
                )
                return
            delay = min(self.max_delay, self.base_delay * 2 ** (row.attempts - 1))
            row.next_attempt_at = now + timedelta(seconds=delay)
            log.warning(
                "webhook %s attempt %d failed (%s); retry in %.2fs", did, row.attempts, error, delay
            )
