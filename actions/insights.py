"""Return figures for the owner's insights page: counted from the return and refund rows themselves
(no counters that could drift). Only actions/ reads order records; the console asks here.

Definitions: a return request is a return authorization CREATED in the range, whatever its status
now (a rejected or cancelled request was still asked for). Products are counted by the quantity
on each return line, named from the order's own line. Refunds are the refunds PAID in the range
(refunds.created_at), summed per currency in Decimal (never a float sum in the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from actions.store.models import OrderLineRow, RefundRow, ReturnAuthorizationRow, ReturnLineRow
from actions.store.orders import OrderStore


@dataclass
class ReasonCount:
    reason: str
    requests: int  # return authorizations
    items: int  # units on their lines


@dataclass
class ProductCount:
    sku: str
    name: str
    quantity: int
    requests: int


@dataclass
class RefundTotal:
    currency: str
    refunds: int
    total: Decimal


@dataclass
class ReturnFigures:
    requests: int = 0
    by_reason: list[ReasonCount] = field(default_factory=list)
    by_product: list[ProductCount] = field(default_factory=list)
    refunds: list[RefundTotal] = field(default_factory=list)


def return_figures(store: OrderStore, start: datetime, end: datetime) -> ReturnFigures:
    """Figures for returns created in [start, end) (aware datetimes). Three grouped queries."""
    rma, line = ReturnAuthorizationRow, ReturnLineRow
    created = sa.and_(rma.created_at >= start, rma.created_at < end)
    units = sa.func.coalesce(sa.func.sum(line.quantity), 0)
    reasons = (
        sa.select(rma.reason, sa.func.count(sa.distinct(rma.id)), units)
        .select_from(rma)
        .outerjoin(line, line.rma_id == rma.id)
        .where(created)
        .group_by(rma.reason)
    )
    # The order line names the product; (order_id, sku) is unique on order_lines.
    name = sa.func.coalesce(sa.func.max(OrderLineRow.name), "")
    products = (
        sa.select(line.sku, name, sa.func.sum(line.quantity), sa.func.count(sa.distinct(rma.id)))
        .select_from(line)
        .join(rma, rma.id == line.rma_id)
        .outerjoin(
            OrderLineRow,
            sa.and_(OrderLineRow.order_id == rma.order_id, OrderLineRow.sku == line.sku),
        )
        .where(created)
        .group_by(line.sku)
    )
    refunds = sa.select(RefundRow.currency, RefundRow.amount).where(
        RefundRow.created_at >= start, RefundRow.created_at < end
    )
    out = ReturnFigures()
    with store.reading() as s:
        out.by_reason = [ReasonCount(str(r), int(n), int(q)) for r, n, q in s.execute(reasons)]
        out.by_product = [
            ProductCount(str(sku), str(nm or ""), int(q or 0), int(n))
            for sku, nm, q, n in s.execute(products)
        ]
        totals: dict[str, RefundTotal] = {}
        for currency, amount in s.execute(refunds):
            entry = totals.setdefault(currency, RefundTotal(currency, 0, Decimal("0.00")))
            entry.refunds += 1
            entry.total += Decimal(amount)
    out.requests = sum(r.requests for r in out.by_reason)
    out.by_reason.sort(key=lambda r: (-r.requests, -r.items, r.reason))
    out.by_product.sort(key=lambda p: (-p.quantity, -p.requests, p.sku))
    out.refunds = sorted(totals.values(), key=lambda t: t.currency)
    return out


__all__ = ["ProductCount", "ReasonCount", "RefundTotal", "ReturnFigures", "return_figures"]
