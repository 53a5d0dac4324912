"""The websocket protocol: one pydantic model per event, discriminated by `type`.

Client → server: `ClientEvent` (hello, user_message, confirmation_response, lead).
Server → client: `ServerEvent` (ready, assistant_delta, assistant_message, action_started,
action_finished, confirmation_request, handoff, agent_message, message_received, lead_saved, error).
The lists of type names are read off the two unions, so a new event is one model added to one union.

Every field the server sends is declared on its model. Optional fields left unset are omitted from
the JSON rather than sent as null, so a client sees exactly the fields that mean something.

Extra fields from a client are ignored (DESIGN.md: "extra fields are fine"), so a newer widget can
talk to an older server. Message *length* is not bounded here on purpose: the server checks it
against `settings.max_message_chars` and answers `message_too_long` with the socket left open.
Ids, emails and signatures are bounded, since nothing legitimate is long there.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from actions.json_limits import MAX_DEPTH, too_deep
from actions.text import normalise_json

# A conversation id is 128 random bits (32 hex chars); leave room for other schemes but not much.
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ServerEventBase(_Event):
    @model_serializer(mode="wrap")
    def _omit_unset_options(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # An optional field that is None was not part of this event (e.g. a ready with no notice).
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


# Client events ----------------------------------------------------------------------------------
class Identity(BaseModel):
    """A shopper identity signed by the host page: HMAC-SHA256(email) with the store's secret."""

    email: str = Field(min_length=3, max_length=320)
    signature: str = Field(min_length=1, max_length=256)


class Hello(_Event):
    type: Literal["hello"] = "hello"
    conversation_id: Id | None = None
    # The conversation's resume token (from `ready` or the latest `session`): without it, the id
    # resumes nothing.
    resume_token: str | None = Field(None, max_length=128)
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


class UploadRequest(_Event):
    """The widget wants to attach a photo: the server answers `upload_token` (the photo itself
    goes by HTTP POST, never over the socket)."""

    type: Literal["upload_request"] = "upload_request"


AnyClientEvent = Hello | UserMessage | ConfirmationResponse | Lead | UploadRequest
ClientEvent = Annotated[AnyClientEvent, Field(discriminator="type")]


# Server events ----------------------------------------------------------------------------------
class Citation(BaseModel):
    source: str
    heading: str
    text: str


class LeadFormOffer(BaseModel):
    """Offered in `ready` when the store collects emails: the consent wording the form shows."""

    consent_text: str


class Ready(_ServerEventBase):
    """The answer to `hello`. `resumed`: an existing conversation was picked up; `verified`: the
    shopper's identity is known; `notice`: why a new conversation started instead of the asked-for
    one; `pending_confirmation`: the id of a question still waiting for an answer (re-sent next).
    `resume_token`: with the id, what resumes this conversation later (keep the latest; a `session`
    event replaces it); the id alone resumes nothing."""

    type: Literal["ready"] = "ready"
    conversation_id: str
    resume_token: str
    transcript: list[dict[str, Any]] = Field(default_factory=list)
    resumed: bool | None = None
    verified: bool | None = None
    notice: str | None = None
    pending_confirmation: str | None = None
    lead_form: LeadFormOffer | None = None


class Session(_ServerEventBase):
    """The conversation's resume token rotated (a verification began or ended): the client keeps
    this one; the one it had no longer resumes the conversation."""

    type: Literal["session"] = "session"
    resume_token: str
    verified: bool | None = None


class AssistantDelta(_ServerEventBase):
    type: Literal["assistant_delta"] = "assistant_delta"
    text: str


class AssistantMessage(_ServerEventBase):
    """The turn's final answer. `text` is the last model round's text (earlier rounds' deltas, if
    any, came before an action_started); clients replace the streamed bubble with it."""

    type: Literal["assistant_message"] = "assistant_message"
    text: str
    citations: list[Citation] = Field(default_factory=list)


class ActionStarted(_ServerEventBase):
    type: Literal["action_started"] = "action_started"
    action: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ActionFinished(_ServerEventBase):
    type: Literal["action_finished"] = "action_finished"
    action: str
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)


