"""Plain records the order store hands out. Actions and the policy engine work on these, never on ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from actions.countries import country_name

OrderStatus = Literal["pending", "processing", "shipped", "delivered", "cancelled"]


@dataclass(frozen=True)
class Customer:
    email: str  # always lower-case
    name: str


@dataclass(frozen=True)
class Address:
    """A postal address as the store imported it; `lines()` is how a label prints it."""

    name: str
    line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2, upper-case
    line2: str | None = None
    region: str | None = None

    def lines(self) -> tuple[str, ...]:
        city = ", ".join(part for part in (self.city, self.region) if part)
        return tuple(
            line
            for line in (self.name, self.line1, self.line2, f"{city} {self.postal_code}",
                         country_name(self.country))
            if line
        )  # fmt: skip


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
    shipping_address: Address | None = None  # optional in the import format

    def line(self, sku: str) -> OrderLine | None:
        wanted = sku.strip().lower()
        return next((item for item in self.items if item.sku.lower() == wanted), None)
