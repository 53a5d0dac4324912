"""Decisions reach the shopper: a return's status change, told in every open widget of theirs.

The workflow calls its observers after a change commits (from whatever thread made it: the console,
the REST API, a refund). `watch_returns` hands each change to a `ShopperNotifier` on the event loop.
`LiveShopperNotifier` tells every live conversation whose verified shopper owns the return — or,
when none is open, their most recent conversation, so the next visit shows it — with the same
description `get_return_status` gives, stored in the transcript:

    assistant  tool call get_return_status {rma_id}   (so any model sees the return's facts)
    tool       its result                             (the widget shows the label link from it)
    assistant  the status, the next step, and for an approved parcel return the label offer

The `ShopperNotifier` Protocol is the seam for running several replicas: `RoutedShopperNotifier`
publishes the change on the bus ("notice") and, on each replica, a `LiveShopperNotifier` delivers
it to the conversations live there. A conversation open on two replicas is told once (a claim in
Redis on the notice's id); the fallback to the latest conversation is the deciding replica's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from actions.builtin.status import ReturnStatusResult, describe_for
from actions.return_status import ReturnStatus
from actions.services import ActionServices
from actions.store.rma import ReturnAuthorization
from actions.workflow import ReturnsWorkflow
from agent.chat.bus import Bus, Payload
from agent.chat.events import ActionFinished, AssistantMessage, ServerEvent
from agent.chat.sessions import SessionManager

log = logging.getLogger("shopdesk.notices")
S = ReturnStatus
# Changes the shopper did not make themselves in the chat (a request, a label they asked for).
ANNOUNCED = frozenset({S.APPROVED, S.REJECTED, S.ITEM_RECEIVED, S.REFUNDED, S.CANCELLED})
TOOL = "get_return_status"


class ShopperNotifier(Protocol):
    async def return_changed(self, rma: ReturnAuthorization, before: str) -> None:
        """`rma` (as it is now) moved from status `before`: tell its shopper."""
        ...


class LiveShopperNotifier:
    def __init__(
        self,
        sessions: SessionManager,
        services: ActionServices,
        latest_conversation: Callable[[str], str | None],
    ) -> None:
        self.sessions = sessions
        self.services = services
        self.latest_conversation = latest_conversation  # email → conversation id (sync, SQL)
        # Changes are described in the order they committed, and each conversation gets its
        # notices one at a time in that order (two notices' messages must not interleave in a
        # transcript); a conversation busy with a turn delays only its own notices.
        self._describing = asyncio.Lock()
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()

    async def return_changed(
        self, rma: ReturnAuthorization, before: str, *, here: bool = True
    ) -> None:
        """`here`: the change was made on this replica (which alone falls back to the latest
        conversation when no widget of the shopper's is open on it)."""
        if rma.status not in ANNOUNCED or rma.status == before:
            return
        async with self._describing:
            item = await describe_for(self.services, rma)
            result = ReturnStatusResult(returns=[item], message=item.message)
            targets = self.sessions.conversations_of(rma.customer_email)
            if not targets and here:  # no widget open: their latest conversation shows it next
                store = self.sessions.store
                latest = await store.acall(self.latest_conversation, rma.customer_email)
                targets = [latest] if latest else []
            for conv_id in targets:
                messages, events = notice(conv_id, rma, result)
                claim = f"notice:{messages[0]['tool_calls'][0]['id']}"
                if not await self.sessions.replicas.locks.claim(claim, 24 * 3600):
                    continue  # another replica, where it is open too, tells it
                task = asyncio.create_task(self._deliver(conv_id, messages, events))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)

    async def _deliver(
        self, conv_id: str, messages: list[dict[str, Any]], events: list[ServerEvent]
    ) -> None:
        lock, users = self._locks.get(conv_id, (asyncio.Lock(), 0))
        self._locks[conv_id] = (lock, users + 1)
        try:
            async with lock:
                await self.sessions.deliver(conv_id, messages, events)
        except Exception:  # the change is committed; a failed notice is logged, never raised
            log.exception("could not post a return notice in conversation %s", conv_id)
        finally:
            lock, users = self._locks[conv_id]
            if users <= 1:
                del self._locks[conv_id]
            else:
                self._locks[conv_id] = (lock, users - 1)

    async def drain(self) -> None:
        """Wait for the notices under way (tests; a graceful stop)."""
        while self._deliveries:
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)


