"""The websocket protocol: one pydantic model per event, discriminated by `type`.

Client → server: hello, user_message, confirmation_response, lead.
Server → client: ready, assistant_delta, assistant_message, action_started, action_finished,
confirmation_request, handoff, agent_message, lead_saved, error.

Extra fields from a client are ignored (DESIGN.md: "extra fields are fine"), so a newer widget can
talk to an older server. Message *length* is not bounded here on purpose: the server checks it
against `settings.max_message_chars` and answers `message_too_long` with the socket left open.
Ids, emails and signatures are bounded, since nothing legitimate is long there.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, ValidationError

# A conversation id is 128 random bits (32 hex chars); leave room for other schemes but not much.
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")


# Client events ----------------------------------------------------------------------------------
class Identity(BaseModel):
    """A shopper identity signed by the host page: HMAC-SHA256(email) with the store's secret."""

    email: str = Field(min_length=3, max_length=320)
    signature: str = Field(min_length=1, max_length=256)


class Hello(_Event):
    type: Literal["hello"] = "hello"
    conversation_id: Id | None = None
    identity: Identity | None = None


class UserMessage(_Event):
    type: Literal["user_message"] = "user_message"
    text: str


class ConfirmationResponse(_Event):
    type: Literal["confirmation_response"] = "confirmation_response"
    id: Id
    approved: bool


class Lead(_Event):
    """The widget's optional "keep me posted" form. `consent` is the checkbox, which starts
    unticked: a strict boolean, so no "yes"/"1" string can stand in for a tick. Email and interest
    are bounded here and checked properly by the capture_lead action."""

    type: Literal["lead"] = "lead"
    email: str = Field(max_length=320)
    interest: str = Field("", max_length=200)
    consent: StrictBool


ClientEvent = Annotated[
    Hello | UserMessage | ConfirmationResponse | Lead, Field(discriminator="type")
]


# Server events ----------------------------------------------------------------------------------
class Citation(BaseModel):
    source: str
    heading: str
    text: str


class Ready(_Event):
    type: Literal["ready"] = "ready"
    conversation_id: str
    transcript: list[dict[str, Any]] = Field(default_factory=list)


class AssistantDelta(_Event):
    type: Literal["assistant_delta"] = "assistant_delta"
    text: str


class AssistantMessage(_Event):
    """The turn's final answer. `text` is the last model round's text (earlier rounds' deltas, if
    any, came before an action_started); clients replace the streamed bubble with it."""

    type: Literal["assistant_message"] = "assistant_message"
    text: str
    citations: list[Citation] = Field(default_factory=list)


class ActionStarted(_Event):
    type: Literal["action_started"] = "action_started"
    action: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ActionFinished(_Event):
    type: Literal["action_finished"] = "action_finished"
    action: str
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)


class ConfirmationRequest(_Event):
    type: Literal["confirmation_request"] = "confirmation_request"
    id: str
    action: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    summary: str


class Handoff(_Event):
    type: Literal["handoff"] = "handoff"
    reason: str


class AgentMessage(_Event):
    """A message from a person at the store (the inbox), not from the model."""

    type: Literal["agent_message"] = "agent_message"
    text: str


class LeadSaved(_Event):
    """The answer to a `lead` event: saved; `message` is the thanks to show in the form."""

    type: Literal["lead_saved"] = "lead_saved"
    message: str


class ErrorEvent(_Event):
    type: Literal["error"] = "error"
    code: str
    message: str


ServerEvent = Annotated[
    Ready
    | AssistantDelta
    | AssistantMessage
    | ActionStarted
    | ActionFinished
    | ConfirmationRequest
    | Handoff
    | AgentMessage
    | LeadSaved
    | ErrorEvent,
    Field(discriminator="type"),
]

CLIENT_EVENT_TYPES = ("hello", "user_message", "confirmation_response", "lead")
SERVER_EVENT_TYPES = (
    "ready",
    "assistant_delta",
    "assistant_message",
    "action_started",
    "action_finished",
    "confirmation_request",
    "handoff",
    "agent_message",
    "lead_saved",
    "error",
)

_client_adapter: TypeAdapter[Any] = TypeAdapter(ClientEvent)
_server_adapter: TypeAdapter[Any] = TypeAdapter(ServerEvent)


class EventError(Exception):
    """A client frame the server cannot use; `code` is bad_json, unknown_event or invalid_event."""

    def __init__(self, code: str, message: str, event_type: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.event_type = event_type  # the frame's known `type`, so a reply can say what failed

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(code=self.code, message=self.message)


def parse_client_event(text: str | bytes) -> Hello | UserMessage | ConfirmationResponse | Lead:
    """Parse one client frame, or raise EventError saying what is wrong with it."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise EventError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise EventError("invalid_event", "An event must be a JSON object with a 'type'.")
    kind = data.get("type")
    if kind not in CLIENT_EVENT_TYPES:
        shown = kind if isinstance(kind, str) and len(kind) <= 40 else "?"
        raise EventError(
            "unknown_event",
            f"Unknown event type {shown!r}; expected one of: {', '.join(CLIENT_EVENT_TYPES)}.",
        )
    try:
        return _client_adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'][1:]) or 'event'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise EventError("invalid_event", f"Invalid {kind} event: {problems}.", kind) from None


def parse_server_event(data: str | bytes | dict[str, Any]) -> Any:
    """Parse a server event (clients and tests use this)."""
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    return _server_adapter.validate_python(data)
