"""What the conversation so far says: read fresh from the request's messages on every call (the
offline model keeps no memory of its own — the transcript is the memory)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.models.base import Message


@dataclass
class ToolOutcome:
    """One action call and what came back."""

    index: int  # position of the tool message in the message list
    name: str
    arguments: dict[str, Any]
    ok: bool
    result: dict[str, Any]  # the result payload, or the error {code, message}

    @property
    def message(self) -> str:
        return str(self.result.get("message") or "")

    @property
    def code(self) -> str:
        return str(self.result.get("code") or self.result.get("error") or "")


@dataclass
class Conversation:
    messages: Sequence[Message]
    user_turns: list[tuple[int, str]] = field(default_factory=list)  # (index, text)
    outcomes: list[ToolOutcome] = field(default_factory=list)
    assistant_texts: list[tuple[int, str]] = field(default_factory=list)

    @property
    def last_user_index(self) -> int:
        return self.user_turns[-1][0] if self.user_turns else -1

    @property
    def last_user_text(self) -> str:
        return self.user_turns[-1][1] if self.user_turns else ""

    def this_turn(self) -> list[ToolOutcome]:
        """Action outcomes since the shopper's latest message."""
        return [o for o in self.outcomes if o.index > self.last_user_index]

    def previous_assistant_text(self) -> str:
        """What the assistant last said before the shopper's latest message."""
        before = [text for index, text in self.assistant_texts if index < self.last_user_index]
        return before[-1] if before else ""

    def last(self, name: str, *, ok: bool | None = None, since: int = -1) -> ToolOutcome | None:
        for outcome in reversed(self.outcomes):
            if outcome.index > since and outcome.name == name and (ok is None or outcome.ok == ok):
                return outcome
        return None


def _content(message: Message) -> str:
    return str(message.get("content") or "")


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def read_conversation(messages: Sequence[Message]) -> Conversation:
    conv = Conversation(messages=messages)
    pending: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, message in enumerate(messages):
        role = message.get("role")
        if role == "user":
            conv.user_turns.append((index, _content(message)))
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                pending[str(call.get("id"))] = (
                    str(function.get("name") or ""),
                    _arguments(function.get("arguments")),
                )
            text = _content(message)
            if text and not message.get("tool_calls"):
                conv.assistant_texts.append((index, text))
        elif role == "tool":
            name, args = pending.get(str(message.get("tool_call_id")), ("", {}))
            payload = _arguments(_content(message))
            ok = bool(payload.get("ok", "error" not in payload))
            if ok:
                result = payload.get("result", payload)
            else:
                error = payload.get("error")
                result = error if isinstance(error, dict) else payload
            conv.outcomes.append(
                ToolOutcome(
                    index=index,
                    name=str(name),
                    arguments=args,
                    ok=ok,
                    result=result if isinstance(result, dict) else {},
                )
            )
    return conv
