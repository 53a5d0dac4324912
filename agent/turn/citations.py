"""Citations: the passages a final answer refers to as [1], [2] …, in order of first mention."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.chat.events import Citation
from agent.models.base import PassageFact

_MARKER_RE = re.compile(r"\[(\d{1,2})\]")


def cited_ids(text: str) -> list[int]:
    seen: list[int] = []
    for match in _MARKER_RE.finditer(text):
        number = int(match.group(1))
        if number not in seen:
            seen.append(number)
    return seen


def extract_citations(text: str, passages: Sequence[PassageFact]) -> list[Citation]:
    """Passages (1-based ids, as the model was given them) referenced in `text`; unknown ids are
    ignored rather than invented."""
    return [
        Citation(
            source=passages[n - 1].source,
            heading=passages[n - 1].heading,
            text=passages[n - 1].text,
        )
        for n in cited_ids(text)
        if 1 <= n <= len(passages)
    ]
