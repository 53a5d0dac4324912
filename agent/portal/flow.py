"""What the return portal does, without HTTP: every step runs through the chat's own code.

Identifying is `lookup_order` with the store's identity gate (the same throttles, locks, signed-only
mode and emailed codes as the chat); the lines and their fees are `check_eligibility`; confirming
is `create_return_authorization` (the same RMA, emails and return methods, idempotent on the
draft's key) and the label is `generate_label`. The portal never decides anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.builtin.labels import LabelResult, generate_label
from actions.builtin.orders import OrderSummary, lookup_order
from actions.builtin.returns import (
    EligibilityResult,
    ReturnAuthorizationResult,
    ReturnLineRequest,
    check_eligibility,
    create_return_authorization,
)
from actions.context import ActionContext, ActionError
from actions.policy import LineResult, ReturnReason
from actions.records import Order
from actions.return_status import ReturnStatus
from actions.verification import CLIENT_ADDRESS
from agent.app.state import AppState
from agent.chat.email_code import EmailCodes
from agent.chat.limits import CountersUnavailable
from agent.chat.verification import OFFER_PERSON, UNAVAILABLE, Attempt
from agent.portal.session import Draft, PortalSession
from agent.store.verification_codes import CodeStatus

# The chat offers a person at the end of some refusals; the portal points to the chat instead.
IN_THE_CHAT = "You can also ask us in the chat on our website."


class PortalError(Exception):
    """A refusal in words for the shopper (the page shows it with role="alert")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def words(error: ActionError) -> str:
    text = error.message.replace(OFFER_PERSON, "").strip()
    return f"{text} {IN_THE_CHAT}" if error.code.startswith("verification_") else text


