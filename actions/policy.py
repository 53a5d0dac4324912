"""The return-policy engine: a pure function of (order, line, quantity, reason, policy, now).

Money is Decimal, rounded to the cent half-up; days are calendar days in the policy's timezone, so a
parcel delivered at 23:30 in New York counts from that New York date even though it is already the
next day in UTC. The model never decides eligibility: it reads `LineResult.message`.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from actions.records import Order, OrderLine
from actions.return_methods import ELIGIBLE_CLAUSE, ReturnMethod, choose_method

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class ReturnReason(StrEnum):
    CHANGED_MIND = "changed_mind"
    WRONG_SIZE = "wrong_size"
    ORDERED_BY_MISTAKE = "ordered_by_mistake"
    NO_LONGER_NEEDED = "no_longer_needed"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    SELLER_ERROR = "seller_error"


BUYER_REASONS = frozenset(
    {
        ReturnReason.CHANGED_MIND,
        ReturnReason.WRONG_SIZE,
        ReturnReason.ORDERED_BY_MISTAKE,
        ReturnReason.NO_LONGER_NEEDED,
    }
)
FAULT_REASONS = frozenset(set(ReturnReason) - BUYER_REASONS)

ReasonCode = Literal["not_delivered", "quantity_exceeds", "final_sale", "outside_window"]


def parse_reason(value: str | ReturnReason) -> ReturnReason:
    """A reason from text; an unknown one is a ValueError listing the allowed reasons."""
    try:
        return ReturnReason(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in ReturnReason)
        raise ValueError(f"Unknown return reason {value!r}; allowed: {allowed}.") from None


def money(value: Decimal | float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Any:
    # TOML floats (0.0, 500.0) become Decimals through their shortest repr, never binary noise.
    return Decimal(repr(value)) if isinstance(value, float) else value


# The policy file --------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(_Strict):
    window_days: int | None = Field(None, ge=0)
    final_sale: bool = False
    restocking_fee_percent: Decimal = Field(Decimal(0), ge=0, le=100)
    method: ReturnMethod | None = None  # how it goes back, whatever the reason
    methods: dict[ReturnReason, ReturnMethod] = Field(default_factory=dict)  # … for one reason

    _dec = field_validator("restocking_fee_percent", mode="before")(_decimal)


class ReasonRule(_Strict):
    window_days: int | None = Field(None, ge=0)
    method: ReturnMethod | None = None


class ReturnsPolicy(_Strict):
    timezone: str = "UTC"
    window_days: int = Field(30, ge=0)
    fault_window_days: int = Field(14, ge=0)
    manual_review_over: Decimal | None = Field(None, ge=0)
    manual_review_reasons: tuple[ReturnReason, ...] = ()
    # Reasons whose return waits for the shopper's photos (actions/evidence), e.g. damaged.
    evidence_required_reasons: tuple[ReturnReason, ...] = ()
    final_sale_tags: tuple[str, ...] = ()
    return_shipping_fee: Decimal = Field(Decimal(0), ge=0)
    method: ReturnMethod = ReturnMethod.PARCEL_LABEL  # how items go back (actions/return_methods)
    final_sale_fault_method: ReturnMethod = ReturnMethod.KEEP_IT
    refund_shows_within: str | None = Field(None, max_length=200)  # "5 to 10 business days"
    categories: dict[str, CategoryRule] = Field(default_factory=dict)
    reasons: dict[ReturnReason, ReasonRule] = Field(default_factory=dict)

    _dec = field_validator("manual_review_over", "return_shipping_fee", mode="before")(_decimal)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from None
        return value

    @field_validator("final_sale_tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.strip().lower() for tag in value)

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, CategoryRule]) -> dict[str, CategoryRule]:
        return {key.strip().lower(): rule for key, rule in value.items()}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # zoneinfo caches instances per key

    def category(self, name: str) -> CategoryRule:
        return self.categories.get(name.strip().lower(), _NO_RULE)


_NO_RULE = CategoryRule()


class Policy(_Strict):
    """The store's policy file; today it holds the `[returns]` table."""

    returns: ReturnsPolicy = Field(default_factory=ReturnsPolicy)


