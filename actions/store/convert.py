"""Order-number normalisation and small row → record helpers."""

from __future__ import annotations

import re

from actions.records import Customer
from actions.store.models import CustomerRow

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_TRAILING_DIGITS = re.compile(r"(\d+)$")


def lookup_key(order_id: str) -> str:
    """ "#WK-1001", "wk 1001", "WK1001" → "WK1001"."""
    return _NOT_ALNUM.sub("", order_id.strip().upper())


def order_number(order_id: str) -> str:
    """The trailing digits: "WK-1001" → "1001" (so "#1001" finds it when unambiguous)."""
    match = _TRAILING_DIGITS.search(lookup_key(order_id))
    return match.group(1) if match else ""


def customer_record(row: CustomerRow) -> Customer:
    return Customer(email=row.email, name=row.name)
