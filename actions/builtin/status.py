"""`get_return_status`: the verified shopper's returns, in words, with what happens next.

A return is described from its record, its order and the policy: the status in words, the next
step, the reason for a rejection (as the store wrote it), the label link (or, for an approved
parcel-label return, the offer to make one), and the amount, method and timing of a refund. The
same description is what the shopper's open widgets are told when the store changes a return
(`describe_return`, used by agent/chat/notices.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field

from actions import wording
from actions.builtin._common import ORDER_NOT_FOUND, blocking, join_words
from actions.context import ActionContext, ActionError, ActionResult
from actions.policy import Policy, format_date, format_money, local_date, money
from actions.records import Order
from actions.registry import action
from actions.return_methods import APPROVED_NEXT, ReturnMethod
from actions.return_methods import return_method_of as methods_of_lines
from actions.return_status import ReturnStatus
from actions.store.rma import ReturnAuthorization

if TYPE_CHECKING:
    from actions.services import ActionServices

S = ReturnStatus
MAX_LISTED = 5  # a shopper with many returns hears about the newest few
LABEL_OFFER = "Would you like me to create the prepaid return label now?"


class ReturnedItem(BaseModel):
    sku: str
    name: str
    quantity: int


class RefundDetails(BaseModel):
    amount: Decimal
    currency: str
    method: str  # in words: "to your original payment method", "as store credit", …
    issued_on: str
    timing: str


class ReturnStatusItem(BaseModel):
    rma_id: str
    order_id: str
    status: str
    status_words: str
    items: list[ReturnedItem]
    return_method: ReturnMethod
    refund_total: Decimal
    currency: str
    next_step: str
    rejection_reason: str | None = None
    label_url: str | None = None
    tracking_number: str | None = None
    label_offer: bool = False  # approved, goes by parcel, no label yet: the label can be made now
    refund: RefundDetails | None = None
    message: str


class ReturnStatusResult(ActionResult):
    returns: list[ReturnStatusItem]


# Describing one return (pure) -------------------------------------------------------------------
def return_method_of(rma: ReturnAuthorization, order: Order | None, policy: Policy) -> ReturnMethod:
    """How this return goes back: each line's method under the policy, as recorded on the line."""
    return methods_of_lines(rma, order.line if order else (lambda sku: None), policy)


def _rejection_reason(rma: ReturnAuthorization) -> str | None:
    for entry in reversed(rma.history):
        if entry.to_status == S.REJECTED:
            note = entry.detail.get("note")
            return str(note).strip() if note else rma.note
    return rma.note


def _refund(rma: ReturnAuthorization, policy: Policy) -> RefundDetails | None:
    refund = rma.refund
    if refund is None:
        return None
    day = format_date(local_date(refund.created_at, policy.returns.zone))
    if refund.method == "store_credit":
        how, timing = "as store credit", "it's ready to use straight away"
    elif refund.method == "replacement":
        how, timing = "as a replacement", "it ships like a new order"
    else:
        how = "to your original payment method"
        within = policy.returns.refund_shows_within
        timing = f"it usually shows within {within}" if within else "your bank shows it soon"
    return RefundDetails(
        amount=refund.amount, currency=refund.currency, method=how, issued_on=day, timing=timing
    )


def _next_step(rma: ReturnAuthorization, method: ReturnMethod, refund: RefundDetails | None) -> str:
    status = rma.status
    if status in (S.RETURN_REQUESTED, S.ELIGIBILITY_CHECK):
        return "We're checking it against our return policy and will let you know here."
    if status == S.MANUAL_REVIEW:
        return (
            "A member of our team reviews it, usually within one business day, and you'll hear "
            "as soon as it's decided."
        )
    if status == S.APPROVED:
        return APPROVED_NEXT[method]
    if status == S.LABEL_SENT and rma.label is not None:
        return (
            f"Print your prepaid label ({rma.label.url}), stick it on the parcel and drop it off "
            f"(tracking number {rma.label.tracking_number}); we refund you once it's back with us."
        )
    if status == S.ITEM_RECEIVED:
        return "We're inspecting it now, and your refund follows once that's done."
    if status == S.REFUNDED and refund is not None:
        amount = format_money(money(refund.amount), refund.currency)
        return f"{amount} went back {refund.method} on {refund.issued_on}; {refund.timing}."
    if status == S.REJECTED:
        return "If you think we got this wrong, a person from the store can take another look."
    if status == S.CANCELLED:
        return "Nothing more happens with it; the items can be returned again within their window."
    return ""


def _headline(rma: ReturnAuthorization, items: str, total: str) -> str:
    what = f"Return {rma.id} ({items} from order {rma.order_id})"
    status = rma.status
    if status == S.MANUAL_REVIEW:
        return f"{what} is waiting for a review by our team."
    if status in (S.RETURN_REQUESTED, S.ELIGIBILITY_CHECK):
        return f"{what} has been requested and is being checked."
    if status in (S.APPROVED, S.LABEL_SENT):
        return f"{what} is approved, for {total}."
    if status == S.ITEM_RECEIVED:
        return f"We've received your return {rma.id} ({items} from order {rma.order_id})."
    if status == S.REFUNDED:
        return f"{what} is refunded."
    if status == S.REJECTED:
        return f"{what} was not approved."
    return f"{what} is {wording.return_status(status)}."