class RoutedShopperNotifier:
    """Tells the shopper on every replica: the change goes out on the bus, each replica's
    `LiveShopperNotifier` tells the conversations open there."""

    def __init__(self, local: LiveShopperNotifier, bus: Bus, workflow: ReturnsWorkflow) -> None:
        self.local, self.bus, self.workflow = local, bus, workflow
        self._running: set[asyncio.Task[None]] = set()
        bus.subscribe("notice", self._remote)

    async def return_changed(self, rma: ReturnAuthorization, before: str) -> None:
        self.bus.publish("notice", {"rma_id": rma.id, "status": rma.status, "before": before})
        await self.local.return_changed(rma, before)

    async def _remote(self, payload: Payload) -> None:
        rma = await asyncio.to_thread(self.workflow.get, str(payload.get("rma_id")))
        if rma is None or rma.status != payload.get("status"):
            return  # it has moved on since; the notice of that change follows
        # Not awaited here: the bus's listener must not wait for a turn to end.
        task = asyncio.create_task(self._tell(rma, str(payload.get("before"))))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _tell(self, rma: ReturnAuthorization, before: str) -> None:
        try:
            await self.local.return_changed(rma, before, here=False)
        except Exception:  # the change is committed; a failed notice is logged, never raised
            log.exception("could not tell the shopper about %s", rma.id)


def notice(
    conv_id: str, rma: ReturnAuthorization, result: ReturnStatusResult
) -> tuple[list[dict[str, Any]], list[ServerEvent]]:
    """The stored messages and the live events that tell one conversation about the change."""
    seed = f"{conv_id}|{rma.id}|{rma.status}|{rma.updated_at.isoformat()}"
    call_id = "notice_" + hashlib.sha256(seed.encode()).hexdigest()[:16]
    arguments = {"rma_id": rma.id}
    payload = result.model_dump(mode="json")
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": TOOL, "arguments": json.dumps(arguments)},
            }
        ],
    }
    answer = {"role": "tool", "tool_call_id": call_id, "name": TOOL, "content": json.dumps({"ok": True, "result": payload})}  # fmt: skip
    said = {"role": "assistant", "content": result.message}
    events: list[ServerEvent] = [
        ActionFinished(action=TOOL, ok=True, result=payload),
        AssistantMessage(text=result.message),
    ]
    return [call, answer, said], events


def watch_returns(
    workflow: ReturnsWorkflow, notifier: ShopperNotifier, loop: asyncio.AbstractEventLoop
) -> Callable[[], None]:
    """Hand every committed change of `workflow` to `notifier` on `loop`; returns the unwatch."""
    running: set[asyncio.Task[None]] = set()

    def start(rma: ReturnAuthorization, before: str) -> None:
        task = loop.create_task(_told(notifier, rma, before), name=f"notice-{rma.id}")
        running.add(task)
        task.add_done_callback(running.discard)

    def observer(rma: ReturnAuthorization, before: str) -> None:
        if rma.status in ANNOUNCED and not loop.is_closed():
            loop.call_soon_threadsafe(start, rma, before)

    stop_observing = workflow.observe(observer)

    def unwatch() -> None:
        stop_observing()
        for task in list(running):
            task.cancel()

    return unwatch


async def _told(notifier: ShopperNotifier, rma: ReturnAuthorization, before: str) -> None:
    try:
        await notifier.return_changed(rma, before)
    except asyncio.CancelledError:
        raise
    except Exception:  # the change is committed; a failed notice is logged, never raised
        log.exception("could not tell the shopper about %s", rma.id)


__all__ = [
    "ANNOUNCED",
    "LiveShopperNotifier",
    "RoutedShopperNotifier",
    "ShopperNotifier",
    "notice",
    "watch_returns",
]
