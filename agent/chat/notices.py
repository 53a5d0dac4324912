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
        # One notice at a time, in the order the changes committed: two notices' messages must
        # not interleave in a transcript (a call, then the other's call, then the results).
        self._one_at_a_time = asyncio.Lock()

    async def return_changed(self, rma: ReturnAuthorization, before: str) -> None:
        if rma.status not in ANNOUNCED or rma.status == before:
            return
        async with self._one_at_a_time:
            await self._tell(rma)

    async def _tell(self, rma: ReturnAuthorization) -> None:
        item = await describe_for(self.services, rma)
        result = ReturnStatusResult(returns=[item], message=item.message)
        targets = self.sessions.conversations_of(rma.customer_email)
        if not targets:
            store = self.sessions.store
            latest = await store.acall(self.latest_conversation, rma.customer_email)
            targets = [latest] if latest else []
        for conv_id in targets:
            messages, events = notice(conv_id, rma, result)
            await self.sessions.deliver(conv_id, messages, events)


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
