"""What a return's email says, worked out inside the transaction that changes the return: the
RMA, the items by name, money in the store's currency, the method and the refund in words.

The context is JSON, fixed when the change commits; only the label (made when the approval email
is sent) is added later.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from actions import wording
from actions.store.models import CustomerRow, OrderLineRow, OrderRow
from actions.store.rma import ReturnAuthorization

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}
RESOLUTIONS = {
    "refund": "a refund to the original payment method",
    "store_credit": "store credit",
    "replacement": "a replacement",
}
# When the money shows up, by how it is paid back (the demo's refunds page says the same).
REFUND_TIMING = {
    "refund": "It usually takes 5 to 10 business days to show on your statement, depending on "
    "your bank (1 to 3 days for PayPal).",
    "store_credit": "Your store credit is ready to use now, on your next order.",
    "replacement": "Your replacement is sent within 1 to 3 business days; you'll get its "
    "tracking number by email.",
}
METHODS = {
    "parcel_label": "a prepaid parcel label",
    "freight_collection": "a freight collection we arrange",
    "store_collection": "a collection we arrange at our cost",
    "keep_it": "nothing to send back",
}


def money(amount: Decimal | str, currency: str) -> str:
    value = Decimal(str(amount))
    symbol = SYMBOLS.get(currency.upper())
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency.upper()}"


def return_method(rma: ReturnAuthorization) -> str:
    """How the items go back: the record's method when the policy names one, else a parcel
    label when anything must be shipped back, else nothing to send."""
    method = getattr(rma, "return_method", None)
    if isinstance(method, str) and method:
        return method
    return "parcel_label" if rma.return_shipping_required else "keep_it"


def _order_bits(s: Session, order_id: str) -> tuple[str, dict[str, str]]:
    row = s.execute(
        sa.select(CustomerRow.name).join(OrderRow, OrderRow.customer_id == CustomerRow.id)
        .where(OrderRow.id == order_id)
    ).first()  # fmt: skip
    names = dict(
        s.execute(
            sa.select(OrderLineRow.sku, OrderLineRow.name).where(OrderLineRow.order_id == order_id)
        ).all()
    )
    return (row[0] if row else ""), names


def _refund(rma: ReturnAuthorization) -> dict[str, Any]:
    refund = rma.refund
    method = refund.method if refund else rma.resolution
    amount = refund.amount if refund else rma.refund_total
    currency = refund.currency if refund else rma.currency
    return {
        "refund_amount": money(amount, currency),
        "refund_method": method,
        "refund_method_words": RESOLUTIONS.get(method, method.replace("_", " ")),
        "refund_timing": REFUND_TIMING.get(method, ""),
        "refund_reference": refund.reference if refund else "",
    }


def return_context(
    s: Session,
    rma: ReturnAuthorization,
    store_name: str,
    public_url: str,
    method: str | None = None,
) -> dict[str, Any]:
    """What every return email's template may say; `method` is the policy's, when known."""
    name, names = _order_bits(s, rma.order_id)
    method = method or return_method(rma)
    items = [
        {"name": names.get(ln.sku, ln.sku), "sku": ln.sku, "quantity": ln.quantity,
         "refund": money(ln.refund_amount, rma.currency), "ships_back": ln.return_shipping_required}
        for ln in rma.lines
    ]  # fmt: skip
    return {
        "store_name": store_name,
        "public_url": public_url.rstrip("/"),
        "rma_id": rma.id,
        "order_id": rma.order_id,
        "customer_name": name,
        "first_name": name.split()[0] if name.strip() else "",
        "customer_email": rma.customer_email,
        "status": rma.status,
        "status_words": wording.return_status(rma.status),
        "reason_words": wording.return_reason(rma.reason),
        "resolution_words": RESOLUTIONS.get(rma.resolution, rma.resolution),
        "items": items,
        "refund_total": money(rma.refund_total, rma.currency),
        "method": method,
        "method_words": METHODS.get(method, method.replace("_", " ")),
        "note": rma.note or "",
        "received_condition": rma.received_condition or "",
        "label_url": rma.label.url if rma.label else "",
        "tracking_number": rma.label.tracking_number if rma.label else "",
        "has_label_file": False,
        **_refund(rma),
    }


__all__ = ["METHODS", "money", "return_context", "return_method"]