@dataclass
class Portal:
    state: AppState

    def context(self, session: PortalSession) -> ActionContext:
        return ActionContext(
            services=self.state.services,
            now=self.state.settings.clock(),
            customer_email=session.email,
            conversation_id=session.conversation_id,
        )

    # Identify ---------------------------------------------------------------------------
    async def identify(
        self, session: PortalSession, order_id: str, email: str, address: str
    ) -> OrderSummary:
        """Order number + email through the identity gate; the shopper is verified when it
        answers with the order. Raises PortalError with the gate's own words otherwise."""
        if self.state.settings.verification == "email_code" and session.conversation_id is None:
            # An emailed code belongs to a conversation: the portal visit gets one of its own.
            record = await self.state.conversations.acall(self.state.conversations.create)
            session.conversation_id = record.id
        ctx = self.context(session)
        ctx.customer_email = None if not session.signed else session.email
        token = CLIENT_ADDRESS.set(address)
        try:
            summary = await lookup_order(ctx, order_id, email)
        except ActionError as exc:
            if exc.code == "verification_code_sent":
                session.code_sent, session.order_id = True, None
            raise PortalError(words(exc)) from None
        finally:
            CLIENT_ADDRESS.reset(token)
        session.email, session.order_id, session.code_sent = (
            ctx.customer_email,
            summary.order_id,
            False,
        )
        return summary

    async def check_code(self, session: PortalSession, code: str, address: str) -> None:
        """The emailed code typed into the portal: the same store, tries and locks as the chat."""
        codes = self.state.sessions.codes
        if not isinstance(codes, EmailCodes) or session.conversation_id is None:
            raise PortalError("No code is waiting; please enter your order number and email.")
        store = self.state.conversations
        pending = await store.acall(codes.codes.pending, session.conversation_id)
        if pending is None:
            session.code_sent = False
            raise PortalError("That code no longer works; please enter your order number and email again.")  # fmt: skip
        token = CLIENT_ADDRESS.set(address)
        try:
            locked = await codes.gate.locked(Attempt.of(pending.order_id, pending.email))
            if locked is not None:
                raise PortalError(words(codes.gate.lock_error(locked)))
            if pending.expires_at <= self.state.settings.clock():
                await store.acall(codes.codes.close, pending.id, CodeStatus.REPLACED)
                session.code_sent = False
                raise PortalError(codes._expired())
            status = await store.acall(
                codes.codes.record_try,
                pending.id,
                correct=codes.codes.matches(pending, code),
                max_tries=self.state.settings.verification_code_tries,
            )
            if status is not CodeStatus.USED:
                wrong = await codes._wrong(session.conversation_id, pending, status)
                session.code_sent = status is CodeStatus.PENDING
                raise PortalError(wrong.replace(OFFER_PERSON, IN_THE_CHAT))
        except CountersUnavailable:
            raise PortalError(UNAVAILABLE.replace(OFFER_PERSON, IN_THE_CHAT)) from None
        finally:
            CLIENT_ADDRESS.reset(token)
        session.email, session.order_id, session.code_sent = pending.email, pending.order_id, False

    def signed_in(self, session: PortalSession, email: str) -> None:
        session.email, session.signed, session.order_id = email.strip().lower(), True, None

    async def orders(self, session: PortalSession) -> list[Order]:
        """A signed-in shopper's own orders, newest first, to choose from."""
        if not session.email:
            return []
        store = self.state.services.store
        found = await self.state.conversations.acall(store.orders_for_customer, session.email)
        return sorted(found, key=lambda o: o.placed_at, reverse=True)

    async def choose_order(self, session: PortalSession, order_id: str) -> None:
        store = self.state.services.store
        order = await self.state.conversations.acall(
            store.order_for_customer, order_id, session.email
        )
        if order is None:
            raise PortalError("We couldn't find that order for you; please choose one of yours.")
        session.order_id, session.draft = order.id, None

    # Lines, fees and the return --------------------------------------------------------------
    async def eligibility(self, session: PortalSession, reason: ReturnReason) -> EligibilityResult:
        assert session.order_id is not None
        try:
            return await check_eligibility(self.context(session), session.order_id, reason=reason)
        except ActionError as exc:
            raise PortalError(words(exc)) from None

    async def preview(self, session: PortalSession, draft: Draft) -> list[LineResult]:
        """Each chosen line at its chosen quantity, as the policy answers it now."""
        assert session.order_id is not None
        out: list[LineResult] = []
        for sku, quantity in draft.lines.items():
            try:
                result = await check_eligibility(
                    self.context(session), session.order_id, sku=sku, quantity=quantity,
                    reason=ReturnReason(draft.reason),
                )  # fmt: skip
            except ActionError as exc:
                raise PortalError(words(exc)) from None
            out.extend(result.lines)
        refused = [line.message for line in out if not line.eligible]
        if refused:
            raise PortalError(" ".join(refused))
        return out

    async def confirm(self, session: PortalSession) -> ReturnAuthorizationResult:
        draft = session.draft
        if draft is None or session.order_id is None:
            raise PortalError("There is no return to confirm yet; please choose the items first.")
        ctx = self.context(session)
        ctx.idempotency_key = f"portal:{draft.key}"  # a second click finds the first one's RMA
        lines = [ReturnLineRequest(sku=sku, quantity=qty) for sku, qty in draft.lines.items()]
        try:
            return await create_return_authorization(
                ctx,
                session.order_id,
                lines,
                ReturnReason(draft.reason),
                draft.resolution,  # type: ignore[arg-type]
            )
        except ActionError as exc:
            raise PortalError(words(exc)) from None

    async def label(
        self, session: PortalSession, result: ReturnAuthorizationResult
    ) -> LabelResult | None:
        """The prepaid label for an approved parcel return (the confirmation was the yes)."""
        if not result.needs_label or result.status != ReturnStatus.APPROVED:
            return None
        try:
            return await generate_label(self.context(session), result.rma_id)
        except ActionError:
            return None  # e.g. it changed state meanwhile: the approval email still brings one


__all__ = ["IN_THE_CHAT", "Portal", "PortalError", "words"]
