"""`SHOPDESK_VERIFICATION=email_code`: a 6-digit code to the order's email before any order data.

1. `lookup_order` matches order number + email; `EmailCodes.send` stores a hashed code (valid for
   `verification_code_minutes` by the settings' clock) and sends it through the
   `VerificationCodeSender`; the shopper is told where it went, and sees no order data yet.
2. The shopper types the code into the chat. `EmailCodes.answer` reads it before any model turn
   (the code is a credential: it is stored as dots, never as typed, and never reaches a model).
   Right: the conversation is verified for that email and the lookup runs again through the one
   tool executor, so the shopper gets the order they asked about. Wrong: the tries left, in words;
   each wrong code also counts as a failed verification (the same locks as wrong order numbers).
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from actions.context import ActionError
from actions.records import Order
from agent.chat.events import AssistantMessage
from agent.chat.limits import CountersUnavailable
from agent.chat.verification import (
    OFFER_PERSON,
    UNAVAILABLE,
    Attempt,
    VerificationCodeSender,
    VerificationGate,
    mask_email,
)
from agent.store.verification_codes import CodeStatus, CodeStore, PendingCode

if TYPE_CHECKING:
    from agent.chat.sessions import Session, SessionManager

log = logging.getLogger("shopdesk.verification")

# "123456", "123 456", "my code is 123456." — short messages holding one 6-digit group.
CODE_RE = re.compile(r"(?<!\d)(\d{3})[ -]?(\d{3})(?!\d)")
TYPED_CODE = "••••••"  # what the transcript keeps of a typed code


def code_in(text: str) -> str | None:
    if len(text) > 60:
        return None
    found = CODE_RE.findall(text)
    return "".join(found[0]) if len(found) == 1 else None


class EmailCodes:
    """Issues codes (the gate's `CodeIssuer`) and checks the ones shoppers type (a `TypedCode`)."""

    def __init__(
        self, gate: VerificationGate, codes: CodeStore, sender: VerificationCodeSender
    ) -> None:
        self.gate = gate
        self.codes = codes
        self.sender = sender
        self.settings = gate.settings
        self.conversations = gate.conversations

    async def send(self, conv_id: str, order: Order, email: str) -> ActionError:
        rule = self.gate.rules.codes_sent
        if not await self.gate.throttle.hit(rule, email):  # a shopper's inbox is not a target
            return ActionError(
                "verification_code_limit",
                f"I've already sent several codes to {mask_email(email)}; please use the newest "
                f"one, or ask again in {rule.window}. {OFFER_PERSON}",
            )
        code = f"{secrets.randbelow(1_000_000):06d}"
        minutes = self.settings.verification_code_minutes
        expires = self.settings.clock() + timedelta(minutes=minutes)
        code_id = await self.conversations.acall(
            self.codes.issue, conv_id, email=email, order_id=order.id, code=code, expires_at=expires
        )
        try:
            await self.sender.send_code(email, code, self.settings.store_name)
        except Exception:
            log.exception("could not send a verification code in conversation %s", conv_id)
            await self.conversations.acall(self.codes.close, code_id, CodeStatus.REPLACED)
            return ActionError("code_not_sent", self.gate.code_unavailable())
        return ActionError(
            "verification_code_sent",
            f"To keep your order private, I've sent a 6-digit code to {mask_email(email)}; it "
            f"works for {_minutes(minutes)}. Could you type it here so I can show you order "
            f"{order.id}?",
        )

    async def answer(self, manager: SessionManager, session: Session, text: str) -> bool:
        """Take a typed code before any model turn; False when `text` is not one (no code waits,
        or it holds no 6-digit code), and the message goes on as any other."""
        code = code_in(text)
        if code is None:
            return False
        session.starting = True  # one message at a time, as for any other (sessions.py)
        try:
            pending = await self.conversations.acall(self.codes.pending, session.id)
            if pending is None:
                return False
            await manager.store_user_message(session, TYPED_CODE)
            try:
                await self._check(manager, session, pending, code)
            except CountersUnavailable:
                await self._reply(session, UNAVAILABLE)
            return True
        finally:
            session.starting = False

    async def _check(
        self, manager: SessionManager, session: Session, pending: PendingCode, code: str
    ) -> None:
        store = self.conversations
        locked = await self.gate.locked(_attempt(pending))
        if locked is not None:  # wrong codes (or order numbers) used up a counter: no more tries
            await self._reply(session, self.gate.lock_error(locked).message)
            return
        if pending.expires_at <= self.settings.clock():
            await store.acall(self.codes.close, pending.id, CodeStatus.REPLACED)
            await self._reply(session, self._expired())
            return
        correct = self.codes.matches(pending, code)
        status = await store.acall(
            self.codes.record_try,
            pending.id,
            correct=correct,
            max_tries=self.settings.verification_code_tries,
        )
        if status is CodeStatus.USED:
            await self._verified(manager, session, pending)
        else:
            await self._reply(session, await self._wrong(session.id, pending, status))

    async def _verified(self, manager: SessionManager, session: Session, code: PendingCode) -> None:
        await self.conversations.acall(self.conversations.set_customer, session.id, code.email)
        session.customer_email = code.email
        note = {"role": "system-note", "content": f"Shopper verified by emailed code: {code.email}"}
        await self.conversations.acall(self.conversations.append, session.id, "system-note", note)
        # The lookup the code was for, now as the verified shopper: the order they asked about.
        manager.run_action(
            session, "lookup_order", {"order_id": code.order_id, "email": code.email}
        )

    async def _wrong(self, conv_id: str, code: PendingCode, status: CodeStatus | None) -> str:
        failure = await self.gate.count_failure(conv_id, _attempt(code))
        if failure.code == "verification_locked":
            return failure.message
        if status is CodeStatus.SPENT or status is None:
            return (
                "That code doesn't match, and it has had too many wrong tries, so it no longer "
                "works. Give me your order number and email again and I'll send a new one. "
                f"{OFFER_PERSON}"
            )
        left = self.settings.verification_code_tries - code.tries - 1
        tries = "1 try" if left == 1 else f"{left} tries"
        return (
            f"That code doesn't match ({tries} left). Could you check the email and type it again?"
        )

    def _expired(self) -> str:
        return (
            f"That code has expired (codes work for "
            f"{_minutes(self.settings.verification_code_minutes)}). Give me your order number and "
            "email again and I'll send a new one."
        )

    async def _reply(self, session: Session, text: str) -> None:
        message = {"role": "assistant", "content": text}
        await self.conversations.acall(self.conversations.append, session.id, "assistant", message)
        if session.history is not None:
            session.history.add(message)
        await session.emit(AssistantMessage(text=text))


def _attempt(code: PendingCode) -> Attempt:
    """A typed code counts against the order and email it was sent for, and this client."""
    return Attempt.of(code.order_id, code.email)


def _minutes(minutes: float) -> str:
    whole = round(minutes)
    return "1 minute" if whole == 1 else f"{whole} minutes"


__all__ = ["CODE_RE", "TYPED_CODE", "EmailCodes", "code_in"]
