"""Codes in words: what a shopper or staff member reads instead of carrier and return codes."""

from __future__ import annotations

from actions import wording


def test_carrier_events_and_places_read_as_words() -> None:
    assert wording.carrier_event("in_transit") == "in transit"
    assert wording.carrier_event("out_for_delivery") == "out for delivery"
    assert wording.place("Front door", "delivered") == ", left at: Front door"
    assert wording.place("Albany, NY", "in_transit") == " in Albany, NY"
    assert wording.place(None, "delivered") == ""
    assert wording.carrier_name("local") == "our own delivery service"


def test_return_statuses_and_reasons_read_as_words() -> None:
    assert wording.return_reason("wrong_size") == "wrong size"
    assert wording.return_status("manual_review") == "waiting for a staff review"


def test_an_unknown_code_is_still_shown_without_underscores() -> None:
    assert wording.carrier_event("held_at_customs") == "held at customs"
    assert wording.return_reason("too_heavy") == "too heavy"
