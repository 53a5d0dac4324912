"""Plain records the order store hands out. Actions and the policy engine work on these, never on ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

OrderStatus = Literal["pending", "processing", "shipped", "delivered", "cancelled"]


@dataclass(frozen=True)
class Customer:
    email: str  # always lower-case
    name: str


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    category: str
    quantity: int
    unit_price: Decimal
    tags: tuple[str, ...] = ()

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    status: str
    location: str


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    events: tuple[TrackingEvent, ...] = ()
    direction: Literal["outbound", "return"] = "outbound"


@dataclass(frozen=True)
class Order:
    id: str
    customer: Customer
    placed_at: datetime
    status: OrderStatus
    delivered_at: datetime | None
    currency: str
    items: tuple[OrderLine, ...]
    shipments: tuple[Shipment, ...] = field(default=())

    def line(self, sku: str) -> OrderLine | None:
        wanted = sku.strip().lower()
        return next((item for item in self.items if item.sku.lower() == wanted), None)
