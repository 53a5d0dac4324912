"""Live conversations: the sockets attached to each, its running turn, its pending confirmation.

A turn belongs to the conversation, not to the socket that started it: a dropped socket does not stop
it, its events go to whichever sockets are attached (none, for a while), and everything it says is
stored. A reconnect re-attaches and is re-sent an unanswered confirmation_request. When nobody
reconnects within the idle timeout, the waiting turn is cancelled; its confirmation stays pending in
the store, and answering it later (even after a server restart) resumes the turn
(`agent.turn.loop.resume_turn`): the action runs through the one executor and the model words the
outcome, exactly as when the answer comes in time.

This module owns the confirmation lifecycle: asked (stored pending, the turn waits), answered in
time (resolved, the turn goes on), answered late (resolved, the turn resumes), or made moot by the
shopper moving on (cancelled).

One turn at a time per conversation: a user_message while a turn runs gets an `error` `busy` and is
not stored (the shopper resends; the widget disables its input while a turn runs).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from agent.chat.bus import LocalBus
from agent.chat.events import ConfirmationRequest, ErrorEvent, Handoff, ServerEvent
from agent.chat.events import Session as SessionEvent
from agent.chat.faults import ANSWER_NOT_SAVED, INTERNAL_ERROR, SAVED_INTERNAL_ERROR, AnswerNotSaved
from agent.chat.live_session import Send, Session, SessionInbox, TypedCode
from agent.chat.refusals import is_refusal
from agent.chat.replicas import Replicas
from agent.chat.resume import order_data_actions, settle_verification
from agent.chat.turn_locks import LocalTurnLocks
from agent.chat.turn_runs import TurnRun, new_turn, request_of, resumed_turn
from agent.store.conversations import ConversationStore, PendingConfirmation
from agent.turn.deps import AgentDeps, Conversation
from agent.turn.history import History
from agent.turn.loop import LateAnswer

log = logging.getLogger("shopdesk.sessions")


class SessionManager:
    def __init__(
        self,
        store: ConversationStore,
        deps: AgentDeps,
        *,
        grace_seconds: float,
        inbox: SessionInbox | None = None,
        replicas: Replicas | None = None,
    ) -> None:
        self.store = store
        self.deps = deps
        self.grace_seconds = grace_seconds
        self.sessions: dict[str, Session] = {}
        # The staff console, when the server has one: handoffs go to its inbox, and shopper
        # messages in a conversation a person owns are stored without an AI turn.
        self.inbox = inbox
        # Email codes (SHOPDESK_VERIFICATION=email_code): set by the server when they are on.
        self.codes: TypedCode | None = None
        # The other replicas (events, turn locks, answers); in one process, nobody.
        self.replicas = replicas or Replicas(LocalBus(), LocalTurnLocks(), lease_seconds=15.0)
        self.replicas.bind(self)

    # Attach / detach -------------------------------------------------------------------------------
    def attach(self, conv_id: str, customer_email: str | None, send: Send) -> Session:
        session = self.sessions.get(conv_id)
        if session is None:
            session = self.sessions[conv_id] = Session(conv_id, customer_email)
            if self.replicas.distributed:
                session.fanout = self.replicas.fanout
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
        return request_of(pending) if pending else None

    # Messages the store starts (a decision on a return) ------------------------------------------
    def conversations_of(self, email: str) -> list[str]:
        """The live conversations whose verified shopper is `email` (every open widget of theirs)."""
        wanted = email.strip().lower()
        return [s.id for s in self.sessions.values() if (s.customer_email or "") == wanted]

    async def deliver(
        self, conv_id: str, messages: list[dict[str, Any]], events: list[ServerEvent]
    ) -> None:
        """Store messages the store itself says in a conversation and show them on every widget
        attached to it. Never inside a turn: a turn's tool calls must stay next to their results,
        so this waits for a running turn (or one waiting for a yes) to end first."""
        session = self.sessions.get(conv_id)
        while session is not None and session.busy:
            turn = session.turn
            if turn is not None and not turn.done():
                await asyncio.wait({turn})
            else:  # a message is being stored; its turn starts in a moment
                await asyncio.sleep(0.01)
        if session is not None:
            session.starting = True  # a message typed meanwhile waits for these
        lease = await self.replicas.wait_lease(conv_id)  # and a turn on another replica
        try:
            for message in messages:
                await self.store.acall(self.store.append, conv_id, message["role"], message)
                if session is not None and session.history is not None:
                    session.history.add(message)
        finally:
            if session is not None:
                session.starting = False
            await lease.release()
        for event in events:
            await self.replicas.tell(conv_id, event)
        if self.inbox is not None:
            self.inbox.publish("conversation.updated", conv_id)

    async def shutdown(self) -> None:
        tasks = [s.turn for s in self.sessions.values() if s.turn and not s.turn.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.sessions.clear()
        await self.replicas.close()

    # Client events ---------------------------------------------------------------------------------
    async def user_message(self, session: Session, text: str) -> ErrorEvent | None:
        """Store the message, then start the turn; an ErrorEvent when it cannot be taken now."""
        if session.busy:
            if session.pending_request is not None and is_refusal(text):
                # Typing "no" at an open card declines it, as its Decline button would.
                return await self.confirmation_response(
                    session, session.pending_request.id, approved=False
                )
            if session.pending_request is not None:
                return ErrorEvent(
                    code="busy", message="Please answer the confirmation question first."
                )
            return ErrorEvent(
                code="busy", message="Still working on your last message; send this one after."
            )
        session.starting = True  # before the lock is asked for: two tabs here, one turn
        lease = await self.replicas.lease(session)
        if lease is None:  # another replica runs this conversation's turn
            session.starting = False
            return await self.replicas.busy(session, text)
        before, saved = session.turn, False
        try:
            if self.codes is not None and await self.codes.answer(self, session, text):
                return None
            session.starting = True  # again: the code reader's own guard ends with it
            message = {"role": "user", "content": text}
            await settle_verification(self.store, self.deps, session)
            await self.store.acall(self.store.append, session.id, "user", message)  # stored first
            saved = True
            await self._start(session, text, message)
        except Exception:
            if not saved:
                raise
            log.exception("could not start a turn in conversation %s", session.id)
            session.may_have_stale_confirmation = True
            return SAVED_INTERNAL_ERROR
        finally:
            session.starting = False
            self.replicas.keep_until_done(session, before, lease)
        return None

    async def store_user_message(self, session: Session, text: str) -> None:
        """Store a shopper message that starts no turn of its own (a typed code)."""
        message = {"role": "user", "content": text}
        await self.store.acall(self.store.append, session.id, "user", message)
        if session.history is not None:
            session.history.add(message)

    def run_action(self, session: Session, action: str, arguments: dict[str, Any]) -> None:
        """Run one action through the one tool executor, then let the model word its outcome
        (what a late yes does; here: the lookup a typed code unlocked)."""
        late = LateAnswer(action=action, arguments=arguments, approved=True)
        session.turn = asyncio.create_task(
            self._drive(session, resumed_turn(late, self.deps)), name=f"action-{session.id}"
        )

    async def _start(self, session: Session, text: str, message: dict[str, Any]) -> None:
        """After the message is stored: the model's history, then the turn (or a person)."""
        if session.history is None:
            session.history = await self._load(session.id)
        else:
            session.history.add(message)
        # A confirmation left by a turn that died (restart) is moot once the shopper moves on.
        if session.may_have_stale_confirmation:
            await self.store.acall(self._cancel_stale_confirmations, session.id)
            session.may_have_stale_confirmation = False
        if self.inbox is not None and await self.inbox.shopper_message(session, text):
            return  # a person owns it: stored and shown to staff, no AI turn
        session.turn = asyncio.create_task(
            self._drive(session, new_turn(text, self.deps), SAVED_INTERNAL_ERROR),
            name=f"turn-{session.id}",
        )

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
            try:
                await self.store.acall(self.store.resolve_confirmation, confirmation_id, status)
            except Exception:
                log.exception("could not store the answer to confirmation %s", confirmation_id)
                # The turn ends with the error; the stored question is still pending, so the
                # same card can be answered again (the late path resumes the turn).
                if not future.done():
                    future.set_exception(AnswerNotSaved(confirmation_id))
                return None
            future.set_result(approved)
            return None
        if not session.busy:
            session.starting = True
            lease = await self.replicas.lease(session)
            if lease is None:  # the turn that asked waits on another replica
                session.starting = False
                return await self.replicas.answer_elsewhere(session, confirmation_id, approved)
            before = session.turn
            try:
                pending = await self.store.acall(self.store.pending_confirmation, session.id)
                if pending is not None and pending.id == confirmation_id:
                    session.turn = asyncio.create_task(
                        self.late(session, pending, approved), name=f"late-{session.id}"
                    )
                    return None
            finally:
                session.starting = False
                self.replicas.keep_until_done(session, before, lease)
        return ErrorEvent(
            code="unknown_confirmation",
            message="There is no question waiting for that answer.",
        )

    # Turns -----------------------------------------------------------------------------------------
    async def _load(self, conv_id: str) -> History:
        """The model's history, without the order data of an ended verification."""
        hidden = order_data_actions(self.deps.registry)
        return History.from_store(
            await self.store.acall(self.store.shown_messages, conv_id, hidden)
        )

    async def _record(self, session: Session, conv: Conversation, message: dict[str, Any]) -> None:
        message = dict(message)
        citations = message.pop("citations", None)
        role = message.get("role", "assistant")
        await self.store.acall(self.store.append, session.id, role, message, citations)
        if conv.customer_email and conv.customer_email != session.customer_email:
            # Persist the verification as soon as it happens, not at the end of the turn; the
            # resume token rotates with it and the widget keeps the new one.
            session.customer_email = email = conv.customer_email
            token = await self.store.acall(
                self.store.credentials.verify, session.id, email, "order"
            )
            await session.emit(SessionEvent(resume_token=token, verified=True))

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

    async def late(self, session: Session, pending: PendingConfirmation, approved: bool) -> None:
        """Answer a confirmation whose turn is gone (server restart, or the shopper was away):
        resolved first (two answers cannot both run it), then the turn resumes."""
        status = "approved" if approved else "declined"
        try:
            if not await self.store.acall(self.store.resolve_confirmation, pending.id, status):
                return
        except Exception:
            log.exception("confirmation %s failed in conversation %s", pending.id, session.id)
            await session.emit(INTERNAL_ERROR)
            return
        late = LateAnswer(action=pending.action, arguments=pending.arguments, approved=approved)
        await self._drive(session, resumed_turn(late, self.deps))

    async def _drive(
        self, session: Session, run: TurnRun, failed: ErrorEvent = INTERNAL_ERROR
    ) -> None:
        """Run a turn with this session's callbacks; a failure is an error event (`failed`, or
        ANSWER_NOT_SAVED), not a crash."""
        try:
            if session.history is None:
                session.history = await self._load(session.id)
        except Exception:
            log.exception("could not load conversation %s", session.id)
            await session.emit(INTERNAL_ERROR)
            return
        conv = Conversation(session.id, session.customer_email, session.history)

        async def record(message: dict[str, Any]) -> None:
            await self._record(session, conv, message)

        async def confirm(request: ConfirmationRequest) -> bool:
            return await self._confirm(session, request)

        async def emit(event: ServerEvent) -> None:
            if isinstance(event, Handoff):
                await self._handoff(session, event.reason)
                if self.inbox is not None:
                    await session.emit(self.inbox.handoff_event(event))
                    return
            await session.emit(event)

        try:
            await run(conv, emit, confirm, record)
            if self.inbox is not None:
                self.inbox.publish("conversation.updated", session.id)
        except asyncio.CancelledError:
            session.history = None  # may hold a half-finished round; reload from the store
            session.may_have_stale_confirmation = True
            raise
        except AnswerNotSaved:
            session.history = None
            session.may_have_stale_confirmation = True
            await session.emit(ANSWER_NOT_SAVED)
        except Exception:
            log.exception("turn failed in conversation %s", session.id)
            session.history = None
            session.may_have_stale_confirmation = True
            await session.emit(failed)

    async def _handoff(self, session: Session, reason: str) -> None:
        """Mark the conversation for the inbox (GET /v1/conversations?status=handoff)."""
        await self.store.acall(self.store.set_status, session.id, "handoff")
        note = {"role": "system-note", "content": f"Handed off to a person: {reason}"}
        await self.store.acall(self.store.append, session.id, "system-note", note)
        if self.inbox is not None:
            session.human = True
            await self.inbox.handoff(session.id, reason)


__all__ = ["INTERNAL_ERROR", "Session", "SessionInbox", "SessionManager", "TypedCode"]