class PolicyError(ValueError):
    """The policy file cannot be read; the message names the file and every problem."""


def load_policy(path: Path | str) -> Policy:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML ({exc})") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"{path}: {problems}") from None


# The engine -------------------------------------------------------------------------------------
class LineResult(BaseModel):
    """Whether one order line can be returned, for what refund, and why — one sentence included."""

    sku: str
    name: str
    quantity: int
    eligible: bool
    reason_code: ReasonCode | None = None
    days_since_delivery: int | None = None
    window_days: int | None = None
    deadline: date | None = None  # the last calendar day (policy timezone) a return is accepted
    restocking_fee: Decimal = ZERO
    return_shipping_fee: Decimal = ZERO
    refund_amount: Decimal = ZERO
    return_shipping_required: bool = False
    return_method: ReturnMethod | None = None
    review: Literal["auto", "manual"] | None = None
    message: str


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    if moment.tzinfo is None:  # stored naive means UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def final_sale_cause(line: OrderLine, rules: ReturnsPolicy) -> str | None:
    """Why a line is final sale ('personalized', 'category', …) or None."""
    for tag in line.tags:
        if tag.strip().lower() in rules.final_sale_tags:
            return tag.strip().lower()
    if rules.category(line.category).final_sale:
        return "category"
    return None


def line_method(line: OrderLine, reason: ReturnReason | str, rules: ReturnsPolicy) -> ReturnMethod:
    """How this line goes back when returned for `reason` (rules in actions/return_methods.py)."""
    reason = parse_reason(reason)
    category = rules.category(line.category)
    reason_rule = rules.reasons.get(reason)
    return choose_method(
        category_reasons={str(k): v for k, v in category.methods.items()},
        category_method=category.method,
        reason_method=reason_rule.method if reason_rule else None,
        reason=reason.value,
        fault=reason in FAULT_REASONS,
        final_sale=final_sale_cause(line, rules) is not None,
        final_sale_fault_method=rules.final_sale_fault_method,
        default=rules.method,
    )


def evaluate_line(
    order: Order,
    line: OrderLine,
    quantity: int,
    reason: ReturnReason | str,
    policy: Policy,
    now: datetime,
    already_authorized: int = 0,
) -> LineResult:
    """Apply the return policy to `quantity` units of one line of a known, verified order."""
    reason = parse_reason(reason)
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    rules = policy.returns
    base = {"sku": line.sku, "name": line.name, "quantity": quantity}

    if order.status != "delivered" or order.delivered_at is None:
        return LineResult(
            **base, eligible=False, reason_code="not_delivered", message=_not_delivered(order)
        )
    available = line.quantity - already_authorized
    if quantity > available:
        return LineResult(
            **base,
            eligible=False,
            reason_code="quantity_exceeds",
            message=_quantity_exceeds(line, available),
        )

    delivered_on = local_date(order.delivered_at, rules.zone)
    days = (local_date(now, rules.zone) - delivered_on).days
    category = rules.category(line.category)
    fault = reason in FAULT_REASONS
    final_sale = final_sale_cause(line, rules)
    window = _window_days(rules, reason, category, fault)
    deadline = delivered_on + timedelta(days=window)
    dated = {**base, "days_since_delivery": days, "window_days": window, "deadline": deadline}

    if not fault and final_sale:
        return LineResult(
            **dated, eligible=False, reason_code="final_sale", message=_final_sale(line, final_sale)
        )
    if days > window:
        return LineResult(
            **dated,
            eligible=False,
            reason_code="outside_window",
            message=_outside_window(line, reason, days, window, deadline),
        )

    return _priced(order, line, quantity, reason, rules, category, dated)


