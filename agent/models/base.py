"""What the turn asks a model and what a model answers: the `Model` protocol and its data.

A `ModelRequest` carries the conversation (normalised messages), the tools as structured specs
(examples included as data, not stuffed into descriptions) and the facts a model may need:
retrieved passages with their confidence and threshold, the verified shopper, the store, the clock.
A language model gets the facts rendered into a prompt (agent/models/litellm.py); the offline model
reads them directly. `Model.stream` yields text deltas as they come, then exactly one `ModelTurn`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, Required, TypedDict

# Text is cut into chunks of about this many characters, so an in-process model's deltas are real
# deltas (the widget shows them arriving) without flooding the socket with one frame per letter.
CHUNK_CHARS = 24


class FunctionCall(TypedDict):
    name: str
    arguments: str  # JSON text, as providers send it


class ToolCallPart(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class Message(TypedDict, total=False):
    """One message of the normalised history, in the OpenAI chat format every provider accepts."""

    role: Required[str]  # user, assistant or tool (the system prompt is the model's business)
    content: str | None
    tool_calls: list[ToolCallPart]
    tool_call_id: str


@dataclass(frozen=True)
class ToolSpec:
    """An action as a model sees it: its name, description, JSON schema and example requests."""

    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema document
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionFact:
    """One question of a message that asks several, and the passages found for it."""

    text: str
    passages: tuple[int, ...]  # 0-based positions in ModelRequest.passages, best first
    confidence: float  # how well they match this question (against ModelRequest.threshold)


@dataclass(frozen=True)
class PassageFact:
    """A retrieved passage; the model cites it as [n], n its 1-based position."""

    source: str
    heading: str
    text: str
    score: float = 0.0


@dataclass(frozen=True)
class ImageFact:
    """A photo the shopper attached for the return under way (already re-encoded, EXIF-free).
    `read` loads its bytes: only a model that takes images pays for that."""

    id: str
    content_type: str
    read: Callable[[], bytes] = field(repr=False, compare=False)


@dataclass(frozen=True)
class ModelRequest:
    messages: Sequence[Message]
    tools: Sequence[ToolSpec]
    passages: Sequence[PassageFact]
    confidence: float  # how well the passages match the shopper's latest message, 0..1
    threshold: float  # below it, the passages do not answer the message
    customer_email: str | None  # the verified shopper, or None
    store_name: str
    tone: str
    order_id_pattern: str  # a regular expression that finds the store's order numbers
    now: datetime
    images: Sequence[ImageFact] = ()  # photos attached and not yet on a return
    # The latest message's questions when it asks several (agent/models/questions.py), each with
    # the positions in `passages` retrieved for it; empty when it asks one thing.
    questions: Sequence[QuestionFact] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.passages) and self.confidence >= self.threshold


@dataclass
class ToolCall:
    id: str
    name: str
    # A dict when the model sent a JSON object; the raw text otherwise (the loop reports it).
    arguments: dict[str, Any] | str = field(default_factory=dict)


@dataclass
class ModelReply:
    """A whole answer of an in-process model (the offline model, test models)."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    # The model has no answer and says so (the offline model below the confidence threshold): the
    # loop stores the answer as a fallback, which the owner's insights never count as resolved.
    abstained: bool = False


@dataclass
class ModelTurn:
    """The end of one streamed model call: the whole text and the parsed tool calls.

    `model_seconds` is the wall time spent waiting on the model; the server subtracts it to report
    its own latency."""

    text: str
    tool_calls: list[ToolCall]
    model_seconds: float = 0.0
    model: str = ""
    abstained: bool = False  # as ModelReply.abstained


class ModelError(Exception):
    """Every configured model failed (after retries and fallbacks)."""


class Model(Protocol):
    def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        """Text deltas as they arrive, then exactly one ModelTurn; ModelError when it cannot."""
        ...


def split_text(text: str, size: int = CHUNK_CHARS) -> list[str]:
    """Cut at word boundaries into pieces of roughly `size` characters (whitespace kept)."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) > size:
            pieces.append(current + " ")
            current = word
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


async def stream_reply(
    reply: ModelReply, *, started: float, model: str = ""
) -> AsyncIterator[str | ModelTurn]:
    """An in-process model's whole reply as a stream: its text in chunks, then the turn."""
    for piece in split_text(reply.text):
        yield piece
    yield ModelTurn(
        text=reply.text,
        tool_calls=list(reply.tool_calls),
        model_seconds=time.perf_counter() - started,
        model=model,
        abstained=reply.abstained,
    )


__all__ = [
    "CHUNK_CHARS",
    "FunctionCall",
    "Message",
    "Model",
    "ModelError",
    "ModelReply",
    "ModelRequest",
    "ModelTurn",
    "PassageFact",
    "ToolCall",
    "ToolCallPart",
    "ToolSpec",
    "split_text",
    "stream_reply",
]
