"""The offline model and photo evidence: when a return waited for photos ("add photos"), the
shopper's next message picks it up again once photos are attached, and the reply says how many
arrived; without photos yet, it asks for them again rather than guessing."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.models.base import ModelReply

if TYPE_CHECKING:
    from agent.models.offline.planner import Planner

EVIDENCE_REQUIRED = "evidence_required"  # the action's refusal code (actions/builtin)
_ABOUT_PHOTOS = re.compile(
    r"\b(photos?|pictures?|pics?|images?|attached|uploaded|added|sent|done|here|there|ok(ay)?|yes|go ahead)\b",
    re.IGNORECASE,
)


def count_words(count: int) -> str:
    return f"{count} photo{'' if count == 1 else 's'}"


def photo_follow_up(p: Planner) -> ModelReply | None:
    """The next step when the latest return attempt waited for photos, or None."""
    waited = p.conv.last("create_return_authorization")
    if waited is None or waited.ok or waited.code != EVIDENCE_REQUIRED:
        retried = [o for o in p.turn if o.name == "create_return_authorization"]
        if retried and _waited_before(p, retried[0].index):
            return _acknowledged(p, p.after_authorization())
        return None
    if waited.index > p.conv.last_user_index:
        return None  # refused in this very turn: the normal relay asks for photos
    if not _ABOUT_PHOTOS.search(p.text):
        return None  # something else first: the return waits for the photos meanwhile
    if p.facts.images:
        return p.call("create_return_authorization", dict(waited.arguments))
    return p.say(
        "I can't see any photos yet. Please tap the camera button below the message box, "
        "choose a photo or two of the item and its packaging, and tell me once they show "
        "in the chat."
    )


def _waited_before(p: Planner, index: int) -> bool:
    """Whether a return attempt before `index` was refused for want of photos."""
    return any(
        o.name == "create_return_authorization" and not o.ok and o.code == EVIDENCE_REQUIRED
        for o in p.conv.outcomes
        if o.index < index
    )


def _acknowledged(p: Planner, reply: ModelReply) -> ModelReply:
    images = len(p.facts.images)
    if reply.tool_calls or not images:
        return reply
    return p.say(f"Thanks — I've got your {count_words(images)}. {reply.text}")


__all__ = ["count_words", "photo_follow_up"]
