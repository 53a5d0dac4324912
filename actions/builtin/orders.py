"""`lookup_order`: find an order by number + email, which verifies the shopper for the conversation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from actions.builtin._common import ORDER_NOT_FOUND, join_words, read, store_date
from actions.context import ActionContext, ActionError, ActionResult
from actions.policy import format_money, money
from actions.records import Order, Shipment
from actions.registry import action


class OrderItem(BaseModel):
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    tags: list[str]


class ShipmentSummary(BaseModel):
    carrier: str
    tracking_number: str
    direction: str
    status: str | None
    location: str | None
    updated_at: datetime | None


class OrderSummary(ActionResult):
    order_id: str
    status: str
    customer_name: str
    placed_at: datetime
    delivered_at: datetime | None
    currency: str
    total: Decimal
    items: list[OrderItem]
    shipments: list[ShipmentSummary]


def shipment_summary(shipment: Shipment) -> ShipmentSummary:
    last = max(shipment.events, key=lambda e: e.at, default=None)
    return ShipmentSummary(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        direction=shipment.direction,
        status=last.status if last else None,
        location=last.location if last else None,
        updated_at=last.at if last else None,
    )


def summarize_order(ctx: ActionContext, order: Order) -> OrderSummary:
    items = join_words([f"{item.quantity} × {item.name}" for item in order.items])
    if order.status == "delivered" and order.delivered_at is not None:
        state = f"was delivered on {store_date(ctx, order.delivered_at)}"
    elif order.status == "shipped":
        state = "has shipped and is on its way"
    elif order.status == "cancelled":
        state = "was cancelled"
    else:
        state = f"was placed on {store_date(ctx, order.placed_at)} and is being prepared"
    total = money(sum((item.amount for item in order.items), Decimal(0)))
    return OrderSummary(
        order_id=order.id,
        status=order.status,
        customer_name=order.customer.name,
        placed_at=order.placed_at,
        delivered_at=order.delivered_at,
        currency=order.currency,
        total=total,
        items=[
            OrderItem(
                sku=item.sku,
                name=item.name,
                category=item.category,
                quantity=item.quantity,
                unit_price=item.unit_price,
                tags=list(item.tags),
            )
            for item in order.items
        ],
        shipments=[shipment_summary(s) for s in order.shipments],
        message=f"Order {order.id} {state}: {items} ({format_money(total, order.currency)}).",
    )


@action(
    examples=(
        "where is my order WK-1001? my email is ada@example.com",
        "can you look up order #1001 for ada@example.com",
        "I want to check on my order",
    ),
)
async def lookup_order(
    ctx: ActionContext,
    order_id: Annotated[str, Field(min_length=1, max_length=64)],
    email: Annotated[str, Field(min_length=3, max_length=320)],
) -> OrderSummary:
    """Look up an order by its number and the shopper's email address; this also verifies the
    shopper for the rest of the conversation.

    Args:
        order_id: The order number as the shopper gives it, e.g. "WK-1001" or "#1001".
        email: The email address the order was placed with.
    """
    gate = ctx.services.identity_gate
    if gate is not None:  # locked out, or this store accepts only signed-in shoppers
        await gate.before_lookup(ctx, order_id, email)
    order = await read(ctx, ctx.services.store.order_for_customer, order_id, email)
    if order is None:
        if gate is not None:
            raise await gate.lookup_failed(ctx, order_id, email)
        raise ActionError("order_not_found", ORDER_NOT_FOUND)
    if gate is not None:  # e.g. a code sent to the order's email must come back first
        await gate.lookup_matched(ctx, order, email)
    ctx.customer_email = order.customer.email
    return summarize_order(ctx, order)
