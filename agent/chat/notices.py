"""Decisions reach the shopper: a return's status change, told in every open widget of theirs.

The workflow calls its observers after a change commits (from whatever thread made it: the console,
the REST API, a refund). `watch_returns` hands each change to a `ShopperNotifier` on the event loop.
`LiveShopperNotifier` tells every live conversation whose verified shopper owns the return — or,
when none is open, their most recent conversation, so the next visit shows it — with the same
description `get_return_status` gives, stored in the transcript:

    assistant  tool call get_return_status {rma_id}   (so any model sees the return's facts)
    tool       its result                             (the widget shows the label link from it)
    assistant  the status, the next step, and for an approved parcel return the label offer

The `ShopperNotifier` Protocol is the seam for running several replicas: a notifier that publishes
the change (Redis) and, on each replica, a `LiveShopperNotifier` that delivers it locally.
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

    async def return_changed(self, rma: ReturnAuthorization, before: str) -> None:
        if rma.status not in ANNOUNCED or rma.status == before:
            return
        async with self._describing:
            item = await describe_for(self.services, rma)
            result = ReturnStatusResult(returns=[item], message=item.message)
            targets = self.sessions.conversations_of(rma.customer_email)
            if not targets:  # no widget open: their latest conversation shows it next time
                store = self.sessions.store
                latest = await store.acall(self.latest_conversation, rma.customer_email)
                targets = [latest] if latest else []
            for conv_id in targets:
                messages, events = notice(conv_id, rma, result)
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


__all__ = ["ANNOUNCED", "LiveShopperNotifier", "ShopperNotifier", "notice", "watch_returns"]
