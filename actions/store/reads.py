"""Core-level reads for the hot path: prebuilt statements, no ORM identity map, records out.

An eligibility check looks an order up by what the shopper typed; these run in ~0.1 ms each on SQLite,
where the ORM with selectin loading took ~10 ms under load.
"""

from __future__ import annotations

import sqlalchemy as sa

from actions.records import Customer, Order, OrderLine, Shipment, TrackingEvent
from actions.store.models import (
    CustomerRow,
    OrderLineRow,
    OrderRow,
    ReturnAuthorizationRow,
    ReturnLineRow,
    ShipmentRow,
    TrackingEventRow,
)

INACTIVE_RMA = ("rejected", "cancelled")

BY_KEY = (
    sa.select(OrderRow.id, OrderRow.revision)
    .where(OrderRow.lookup_key == sa.bindparam("key"))
    .limit(2)
)
BY_NUMBER = (
    sa.select(OrderRow.id, OrderRow.revision)
    .where(OrderRow.number == sa.bindparam("number"))
    .limit(2)
)
REVISION = sa.select(OrderRow.revision).where(OrderRow.id == sa.bindparam("order_id"))
AUTHORIZED = (
    sa.select(ReturnLineRow.sku, sa.func.sum(ReturnLineRow.quantity))
    .join(ReturnAuthorizationRow, ReturnAuthorizationRow.id == ReturnLineRow.rma_id)
    .where(ReturnAuthorizationRow.order_id == sa.bindparam("order_id"))
    .where(ReturnAuthorizationRow.status.not_in(INACTIVE_RMA))
    .group_by(ReturnLineRow.sku)
)
_HEAD = (
    sa.select(
        OrderRow.id, OrderRow.revision, OrderRow.placed_at, OrderRow.status,
        OrderRow.delivered_at, OrderRow.currency, CustomerRow.email, CustomerRow.name,
    )
    .join(CustomerRow, CustomerRow.id == OrderRow.customer_id)
    .where(OrderRow.id == sa.bindparam("order_id"))
)  # fmt: skip
_LINES = (
    sa.select(
        OrderLineRow.sku, OrderLineRow.name, OrderLineRow.category, OrderLineRow.quantity,
        OrderLineRow.unit_price, OrderLineRow.tags,
    )
    .where(OrderLineRow.order_id == sa.bindparam("order_id"))
    .order_by(OrderLineRow.position)
)  # fmt: skip
_SHIPMENTS = (
    sa.select(
        ShipmentRow.id, ShipmentRow.carrier, ShipmentRow.tracking_number, ShipmentRow.direction,
        TrackingEventRow.at, TrackingEventRow.status, TrackingEventRow.location,
    )
    .outerjoin(TrackingEventRow, TrackingEventRow.shipment_id == ShipmentRow.id)
    .where(ShipmentRow.order_id == sa.bindparam("order_id"))
    .order_by(ShipmentRow.id, TrackingEventRow.at, TrackingEventRow.id)
)  # fmt: skip


def load_order(conn: sa.Connection, order_id: str) -> tuple[int, Order] | None:
    """(revision, record) of one order by its exact id, in three queries."""
    head = conn.execute(_HEAD, {"order_id": order_id}).first()
    if head is None:
        return None
    items = tuple(
        OrderLine(sku=r.sku, name=r.name, category=r.category, quantity=r.quantity,
                  unit_price=r.unit_price, tags=tuple(r.tags or ()))
        for r in conn.execute(_LINES, {"order_id": order_id})
    )  # fmt: skip
    shipments: dict[int, tuple[tuple[str, str, str], list[TrackingEvent]]] = {}
    for r in conn.execute(_SHIPMENTS, {"order_id": order_id}):
        _, events = shipments.setdefault(r.id, ((r.carrier, r.tracking_number, r.direction), []))
        if r.at is not None:
            events.append(TrackingEvent(at=r.at, status=r.status, location=r.location))
    order = Order(
        id=head.id,
        customer=Customer(email=head.email, name=head.name),
        placed_at=head.placed_at,
        status=head.status,
        delivered_at=head.delivered_at,
        currency=head.currency,
        items=items,
        shipments=tuple(
            Shipment(
                carrier=c,
                tracking_number=t,
                events=tuple(ev),
                direction="return" if d == "return" else "outbound",
            )
            for (c, t, d), ev in shipments.values()
        ),  # fmt: skip
    )
    return head.revision, order
