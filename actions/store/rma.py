"""Return-authorization records (what the workflow hands out) and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from actions.store.models import LabelRow, RefundRow, ReturnAuthorizationRow, ReturnHistoryRow


@dataclass(frozen=True)
class ReturnLine:
    sku: str
    quantity: int
    refund_amount: Decimal
    restocking_fee: Decimal
    return_shipping_fee: Decimal
    return_shipping_required: bool
    review: str | None = None


@dataclass(frozen=True)
class LabelInfo:
    tracking_number: str
    url: str
    carrier: str = "local"
    created_at: datetime | None = None


@dataclass(frozen=True)
class RefundInfo:
    amount: Decimal
    currency: str
    method: str
    gateway: str
    reference: str
    created_at: datetime


@dataclass(frozen=True)
class HistoryEntry:
    from_status: str | None
    to_status: str
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class ReturnAuthorization:
    id: str
    order_id: str
    customer_email: str
    status: str
    reason: str
    resolution: str
    lines: tuple[ReturnLine, ...]
    refund_total: Decimal
    review: str
    label: LabelInfo | None
    created_at: datetime
    updated_at: datetime
    currency: str = "USD"
    received_condition: str | None = None
    note: str | None = None
    refund: RefundInfo | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def return_shipping_required(self) -> bool:
        return any(line.return_shipping_required for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: money as strings ("38.00"), datetimes ISO-8601 UTC."""
        return {
            "id": self.id,
            "order_id": self.order_id,
            "customer_email": self.customer_email,
            "status": self.status,
            "reason": self.reason,
            "resolution": self.resolution,
            "review": self.review,
            "currency": self.currency,
            "refund_total": str(self.refund_total),
            "return_shipping_required": self.return_shipping_required,
            "lines": [
                {
                    "sku": ln.sku,
                    "quantity": ln.quantity,
                    "refund_amount": str(ln.refund_amount),
                    "restocking_fee": str(ln.restocking_fee),
                    "return_shipping_fee": str(ln.return_shipping_fee),
                    "return_shipping_required": ln.return_shipping_required,
                    "review": ln.review,
                }
                for ln in self.lines
            ],
            "label": None
            if self.label is None
            else {
                "tracking_number": self.label.tracking_number,
                "url": self.label.url,
                "carrier": self.label.carrier,
            },
            "refund": None
            if self.refund is None
            else {
                "amount": str(self.refund.amount),
                "currency": self.refund.currency,
                "method": self.refund.method,
                "gateway": self.refund.gateway,
                "reference": self.refund.reference,
                "created_at": self.refund.created_at.isoformat(),
            },
            "received_condition": self.received_condition,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "history": [
                {"from": h.from_status, "to": h.to_status, "at": h.at.isoformat(), **h.detail}
                for h in self.history
            ],
        }


def label_info(row: LabelRow) -> LabelInfo:
    return LabelInfo(
        tracking_number=row.tracking_number,
        url=row.url,
        carrier=row.carrier,
        created_at=row.created_at,
    )


def refund_info(row: RefundRow) -> RefundInfo:
    return RefundInfo(
        amount=row.amount,
        currency=row.currency,
        method=row.method,
        gateway=row.gateway,
        reference=row.reference,
        created_at=row.created_at,
    )


def rma_record(
    row: ReturnAuthorizationRow, history: list[ReturnHistoryRow] | None = None
) -> ReturnAuthorization:
    return ReturnAuthorization(
        id=row.id,
        order_id=row.order_id,
        customer_email=row.customer_email,
        status=row.status,
        reason=row.reason,
        resolution=row.resolution,
        lines=tuple(
            ReturnLine(
                sku=ln.sku,
                quantity=ln.quantity,
                refund_amount=ln.refund_amount,
                restocking_fee=ln.restocking_fee,
                return_shipping_fee=ln.return_shipping_fee,
                return_shipping_required=ln.return_shipping_required,
                review=ln.review,
            )
            for ln in row.lines
        ),
        refund_total=row.refund_total,
        review=row.review,
        label=label_info(row.label) if row.label else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        currency=row.currency,
        received_condition=row.received_condition,
        note=row.note,
        refund=refund_info(row.refund) if row.refund else None,
        history=tuple(
            HistoryEntry(h.from_status, h.to_status, h.at, dict(h.detail or {}))
            for h in (history or [])
        ),
    )
