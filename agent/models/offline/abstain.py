"""The offline model's one way of saying it has no answer: below the retrieval confidence threshold
it says so rather than guess, offers a person, and marks the reply `abstained`, so the loop stores
the answer as a fallback ("no_answer") and the owner's insights list it as unanswered."""

from __future__ import annotations

from agent.models.base import ModelReply
from agent.models.offline.routing import OFFER_PERSON

ABSTAIN_TEXT = "I'm sorry, I don't know that, and I'd rather not guess."


def abstain() -> ModelReply:
    return ModelReply(text=f"{ABSTAIN_TEXT} {OFFER_PERSON}", abstained=True)


__all__ = ["ABSTAIN_TEXT", "abstain"]
