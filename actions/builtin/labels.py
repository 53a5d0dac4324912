"""`generate_label`: a prepaid return label for the shopper's approved return, through the carrier."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from actions.builtin._common import blocking
from actions.builtin.status import return_method_of
from actions.context import ActionContext, ActionError, ActionResult
from actions.registry import action
from actions.return_methods import ReturnMethod, no_label_message
from actions.return_status import ReturnStatus
from actions.workflow import WorkflowError


class LabelResult(ActionResult):
    rma_id: str
    order_id: str
    status: str
    return_shipping_required: bool
    tracking_number: str | None = None
    label_url: str | None = None


def _result(rma: Any, message: str) -> LabelResult:
    return LabelResult(
        rma_id=rma.id,
        order_id=rma.order_id,
        status=rma.status,
        return_shipping_required=rma.return_shipping_required,
        tracking_number=rma.label.tracking_number if rma.label else None,
        label_url=rma.label.url if rma.label else None,
        message=message,
    )


def _ready(rma: Any) -> str:
    return (
        f"Your prepaid return label for {rma.id} is ready at {rma.label.url}: print it, stick it "
        f"on the parcel and drop it off (tracking number {rma.label.tracking_number})."
    )


async def _shoppers_rma(ctx: ActionContext, rma_id: str) -> Any:
    """The verified shopper's return; someone else's is "not found", like an unknown one."""
    rma = await blocking(ctx.services.workflow.get, rma_id.strip().upper())
    if rma is None or rma.customer_email != ctx.customer_email:
        raise ActionError("rma_not_found", f"I couldn't find a return {rma_id.strip()} for you.")
    return rma


def _refuse_without_parcel(ctx: ActionContext, rma: Any, order: Any) -> None:
    """A return that goes back any other way (collected, or kept) gets no label, and no card
    offering one: the refusal is that method's own words."""
    method = return_method_of(rma, order, ctx.services.policy)
    if method is not ReturnMethod.PARCEL_LABEL:
        raise ActionError("no_parcel_label", no_label_message(method, rma.id))


async def _summary(ctx: ActionContext, args: Any) -> str:
    rma = await _shoppers_rma(ctx, args.rma_id)
    order = await blocking(ctx.services.store.find_order, rma.order_id)
    _refuse_without_parcel(ctx, rma, order)
    names = {item.sku: item.name for item in order.items} if order else {}
    items = ", ".join(f"{line.quantity} × {names.get(line.sku, line.sku)}" for line in rma.lines)
    return (
        f"Create a prepaid return label for {rma.id} ({items} from {rma.order_id}); "
        "it costs you nothing."
    )


@action(
    confirm=True,
    identity=True,
    summary=_summary,
    examples=(
        "send me the return label",
        "can I get a shipping label for my return",
        "how do I send the item back",
    ),
)
async def generate_label(
    ctx: ActionContext, rma_id: Annotated[str, Field(min_length=1, max_length=64)]
) -> LabelResult:
    """Create the prepaid return shipping label for the shopper's approved return.

    Args:
        rma_id: The return authorization number, e.g. "RMA-7F3K2Q".
    """
    services = ctx.services
    rma = await _shoppers_rma(ctx, rma_id)
    order = await blocking(services.store.find_order, rma.order_id)
    _refuse_without_parcel(ctx, rma, order)
    if rma.label is not None:
        return _result(rma, _ready(rma))
    if rma.status != ReturnStatus.APPROVED:
        if rma.status == ReturnStatus.MANUAL_REVIEW:
            message = (
                f"Return {rma.id} is still waiting for our team's review, so its label isn't "
                "ready yet; we'll email you once it's approved."
            )
        else:
            message = f"Return {rma.id} is {rma.status.replace('_', ' ')}, so it can't get a label."
        raise ActionError("rma_not_approved", message)
    label = await blocking(services.carrier.create_label, rma, order)
    try:
        rma = await blocking(services.workflow.attach_label, rma.id, label)
    except WorkflowError as exc:  # the return changed state while the label was being made
        raise ActionError(exc.code, exc.message) from None
    return _result(rma, _ready(rma))
