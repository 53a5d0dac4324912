"""Bounds checked on a JSON text before it is parsed.

`json.loads` recurses once per nesting level: a 2 KB frame nested 980 deep raised RecursionError
(an uncaught exception that dropped the websocket), and REST bodies nested 5,000 deep gave HTTP
500. Nothing a shopper or staff member legitimately sends nests more than a few levels, so the
text is scanned first (no parsing, no recursion) and refused past `MAX_DEPTH`.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32

_BRACKETS = re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """The text nests deeper than allowed; the message says so in words."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The JSON is nested too deeply: at most {limit} levels of objects and lists."
        )
        self.limit = limit


def too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` opens more than `limit` objects/lists inside one another; brackets inside
    strings do not count. Linear in the text, no parsing; strings are set aside with str.replace
    and split (C speed), so 100 KB of brackets and escapes inside strings costs under 1 ms."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:  # the common case: cannot be too deep
        return False
    # Escaped backslashes, then escaped quotes, go first (left to right, as the lexer reads
    # them): every quote left opens or closes a string, and even pieces lie outside strings.
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[::2])
    if outside.count("[") + outside.count("{") <= limit:
        return False
    depth = 0
    for match in _BRACKETS.finditer(outside):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth = max(depth - 1, 0)
    return False


def check_depth(text: str | bytes, limit: int = MAX_DEPTH) -> None:
    """Raise JsonTooDeep when `text` nests deeper than `limit`."""
    if too_deep(text, limit):
        raise JsonTooDeep(limit)


__all__ = ["MAX_DEPTH", "JsonTooDeep", "check_depth", "too_deep"]
