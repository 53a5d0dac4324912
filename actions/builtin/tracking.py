"""`fetch_tracking`: where the shopper's parcels are — outbound shipments and return labels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from actions import wording
from actions.builtin._common import read, shoppers_order, store_date
from actions.context import ActionContext, ActionError, ActionResult
from actions.records import Order, Shipment
from actions.registry import action


class TrackingEventOut(BaseModel):
    at: datetime
    status: str
    location: str


class ShipmentTracking(BaseModel):
    direction: str  # outbound | return
    carrier: str
    tracking_number: str
    status: str | None
    rma_id: str | None = None
    events: list[TrackingEventOut]


class TrackingResult(ActionResult):
    order_id: str
    status: str
    shipments: list[ShipmentTracking]


def _tracking(
    direction: str, carrier: str, number: str, events: Any, rma_id: str | None = None
) -> ShipmentTracking:
    ordered = sorted(events, key=lambda e: e.at)
    return ShipmentTracking(
        direction=direction,
        carrier=carrier,
        tracking_number=number,
        status=ordered[-1].status if ordered else None,
        rma_id=rma_id,
        events=[TrackingEventOut(at=e.at, status=e.status, location=e.location) for e in ordered],
    )


def _from_shipment(shipment: Shipment) -> ShipmentTracking:
    return _tracking(
        shipment.direction, shipment.carrier, shipment.tracking_number, shipment.events
    )


async def _with_returns(
    ctx: ActionContext, order: Order, shipments: list[ShipmentTracking], only: str | None
) -> list[ShipmentTracking]:
    """Name the return each return parcel belongs to, and add return labels the store has not
    recorded as shipments (a carrier that keeps its own scans)."""
    rmas = await read(ctx, ctx.services.workflow.for_customer, ctx.customer_email)
    by_number = {r.label.tracking_number.upper(): (r, r.label) for r in rmas if r.label is not None}
    for shipment in shipments:
        found = by_number.pop(shipment.tracking_number.upper(), None)
        if found is not None:
            shipment.rma_id = found[0].id
    for number, (rma, label) in by_number.items():
        if rma.order_id != order.id or (only is not None and number != only):
            continue
        events = await read(ctx, ctx.services.carrier.tracking, label.tracking_number)
        shipments.append(_tracking("return", label.carrier, label.tracking_number, events, rma.id))
    return shipments


def _message(ctx: ActionContext, order: Order, shipments: list[ShipmentTracking]) -> str:
    if not shipments:
        if order.status == "cancelled":
            return f"Order {order.id} was cancelled, so nothing was shipped."
        return f"Order {order.id} hasn't shipped yet, so there's no tracking to show."
    parts = []
    for s in shipments[:3]:
        what = "your return" if s.direction == "return" else "your parcel"
        if not s.events:
            parts.append(f"{what} {s.tracking_number} has no scans yet")
            continue
        last = s.events[-1]
        where = wording.place(last.location, last.status)
        parts.append(
            f"{what} {s.tracking_number} ({wording.carrier_name(s.carrier)}) was last scanned on "
            f"{store_date(ctx, last.at)}: {wording.carrier_event(last.status)}{where}"
        )
    return f"For order {order.id}, " + "; ".join(parts) + "."


@action(
    identity=True,
    examples=(
        "where is my parcel",
        "has my order shipped yet",
        "track my package 1Z999AA10123456784",
        "did you get my return",
    ),
)
async def fetch_tracking(
    ctx: ActionContext,
    order_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
    tracking_number: Annotated[str, Field(min_length=1, max_length=64)] | None = None,
) -> TrackingResult:
    """Show the carrier's tracking for the shopper's order: outbound parcels and return labels.

    Args:
        order_id: The order number, e.g. "WK-1001".
        tracking_number: A tracking number from a shipping or return label, instead of the order.
    """
    if order_id is None and tracking_number is None:
        raise ActionError(
            "invalid_arguments", "Please give me an order number or a tracking number."
        )
    wanted = tracking_number.strip().upper() if tracking_number else None
    if order_id is not None:
        order = await shoppers_order(ctx, order_id)
        shipments = [
            _from_shipment(s)
            for s in order.shipments
            if wanted is None or s.tracking_number.upper() == wanted
        ]
    else:
        found = await read(ctx, ctx.services.store.find_shipment, wanted)
        if found is None or found[0].customer.email != ctx.customer_email:
            # Someone else's parcel reads exactly like an unknown one.
            raise ActionError(
                "tracking_not_found",
                "I couldn't find a parcel with that tracking number on your orders.",
            )
        order, shipment = found
        shipments = [_from_shipment(shipment)]
    shipments = await _with_returns(ctx, order, shipments, wanted)
    return TrackingResult(
        order_id=order.id,
        status=order.status,
        shipments=shipments,
        message=_message(ctx, order, shipments),
    )
