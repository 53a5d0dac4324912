"""Who counts as the shopper: the store's verification mode and the limits on guessing.

`VerificationGate` is the `IdentityGate` that `lookup_order` consults (actions/verification.py):

- every failed order number + email match counts against the client's address, the order number
  and the email; when one runs out (e.g. 5 in 15 minutes) that order or email is locked, the
  shopper is told so in words and offered a person, and the staff see a note in the conversation;
- `SHOPDESK_VERIFICATION=signed`: only identities signed by the host page verify; a lookup by
  order number + email is refused in words;
- `email_code`: a matching pair sends a 6-digit code to the order's email before any order data
  is shown (agent/chat/email_code.py checks the code the shopper types).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from actions.builtin._common import ORDER_NOT_FOUND
from actions.context import ActionContext, ActionError
from actions.order_ids import lookup_key, order_number
from actions.records import Order
from actions.verification import CLIENT_ADDRESS
from agent.app.settings import Settings
from agent.chat.identity import normalize_email
from agent.chat.limits import CountersUnavailable, Rule, Throttle
from agent.store.conversations import ConversationStore

log = logging.getLogger("shopdesk.verification")

# The offline model answers a "yes" to exactly this offer by handing over (agent/models/offline).
OFFER_PERSON = "Would you like me to pass you to a person from the store?"
SIGNED_ONLY = (
    "This store shows orders only to shoppers who are signed in on its website, so I can't look "
    "one up by order number and email. Please sign in to your account there and open this chat "
    f"again. {OFFER_PERSON}"
)

# Only when the limit counters (Redis) cannot be reached: no guess goes uncounted.
UNAVAILABLE = f"I can't check orders right now; please try again in a few minutes. {OFFER_PERSON}"


class VerificationCodeSender(Protocol):
    """Sends a shopper their verification code (the email notifier implements it)."""

    async def send_code(self, email: str, code: str, store_name: str) -> None: ...


def mask_email(email: str) -> str:
    """Enough of an email to recognise, not to harvest: hannah@example.com → h•••@example.com."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


class LoggingCodeSender:
    """The embedded default: no mail server, so it only says that a code went out (never the code)."""

    async def send_code(self, email: str, code: str, store_name: str) -> None:
        log.info("verification code for %s sent to %s", store_name, mask_email(email))


class StaffNotice(Protocol):
    """How a lock reaches the console (agent.console.inbox.Inbox.publish)."""

    def publish(self, kind: Literal["conversation.updated"], conv_id: str) -> None: ...


@dataclass(frozen=True)
class Attempt:
    """What a lookup is counted against."""

    address: str
    order: str
    email: str

    @classmethod
    def of(cls, order_id: str, email: str) -> Attempt:
        # "#1009", "WK-1009" and "wk 1009" name one order: they share one counter.
        order = order_number(order_id) or lookup_key(order_id) or "?"
        return cls(CLIENT_ADDRESS.get() or "unknown", order, normalize_email(email))