def _total_words(rma: ReturnAuthorization) -> str:
    amount = format_money(money(rma.refund_total), rma.currency)
    if rma.resolution == "store_credit":
        return f"store credit of {amount}"
    if rma.resolution == "replacement":
        return "a replacement"
    return f"a refund of {amount}"


def describe_return(
    rma: ReturnAuthorization, order: Order | None, policy: Policy
) -> ReturnStatusItem:
    """One return as the shopper should hear it (no I/O: the caller loads the order)."""
    names = {item.sku: item.name for item in order.items} if order else {}
    items = [
        ReturnedItem(sku=ln.sku, name=names.get(ln.sku, ln.sku), quantity=ln.quantity)
        for ln in rma.lines
    ]
    method = return_method_of(rma, order, policy)
    refund = _refund(rma, policy)
    reason = _rejection_reason(rma) if rma.status == S.REJECTED else None
    offer = rma.status == S.APPROVED and method is ReturnMethod.PARCEL_LABEL and rma.label is None
    listed = join_words([f"{item.quantity} × {item.name}" for item in items])
    text = _headline(rma, listed, _total_words(rma))
    if reason:
        text += f" The reason our team gave: {reason.rstrip('.')}."
    next_step = _next_step(rma, method, refund)
    if next_step:
        text += f" {next_step}"
    return ReturnStatusItem(
        rma_id=rma.id,
        order_id=rma.order_id,
        status=rma.status,
        status_words=wording.return_status(rma.status),
        items=items,
        return_method=method,
        refund_total=rma.refund_total,
        currency=rma.currency,
        next_step=next_step,
        rejection_reason=reason,
        label_url=rma.label.url if rma.label else None,
        tracking_number=rma.label.tracking_number if rma.label else None,
        label_offer=offer,
        refund=refund,
        message=f"{text} {LABEL_OFFER}" if offer else text,
    )


def status_result(described: list[ReturnStatusItem], scope: str) -> ReturnStatusResult:
    if not described:
        return ReturnStatusResult(returns=[], message=f"I can't find any return {scope}.")
    shown = described[:MAX_LISTED]
    if len(shown) == 1:
        message = shown[0].message
    else:
        more = len(described) - len(shown)
        lines = [f"You have {len(described)} returns {scope}:"]
        lines += [f"- {item.message}" for item in shown]
        if more:
            lines.append(f"…and {more} older ones.")
        message = "\n".join(lines)
    return ReturnStatusResult(returns=described, message=message)


async def describe_for(services: ActionServices, rma: ReturnAuthorization) -> ReturnStatusItem:
    """describe_return with the order loaded."""
    order = await blocking(services.store.find_order, rma.order_id)
    return describe_return(rma, order, services.policy)


# The action ------------------------------------------------------------------------------------
async def _shoppers_returns(
    ctx: ActionContext, order_id: str | None, rma_id: str | None
) -> tuple[list[ReturnAuthorization], str]:
    email = ctx.customer_email
    if not email:  # the registry refuses first; never list returns without their shopper
        raise ActionError("identity_required", "I need to verify you before I can check returns.")
    rmas = await blocking(ctx.services.workflow.for_customer, email)
    if rma_id:
        wanted = rma_id.strip().upper()
        found = [r for r in rmas if r.id == wanted]
        if not found:  # someone else's reads exactly like an unknown one
            raise ActionError(
                "rma_not_found", f"I couldn't find a return {rma_id.strip()} for you."
            )
        return found, f"with the number {wanted}"
    if order_id:
        order = await blocking(ctx.services.store.order_for_customer, order_id, email)
        if order is None:
            raise ActionError("order_not_found", ORDER_NOT_FOUND)
        return [r for r in rmas if r.order_id == order.id], f"for order {order.id}"
    return rmas, "for you"


@action(
    identity=True,
    examples=(
        "what's happening with my return?",
        "has my return been approved",
        "why was my return rejected",
        "what happens now with my return",
        "did you get my parcel back",
        "when will I get my refund",
    ),
)
async def get_return_status(
    ctx: ActionContext,
    order_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
    rma_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
) -> ReturnStatusResult:
    """The status of the shopper's returns: all of them, or those of one order or one return
    number. Each says what happens next, why it was rejected, its label link, or its refund.

    Args:
        order_id: Only the returns of this order, e.g. "WK-1001".
        rma_id: Only this return, e.g. "RMA-7F3K2Q".
    """
    rmas, scope = await _shoppers_returns(ctx, order_id, rma_id)
    described = [await describe_for(ctx.services, rma) for rma in rmas]
    return status_result(described, scope)


__all__ = [
    "LABEL_OFFER",
    "ReturnStatusItem",
    "ReturnStatusResult",
    "describe_for",
    "describe_return",
    "get_return_status",
    "return_method_of",
    "status_result",
]
