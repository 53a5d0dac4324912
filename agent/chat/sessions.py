"""Live conversations: the sockets attached to each, its running turn, its pending confirmation.

A turn belongs to the conversation, not to the socket that started it: a dropped socket does not stop
it, its events go to whichever sockets are attached (none, for a while), and everything it says is
stored. A reconnect re-attaches and is re-sent an unanswered confirmation_request. When nobody
reconnects within the idle timeout, the waiting turn is cancelled; its confirmation stays pending in
the store, and answering it later (even after a server restart) runs the confirmed action then.

One turn at a time per conversation: a user_message while a turn runs gets an `error` `busy` and is
not stored (the shopper resends; the widget disables its input while a turn runs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from actions.context import ActionContext, ActionError
from agent.chat.events import (
    ActionFinished,
    ActionStarted,
    AssistantMessage,
    ConfirmationRequest,
    ErrorEvent,
    Handoff,
)
from agent.store.conversations import ConversationStore, PendingConfirmation
from agent.turn.loop import AgentDeps, Conversation, TurnStats, idempotency_key, run_turn

log = logging.getLogger("shopdesk.sessions")

INTERNAL_ERROR = ErrorEvent(
    code="internal_error",
    message="Sorry, something went wrong on our side. Your message is saved; please try again.",
)
DECLINED_TEXT = "Okay, I haven't done anything. Is there anything else I can help with?"

Send = Callable[[str], Awaitable[bool]]  # returns False once the socket is gone


class Session:
    def __init__(self, conv_id: str, customer_email: str | None) -> None:
        self.id = conv_id
        self.customer_email = customer_email
        self.sockets: set[Send] = set()
        self.history: list[dict[str, Any]] | None = (
            None  # loaded lazily, kept in step with the store
        )
        self.turn: asyncio.Task[None] | None = None
        self.starting = (
            False  # a message is being stored; its turn starts next (two tabs, one turn)
        )
        self.waiting: dict[str, asyncio.Future[bool]] = {}
        self.pending_request: ConfirmationRequest | None = None
        self.expiry: asyncio.TimerHandle | None = None
        # Whether a confirmation left by a turn that died (restart, expiry) may still be pending.
        self.may_have_stale_confirmation = True
        # A person owns the conversation (console status pending/assigned): the AI stays quiet.
        # None until looked up; the console sets it when it changes the status.
        self.human: bool | None = None

    @property
    def busy(self) -> bool:
        return self.starting or (self.turn is not None and not self.turn.done())

    async def emit(self, event: Any) -> None:
        await self.emit_text(event.model_dump_json())

    async def emit_text(self, text: str) -> None:
        for send in list(self.sockets):
            if not await send(text):
                self.sockets.discard(send)


class SessionManager:
    def __init__(
        self,
        store: ConversationStore,
        deps: AgentDeps,
        *,
        grace_seconds: float,
        on_turn: Callable[[TurnStats], None] | None = None,
    ) -> None:
        self.store = store
        self.deps = deps
        self.grace_seconds = grace_seconds
        self.on_turn = on_turn
        self.sessions: dict[str, Session] = {}
        # Benchmarks: add {"timing": {"model_ms", "turn_ms"}} to each final message (extra field).
        self.expose_timing = False
        # The staff console (agent.console.inbox.Inbox), when the server has one: handoffs go to its inbox
        # and shopper messages in a conversation a person owns are stored without an AI turn.
        self.inbox: Any = None

    # Attach / detach -------------------------------------------------------------------------------
    def attach(self, conv_id: str, customer_email: str | None, send: Send) -> Session:
        session = self.sessions.get(conv_id)
        if session is None:
            session = self.sessions[conv_id] = Session(conv_id, customer_email)
        if customer_email and session.customer_email != customer_email:
            session.customer_email = customer_email
        if session.expiry is not None:
            session.expiry.cancel()
            session.expiry = None
        session.sockets.add(send)
        return session

    def detach(self, session: Session, send: Send) -> None:
        session.sockets.discard(send)
        if session.sockets:
            return
        if not session.busy:
            self._forget(session)
            return
        # A turn still runs (most likely waiting for a yes): give the shopper time to come back.
        loop = asyncio.get_running_loop()
        session.expiry = loop.call_later(self.grace_seconds, self._expire, session)

    def _expire(self, session: Session) -> None:
        session.expiry = None
        if session.sockets:
            return
        if session.turn is not None:
            session.turn.cancel()
        self._forget(session)

    def _forget(self, session: Session) -> None:
        if self.sessions.get(session.id) is session and not session.sockets:
            del self.sessions[session.id]

    async def pending_for(self, session: Session) -> ConfirmationRequest | None:
        """The confirmation a (re)connecting client must be asked again, if any."""
        if session.pending_request is not None:
            return session.pending_request
        if session.busy:
            return None
        pending = await self.store.acall(self.store.pending_confirmation, session.id)
        return _request_of(pending) if pending else None

    async def shutdown(self) -> None:
        tasks = [s.turn for s in self.sessions.values() if s.turn and not s.turn.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.sessions.clear()

    # Client events ---------------------------------------------------------------------------------
    async def user_message(self, session: Session, text: str) -> ErrorEvent | None:
        """Store the message, then start the turn; an ErrorEvent when it cannot be taken now."""
        if session.busy:
            if session.pending_request is not None:
                return ErrorEvent(
                    code="busy", message="Please answer the confirmation question first."
                )
            return ErrorEvent(
                code="busy", message="Still working on your last message; send this one after."
            )
        message = {"role": "user", "content": text}
        session.starting = True
        try:
            await self.store.acall(self.store.append, session.id, "user", message)  # stored first
            if session.history is None:
                session.history = await self.store.acall(self.store.history, session.id)
            else:
                session.history.append(message)
            # A confirmation left by a turn that died (restart) is moot once the shopper moves on.
            if session.may_have_stale_confirmation:
                await self.store.acall(self._cancel_stale_confirmations, session.id)
                session.may_have_stale_confirmation = False
            if self.inbox is not None and await self.inbox.shopper_message(session, text):
                return None  # a person owns it: stored and shown to staff, no AI turn
            session.turn = asyncio.create_task(self._turn(session, text), name=f"turn-{session.id}")
        finally:
            session.starting = False
        return None

    def _cancel_stale_confirmations(self, conv_id: str) -> None:
        pending = self.store.pending_confirmation(conv_id)
        while pending is not None:
            self.store.resolve_confirmation(pending.id, "cancelled")
            pending = self.store.pending_confirmation(conv_id)

    async def confirmation_response(
        self, session: Session, confirmation_id: str, approved: bool
    ) -> ErrorEvent | None:
        status = "approved" if approved else "declined"
        # Claimed synchronously, so two tabs answering at once cannot both resolve it.
        future = session.waiting.pop(confirmation_id, None)
        if future is not None and not future.done():
            await self.store.acall(self.store.resolve_confirmation, confirmation_id, status)
            future.set_result(approved)
            return None
        if not session.busy:
            session.starting = True
            try:
                pending = await self.store.acall(self.store.pending_confirmation, session.id)
                if pending is not None and pending.id == confirmation_id:
                    session.turn = asyncio.create_task(self._orphan(session, pending, approved))
                    return None
            finally:
                session.starting = False
        return ErrorEvent(
            code="unknown_confirmation",
            message="There is no question waiting for that answer.",
        )

    # Turns -----------------------------------------------------------------------------------------
    async def _record(self, session: Session, conv: Conversation, message: dict[str, Any]) -> None:
        message = dict(message)
        citations = message.pop("citations", None)
        role = message.get("role", "assistant")
        await self.store.acall(self.store.append, session.id, role, message, citations)
        if conv.customer_email != session.customer_email:
            # Persist the verification as soon as it happens, not at the end of the turn.
            session.customer_email = conv.customer_email
            await self.store.acall(self.store.set_customer, session.id, conv.customer_email)

    async def _confirm(self, session: Session, request: ConfirmationRequest) -> bool:
        await self.store.acall(
            self.store.add_confirmation,
            session.id,
            confirmation_id=request.id,
            action=request.action,
            arguments=request.arguments,
            summary=request.summary,
        )
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        session.waiting[request.id] = future
        session.pending_request = request
        try:
            await session.emit(request)
            return await future
        finally:
            session.waiting.pop(request.id, None)
            session.pending_request = None

    async def _turn(self, session: Session, text: str) -> None:
        assert session.history is not None
        conv = Conversation(session.id, session.customer_email, session.history)
        stats = TurnStats()

        async def record(message: dict[str, Any]) -> None:
            await self._record(session, conv, message)

        async def confirm(request: ConfirmationRequest) -> bool:
            return await self._confirm(session, request)

        started = time.perf_counter()

        async def emit(event: Any) -> None:
            if isinstance(event, Handoff):
                await self._handoff(session, event.reason)
                if self.inbox is not None:
                    await session.emit(self.inbox.handoff_event(event))
                    return
            if self.expose_timing and isinstance(event, AssistantMessage):
                timing = {
                    "model_ms": stats.model_seconds * 1000,
                    "turn_ms": (time.perf_counter() - started) * 1000,
                }
                payload = event.model_dump(mode="json") | {"timing": timing}
                await session.emit_text(json.dumps(payload))
                return
            await session.emit(event)

        try:
            await run_turn(
                conv, text, self.deps, emit=emit, confirm=confirm, record=record, stats=stats
            )
            if self.on_turn is not None:
                self.on_turn(stats)
            if self.inbox is not None:
                self.inbox.publish("conversation.updated", session.id)
        except asyncio.CancelledError:
            session.history = None  # may hold a half-finished round; reload from the store
            session.may_have_stale_confirmation = True
            raise
        except Exception:
            log.exception("turn failed in conversation %s", session.id)
            session.history = None
            session.may_have_stale_confirmation = True
            await session.emit(INTERNAL_ERROR)

    async def _handoff(self, session: Session, reason: str) -> None:
        """Mark the conversation for the inbox (GET /v1/conversations?status=handoff)."""
        await self.store.acall(self.store.set_status, session.id, "handoff")
        note = {"role": "system-note", "content": f"Handed off to a person: {reason}"}
        await self.store.acall(self.store.append, session.id, "system-note", note)
        if self.inbox is not None:
            session.human = True
            await self.inbox.handoff(session.id, reason)

    async def _orphan(self, session: Session, pending: PendingConfirmation, approved: bool) -> None:
        """Answer a confirmation whose turn is gone (server restart, or the shopper was away)."""
        try:
            await self._run_orphan(session, pending, approved)
        except Exception:
            log.exception("confirmation %s failed in conversation %s", pending.id, session.id)
            await session.emit(INTERNAL_ERROR)
        finally:
            session.history = None

    async def _run_orphan(
        self, session: Session, pending: PendingConfirmation, approved: bool
    ) -> None:
        store = self.store
        if not await store.acall(
            store.resolve_confirmation, pending.id, "approved" if approved else "declined"
        ):
            return
        conv = Conversation(session.id, session.customer_email, [])
        if approved:
            content, text = await self._run_action(session, pending)
        else:
            content = {
                "ok": False,
                "error": {"code": "declined", "message": "The shopper declined; nothing was done."},
            }
            await session.emit(
                ActionFinished(action=pending.action, ok=False, result=content["error"])
            )
            text = DECLINED_TEXT
        call_id = await store.acall(_open_call_id, store, session.id, pending.action)
        if call_id is not None:
            tool = {
                "role": "tool",
                "tool_call_id": call_id,
                "name": pending.action,
                "content": json.dumps(content, default=str),
            }
            await self._record(session, conv, tool)
        await self._record(session, conv, {"role": "assistant", "content": text, "citations": []})
        await session.emit(AssistantMessage(text=text, citations=[]))

    async def _run_action(
        self, session: Session, pending: PendingConfirmation
    ) -> tuple[dict[str, Any], str]:
        deps = self.deps
        try:
            args = deps.registry.validate(pending.action, pending.arguments)
            shown = args.model_dump(mode="json")
            ctx = ActionContext(
                services=deps.services,
                customer_email=session.customer_email,
                now=deps.settings.clock(),
                idempotency_key=idempotency_key(session.id, pending.action, shown),
                conversation_id=session.id,
            )
            await session.emit(ActionStarted(action=pending.action, arguments=shown))
            result = await deps.registry.run(pending.action, ctx, args)
        except ActionError as exc:
            error = {"code": exc.code, "message": exc.message}
            await session.emit(ActionFinished(action=pending.action, ok=False, result=error))
            return {"ok": False, "error": error}, exc.message
        payload = result.model_dump(mode="json")
        await session.emit(ActionFinished(action=pending.action, ok=True, result=payload))
        return {"ok": True, "result": payload}, str(payload.get("message") or "Done.")


def _request_of(pending: PendingConfirmation) -> ConfirmationRequest:
    return ConfirmationRequest(
        id=pending.id, action=pending.action, arguments=pending.arguments, summary=pending.summary
    )


def _open_call_id(store: ConversationStore, conv_id: str, action: str) -> str | None:
    """The id of the newest tool call for `action` that has no result yet."""
    answered: set[str] = set()
    for message in reversed(store.messages(conv_id)):
        content = message.content
        if message.role == "tool" and content.get("tool_call_id"):
            answered.add(content["tool_call_id"])
        elif message.role == "assistant":
            for call in content.get("tool_calls") or []:
                name = (call.get("function") or {}).get("name")
                if name == action and call.get("id") not in answered:
                    return call.get("id")
    return None


__all__ = ["Session", "SessionManager"]
