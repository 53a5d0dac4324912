"""Codes in words: carrier events, places, return statuses and reasons as a shopper or staff member
reads them. The one mapping used by the shopper's messages and by the console's pages.

A code missing from a table is still shown readably (underscores to spaces), so a new carrier event
never reaches a reader as `some_code`.
"""

from __future__ import annotations

CARRIER_EVENTS: dict[str, str] = {
    "label_created": "label created, waiting for the carrier",
    "picked_up": "picked up by the carrier",
    "in_transit": "in transit",
    "out_for_delivery": "out for delivery",
    "delivered": "delivered",
    "exception": "delayed by a carrier problem",
    "returned_to_sender": "on its way back to us",
}

RETURN_STATUSES: dict[str, str] = {
    "return_requested": "requested",
    "eligibility_check": "being checked",
    "approved": "approved",
    "manual_review": "waiting for a staff review",
    "label_sent": "label sent",
    "item_received": "item received",
    "refunded": "refunded",
    "rejected": "rejected",
    "cancelled": "cancelled",
}

RETURN_REASONS: dict[str, str] = {
    "changed_mind": "changed their mind",
    "wrong_size": "wrong size",
    "ordered_by_mistake": "ordered by mistake",
    "no_longer_needed": "no longer needed",
    "damaged": "arrived damaged",
    "defective": "faulty",
    "wrong_item": "wrong item sent",
    "not_as_described": "not as described",
    "seller_error": "our mistake",
    "not_delivered": "not delivered yet",
    "quantity_exceeds": "more than was ordered",
    "final_sale": "final sale",
    "outside_window": "outside the return window",
}

RESOLUTIONS: dict[str, str] = {
    "refund": "refund",
    "store_credit": "store credit",
    "replacement": "replacement",
}

CARRIERS: dict[str, str] = {"local": "our own delivery service"}

# What the agent did, as a heading over its result in the console's transcript.
ACTIONS: dict[str, str] = {
    "lookup_order": "Looked up the order",
    "list_my_orders": "Listed the shopper's orders",
    "fetch_tracking": "Fetched the tracking",
    "check_eligibility": "Checked what can be returned",
    "create_return_authorization": "Created a return",
    "get_return_status": "Checked the return's status",
    "generate_label": "Made a return label",
    "capture_lead": "Saved a follow-up request",
}


def _plain(code: str) -> str:
    return code.replace("_", " ").strip()


def in_words(code: str) -> str:
    """Any code with no table of its own (an error's code, say), readable."""
    return _plain(code)


def carrier_event(code: str) -> str:
    return CARRIER_EVENTS.get(code, _plain(code))


def return_status(code: str) -> str:
    return RETURN_STATUSES.get(code, _plain(code))


def return_reason(code: str) -> str:
    return RETURN_REASONS.get(code, _plain(code))


def resolution(code: str) -> str:
    return RESOLUTIONS.get(code, _plain(code))


def action_name(code: str) -> str:
    return ACTIONS.get(code) or _plain(code).capitalize()


def carrier_name(code: str) -> str:
    return CARRIERS.get(code, code)


def place(location: str | None, status: str) -> str:
    """Where a scan happened, as a phrase to follow the event: " in Albany, NY" for a town,
    ", left at: Front door" for a delivery spot, nothing when the carrier gave no place."""
    if not location or not location.strip():
        return ""
    where = location.strip()
    if "," in where:
        return f" in {where}"
    return f", left at: {where}" if status == "delivered" else f" (at: {where})"
