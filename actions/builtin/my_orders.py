"""`list_my_orders`: the verified shopper's recent orders, so a signed-in shopper is never asked for
an order number they would have to go and find."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from actions.builtin._common import join_words, read
from actions.builtin.orders import OrderSummary, summarize_order
from actions.context import ActionContext, ActionError, ActionResult
from actions.registry import action

# Enough to cover a shopper's recent buying; a long history is the console's job, not the chat's.
MAX_ORDERS = 10


class MyOrders(ActionResult):
    orders: list[OrderSummary]  # newest first


def _message(orders: list[OrderSummary]) -> str:
    if not orders:
        return "I couldn't find any orders for you."
    if len(orders) == 1:
        return orders[0].message
    named = join_words([f"{o.order_id} ({_short_items(o)})" for o in orders], limit=len(orders))
    return f"You have {len(orders)} recent orders: {named}."


def _short_items(order: OrderSummary) -> str:
    names = [item.name for item in order.items]
    return join_words(names, limit=3) or "no items"


@action(
    identity=True,
    examples=(
        "where's my order?",
        "what did I order last?",
        "show me my orders",
        "what's the status of my order?",
    ),
)
async def list_my_orders(
    ctx: ActionContext,
    limit: Annotated[int, Field(ge=1, le=MAX_ORDERS)] = 5,
) -> MyOrders:
    """List the verified shopper's recent orders, newest first, each with its items and status.
    Use it when a signed-in or verified shopper asks about "my order" without giving a number.

    Args:
        limit: How many of the most recent orders to list (1 to 10).
    """
    email = ctx.customer_email
    if not email:  # the registry refuses first; never list orders without their shopper
        raise ActionError("identity_required", "I need to verify you before I can list orders.")
    found = await read(ctx, ctx.services.store.orders_for_customer, email)
    orders = [summarize_order(ctx, order) for order in found[:limit]]
    return MyOrders(orders=orders, message=_message(orders))
