"""A return authorization's status and the moves between statuses: the one definition."""

from __future__ import annotations

from enum import StrEnum


class ReturnStatus(StrEnum):
    RETURN_REQUESTED = "return_requested"
    ELIGIBILITY_CHECK = "eligibility_check"
    APPROVED = "approved"
    MANUAL_REVIEW = "manual_review"
    LABEL_SENT = "label_sent"
    ITEM_RECEIVED = "item_received"
    REFUNDED = "refunded"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


S = ReturnStatus
TRANSITIONS: dict[ReturnStatus, frozenset[ReturnStatus]] = {
    S.RETURN_REQUESTED: frozenset({S.ELIGIBILITY_CHECK, S.CANCELLED}),
    S.ELIGIBILITY_CHECK: frozenset({S.APPROVED, S.MANUAL_REVIEW, S.REJECTED, S.CANCELLED}),
    S.MANUAL_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.LABEL_SENT, S.ITEM_RECEIVED, S.REFUNDED, S.CANCELLED}),
    S.LABEL_SENT: frozenset({S.ITEM_RECEIVED, S.CANCELLED}),
    S.ITEM_RECEIVED: frozenset({S.REFUNDED, S.REJECTED}),
    S.REFUNDED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
}
# A return in one of these no longer holds its items: they may be returned again.
INACTIVE: frozenset[ReturnStatus] = frozenset({S.REJECTED, S.CANCELLED})
STATUSES: tuple[str, ...] = tuple(status.value for status in ReturnStatus)

__all__ = ["INACTIVE", "STATUSES", "TRANSITIONS", "ReturnStatus"]