class ConfirmationRequest(_ServerEventBase):
    type: Literal["confirmation_request"] = "confirmation_request"
    id: str
    action: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    summary: str


class Handoff(_ServerEventBase):
    """A person is needed. With the console: `message` is what to tell the shopper and `ask_email`
    is true outside business hours (the widget then asks for an email address)."""

    type: Literal["handoff"] = "handoff"
    reason: str
    ask_email: bool | None = None
    message: str | None = None


class AgentMessage(_ServerEventBase):
    """A message from a person at the store (the inbox), not from the model."""

    type: Literal["agent_message"] = "agent_message"
    text: str
    name: str | None = None  # the staff member's name, as they signed in


class MessageReceived(_ServerEventBase):
    """A shopper message stored for a person (the conversation is theirs, so no AI turn runs);
    `notice` confirms an email address taken from it for a follow-up."""

    type: Literal["message_received"] = "message_received"
    notice: str | None = None


class LeadSaved(_ServerEventBase):
    """The answer to a `lead` event: saved; `message` is the thanks to show in the form."""

    type: Literal["lead_saved"] = "lead_saved"
    message: str


class ErrorEvent(_ServerEventBase):
    """`about: "lead"` marks an error about the lead form, shown in the form, not in the chat."""

    type: Literal["error"] = "error"
    code: str
    message: str
    about: Literal["lead"] | None = None


class UploadToken(_ServerEventBase):
    """A short-lived token for `POST url` (multipart, field `photo`, `Authorization: Bearer`);
    it works for this conversation only. `remaining`: photos this return can still take."""

    type: Literal["upload_token"] = "upload_token"
    token: str
    url: str
    expires_at: datetime
    max_bytes: int
    remaining: int


AnyServerEvent = (
    Ready
    | Session
    | AssistantDelta
    | AssistantMessage
    | ActionStarted
    | ActionFinished
    | ConfirmationRequest
    | Handoff
    | AgentMessage
    | MessageReceived
    | LeadSaved
    | ErrorEvent
    | UploadToken
)
# What the turn's `emit` callback and the sessions send: any one server event.
ServerEvent = Annotated[AnyServerEvent, Field(discriminator="type")]


def event_types(union: object) -> tuple[str, ...]:
    """The `type` names of a union of event models, bare or Annotated with its discriminator."""
    members = get_args(union)
    if members and not isinstance(members[0], type):  # Annotated[Union[...], Field]: unwrap
        members = get_args(members[0])
    return tuple(str(model.model_fields["type"].default) for model in members)


CLIENT_EVENT_TYPES = event_types(ClientEvent)
SERVER_EVENT_TYPES = event_types(ServerEvent)

_client_adapter: TypeAdapter[AnyClientEvent] = TypeAdapter(ClientEvent)
_server_adapter: TypeAdapter[AnyServerEvent] = TypeAdapter(ServerEvent)


class EventError(Exception):
    """A client frame the server cannot use; `code` is bad_json, too_deep, unknown_event or
    invalid_event."""

    def __init__(self, code: str, message: str, event_type: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.event_type = event_type  # the frame's known `type`, so a reply can say what failed

    def to_event(self) -> ErrorEvent:
        return ErrorEvent(code=self.code, message=self.message)


def parse_client_event(text: str | bytes) -> AnyClientEvent:
    """Parse one client frame, or raise EventError saying what is wrong with it. Nothing else
    escapes: the nesting depth is checked before parsing, and every string in the frame is
    normalised (actions.text) before any model sees it."""
    if too_deep(text, MAX_DEPTH):
        raise EventError(
            "too_deep", f"The message is nested too deeply (at most {MAX_DEPTH} levels)."
        )
    try:
        data = normalise_json(json.loads(text))
    except (ValueError, UnicodeDecodeError, RecursionError):
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


def parse_server_event(data: str | bytes | dict[str, Any]) -> AnyServerEvent:
    """Parse a server event (clients and tests use this)."""
    if isinstance(data, (str, bytes)):
        data = json.loads(data)
    return _server_adapter.validate_python(data)
