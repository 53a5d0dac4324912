"""The statuses a conversation and a confirmation go through: the one definition of each."""

from __future__ import annotations

from enum import StrEnum


class ConversationStatus(StrEnum):
    """open (the AI answers) → pending (a person is needed) → assigned (a person owns it) →
    resolved. Rows written before the console said `handoff` / `closed`: see `parse`."""

    OPEN = "open"
    PENDING = "pending"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"

    @classmethod
    def parse(cls, value: str) -> ConversationStatus:
        """A stored or requested status, the pre-console names read as their successors;
        ValueError for anything else."""
        return cls(LEGACY_STATUSES.get(value, value))

    @property
    def human(self) -> bool:
        """A person owns the conversation: the AI stays quiet."""
        return self in HUMAN_STATUSES


LEGACY_STATUSES: dict[str, ConversationStatus] = {
    "handoff": ConversationStatus.PENDING,
    "closed": ConversationStatus.RESOLVED,
}
HUMAN_STATUSES: frozenset[ConversationStatus] = frozenset(
    {ConversationStatus.PENDING, ConversationStatus.ASSIGNED}
)
# Every name a caller may ask for: the statuses and their pre-console spellings.
ACCEPTED_STATUSES: frozenset[str] = frozenset({*ConversationStatus, *LEGACY_STATUSES})


class ConfirmationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"  # the shopper moved on, or the question was left by a dead turn


__all__ = [
    "ACCEPTED_STATUSES",
    "HUMAN_STATUSES",
    "LEGACY_STATUSES",
    "ConfirmationStatus",
    "ConversationStatus",
]
