"""Order numbers as shoppers type them: "#WK-1001", "wk 1001" and "WK1001" name one order."""

from __future__ import annotations

import re

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_TRAILING_DIGITS = re.compile(r"(\d+)$")


def lookup_key(order_id: str) -> str:
    """ "#WK-1001", "wk 1001", "WK1001" → "WK1001"."""
    return _NOT_ALNUM.sub("", order_id.strip().upper())


def order_number(order_id: str) -> str:
    """The trailing digits: "WK-1001" → "1001" (so "#1001" finds it when unambiguous)."""
    match = _TRAILING_DIGITS.search(lookup_key(order_id))
    return match.group(1) if match else ""


__all__ = ["lookup_key", "order_number"]
