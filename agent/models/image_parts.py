"""Photos as OpenAI-format image parts: the shopper's latest message gets the photos attached for
the return under way, so a model that takes images (litellm's `supports_vision`) can see them."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from agent.models.base import ImageFact

MAX_IMAGES = 5  # the most one return carries


def data_url(image: ImageFact) -> str:
    return f"data:{image.content_type};base64,{base64.b64encode(image.read()).decode('ascii')}"


def with_image_parts(
    messages: list[dict[str, Any]], images: Sequence[ImageFact]
) -> list[dict[str, Any]]:
    """A copy of `messages` whose latest user message carries the images as parts."""
    if not images:
        return messages
    last = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last is None:
        return messages
    text = messages[last].get("content")
    note = f"(The shopper attached {len(images)} photo{'' if len(images) == 1 else 's'}.)"
    parts: list[dict[str, Any]] = [{"type": "text", "text": f"{text or ''}\n{note}".strip()}]
    parts += [
        {"type": "image_url", "image_url": {"url": data_url(image)}}
        for image in images[:MAX_IMAGES]
    ]
    out = list(messages)
    out[last] = {**messages[last], "content": parts}
    return out


__all__ = ["data_url", "with_image_parts"]
