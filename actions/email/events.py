"""The emails shopdesk sends: one event each, with its subject line and its name in words."""

from __future__ import annotations

from enum import StrEnum


class EmailEvent(StrEnum):
    RETURN_REQUESTED = "return_requested"
    RETURN_APPROVED = "return_approved"
    RETURN_IN_REVIEW = "return_in_review"
    RETURN_REJECTED = "return_rejected"
    ITEM_RECEIVED = "item_received"
    REFUNDED = "refunded"
    COLLECTION_REQUESTED = "collection_requested"
    AGENT_REPLY = "agent_reply"
    VERIFICATION_CODE = "verification_code"
    # To the store's own fulfilment team (SHOPDESK_FULFILMENT_EMAIL).
    FULFILMENT_NEW_RETURN = "fulfilment_new_return"
    FULFILMENT_COLLECTION = "fulfilment_collection"


E = EmailEvent
EVENTS: tuple[str, ...] = tuple(e.value for e in EmailEvent)

# jinja2 expressions over the message's context; rendered as plain text (never autoescaped:
# a header is not HTML) with line breaks removed.
SUBJECTS: dict[EmailEvent, str] = {
    E.RETURN_REQUESTED: "We've received your return request {{ rma_id }}",
    E.RETURN_APPROVED: "Your return {{ rma_id }} is approved",
    E.RETURN_IN_REVIEW: "Your return {{ rma_id }} is being reviewed",
    E.RETURN_REJECTED: "About your return {{ rma_id }}: we can't accept it",
    E.ITEM_RECEIVED: "Your return {{ rma_id }} has arrived",
    E.REFUNDED: "Your refund for {{ rma_id }}: {{ refund_amount }}",
    E.COLLECTION_REQUESTED: "We'll arrange the collection of your return {{ rma_id }}",
    E.AGENT_REPLY: "A reply from {{ store_name }}",
    E.VERIFICATION_CODE: "Your {{ store_name }} verification code",
    E.FULFILMENT_NEW_RETURN: "New return {{ rma_id }} ({{ status_words }}) for order {{ order_id }}",
    E.FULFILMENT_COLLECTION: "Collection to arrange: {{ rma_id }}, order {{ order_id }}",
}

WORDS: dict[str, str] = {
    E.RETURN_REQUESTED: "return requested",
    E.RETURN_APPROVED: "return approved",
    E.RETURN_IN_REVIEW: "return in review",
    E.RETURN_REJECTED: "return rejected",
    E.ITEM_RECEIVED: "item received",
    E.REFUNDED: "refund issued",
    E.COLLECTION_REQUESTED: "collection requested",
    E.AGENT_REPLY: "reply from the team",
    E.VERIFICATION_CODE: "sign-in code",
    E.FULFILMENT_NEW_RETURN: "new return (team)",
    E.FULFILMENT_COLLECTION: "collection to arrange (team)",
}

STATUS_WORDS: dict[str, str] = {
    "pending": "waiting",
    "sent": "sent",
    "bounced": "bounced",
    "failed": "not sent (gave up)",
    "withdrawn": "not sent (the return changed first)",
}

# Context keys that are secrets: the console never shows them, and they are scrubbed once sent.
SECRET_KEYS = ("code",)


def event_words(event: str) -> str:
    return WORDS.get(event, event.replace("_", " "))


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status)


__all__ = ["EVENTS", "SECRET_KEYS", "SUBJECTS", "EmailEvent", "event_words", "status_words"]
