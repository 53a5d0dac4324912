"""Bounds checked on a JSON text before it is parsed.

`json.loads` recurses once per nesting level: a 2 KB frame nested 980 deep raised RecursionError
(an uncaught exception that dropped the websocket), and REST bodies nested 5,000 deep gave HTTP
500. Nothing a shopper or staff member legitimately sends nests more than a few levels, so the
text is scanned first (no parsing, no recursion) and refused past `MAX_DEPTH`.
"""

from __future__ import annotations

import re

MAX_DEPTH = 32

# The characters that matter for nesting: brackets, and the quotes and backslashes that say
# whether a bracket is inside a string. The scan visits only these, in one pass.
_TOKENS = re.compile(r'[\[\]{}"\\]')


class JsonTooDeep(ValueError):
    """The text nests deeper than allowed; the message says so in words."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The JSON is nested too deeply: at most {limit} levels of objects and lists."
        )
        self.limit = limit


def too_deep(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether `text` opens more than `limit` objects/lists inside one another (strings are
    skipped, escapes included). Linear in the text; no parsing."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:  # the common case: cannot be too deep
        return False
    depth, in_string, escaped_at = 0, False, -1
    for match in _TOKENS.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth = max(depth - 1, 0)
    return False


def check_depth(text: str | bytes, limit: int = MAX_DEPTH) -> None:
    """Raise JsonTooDeep when `text` nests deeper than `limit`."""
    if too_deep(text, limit):
        raise JsonTooDeep(limit)


__all__ = ["MAX_DEPTH", "JsonTooDeep", "check_depth", "too_deep"]
