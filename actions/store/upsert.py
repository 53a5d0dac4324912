"""The import's write half: upsert validated orders in the caller's transaction, in bulk.

New orders are inserted with executemany; an order whose content hash changed has its lines and outbound
shipments replaced (return shipments, made by the workflow, stay); unchanged orders are not touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions.import_format import ImportProblems
from actions.order_ids import lookup_key, order_number
from actions.store.models import (
    Base,
    CustomerRow,
    OrderLineRow,
    OrderRow,
    ShipmentRow,
    TrackingEventRow,
)

if TYPE_CHECKING:
    from actions.import_format import OrderIn

CHUNK = 500  # rows per IN (...) query: well under every database's parameter limit


def _table(model: type[Base]) -> sa.Table:
    """The Core table of a mapped class, for bulk executemany inserts (the ORM would build one
    object per row)."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def upsert(session: Session, orders: list[OrderIn]) -> dict[str, int]:
    """Counts of created / updated / unchanged orders and new customers."""
    customer_ids, customers_created = _upsert_customers(session, orders)
    # Orders: compare content hashes; skip unchanged, replace changed, insert new.
    existing: dict[str, str] = {}
    for chunk in _chunks([o.id for o in orders]):
        rows = session.execute(
            sa.select(OrderRow.id, OrderRow.content_hash).where(OrderRow.id.in_(chunk))
        ).all()
        existing.update({order_id: content_hash for order_id, content_hash in rows})
    hashes = {o.id: o.content_hash() for o in orders}
    changed = [o for o in orders if o.id in existing and existing[o.id] != hashes[o.id]]
    new = [o for o in orders if o.id not in existing]
    _clear_outbound(session, [o.id for o in changed])
    _check_foreign_tracking(session, changed + new, orders)

    def order_values(o: OrderIn) -> dict[str, Any]:
        return {
            "id": o.id,
            "lookup_key": lookup_key(o.id),
            "number": order_number(o.id),
            "customer_id": customer_ids[o.customer.email],
            "placed_at": o.placed_at,
            "status": o.status,
            "delivered_at": o.delivered_at,
            "currency": o.currency,
            "shipping_address": (
                o.shipping_address.model_dump(exclude_none=True) if o.shipping_address else None
            ),
            "content_hash": hashes[o.id],
        }

    if new:
        session.execute(
            sa.insert(_table(OrderRow)), [{**order_values(o), "revision": 1} for o in new]
        )
    for o in changed:
        values = order_values(o)
        session.execute(
            sa.update(OrderRow)
            .where(OrderRow.id == values.pop("id"))
            .values(**values, revision=OrderRow.revision + 1)
        )
    _insert_lines(session, changed + new)
    _insert_shipments(session, changed + new)
    return {
        "created": len(new),
        "updated": len(changed),
        "unchanged": len(orders) - len(new) - len(changed),
        "customers_created": customers_created,
    }


def _upsert_customers(session: Session, orders: list[OrderIn]) -> tuple[dict[str, int], int]:
    """Customer id by email, and how many were created. One row per lower-cased email; the newest
    name in the file wins."""
    names = {o.customer.email: o.customer.name for o in orders}
    customer_ids: dict[str, int] = {}
    for chunk in _chunks(list(names)):
        for cid, email, name in session.execute(
            sa.select(CustomerRow.id, CustomerRow.email, CustomerRow.name).where(
                CustomerRow.email.in_(chunk)
            )
        ):
            customer_ids[email] = cid
            if names[email] != name:
                session.execute(
                    sa.update(CustomerRow).where(CustomerRow.id == cid).values(name=names[email])
                )
                # Every order of the customer shows the name: invalidate their cached records.
                session.execute(
                    sa.update(OrderRow)
                    .where(OrderRow.customer_id == cid)
                    .values(revision=OrderRow.revision + 1)
                )
    new_customers = [{"email": e, "name": n} for e, n in names.items() if e not in customer_ids]
    if new_customers:
        result = session.execute(
            sa.insert(CustomerRow).returning(
                CustomerRow.id, CustomerRow.email, sort_by_parameter_order=True
            ),
            new_customers,
        )
        customer_ids.update({email: cid for cid, email in result})
    return customer_ids, len(new_customers)


def _clear_outbound(session: Session, order_ids: list[str]) -> None:
    """Drop the lines and outbound shipments of edited orders (return shipments stay)."""
    for chunk in _chunks(order_ids):
        session.execute(sa.delete(OrderLineRow).where(OrderLineRow.order_id.in_(chunk)))
        outbound = sa.select(ShipmentRow.id).where(
            ShipmentRow.order_id.in_(chunk), ShipmentRow.direction == "outbound"
        )
        session.execute(
            sa.delete(TrackingEventRow).where(TrackingEventRow.shipment_id.in_(outbound))
        )
        session.execute(
            sa.delete(ShipmentRow).where(
                ShipmentRow.order_id.in_(chunk), ShipmentRow.direction == "outbound"
            )
        )


def _insert_lines(session: Session, orders: list[OrderIn]) -> None:
    lines = [
        {
            "order_id": o.id,
            "position": i,
            "sku": it.sku,
            "name": it.name,
            "category": it.category,
            "quantity": it.quantity,
            "unit_price": it.unit_price,
            "tags": list(it.tags),
        }
        for o in orders
        for i, it in enumerate(o.items)
    ]
    if lines:
        session.execute(sa.insert(_table(OrderLineRow)), lines)


def _insert_shipments(session: Session, orders: list[OrderIn]) -> None:
    shipments = [(o.id, s) for o in orders for s in o.shipments]
    if not shipments:
        return
    table = _table(ShipmentRow)
    rows = [
        {"order_id": oid, "carrier": s.carrier, "tracking_number": s.tracking_number,
         "direction": "outbound"}
        for oid, s in shipments
    ]  # fmt: skip
    inserted = session.execute(
        sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    )
    ids = inserted.scalars().all()
    events = [
        {"shipment_id": sid, "at": e.at, "status": e.status, "location": e.location}
        for sid, (_, s) in zip(ids, shipments, strict=True)
        for e in s.events
    ]
    if events:
        session.execute(sa.insert(_table(TrackingEventRow)), events)


def _check_foreign_tracking(
    session: Session, orders: list[OrderIn], orders_in_file: list[OrderIn]
) -> None:
    """A tracking number already used by another order's shipment is a problem, not an overwrite."""
    wanted = {s.tracking_number: o.id for o in orders for s in o.shipments}
    clashes: list[str] = []
    for chunk in _chunks(list(wanted)):
        for tn, oid in session.execute(
            sa.select(ShipmentRow.tracking_number, ShipmentRow.order_id).where(
                ShipmentRow.tracking_number.in_(chunk)
            )
        ):
            if oid != wanted[tn]:
                where = next(
                    f"orders[{i}].shipments[{j}].tracking_number"
                    for i, o in enumerate(orders_in_file)
                    for j, sh in enumerate(o.shipments)
                    if sh.tracking_number == tn
                )
                clashes.append(f"{where}: tracking number {tn!r} already belongs to order {oid}")
    if clashes:
        raise ImportProblems(clashes)
