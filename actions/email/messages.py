"""Which emails a return step sends, and an outbox message as the console lists it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from actions.email.events import EmailEvent, event_words, status_words
from actions.return_status import ReturnStatus
from actions.store.models import EmailMessageRow

if TYPE_CHECKING:
    from actions.store.rma import ReturnAuthorization

E = EmailEvent
# A return's status change → the shopper's email (the first status an RMA lands in is chosen
# by the policy at creation: see `return_events`).
UPDATED: dict[str, tuple[EmailEvent, ...]] = {
    ReturnStatus.APPROVED: (E.RETURN_APPROVED,),
    ReturnStatus.REJECTED: (E.RETURN_REJECTED,),
    ReturnStatus.ITEM_RECEIVED: (E.ITEM_RECEIVED,),
    ReturnStatus.REFUNDED: (E.REFUNDED,),
}


def return_events(webhook_event: str, record: ReturnAuthorization) -> tuple[EmailEvent, ...]:
    """The shopper's emails for one workflow step (`return.created` / `return.updated`)."""
    if webhook_event == "return.created":
        if record.status == ReturnStatus.MANUAL_REVIEW:
            return (E.RETURN_IN_REVIEW,)  # the request's confirmation says it is reviewed
        if record.status == ReturnStatus.APPROVED:
            return (E.RETURN_REQUESTED, E.RETURN_APPROVED)  # the approval carries the label
        return (E.RETURN_REQUESTED,)
    if webhook_event != "return.updated" or not record.history:
        return ()
    return UPDATED.get(record.history[-1].to_status, ())


@dataclass(frozen=True)
class OutboxMessage:
    """A message as the console lists it."""

    id: str
    event: str
    recipient: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    bounce_reason: str | None
    rma_id: str | None
    conversation_id: str | None
    file_name: str | None

    @property
    def event_words(self) -> str:
        return event_words(self.event)

    @property
    def status_words(self) -> str:
        return status_words(self.status)

    @property
    def secret(self) -> bool:
        return self.event == E.VERIFICATION_CODE


def message_record(row: EmailMessageRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, event=row.event, recipient=row.recipient, subject=row.subject,
        status=row.status, attempts=row.attempts, created_at=row.created_at,
        next_attempt_at=row.next_attempt_at, sent_at=row.sent_at, last_error=row.last_error,
        bounce_reason=row.bounce_reason, rma_id=row.rma_id, conversation_id=row.conversation_id,
        file_name=row.file_name,
    )  # fmt: skip


__all__ = ["OutboxMessage", "message_record", "return_events"]
