"""The one background sender both outboxes run (webhooks, emails): send what is due, then sleep
until the next row falls due or `wake()` says something was queued.

Due times come from the product clock and are read from the rows, so a test drives delivery by
moving the clock and calling the outbox's `deliver_due()`; the loop is only how a server does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions.store.models import EmailMessageRow, WebhookDeliveryRow

log = logging.getLogger("shopdesk.outbox")


class SenderLoop:
    def __init__(
        self,
        name: str,
        deliver_due: Callable[[], Awaitable[int]],
        seconds_to_next_due: Callable[[], float],
    ) -> None:
        self.name = name
        self._deliver_due = deliver_due
        self._seconds_to_next_due = seconds_to_next_due
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def wake(self) -> None:
        """Thread-safe nudge: something was queued, send now rather than at the next poll."""
        loop, event = self._loop, self._wakeup
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    async def start(self) -> None:
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"shopdesk-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = self._wakeup = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self._deliver_due()
            except Exception:  # keep the sender alive; the database may be briefly unavailable
                log.exception("%s sender pass failed", self.name)
                sent = 0
            if sent:
                continue
            assert self._wakeup is not None
            wait = await asyncio.to_thread(self._seconds_to_next_due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=wait)
            self._wakeup.clear()


def seconds_to_next_due(
    session: Session,
    row: type[WebhookDeliveryRow] | type[EmailMessageRow],
    poll: float,
    now: datetime,
) -> float:
    """Seconds until the earliest pending row of `row` (a table with `status` and
    `next_attempt_at`) falls due, at most `poll`."""
    nxt = session.scalar(sa.select(sa.func.min(row.next_attempt_at)).where(row.status == "pending"))
    if nxt is None:
        return poll
    nxt = nxt if nxt.tzinfo is not None else nxt.replace(tzinfo=UTC)
    return float(max(0.01, min(poll, (nxt - now).total_seconds())))


__all__ = ["SenderLoop", "seconds_to_next_due"]
