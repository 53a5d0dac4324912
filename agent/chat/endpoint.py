"""The `/ws` endpoint: handshake checks, the frame loop, limits, and one handler per client event.

Bad input never drops the connection: every problem is an `error` event and the socket stays open.
The only closes are the idle timeout (code 4000, reason "idle_timeout"), a frame over the size limit
(an `error` event, then 1009 "frame_too_large"), and the origin refusal, which happens at the
handshake (HTTP 403) before any socket exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from actions.verification import CLIENT_ADDRESS
from agent.app import logs
from agent.app.settings import Settings
from agent.chat import lead_form, uploads
from agent.chat.events import (
    AnyServerEvent,
    ConfirmationResponse,
    ErrorEvent,
    EventError,
    Hello,
    Lead,
    LeadFormOffer,
    Ready,
    UploadRequest,
    UserMessage,
    parse_client_event,
)
from agent.chat.identity import normalize_email, verify_signature
from agent.chat.limits import Throttle, client_address, origin_allowed
from agent.chat.resume import expire_if_idle, order_data_actions, reconcile
from agent.chat.sessions import INTERNAL_ERROR, Session, SessionManager
from agent.store.conversations import ConversationRecord, ConversationStore

log = logging.getLogger("shopdesk.ws")


class CloseCode(IntEnum):
    """Close codes this server uses (4000–4999 are the application's own)."""

    POLICY_VIOLATION = 1008  # origin refused (sent as HTTP 403 during the handshake)
    MESSAGE_TOO_BIG = 1009  # a frame over max_frame_bytes, after an `error` event saying so
    IDLE_TIMEOUT = 4000
    SERVER_SHUTDOWN = 1001


NOTICES = {
    # The same words for an unknown id and a wrong or missing token: a probe learns nothing.
    "unknown_conversation": "That conversation was not found, so a new one has started.",
    "identity_changed": "A different shopper is signed in, so a new conversation has started.",
    "verification_expired": "You were away for a while, so your order details are hidden. "
    "Give your order number and email again to see them.",
}


class Throttled(Exception):
    """A limit refused what `hello` asked for; the message is the shopper's words."""


@dataclass
class Opened:
    """The conversation a hello gets: whether it was resumed, its current resume token, and why a
    new one started (a key of NOTICES) when one was asked for."""

    record: ConversationRecord
    token: str
    resumed: bool
    notice: str | None


class ChatState(Protocol):
    """What the endpoint needs of the app (agent.app.state.AppState has it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def conversations(self) -> ConversationStore: ...
    @property
    def sessions(self) -> SessionManager: ...
    @property
    def throttle(self) -> Throttle: ...


class ChatSocket:
    """One client connection: at most one conversation, chosen by `hello`."""

    def __init__(self, websocket: WebSocket, state: ChatState) -> None:
        self.websocket = websocket
        self.settings = state.settings
        self.store: ConversationStore = state.conversations
        self.sessions: SessionManager = state.sessions
        self.throttle: Throttle = state.throttle
        client = websocket.client
        self.address = client_address(
            client.host if client else None,
            websocket.headers.get("x-forwarded-for"),
            self.throttle.trusted_proxies,
        )
        self.session: Session | None = None
        self.open = True

    async def send_text(self, text: str) -> bool:
        if not self.open:
            return False
        try:
            await self.websocket.send_text(text)
            return True
        except Exception:  # the peer went away mid-send
            self.open = False
            return False

    async def send(self, event: AnyServerEvent) -> None:
        await self.send_text(event.model_dump_json())

    async def error(self, code: str, message: str) -> None:
        await self.send(ErrorEvent(code=code, message=message))

    async def close(self, code: int, reason: str) -> None:
        self.open = False
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.websocket.close(code=code, reason=reason)

    # The frame loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        CLIENT_ADDRESS.set(self.address)  # the turns this socket starts count against it
        try:
            while self.open:
                try:
                    async with asyncio.timeout(self.settings.idle_timeout):
                        message = await self.websocket.receive()
                except TimeoutError:
                    self.open = False
                    with contextlib.suppress(Exception):  # the peer may be gone already
                        await self.websocket.close(
                            code=CloseCode.IDLE_TIMEOUT, reason="idle_timeout"
                        )
                    return
                if message["type"] == "websocket.disconnect":
                    return
                await self.frame(message.get("text"), message.get("bytes"))
        except WebSocketDisconnect:
            return
        finally:
            self.open = False
            if self.session is not None:
                self.sessions.detach(self.session, self.send_text)

    async def frame(self, text: str | None, data: bytes | None) -> None:
        limit = self.settings.max_frame_bytes
        size = len(data) if data is not None else len(text or "")
        if text is not None and limit // 4 < size <= limit:
            size = len(text.encode("utf-8", "surrogatepass"))  # exact only when it could matter
        if size > limit:
            # Said in words first, so the client knows why the close that follows came.
            await self.error(
                "frame_too_large",
                f"That message was too large to read (at most {limit} bytes), so this connection "
                "is closing; reconnect to carry on.",
            )
            await self.close(CloseCode.MESSAGE_TOO_BIG, "frame_too_large")
            return
        if text is None:
            await self.error("invalid_event", "Send events as JSON text frames.")
            return
        try:
            event = parse_client_event(text)
        except EventError as exc:
            if exc.event_type == "lead":
                await self.lead_error(exc.code, exc.message)
            else:
                await self.send(exc.to_event())
            return
        try:
            if isinstance(event, Hello):
                await self.hello(event)
            elif isinstance(event, UserMessage):
                await self.user_message(event)
            elif isinstance(event, ConfirmationResponse):
                await self.confirmation_response(event)
            elif isinstance(event, Lead):
                await self.lead(event)
            elif isinstance(event, UploadRequest):
                await uploads.answer(self, event)
        except Exception:  # never a stack trace to the client, never a dropped socket
            log.exception("error handling %s", type(event).__name__)
            await self.send(INTERNAL_ERROR)

    # Events --------------------------------------------------------------------------------------
    async def hello(self, event: Hello) -> None:
        if self.session is not None:
            await self.error("already_started", "This connection already has a conversation.")
            return
        email: str | None = None
        if event.identity is not None:
            # Guessing signatures is a verification failure like a wrong order number.
            failures = self.throttle.rules.address_failures
            if not await self.throttle.test(failures, self.address):
                await self.error(
                    "rate_limited",
                    "Too many sign-in attempts have failed from your network; please try "
                    f"again in {failures.window}.",
                )
                return
            if not verify_signature(
                event.identity.email, event.identity.signature, self.settings.secret
            ):
                await self.throttle.hit(failures, self.address)
                await self.error(
                    "bad_signature", "The signed identity could not be verified; not signed in."
                )
                return
            email = normalize_email(event.identity.email)
        try:
            opened = await self._conversation_for(event.conversation_id, event.resume_token, email)
        except Throttled as refused:
            await self.error("rate_limited", str(refused))
            return
        record = opened.record
        logs.conversation_id.set(record.id)  # this socket's log lines name its conversation
        self.session = self.sessions.attach(record.id, record.customer_email, self.send_text)
        try:
            await self._ready(opened, signed=email is not None)
        except Exception:
            # Not started after all (no ready was sent): the client may say hello again.
            self.sessions.detach(self.session, self.send_text)
            self.session = None
            raise

    async def _ready(self, opened: Opened, *, signed: bool) -> None:
        """Settle a resumed conversation, then send `ready` (and a question still open)."""
        assert self.session is not None
        record = opened.record
        if opened.resumed:
            await self._settle(opened, signed=signed)
        hidden = order_data_actions(self.sessions.deps.registry)
        transcript = await self.store.acall(self.store.transcript, record.id, hidden)
        notice = opened.notice
        # Announced in ready, then re-sent as the event itself (a client that missed it acts on it).
        pending = await self.sessions.pending_for(self.session)
        consent_text = lead_form.consent_text(self.sessions.deps)
        ready = Ready(
            conversation_id=record.id,
            resume_token=opened.token,
            transcript=transcript,
            resumed=opened.resumed,
            verified=bool(record.customer_email),
            notice=NOTICES[notice] if notice is not None else None,
            pending_confirmation=pending.id if pending is not None else None,
            # The widget offers its "keep me posted" form only when told the words to show.
            lead_form=LeadFormOffer(consent_text=consent_text) if consent_text else None,
        )
        await self.send(ready)
        if pending is not None:
            await self.send(pending)

    async def _conversation_for(
        self, conv_id: str | None, token: str | None, email: str | None
    ) -> Opened:
        """The conversation `hello` asked for when its resume token matches, or a new one."""
        record: ConversationRecord | None = None
        notice: str | None = None
        credentials = self.store.credentials
        if conv_id:
            record = await self.store.acall(self.store.get, conv_id)
            if record is None or not await self.store.acall(credentials.matches, conv_id, token):
                # An id alone is a name, not a credential: it resumes nothing, reveals nothing.
                record, notice = None, "unknown_conversation"
            elif email and record.customer_email and record.customer_email != email:
                # Someone else is signed in now: never show them another shopper's conversation.
                record, notice = None, "identity_changed"
        if record is None:
            refused = await self.throttle.new_conversation(self.address)
            if refused is not None:
                raise Throttled(refused)
            record = await self.store.acall(self.store.create, email)
            if email:
                await self._note(record.id, f"Shopper verified by signed identity: {email}")
                fresh = await self.store.acall(credentials.verify, record.id, email, "signed")
            else:
                fresh = await self.store.acall(credentials.issue, record.id)
            return Opened(record, fresh, False, notice)
        assert token is not None  # matched above
        if email and record.customer_email != email:
            await self._note(record.id, f"Shopper verified by signed identity: {email}")
            token = await self.store.acall(credentials.verify, record.id, email, "signed")
            record.customer_email = email
        return Opened(record, token, True, notice)

    async def _settle(self, opened: Opened, *, signed: bool) -> None:
        """A resume first records what a dead turn left unrecorded, then ends a guest
        verification idle too long (a signed hello has just verified the shopper)."""
        assert self.session is not None
        store, deps = self.store, self.sessions.deps
        # Only while no turn runs anywhere: a live turn on another replica records its own.
        lease = await self.sessions.replicas.lease(self.session)
        if lease is not None:
            try:
                await reconcile(store, deps, self.session)
            finally:
                await lease.release()
        token = None if signed else await expire_if_idle(store, deps, self.session)
        if token is not None:
            opened.token, opened.notice = token, "verification_expired"
            opened.record.customer_email = None
        await store.acall(store.credentials.seen, opened.record.id, "signed" if signed else None)

    async def _note(self, conv_id: str, text: str) -> None:
        await self.store.acall(
            self.store.append, conv_id, "system-note", {"role": "system-note", "content": text}
        )

    async def user_message(self, event: UserMessage) -> None:
        if self.session is None:
            await self.error("no_conversation", "Send a hello event first.")
            return
        text = event.text
        limit = self.settings.max_message_chars
        if len(text) > limit:
            await self.error(
                "message_too_long",
                f"Messages can be at most {limit} characters; please shorten it.",
            )
            return
        if not text.strip():
            await self.error("empty_message", "The message is empty.")
            return
        refused = await self.throttle.message(self.session.id, self.address)
        if refused is not None:
            await self.error("rate_limited", refused)
            return
        problem = await self.sessions.user_message(self.session, text)
        if problem is not None:
            await self.send(problem)

    async def confirmation_response(self, event: ConfirmationResponse) -> None:
        if self.session is None:
            await self.error("no_conversation", "Send a hello event first.")
            return
        problem = await self.sessions.confirmation_response(self.session, event.id, event.approved)
        if problem is not None:
            await self.send(problem)

    async def lead(self, event: Lead) -> None:
        """The widget's lead form: no turn, no confirmation request (the ticked box is the
        consent); the answer goes to this socket only, as lead_saved or an error about the lead."""
        if self.session is None:
            await self.lead_error("no_conversation", "Send a hello event first.")
            return
        # Its own budget, so a form retry never costs the shopper a chat message.
        if not await self.throttle.hit(
            self.throttle.rules.conversation_messages, f"lead:{self.session.id}"
        ):
            await self.lead_error(
                "rate_limited", "That was sent too often; please wait a moment and try again."
            )
            return
        await self.send(await lead_form.submit(self.sessions, self.session, event))

    async def lead_error(self, code: str, message: str) -> None:
        # `about` lets the widget show it in the form, not as a chat error.
        await self.send(ErrorEvent(code=code, message=message, about="lead"))


def chat_endpoint(state: ChatState) -> Callable[[WebSocket], Awaitable[None]]:
    """The `/ws` handler for an app's state."""

    async def endpoint(websocket: WebSocket) -> None:
        allowed = state.settings.allowed_origins
        if not origin_allowed(
            websocket.headers.get("origin"), websocket.headers.get("host"), allowed
        ):
            # Closing before accept makes the server answer the handshake with HTTP 403.
            await websocket.close(code=CloseCode.POLICY_VIOLATION)
            return
        await websocket.accept()
        await ChatSocket(websocket, state).run()

    return endpoint


__all__ = ["ChatSocket", "CloseCode", "chat_endpoint"]
