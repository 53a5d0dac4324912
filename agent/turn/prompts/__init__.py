"""The system prompt: rendered from system.jinja2, and parsed back by the offline model.

Everything interpolated is escaped (jinja2 autoescape): passage text and action results are data,
and a passage containing `</passage>` or `<identity …>` must not change the prompt's structure.
`parse_system_prompt` is the renderer's inverse for the parts a program needs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
    undefined=jinja2.StrictUndefined,
    auto_reload=False,  # the template ships with the package; no stat() per render
)


class PassageLike(Protocol):
    source: str
    heading: str
    text: str


def render_system_prompt(
    *,
    store_name: str,
    tone: str,
    passages: list[Any],
    confidence: float,
    threshold: float,
    customer_email: str | None,
    order_id_pattern: str,
    now: datetime,
    order_id_examples: str = "",
) -> str:
    template = _env.get_template("system.jinja2")
    return template.render(
        store_name=store_name,
        tone=tone,
        passages=passages,
        confidence=confidence,
        threshold=threshold,
        customer_email=customer_email,
        order_id_pattern=order_id_pattern,
        order_id_examples=order_id_examples,
        today=now.date().isoformat(),
    )


@dataclass
class PromptPassage:
    id: int
    source: str
    heading: str
    text: str


@dataclass
class PromptFacts:
    """What a program can read back from a rendered system prompt."""

    passages: list[PromptPassage] = field(default_factory=list)
    confidence: float = 0.0
    threshold: float = 0.35
    customer_email: str | None = None
    order_id_pattern: str | None = None
    store_name: str | None = None


_PASSAGES_RE = re.compile(
    r'<passages confidence="([0-9.]+)" threshold="([0-9.]+)">(.*?)</passages>', re.S
)
_PASSAGE_RE = re.compile(
    r'<passage id="(\d+)" source="([^"]*)" heading="([^"]*)">(.*?)</passage>', re.S
)
_IDENTITY_RE = re.compile(r'<identity verified="true" email="([^"]*)"/>')
_PATTERN_RE = re.compile(r"<order-id-pattern>(.*?)</order-id-pattern>", re.S)
_STORE_RE = re.compile(r"You are the shopping assistant of (.*?), chatting")


def parse_system_prompt(text: str) -> PromptFacts:
    facts = PromptFacts()
    block = _PASSAGES_RE.search(text)
    if block:
        facts.confidence = float(block.group(1))
        facts.threshold = float(block.group(2))
        facts.passages = [
            PromptPassage(
                id=int(m.group(1)),
                source=html.unescape(m.group(2)),
                heading=html.unescape(m.group(3)),
                text=html.unescape(m.group(4)),
            )
            for m in _PASSAGE_RE.finditer(block.group(3))
        ]
    identity = _IDENTITY_RE.search(text)
    if identity:
        facts.customer_email = html.unescape(identity.group(1)) or None
    pattern = _PATTERN_RE.search(text)
    if pattern:
        facts.order_id_pattern = html.unescape(pattern.group(1))
    store = _STORE_RE.search(text)
    if store:
        facts.store_name = html.unescape(store.group(1))
    return facts


__all__ = ["PromptFacts", "PromptPassage", "parse_system_prompt", "render_system_prompt"]
