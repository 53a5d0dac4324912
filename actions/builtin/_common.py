"""Helpers the built-in actions share: running store calls off the event loop, identity-scoped
order lookup and the sentences those lookups produce."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from actions.context import ActionContext, ActionError
from actions.policy import format_date, local_date
from actions.records import Order

T = TypeVar("T")

# Same words whether the order does not exist or belongs to someone else (DESIGN principle 2).
ORDER_NOT_FOUND = (
    "I couldn't find an order with that number for that email address; please check both."
)


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous store/workflow call in a worker thread so the event loop keeps serving
    other conversations (and two calls can really overlap — the idempotency tests rely on it)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def read(ctx: ActionContext, fn: Callable[..., T], *args: Any) -> T:
    """A short read. On SQLite it runs inline: the query is in-process CPU work, so a worker
    thread adds no parallelism (GIL) and its hand-off costs more than the query (~0.5 ms of a
    ~1 ms eligibility check). On a networked database it waits in a worker thread instead.
    Writes always use `blocking`: SQLite may make them wait for the write lock."""
    if ctx.services.store.dialect == "sqlite":
        return fn(*args)
    return await blocking(fn, *args)


async def shoppers_order(ctx: ActionContext, order_id: str) -> Order:
    order = await read(ctx, ctx.services.store.order_for_customer, order_id, ctx.customer_email)
    if order is None:
        raise ActionError("order_not_found", ORDER_NOT_FOUND)
    return order


async def shoppers_order_with_returns(
    ctx: ActionContext, order_id: str
) -> tuple[Order, dict[str, int]]:
    """The shopper's order and the quantities per SKU already on live returns (one thread hop:
    this is the eligibility hot path)."""
    store, email = ctx.services.store, ctx.customer_email
    if not email:  # never look an order up without the shopper it must belong to
        raise ActionError("order_not_found", ORDER_NOT_FOUND)

    def load() -> tuple[Order | None, dict[str, int]]:
        combined = getattr(store, "order_and_authorized", None)  # both reads on one connection
        if combined is not None:
            return combined(order_id, email) or (None, {})
        order = store.order_for_customer(order_id, email)
        return order, (store.authorized_quantities(order.id) if order else {})

    order, authorized = await read(ctx, load)
    if order is None:
        raise ActionError("order_not_found", ORDER_NOT_FOUND)
    return order, {sku.lower(): qty for sku, qty in authorized.items()}


def item_not_on_order(order: Order, sku: str) -> ActionError:
    return ActionError("item_not_on_order", f"There is no item {sku!r} on order {order.id}.")


def join_words(words: Sequence[str], limit: int = 6) -> str:
    words = list(words)
    if len(words) > limit:
        words = [*words[: limit - 1], f"{len(words) - limit + 1} more"]
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def store_date(ctx: ActionContext, moment: datetime) -> str:
    """A moment as the calendar date in the store's (policy) timezone, e.g. 'March 3, 2026'."""
    return format_date(local_date(moment, ctx.services.policy.returns.zone))