def _window_days(
    rules: ReturnsPolicy, reason: ReturnReason, category: CategoryRule, fault: bool
) -> int:
    """Days after delivery a return is accepted: the reason's (or the fault window) for a fault,
    else the category's (or the store's)."""
    if fault:
        reason_rule = rules.reasons.get(reason)
        if reason_rule and reason_rule.window_days is not None:
            return reason_rule.window_days
        return rules.fault_window_days
    return category.window_days if category.window_days is not None else rules.window_days


def _priced(
    order: Order,
    line: OrderLine,
    quantity: int,
    reason: ReturnReason,
    rules: ReturnsPolicy,
    category: CategoryRule,
    dated: dict[str, Any],
) -> LineResult:
    """The eligible line's fees, refund and review."""
    fault = reason in FAULT_REASONS
    amount = money(line.unit_price * quantity)
    method = line_method(line, reason, rules)
    shipping_required = method is not ReturnMethod.KEEP_IT
    if fault:
        restocking = shipping = ZERO
    else:
        restocking = money(amount * category.restocking_fee_percent / 100)
        shipping = money(rules.return_shipping_fee)
    refund = max(ZERO, money(amount - restocking - shipping))
    manual = reason in rules.manual_review_reasons or (
        rules.manual_review_over is not None and refund > rules.manual_review_over
    )
    text = _eligible(line, quantity, order.currency, refund, restocking, shipping, dated["deadline"], method, manual)  # fmt: skip
    return LineResult(
        **dated,
        eligible=True,
        restocking_fee=restocking,
        return_shipping_fee=shipping,
        refund_amount=refund,
        return_shipping_required=shipping_required,
        return_method=method,
        review="manual" if manual else "auto",
        message=text,
    )


# Sentences --------------------------------------------------------------------------------------
_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def format_money(amount: Decimal, currency: str) -> str:
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency.upper()}"


def format_date(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _not_delivered(order: Order) -> str:
    if order.status == "cancelled":
        return f"Order {order.id} was cancelled, so there is nothing to return."
    return (
        f"Order {order.id} hasn't been delivered yet ({order.status}), so its items can be "
        "returned once it arrives."
    )


def _quantity_exceeds(line: OrderLine, available: int) -> str:
    if available <= 0:
        return f"The {line.name} on this order already has a return under way."
    return f"You can return at most {available} × {line.name} from this order."


_FINAL_SALE_WORDS = {
    "personalized": "is personalised",
    "personalised": "is personalised",
    "custom": "is custom-made",
    "engraved": "is engraved for you",
}


def _final_sale(line: OrderLine, cause: str) -> str:
    words = _FINAL_SALE_WORDS.get(cause)
    if words:
        return f"The {line.name} {words}, so it's final sale unless we made a mistake with it."
    return (
        f"The {line.name} is final sale, so it can only be returned if we made a mistake with it."
    )


def _outside_window(
    line: OrderLine, reason: ReturnReason, days: int, window: int, deadline: date
) -> str:
    why = "damage or mistakes" if reason in FAULT_REASONS else "returns"
    return (
        f"The {line.name} was delivered {days} days ago and the {window}-day window for {why} "
        f"closed on {format_date(deadline)}, so it can't be returned now."
    )


def _eligible(
    line: OrderLine, quantity: int, currency: str, refund: Decimal, restocking: Decimal,
    shipping: Decimal, deadline: date, method: ReturnMethod, manual: bool,
) -> str:  # fmt: skip
    what = f"{quantity} × {line.name}" if quantity > 1 else f"The {line.name}"
    fees = []
    if restocking:
        fees.append(f"a {format_money(restocking, currency)} restocking fee")
    if shipping:
        fees.append(f"a {format_money(shipping, currency)} return shipping fee")
    text = (
        f"{what} can be returned until {format_date(deadline)} for a refund of "
        f"{format_money(refund, currency)}"
    )
    if fees:
        text += f" after {' and '.join(fees)}"
    text += ELIGIBLE_CLAUSE[method]
    if manual:
        text += " once our team has reviewed it"
    return text + "."
