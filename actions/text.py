"""Text normalisation: the one place that decides which characters reach storage and the encoder.

Everything a shopper, a staff member or a file supplies passes through `normalise_text` before it
is stored, indexed or embedded (the chat's frames, REST and console bodies, knowledge files and
queries). A lone UTF-16 surrogate (what a JSON escape like "\\ud800" decodes to) cannot be encoded
to UTF-8, so it broke the SQLite driver, the tokenizer and every query batched with it; NUL and
other control characters corrupt logs, terminals and C libraries. They all become U+FFFD, visibly,
rather than vanishing: a reader can see that something was there. Tab and newline are text;
a carriage return becomes a newline, so a textarea's CRLF stores as LF.
"""

from __future__ import annotations

import re
from typing import TypeVar

# Control characters (category Cc) but tab and newline, and the surrogate range (Cs).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# The same but for CR, for code that takes line ends as they come (the query encoder: a CR is
# whitespace to BERT's normaliser, so it changes no vector).
UNSAFE_BUT_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
REPLACEMENT = "\ufffd"

T = TypeVar("T")


def needs_normalising(text: str) -> bool:
    return UNSAFE.search(text) is not None


def normalise_text(text: str) -> str:
    """`text` with CR/CRLF as LF and every unsafe character replaced by U+FFFD."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return UNSAFE.sub(REPLACEMENT, text)


def normalise_json(value: T) -> T:
    """A decoded JSON value with every string in it (keys too) normalised."""
    if isinstance(value, str):
        return normalise_text(value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [normalise_json(item) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {normalise_json(k): normalise_json(v) for k, v in value.items()}  # type: ignore[return-value]
    return value


__all__ = [
    "REPLACEMENT",
    "UNSAFE",
    "UNSAFE_BUT_CR",
    "needs_normalising",
    "normalise_json",
    "normalise_text",
]
