"""Property: any text frame becomes a typed client event or an `EventError`, never an exception,
and whatever it becomes can be sent back out (no lone surrogate survives the parser)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.json_limits import too_deep
from agent.chat.events import CLIENT_EVENT_TYPES, AnyClientEvent, EventError, parse_client_event

FAST = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# Every code point, lone surrogates and control characters included.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
TEXT = st.text(ANY_CHAR, max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=16,
)
FIELDS = [
    "conversation_id", "resume_token", "identity", "text", "id", "approved", "email",
    "interest", "consent",
]  # fmt: skip


@st.composite
def event_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """Objects that look like client events: a known (or nearly known) type, its field names."""
    kind = draw(st.sampled_from([*CLIENT_EVENT_TYPES, "Hello", "", "ready"]) | TEXT | JSON)
    body = {"type": kind}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        body[name] = draw(JSON | st.dictionaries(st.sampled_from(["email", "signature"]), JSON))
    return body


@st.composite
def deep(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=1, max_value=3000))
    opener = draw(st.sampled_from(["[", '{"a":', '{"type": "user_message", "text": [']))
    closer = {"[": "]", '{"a":': "}", '{"type": "user_message", "text": [': "]}"}[opener]
    return opener * depth + draw(st.sampled_from(["1", '"x"', "", "[]"])) + closer * depth


def frames() -> st.SearchStrategy[str]:
    as_json = (event_shaped() | JSON).map(lambda v: json.dumps(v, allow_nan=True))
    return as_json | deep() | TEXT | st.text(ANY_CHAR, max_size=400)


def check_one(frame: str) -> AnyClientEvent | EventError:
    try:
        event = parse_client_event(frame)
    except EventError as exc:
        exc.to_event().model_dump_json()  # the error itself can always be sent
        assert exc.message and exc.code in {
            "bad_json",
            "too_deep",
            "unknown_event",
            "invalid_event",
        }
        return exc
    event.model_dump_json()  # encodable: no lone surrogate got through
    assert event.type in CLIENT_EVENT_TYPES
    return event


@FAST
@given(frames())
def test_any_text_frame_is_a_typed_event_or_an_error_event(frame: str) -> None:
    check_one(frame)


@FAST
@given(frames().map(lambda f: f.encode("utf-8", "surrogatepass")))
def test_any_bytes_frame_is_a_typed_event_or_an_error_event(frame: bytes) -> None:
    try:
        parse_client_event(frame)
    except EventError:
        pass


@FAST
@given(st.text(ANY_CHAR, max_size=200))
def test_message_text_arrives_normalised_whatever_it_holds(text: str) -> None:
    event = check_one(json.dumps({"type": "user_message", "text": text}))
    assert not isinstance(event, EventError)
    stored = event.text  # type: ignore[union-attr]
    stored.encode("utf-8")  # storable
    assert all(ch in "\n\t" or not (ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F) for ch in stored)


def nesting(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    return 0


@FAST
@given(JSON, st.integers(min_value=0, max_value=4), st.booleans())
def test_the_depth_scan_agrees_with_the_parsed_depth(value: Any, limit: int, ascii: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii, allow_nan=True)
    assert too_deep(text, limit) == (nesting(value) > limit)