class VerificationGate:
    """The store's verification rules for `lookup_order`; also counts wrong email codes."""

    def __init__(
        self,
        settings: Settings,
        throttle: Throttle,
        conversations: ConversationStore,
        *,
        staff: StaffNotice | None = None,
    ) -> None:
        self.settings = settings
        self.mode = settings.verification
        self.throttle = throttle
        self.rules = throttle.rules
        self.conversations = conversations
        self.staff = staff
        # Set by the server in email_code mode (agent.chat.email_code.EmailCodes).
        self.codes: CodeIssuer | None = None

    # IdentityGate ---------------------------------------------------------------------------
    async def before_lookup(self, ctx: ActionContext, order_id: str, email: str) -> None:
        if self.mode == "signed" and not ctx.customer_email:
            raise ActionError("signed_in_only", SIGNED_ONLY)
        try:
            locked = await self.locked(Attempt.of(order_id, email))
        except CountersUnavailable:
            raise ActionError("verification_unavailable", UNAVAILABLE) from None
        if locked is not None:
            raise self.lock_error(locked)

    async def lookup_failed(self, ctx: ActionContext, order_id: str, email: str) -> ActionError:
        try:
            return await self.count_failure(ctx.conversation_id, Attempt.of(order_id, email))
        except CountersUnavailable:
            return ActionError("verification_unavailable", UNAVAILABLE)

    async def lookup_matched(self, ctx: ActionContext, order: Order, email: str) -> None:
        owner = normalize_email(order.customer.email)
        if self.mode == "signed" and owner != ctx.customer_email:
            # Signed in as someone else: to them this order does not exist.
            raise await self.lookup_failed(ctx, order.id, email)
        if self.mode == "email_code" and owner != ctx.customer_email:
            if self.codes is None or ctx.conversation_id is None:
                raise ActionError("code_not_sent", self.code_unavailable())
            raise await self.codes.send(ctx.conversation_id, order, owner)

    # Counting ---------------------------------------------------------------------------------
    def _counters(self, attempt: Attempt) -> list[tuple[Rule, str, str]]:
        """(rule, key, what is locked in words) for each counter a failure adds to."""
        return [
            (self.rules.email_failures, attempt.email, "for that email address"),
            (self.rules.order_failures, attempt.order, "for that order number"),
            (self.rules.address_failures, attempt.address, "from your connection"),
        ]

    async def locked(self, attempt: Attempt) -> tuple[Rule, str] | None:
        """The first exhausted counter as (rule, words), or None when the lookup may be tried."""
        for rule, key, words in self._counters(attempt):
            if not await self.throttle.test(rule, key):
                return rule, words
        return None

    async def count_failure(self, conv_id: str | None, attempt: Attempt) -> ActionError:
        """Count one failed try (a pair that did not match, a wrong code): the error to answer
        with, which is the lock itself when this try used up a counter."""
        for rule, key, _words in self._counters(attempt):
            await self.throttle.hit(rule, key)
        locked = await self.locked(attempt)
        if locked is None:
            return ActionError("order_not_found", ORDER_NOT_FOUND)
        await self._tell_staff(conv_id, attempt, locked[0])
        return self.lock_error(locked)

    def lock_error(self, locked: tuple[Rule, str]) -> ActionError:
        rule, words = locked
        return ActionError(
            "verification_locked",
            "For your security I've paused order look-ups "
            f"{words} after several tries that didn't match. Please try again in {rule.window}. "
            f"{OFFER_PERSON}",
            details=[{"handoff_offered": True}],
        )

    async def _tell_staff(self, conv_id: str | None, attempt: Attempt, rule: Rule) -> None:
        what = {
            self.rules.email_failures.name: f"the email {attempt.email}",
            self.rules.order_failures.name: f"order number {attempt.order}",
        }.get(rule.name, "this connection")
        note = (
            f"Order look-ups locked for {what}: {rule.amount} tries that didn't match within "
            f"{rule.window} (client address {attempt.address})."
        )
        log.warning("verification locked for %s in conversation %s", rule.name, conv_id)
        if conv_id is None:
            return
        message = {"role": "system-note", "content": note}
        await self.conversations.acall(self.conversations.append, conv_id, "system-note", message)
        if self.staff is not None:
            self.staff.publish("conversation.updated", conv_id)

    def code_unavailable(self) -> str:
        return f"I can't send a verification code just now; please try again soon. {OFFER_PERSON}"


class CodeIssuer(Protocol):
    async def send(self, conv_id: str, order: Order, email: str) -> ActionError:
        """Send a code for `order` to `email`; the error that withholds the order meanwhile."""
        ...


__all__ = [
    "OFFER_PERSON",
    "SIGNED_ONLY",
    "UNAVAILABLE",
    "Attempt",
    "CodeIssuer",
    "LoggingCodeSender",
    "VerificationCodeSender",
    "VerificationGate",
    "mask_email",
]
