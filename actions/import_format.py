"""The order-import format: the models an orders file must match, checked as a whole.

A file with any problem imports nothing; `ImportProblems` lists each one with its JSON path
(`orders[3].items[0].unit_price: ...`). Pure validation: writing the orders is the store's job
(`OrderStore.import_data`), so the store depends on this module and never on the importer.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from actions.countries import COUNTRIES
from actions.order_ids import lookup_key

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _utc(value: datetime) -> datetime:
    # An export without an offset is read as UTC (documented in the README's import section).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _cents(value: Decimal) -> Decimal:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("must have at most 2 decimal places")
    return value.quantize(Decimal("0.01"))


Stamp = Annotated[datetime, AfterValidator(_utc)]
Text = Annotated[str, Field(min_length=1, max_length=300)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(_Model):
    email: Annotated[str, Field(max_length=320)]
    name: Text

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("not an email address")
        return value.lower()


class ItemIn(_Model):
    sku: Annotated[str, Field(min_length=1, max_length=100)]
    name: Text
    category: Annotated[str, Field(min_length=1, max_length=100)]
    quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    unit_price: Annotated[Decimal, Field(ge=0, lt=Decimal("1e10")), AfterValidator(_cents)]
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = []


class EventIn(_Model):
    at: Stamp
    status: Annotated[str, Field(min_length=1, max_length=100)]
    location: Annotated[str, Field(max_length=200)] = ""


class ShipmentIn(_Model):
    carrier: Annotated[str, Field(min_length=1, max_length=100)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=100)]
    events: list[EventIn] = []


def _one_line(value: str) -> str:
    # A line break or control character would print as a box or break the label's layout.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be a single line of text, without line breaks or tabs")
    return value


def _postal_code(value: str) -> str:
    if not POSTAL_CODE.match(value):
        raise ValueError("may contain only letters, digits, spaces and hyphens")
    return value.upper()


# Bounded so every line fits the 4×6 label at a legible size.
AddressLine = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
ShortLine = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(_one_line)]
POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]*$")


class ShippingAddressIn(_Model):
    """Where the order went, and so where a return parcel comes from (the label's FROM)."""

    name: AddressLine
    line1: AddressLine
    line2: AddressLine | None = None
    city: ShortLine
    region: ShortLine | None = None
    postal_code: Annotated[str, Field(min_length=1, max_length=16), AfterValidator(_postal_code)]
    country: Annotated[str, Field(min_length=1, max_length=60)]  # the code checked below

    @field_validator("line2", "region", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.upper()
        if code not in COUNTRIES:
            raise ValueError(
                f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. US, GB, DE)"
            )
        return code


class OrderIn(_Model):
    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9#_\-]+$")]
    customer: CustomerIn
    placed_at: Stamp
    status: Literal["pending", "processing", "shipped", "delivered", "cancelled"]
    delivered_at: Stamp | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    items: Annotated[list[ItemIn], Field(min_length=1)]
    shipments: list[ShipmentIn] = []
    shipping_address: ShippingAddressIn | None = None

    def content_hash(self) -> str:
        # An order without an address hashes as it did before the field existed: re-importing an
        # old file after the upgrade is still a no-op.
        exclude = {"shipping_address"} if self.shipping_address is None else None
        return hashlib.sha256(self.model_dump_json(exclude=exclude).encode()).hexdigest()


@dataclass(frozen=True)
class ImportReport:
    orders: int
    created: int
    updated: int
    unchanged: int
    customers_created: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ImportProblems(Exception):
    """Every problem in the file, each `path: message`; nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing imported:\n" + "\n".join(problems))


def _path(loc: tuple[Any, ...], prefix: str) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


_ORDER = TypeAdapter(OrderIn)


def _order_name(raw: Any) -> str:
    """` (order WK-1004)` when the record has a usable id: an index alone is hard to find in an
    export of thousands."""
    order_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(order_id, str) and 0 < len(order_id.strip()) <= 64:
        return f" (order {order_id.strip()})"
    return ""


def validate(data: Any) -> list[OrderIn]:
    """Every order parsed, or ImportProblems naming every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("orders"), list):
        raise ImportProblems(['(file): expected an object {"orders": [...]}'])
    extra = sorted(set(data) - {"orders"})
    problems = [f"{key}: unknown top-level field" for key in extra]
    parsed: list[tuple[int, OrderIn]] = []
    for index, raw in enumerate(data["orders"]):
        try:
            parsed.append((index, _ORDER.validate_python(raw)))
        except ValidationError as exc:
            named = _order_name(raw)
            for err in exc.errors(include_url=False):
                message = err["msg"].removeprefix("Value error, ")
                problems.append(f"{_path(err['loc'], f'orders[{index}]')}: {message}{named}")
    problems += _semantic_problems(parsed)
    if problems:
        raise ImportProblems(problems)
    return [order for _, order in parsed]


def _semantic_problems(parsed: list[tuple[int, OrderIn]]) -> list[str]:
    problems: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_tracking: dict[str, str] = {}
    for index, order in parsed:
        where = f"orders[{index}]"
        key = lookup_key(order.id)
        if key in seen_ids:
            problems.append(
                f"{where}.id: duplicate order id {order.id!r} (also orders[{seen_ids[key]}])"
            )
        seen_ids.setdefault(key, index)
        if order.status == "delivered" and order.delivered_at is None:
            problems.append(f"{where}.delivered_at: required when status is 'delivered'")
        if order.delivered_at and order.delivered_at < order.placed_at:
            problems.append(f"{where}.delivered_at: earlier than placed_at")
        skus: dict[str, int] = {}
        for i, item in enumerate(order.items):
            if item.sku.lower() in skus:
                problems.append(
                    f"{where}.items[{i}].sku: duplicate sku {item.sku!r} (also items[{skus[item.sku.lower()]}])"
                )
            skus.setdefault(item.sku.lower(), i)
        for s, shipment in enumerate(order.shipments):
            tn = shipment.tracking_number.upper()
            path = f"{where}.shipments[{s}].tracking_number"
            if tn in seen_tracking:
                problems.append(f"{path}: duplicate tracking number (also {seen_tracking[tn]})")
            seen_tracking.setdefault(tn, path)
    return problems


def read_file(path: Path) -> Any:
    """The JSON of an orders file (decimals kept exact), or ImportProblems saying why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportProblems([f"(file): cannot read {path}: {exc}"]) from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ImportProblems(
            [f"(file): invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
