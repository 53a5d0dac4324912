"""Order numbers in any shape a shopper types them, written the way the store writes them.

The store gives a regular expression for its order numbers (`ModelRequest.order_id_pattern`). From
it, and from order numbers the store itself has written (the knowledge base, the actions' own
descriptions, earlier action results), this reads the store's prefix: "wk1001", "WK 1001",
"wk - 1026", "#1001" and "order 1001" then all become the store's "WK-1001". Without a known
prefix, a bare number stays "#1001", which the order lookup resolves by its digits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_ORDER_PATTERN = r"(?:#\s?\d{3,10}|\b[A-Za-z]{1,4}-\d{1,10}\b)"
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A prefix of letters (glued, spaced or dashed) and digits; or "#", "order", "number" and digits.
SHAPE_RE = re.compile(
    r"(?<![A-Za-z0-9@.])(?:(?P<hash>#)\s*)?(?:(?P<prefix>[A-Za-z]{1,4})\s*(?P<sep>[-–—_.]?)\s*)?"
    r"(?P<digits>\d{3,10})(?![A-Za-z0-9]|[.,]\d)"
)
# Words after which a bare number is an order number ("order 1001", "my order number is 1012").
ORDER_WORD_RE = re.compile(
    r"\b(?:order|orders|order number|order no|order nr|number|no|nr|ref|reference)\.?"
    r"(?:\s+(?:number|no|is|was|:))*\s*[:#]?\s*$",
    re.I,
)
# Pattern syntax that contains letters without naming any: escapes, classes, counts, groups.
_SYNTAX_RE = re.compile(r"\\[A-Za-z]|\[[^\]]*\]|\{[^}]*\}|\(\?[:=!<]*|\(\?P<[^>]*>")


def compile_pattern(pattern: str | None) -> re.Pattern[str]:
    try:
        return re.compile(pattern or DEFAULT_ORDER_PATTERN, re.I)
    except re.error:
        return re.compile(DEFAULT_ORDER_PATTERN, re.I)


@dataclass
class OrderShape:
    """The store's pattern and the prefixes its own order numbers carry."""

    pattern: re.Pattern[str]
    prefixes: list[str] = field(default_factory=list)  # most used first, upper case

    def canonical(self, prefix: str | None, digits: str) -> str | None:
        """The store's spelling of this number, or None when the pattern allows none."""
        prefixes = [prefix.upper()] if prefix else self.prefixes[:1]
        forms = [f"{p}{sep}{digits}" for p in prefixes for sep in ("-", "", " ", "/")]
        if not prefix:
            forms += [f"#{digits}", digits]
        for form in forms:
            if self.pattern.fullmatch(form):
                return form
        return None

    def find(self, text: str, *, expecting: bool = False) -> list[str]:
        """Order numbers in the text, canonical. A bare number counts after "#" or "order", or
        when the assistant just asked for an order number (`expecting`)."""
        return list(self.spans(text, expecting=expecting).values())

    def spans(self, text: str, *, expecting: bool = False) -> dict[str, str]:
        """Each order number as typed → its canonical spelling."""
        cleaned = EMAIL_RE.sub(" ", text)  # "ada-1001@x.io" holds no order number
        found: dict[str, str] = {}
        for match in SHAPE_RE.finditer(cleaned):
            value = self._read(cleaned, match, expecting)
            if value and value not in found.values():
                found[match.group(0).strip()] = value
        for match in self.pattern.finditer(cleaned):  # shapes of the store's own we don't know
            value = re.sub(r"\s+", "", match.group(0)).upper()
            if not any(same_digits(value, seen) for seen in found.values()):
                found[match.group(0).strip()] = value
        return found

    def _read(self, text: str, match: re.Match[str], expecting: bool) -> str | None:
        prefix, digits = match.group("prefix"), match.group("digits")
        if prefix and prefix.upper() not in self.prefixes:
            glued = not re.search(r"\s", match.group(0)[: match.start("digits") - match.start()])
            if not glued or match.group("hash"):
                prefix = None  # "for 1001": a word, then a number
        typed = re.sub(r"\s+", "", match.group(0)).upper()
        if match.group("hash") and not prefix and self.prefixes:
            # "#1001" may pass the store's pattern, but the store writes it "WK-1001": every
            # argument the model writes is the store's own spelling
            return self.canonical(None, digits) or typed
        if prefix and self.pattern.fullmatch(typed):
            return typed  # already a spelling the store's pattern allows ("WK-1001")
        if match.group("hash") and self.pattern.fullmatch(typed):
            return typed  # "#1001" in a store without a prefix
        if prefix:
            return self.canonical(prefix, digits)
        before = text[: match.start("digits")]
        if match.group("prefix"):
            before = text[: match.start("prefix")]
        if (
            match.group("hash")
            or expecting
            or ORDER_WORD_RE.search(before)
            or not text.replace(match.group(0), "").strip(" .,!?")
        ):
            return self.canonical(None, digits)
        return None


def same_digits(a: str, b: str) -> bool:
    da, db = re.sub(r"\D", "", a), re.sub(r"\D", "", b)
    return bool(da) and da == db


def learn_shape(pattern: str | None, *sources: Iterable[str]) -> OrderShape:
    """The store's shape: prefixes named in the pattern itself first, then, source by source
    (the most telling first), the most common prefix among order numbers in the store's texts."""
    compiled = compile_pattern(pattern)
    prefixes = [p.upper() for p in re.findall(r"[A-Za-z]{2,}", _SYNTAX_RE.sub(" ", pattern or ""))]
    for source in sources:
        counts: Counter[str] = Counter()
        for text in source:
            for match in compiled.finditer(EMAIL_RE.sub(" ", text)):
                letters = re.match(r"[A-Za-z]+", match.group(0).lstrip("#").strip())
                if letters:
                    counts[letters.group(0).upper()] += 1
        prefixes += [p for p, _ in counts.most_common()]
    return OrderShape(pattern=compiled, prefixes=list(dict.fromkeys(prefixes)))
