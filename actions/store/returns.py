"""Persistence of return authorizations: rows in, records out. The rules live in actions/workflow.py."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from actions.records import Order
from actions.return_status import INACTIVE, ReturnStatus
from actions.store.models import (
    LabelRow,
    OrderLineRow,
    OrderRow,
    ReturnAuthorizationRow,
    ReturnHistoryRow,
    ReturnLineRow,
    ShipmentRow,
    TrackingEventRow,
)
from actions.store.rma import ReturnAuthorization, rma_record

if TYPE_CHECKING:
    from actions.carrier import Label
    from actions.policy import LineResult

_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def new_rma_id() -> str:
    return "RMA-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


def rma_query() -> sa.Select[ReturnAuthorizationRow]:
    return sa.select(ReturnAuthorizationRow).options(
        selectinload(ReturnAuthorizationRow.lines),
        selectinload(ReturnAuthorizationRow.label),
        selectinload(ReturnAuthorizationRow.refund),
    )


def by_id(rma_id: str) -> sa.Select[ReturnAuthorizationRow]:
    return rma_query().where(ReturnAuthorizationRow.id == rma_id.strip().upper())


def record(s: Session, row: ReturnAuthorizationRow) -> ReturnAuthorization:
    history = s.scalars(
        sa.select(ReturnHistoryRow)
        .where(ReturnHistoryRow.rma_id == row.id)
        .order_by(ReturnHistoryRow.id)
    ).all()
    return rma_record(row, list(history))


def remaining(s: Session, order_id: str) -> dict[str, int]:
    """Per sku: ordered minus what live RMAs already hold."""
    ordered = dict(
        s.execute(
            sa.select(OrderLineRow.sku, OrderLineRow.quantity).where(
                OrderLineRow.order_id == order_id
            )
        ).all()
    )
    taken = s.execute(
        sa.select(ReturnLineRow.sku, sa.func.sum(ReturnLineRow.quantity))
        .join(ReturnAuthorizationRow, ReturnAuthorizationRow.id == ReturnLineRow.rma_id)
        .where(ReturnAuthorizationRow.order_id == order_id)
        .where(ReturnAuthorizationRow.status.not_in(INACTIVE))
        .group_by(ReturnLineRow.sku)
    ).all()
    for sku, qty in taken:
        ordered[sku] = ordered.get(sku, 0) - int(qty or 0)
    return ordered


def insert(
    s: Session,
    *,
    order: Order,
    lines: Sequence[LineResult],
    reason: str,
    resolution: str,
    key: str,
    idempotency_key: str | None,
    email: str,
    now: datetime,
) -> ReturnAuthorizationRow:
    """The RMA with its lines, and the three history rows of the automatic first steps."""
    review = "manual" if any(ln.review == "manual" for ln in lines) else "auto"
    final = ReturnStatus.MANUAL_REVIEW if review == "manual" else ReturnStatus.APPROVED
    row = ReturnAuthorizationRow(
        id=new_rma_id(), order_id=order.id, customer_email=email, status=final, reason=reason,
        resolution=resolution, review=review, currency=order.currency, request_key=key,
        idempotency_key=idempotency_key, created_at=now, updated_at=now,
        refund_total=sum((Decimal(ln.refund_amount) for ln in lines), Decimal("0")),
        lines=[
            ReturnLineRow(
                sku=order.line(ln.sku).sku,  # type: ignore[union-attr]
                quantity=ln.quantity, refund_amount=ln.refund_amount,
                restocking_fee=ln.restocking_fee, return_shipping_fee=ln.return_shipping_fee,
                return_shipping_required=ln.return_shipping_required, review=ln.review,
            )
            for ln in lines
        ],
    )  # fmt: skip
    s.add(row)
    s.flush()
    steps: list[tuple[ReturnStatus | None, ReturnStatus]] = [
        (None, ReturnStatus.RETURN_REQUESTED),
        (ReturnStatus.RETURN_REQUESTED, ReturnStatus.ELIGIBILITY_CHECK),
    ]
    for before, after in [*steps, ("eligibility_check", final)]:
        detail = {"review": review} if after == final else {}
        s.add(ReturnHistoryRow(rma_id=row.id, from_status=before, to_status=after, at=now, detail=detail))  # fmt: skip
    s.flush()
    touch_order(s, order.id)  # the order's authorized quantities changed
    return row


def move(
    s: Session, row: ReturnAuthorizationRow, status: str, now: datetime, detail: dict[str, Any],
    fields: dict[str, Any],
) -> None:  # fmt: skip
    s.add(ReturnHistoryRow(rma_id=row.id, from_status=row.status, to_status=status, at=now, detail=detail))  # fmt: skip
    for name, value in fields.items():
        if value is not None:
            setattr(row, name, value)
    row.status = status
    if status in INACTIVE:
        row.request_key = None  # a new identical request may start over
        touch_order(s, row.order_id)  # its quantities are free again
    row.updated_at = now
    s.flush()
    s.refresh(row)


def touch_order(s: Session, order_id: str) -> None:
    """Order records and authorized quantities are cached per order revision: a new RMA, a freed
    one, a return shipment or tracking event is a new revision."""
    s.execute(
        sa.update(OrderRow).where(OrderRow.id == order_id).values(revision=OrderRow.revision + 1)
    )


def add_label(s: Session, row: ReturnAuthorizationRow, label: Label, now: datetime) -> None:
    """The label, and a return shipment on the order carrying the carrier's first events."""
    s.add(LabelRow(rma_id=row.id, tracking_number=label.tracking_number, carrier=label.carrier,
                   file_name=label.path.name, url=label.url, created_at=now))  # fmt: skip
    shipment = ShipmentRow(order_id=row.order_id, carrier=label.carrier, direction="return",
                           tracking_number=label.tracking_number, rma_id=row.id)  # fmt: skip
    s.add(shipment)
    s.flush()
    for ev in label.events:
        s.add(TrackingEventRow(shipment_id=shipment.id, at=ev.at, status=ev.status, location=ev.location))  # fmt: skip
    touch_order(s, row.order_id)


def track_return(s: Session, row: ReturnAuthorizationRow, status: str, location: str, now: datetime) -> None:  # fmt: skip
    shipment = s.scalar(sa.select(ShipmentRow).where(ShipmentRow.rma_id == row.id))
    if shipment is not None:
        s.add(TrackingEventRow(shipment_id=shipment.id, at=now, status=status, location=location))
        touch_order(s, row.order_id)
