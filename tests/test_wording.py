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


def test_actions_and_resolutions_read_as_words_for_staff() -> None:
    assert wording.action_name("fetch_tracking") == "Fetched the tracking"
    assert wording.action_name("create_return_authorization") == "Created a return"
    assert wording.action_name("send_gift_card") == "Send gift card"  # an action added later
    assert wording.resolution("store_credit") == "store credit"


def test_an_unknown_code_is_still_shown_without_underscores() -> None:
    assert wording.carrier_event("held_at_customs") == "held at customs"
    assert wording.return_reason("too_heavy") == "too heavy"


def test_an_action_result_summary_is_in_words_for_staff() -> None:
    from agent.console.summary import action_summary

    envelope = {
        "ok": True,
        "result": {
            "rma_id": "RMA-1",
            "order_id": "WK-1",
            "status": "manual_review",
            "reason": "wrong_size",
        },
    }
    assert action_summary(envelope) == [
        "Order WK-1 · Return RMA-1",
        "status: waiting for a staff review · reason: wrong size",
    ]
    assert action_summary({"ok": False, "error": {"code": "x", "message": "Order not found"}}) == [
        "Failed: Order not found"
    ]
    assert action_summary({"ok": False, "error": {"code": "order_not_found"}}) == [
        "Failed: order not found"
    ]


def test_a_tracking_summary_tells_the_return_parcel_from_the_delivered_order() -> None:
    from agent.console.summary import action_summary

    scan = {"at": "2026-11-21T10:00:00Z", "status": "label_created", "location": "Returns desk"}
    result = {
        "order_id": "WK-1",
        "status": "delivered",
        "shipments": [
            {"direction": "outbound", "carrier": "UPS", "tracking_number": "1Z", "events": [
                {"at": "2026-11-10T10:00:00Z", "status": "delivered", "location": "Front door"}
            ]},
            {"direction": "return", "carrier": "local", "tracking_number": "WKR1", "events": [scan]},
        ],
    }  # fmt: skip
    assert action_summary({"ok": True, "result": result})[2:] == [
        "Parcel 1Z (UPS): delivered, left at: Front door",
        "Return parcel WKR1 (our own delivery service): label created, waiting for the carrier"
        " (at: Returns desk)",
    ]


def test_a_parcel_the_tracking_message_already_tells_of_is_not_repeated() -> None:
    from agent.console.summary import action_summary

    scan = {"at": "2026-11-10T10:00:00Z", "status": "delivered", "location": "Front door"}
    parcel = {"direction": "outbound", "carrier": "UPS", "tracking_number": "1Z", "events": [scan]}
    told = "For order WK-1, your parcel 1Z (UPS) was last scanned on November 10: delivered."
    result = {"order_id": "WK-1", "status": "delivered", "shipments": [parcel], "message": told}
    assert action_summary(result) == ["Order WK-1", "status: delivered", told]


def test_the_json_behind_the_toggle_keeps_its_characters() -> None:
    from agent.console.summary import details_json

    assert "2 × Sage mug" in details_json({"message": "2 × Sage mug"})


def test_an_order_lookup_summary_reads_its_parcels_last_scan() -> None:
    from agent.console.summary import action_summary

    parcel = {"direction": "outbound", "carrier": "USPS", "tracking_number": "94", "status": "in_transit", "location": "Harrisburg, PA"}  # fmt: skip
    result = {"order_id": "WK-9", "status": "shipped", "shipments": [parcel]}
    assert action_summary(result)[2] == "Parcel 94 (USPS): in transit in Harrisburg, PA"


def test_a_long_result_behind_the_toggle_says_it_was_cut() -> None:
    from agent.console.summary import JSON_CHARS, details_json

    whole = details_json({"order_id": "WK-1", "status": "delivered"})
    assert whole.startswith("{") and whole.endswith("}")
    cut = details_json({"events": ["scan"] * JSON_CHARS})
    assert cut.endswith("characters)") and f"the first {JSON_CHARS} of" in cut
