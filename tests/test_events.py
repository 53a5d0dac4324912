"""The websocket protocol models: every event parses, bad frames get the right error code."""

from __future__ import annotations

import json

import pytest

from agent.chat.events import (
    SERVER_EVENT_TYPES,
    ActionFinished,
    AssistantMessage,
    Citation,
    ConfirmationRequest,
    ConfirmationResponse,
    ErrorEvent,
    EventError,
    Hello,
    UserMessage,
    parse_client_event,
    parse_server_event,
)


def test_hello_with_and_without_identity_parses():
    assert parse_client_event('{"type": "hello"}') == Hello()
    event = parse_client_event(
        json.dumps(
            {
                "type": "hello",
                "conversation_id": "0123456789abcdef0123456789abcdef",
                "identity": {"email": "maya.chen@example.com", "signature": "ab" * 32},
            }
        )
    )
    assert isinstance(event, Hello)
    assert event.identity is not None and event.identity.email == "maya.chen@example.com"


def test_hello_carries_the_resume_token_and_a_huge_one_is_refused():
    token = "Zm9v" * 10 + "abc"  # 43 url-safe characters, like secrets.token_urlsafe(32)
    event = parse_client_event(
        json.dumps({"type": "hello", "conversation_id": "c" * 32, "resume_token": token})
    )
    assert isinstance(event, Hello) and event.resume_token == token
    with pytest.raises(EventError) as refused:
        parse_client_event(json.dumps({"type": "hello", "resume_token": "x" * 129}))
    assert refused.value.code == "invalid_event"


def test_user_message_and_confirmation_response_parse():
    assert parse_client_event('{"type":"user_message","text":"hi"}') == UserMessage(text="hi")
    event = parse_client_event('{"type":"confirmation_response","id":"abc","approved":false}')
    assert event == ConfirmationResponse(id="abc", approved=False)


def test_long_text_is_left_for_the_server_to_refuse_with_its_own_code():
    event = parse_client_event(json.dumps({"type": "user_message", "text": "x" * 10_000}))
    assert isinstance(event, UserMessage) and len(event.text) == 10_000


def test_extra_fields_are_ignored():
    event = parse_client_event('{"type":"user_message","text":"hi","client_ts":123}')
    assert event == UserMessage(text="hi")


@pytest.mark.parametrize("frame", ["not json", "{", b"\xff\xfe"])
def test_malformed_json_is_bad_json(frame):
    with pytest.raises(EventError) as info:
        parse_client_event(frame)
    assert info.value.code == "bad_json"


@pytest.mark.parametrize("frame", ['{"type":"dance"}', '{"text":"hi"}', '{"type":"ready"}'])
def test_unknown_or_missing_type_is_unknown_event(frame):
    with pytest.raises(EventError) as info:
        parse_client_event(frame)
    assert info.value.code == "unknown_event"


@pytest.mark.parametrize(
    "frame",
    [
        "[1, 2]",
        '"hello"',
        '{"type":"user_message"}',
        '{"type":"user_message","text":5}',
        '{"type":"confirmation_response","id":"x"}',
        '{"type":"hello","conversation_id":"' + "a" * 500 + '"}',
        '{"type":"hello","conversation_id":"has spaces"}',
        '{"type":"hello","identity":{"email":"a@b.c"}}',
    ],
)
def test_wrong_shapes_are_invalid_event_with_a_readable_message(frame):
    with pytest.raises(EventError) as info:
        parse_client_event(frame)
    assert info.value.code == "invalid_event"
    assert info.value.message
    assert info.value.to_event() == ErrorEvent(code="invalid_event", message=info.value.message)


def test_server_events_round_trip_through_json():
    events = [
        AssistantMessage(
            text="Engraved items are final sale [1].",
            citations=[Citation(source="personalised.md", heading="Personalised", text="…")],
        ),
        ActionFinished(action="lookup_order", ok=True, result={"message": "Found it."}),
        ConfirmationRequest(
            id="c1", action="generate_label", arguments={}, summary="Make a label."
        ),
    ]
    for event in events:
        assert parse_server_event(event.model_dump_json()) == event


def test_every_server_event_type_has_a_model():
    samples = {
        "ready": {"conversation_id": "c", "resume_token": "t", "transcript": []},
        "session": {"resume_token": "t2", "verified": True},
        "assistant_delta": {"text": "He"},
        "assistant_message": {"text": "Hello", "citations": []},
        "action_started": {"action": "a", "arguments": {}},
        "action_finished": {"action": "a", "ok": False, "result": {}},
        "confirmation_request": {"id": "1", "action": "a", "arguments": {}, "summary": "s"},
        "handoff": {"reason": "asked for a person"},
        "agent_message": {"text": "Hi, this is Sam from the studio."},
        "message_received": {},
        "lead_saved": {"message": "Thanks! We'll email you."},
        "error": {"code": "bad_json", "message": "no"},
        "upload_token": {
            "token": "t",
            "url": "/chat/photos/c",
            "expires_at": "2026-03-02T09:40:00Z",
            "max_bytes": 10,
            "remaining": 5,
        },
    }
    assert set(samples) == set(SERVER_EVENT_TYPES)
    for kind, fields in samples.items():
        event = parse_server_event({"type": kind, **fields})
        assert event.type == kind
        assert json.loads(event.model_dump_json())["type"] == kind
