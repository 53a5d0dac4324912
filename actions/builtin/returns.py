"""`check_eligibility` and `create_return_authorization`: the policy engine applied to the verified
shopper's own order, and the authorization it allows (never more)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.builtin._common import (
    blocking,
    item_not_on_order,
    join_words,
    shoppers_order,
    shoppers_order_with_returns,
)
from actions.builtin.evidence_rule import (
    attach_photos,
    photo_count,
    photos_sentence,
    require_photos,
)
from actions.context import ActionContext, ActionError, ActionResult
from actions.policy import (
    LineResult,
    ReturnReason,
    evaluate_line,
    format_money,
    line_method,
    money,
)
from actions.records import Order, OrderLine
from actions.registry import action
from actions.return_methods import APPROVED_NEXT, ReturnMethod, main_method, stored_method
from actions.return_status import INACTIVE, ReturnStatus
from actions.workflow import WorkflowError

Resolution = Literal["refund", "replacement", "store_credit"]
_WHY_NOT = {
    "final_sale": "final sale",
    "outside_window": "past its return window",
    "quantity_exceeds": "already being returned",
    "not_delivered": "not delivered yet",
}


class EligibilityResult(ActionResult):
    order_id: str
    reason: ReturnReason
    lines: list[LineResult]


class ReturnLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(min_length=1, max_length=64, description="The item's SKU")]
    quantity: Annotated[int, Field(ge=1, le=1000, description="How many to return")] = 1


class AuthorizedLine(BaseModel):
    sku: str
    name: str
    quantity: int
    refund_amount: Decimal
    restocking_fee: Decimal
    return_shipping_fee: Decimal
    return_shipping_required: bool


class ReturnAuthorizationResult(ActionResult):
    rma_id: str
    order_id: str
    status: str
    reason: str
    resolution: str
    review: str
    currency: str
    refund_total: Decimal
    return_shipping_required: bool
    return_method: ReturnMethod
    needs_label: bool  # goes back by parcel: a prepaid label can be made once it's approved
    lines: list[AuthorizedLine]
    photos: int = 0  # the shopper's photos the return carries (actions/evidence)


# Shared steps ----------------------------------------------------------------------------------
def _line(order: Order, sku: str) -> OrderLine:
    line = order.line(sku)
    if line is None:
        raise item_not_on_order(order, sku)
    return line


async def _evaluate(
    ctx: ActionContext,
    order: Order,
    wanted: list[tuple[OrderLine, int]],
    reason: ReturnReason,
    done: dict[str, int] | None = None,
) -> list[LineResult]:
    if done is None:
        authorized = await blocking(ctx.services.store.authorized_quantities, order.id)
        done = {sku.lower(): qty for sku, qty in authorized.items()}
    return [
        evaluate_line(
            order, line, qty, reason, ctx.services.policy, ctx.now, done.get(line.sku.lower(), 0)
        )
        for line, qty in wanted
    ]


def _all_eligible(results: list[LineResult]) -> list[LineResult]:
    for result in results:
        if not result.eligible:
            raise ActionError(result.reason_code or "not_eligible", result.message)
    return results


def _merge(order: Order, lines: list[ReturnLineRequest]) -> list[tuple[OrderLine, int]]:
    """Requested lines against the order: unknown SKUs refused, repeated SKUs added up."""
    merged: dict[str, tuple[OrderLine, int]] = {}
    for request in lines:
        line = _line(order, request.sku)
        _, before = merged.get(line.sku, (line, 0))
        merged[line.sku] = (line, before + request.quantity)
    return list(merged.values())


def _eligibility_message(order: Order, lines: list[LineResult]) -> str:
    if len(lines) == 1:
        return lines[0].message
    ok = [line for line in lines if line.eligible]
    refused = [line for line in lines if not line.eligible]
    if not ok and {line.reason_code for line in refused} == {"not_delivered"}:
        return refused[0].message
    total = format_money(
        money(sum((line.refund_amount for line in ok), Decimal(0))), order.currency
    )
    fees = sum((line.restocking_fee + line.return_shipping_fee for line in ok), Decimal(0))
    if fees:
        total += f" after {format_money(money(fees), order.currency)} in fees"
    not_list = join_words([f"the {ln.name} ({_WHY_NOT[ln.reason_code or '']})" for ln in refused])
    if not refused:
        return f"Every item on order {order.id} can be returned, for refunds totalling {total}."
    if not ok:
        return f"None of the items on order {order.id} can be returned for this reason: {not_list}."
    return (
        f"On order {order.id}, the {join_words([ln.name for ln in ok])} can be returned "
        f"(refunds totalling {total}), but not {not_list}."
    )


# check_eligibility ------------------------------------------------------------------------------
@action(
    identity=True,
    examples=(
        "can I return my engraved mug?",
        "is my order still returnable",
        "the bowl arrived chipped, can I send it back",
        "can I still return the chair I bought",
    ),
)
async def check_eligibility(
    ctx: ActionContext,
    order_id: Annotated[str, Field(min_length=1, max_length=64)],
    sku: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1,
    reason: ReturnReason = ReturnReason.CHANGED_MIND,
) -> EligibilityResult:
    """Check whether items of the shopper's order can be returned under the store's policy, and for
    what refund.

    Args:
        order_id: The order number, e.g. "WK-1001".
        sku: One item's SKU; leave it out to check every item on the order (each at the quantity
            still returnable).
        quantity: How many of that item the shopper wants to return.
        reason: Why it is coming back: a buyer reason (changed_mind, wrong_size,
            ordered_by_mistake, no_longer_needed) or a fault (damaged, defective, wrong_item,
            not_as_described, seller_error).
    """
    order, done = await shoppers_order_with_returns(ctx, order_id)
    if sku is not None:
        wanted = [(_line(order, sku), quantity)]
    else:  # each line at the quantity still returnable; all of it when none is, so the line says why
        wanted = [
            (line, max(line.quantity - done.get(line.sku.lower(), 0), 0) or line.quantity)
            for line in order.items
        ]
    results = await _evaluate(ctx, order, wanted, reason, done)
    return EligibilityResult(
        order_id=order.id,
        reason=reason,
        lines=results,
        message=_eligibility_message(order, results),
    )


# create_return_authorization ------------------------------------------------------------------
def _rma_result(
    order: Order, rma: Any, methods: dict[str, ReturnMethod]
) -> ReturnAuthorizationResult:
    names = {line.sku: line.name for line in order.items}
    lines = [
        AuthorizedLine(
            sku=ln.sku,
            name=names.get(ln.sku, ln.sku),
            quantity=ln.quantity,
            refund_amount=ln.refund_amount,
            restocking_fee=ln.restocking_fee,
            return_shipping_fee=ln.return_shipping_fee,
            return_shipping_required=ln.return_shipping_required,
        )
        for ln in rma.lines
    ]
    items = join_words([f"{ln.quantity} × {ln.name}" for ln in lines])
    what = _resolution_words(
        rma.resolution,
        rma.refund_total,
        order.currency,
        sum((ln.restocking_fee for ln in lines), Decimal("0")),
    )
    shipping = any(ln.return_shipping_required for ln in lines)
    method = main_method(
        stored_method(methods.get(ln.sku), ln.return_shipping_required) for ln in lines
    )
    if rma.status == ReturnStatus.MANUAL_REVIEW:
        message = (
            f"Return {rma.id} ({items}, {what}) is waiting for a quick review by our team, and "
            f"we'll email {rma.customer_email} as soon as it's decided."
        )
    elif method is ReturnMethod.PARCEL_LABEL:
        message = (
            f"Return {rma.id} is approved: {items} for {what}, and I can send you a prepaid "
            "return label now."
        )
    elif method is ReturnMethod.KEEP_IT:
        message = (
            f"Return {rma.id} is approved: {items} for {what}, and there's no need to send "
            "anything back — please keep or recycle it."
        )
    else:
        message = f"Return {rma.id} is approved: {items} for {what}. {APPROVED_NEXT[method]}"

    return ReturnAuthorizationResult(
        rma_id=rma.id,
        order_id=rma.order_id,
        status=rma.status,
        reason=rma.reason,
        resolution=rma.resolution,
        review=rma.review,
        currency=order.currency,
        refund_total=rma.refund_total,
        return_shipping_required=shipping,
        return_method=method,
        needs_label=method is ReturnMethod.PARCEL_LABEL,
        lines=lines,
        message=message,
    )


def _resolution_words(resolution: str, total: Decimal, currency: str, fees: Decimal) -> str:
    if resolution == "replacement":
        return "a replacement"
    amount = format_money(money(total), currency)
    words = f"store credit of {amount}" if resolution == "store_credit" else f"a refund of {amount}"
    if fees:
        words += f" after a {format_money(money(fees), currency)} restocking fee"
    return words


async def _summary(ctx: ActionContext, args: Any) -> str:
    order, done = await shoppers_order_with_returns(ctx, args.order_id)
    results = await _evaluate(ctx, order, _merge(order, args.lines), args.reason, done)
    refused = [r for r in results if not r.eligible]
    if refused:
        raise ActionError(refused[0].reason_code or "not_eligible", refused[0].message)
    photos = await require_photos(ctx, args.reason)
    items = join_words([f"{r.quantity} × {r.name}" for r in results])
    total = sum((r.refund_amount for r in results), Decimal(0))
    fees = sum((r.restocking_fee for r in results), Decimal(0))
    what = _resolution_words(args.resolution, total, order.currency, fees)
    text = f"Return {items} from {order.id} ({args.reason.value.replace('_', ' ')}) for {what}"
    if photos:
        text += f", with your {photo_count(photos)}"
    if any(r.review == "manual" for r in results):
        text += "; our team reviews it before it's approved"
    return text + "."


@action(
    confirm=True,
    identity=True,
    summary=_summary,
    examples=(
        "yes please start a return for the bowl",
        "I'd like to return it for a refund",
        "please return the mug, it arrived broken",
        "can I get store credit instead",
    ),
)
async def create_return_authorization(
    ctx: ActionContext,
    order_id: Annotated[str, Field(min_length=1, max_length=64)],
    lines: Annotated[list[ReturnLineRequest], Field(min_length=1, max_length=50)],
    reason: ReturnReason,
    resolution: Resolution = "refund",
) -> ReturnAuthorizationResult:
    """Start a return for items of the shopper's order, after the shopper has confirmed (and has
    attached photos, where the policy needs them). Asking twice gives the same authorization.

    Args:
        order_id: The order number, e.g. "WK-1001".
        lines: The items to return, each with its SKU and quantity.
        reason: Why the items are coming back (same values as check_eligibility).
        resolution: What the shopper wants: a refund, a replacement or store credit.
    """
    order = await shoppers_order(ctx, order_id)
    wanted = _merge(order, lines)
    # The same request again returns the authorization it already made: re-checking eligibility
    # would count that authorization's own quantities against it.
    workflow = ctx.services.workflow
    counts = {line.sku: qty for line, qty in wanted}
    existing = await blocking(
        workflow.find_request, order.id, counts, reason.value, resolution, ctx.customer_email
    )
    methods = {
        line.sku: line_method(line, reason, ctx.services.policy.returns) for line, _ in wanted
    }
    if existing is not None and existing.status not in INACTIVE:
        return _rma_result(order, existing, methods)
    results = _all_eligible(await _evaluate(ctx, order, wanted, reason))
    await require_photos(ctx, reason)
    try:
        rma = await blocking(
            workflow.create_authorization,
            order=order,
            lines=results,
            reason=reason.value,
            resolution=resolution,
            idempotency_key=ctx.idempotency_key,
            customer_email=ctx.customer_email,
        )
    except WorkflowError as exc:  # e.g. a different return for the same items won the race
        raise ActionError(exc.code, exc.message) from None
    made = _rma_result(order, rma, methods)
    made.photos = await attach_photos(ctx, rma.id)
    made.message += photos_sentence(made.photos)
    return made
