"""The one history normaliser: stored messages → the messages a model is given.

Only the keys providers know; staff messages become the store's own assistant turns; notes are
left out; and every tool call is answered exactly once. A turn cut short (a restart, an expiry)
can leave a call without its result — hosted APIs reject that — so when the conversation moves on
past it the call gets the one `INTERRUPTED` result; a result whose call is unknown is dropped.

`History` keeps the normalised messages of a live conversation and is extended one message at a
time, so the cost of a turn does not grow with the length of the conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from agent.models.base import Message, ToolCallPart

INTERRUPTED = {
    "ok": False,
    "error": {"code": "interrupted", "message": "This action did not finish; nothing is known."},
}
_INTERRUPTED_TEXT = json.dumps(INTERRUPTED)


class StoredLike(Protocol):
    """A stored message (agent.store.conversations.StoredMessage)."""

    @property
    def role(self) -> str: ...
    @property
    def content(self) -> dict[str, Any]: ...


def message_text(content: object) -> str:
    """The text of a chat `content` (a string, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _tool_calls(raw: object) -> list[ToolCallPart]:
    calls: list[ToolCallPart] = []
    for call in raw if isinstance(raw, list) else []:
        if not isinstance(call, dict) or not call.get("id"):
            continue
        function = call.get("function") or {}
        arguments = function.get("arguments")
        calls.append(
            {
                "id": str(call["id"]),
                "type": "function",
                "function": {
                    "name": str(function.get("name") or ""),
                    "arguments": arguments
                    if isinstance(arguments, str)
                    else json.dumps(arguments or {}),
                },
            }
        )
    return calls


class History:
    """The normalised model history of one conversation, kept in step as messages are added."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._open: dict[str, str] = {}  # call id → action name, in the order they were made
        self._rounds = 0  # assistant tool-call messages since the shopper's latest message

    @classmethod
    def of(cls, messages: Iterable[Mapping[str, Any]]) -> History:
        """From messages that carry their own `role` (as the loop appends them)."""
        history = cls()
        for message in messages:
            history.add(message)
        return history

    @classmethod
    def from_store(cls, messages: Iterable[StoredLike]) -> History:
        history = cls()
        for message in messages:
            history.add(message.content, role=message.role)
        return history

    def add(self, message: Mapping[str, Any], role: str | None = None) -> None:
        role = role or str(message.get("role") or "")
        if role == "tool":
            call_id = str(message.get("tool_call_id") or "")
            if self._open.pop(call_id, None) is not None:
                content = message.get("content")
                text = content if isinstance(content, str) else json.dumps(content, default=str)
                self.messages.append({"role": "tool", "tool_call_id": call_id, "content": text})
            return
        if role not in ("user", "assistant", "agent"):
            return  # notes and anything else the model never sees
        self._close_open_calls()
        text = message_text(message.get("content"))
        if role == "user":
            self._rounds = 0
            self.messages.append({"role": "user", "content": text})
            return
        calls = _tool_calls(message.get("tool_calls")) if role == "assistant" else []
        if not calls:
            # A person from the store (role agent) spoke for the store: the model sees it as such.
            self.messages.append({"role": "assistant", "content": text})
            return
        self._rounds += 1
        self.messages.append({"role": "assistant", "content": text or None, "tool_calls": calls})
        self._open.update((call["id"], call["function"]["name"]) for call in calls)

    def _close_open_calls(self) -> None:
        for call_id in self._open:
            self.messages.append(
                {"role": "tool", "tool_call_id": call_id, "content": _INTERRUPTED_TEXT}
            )
        self._open.clear()

    def for_model(self) -> Sequence[Message]:
        """What the model is given (the list itself when no call is open: no copy per round)."""
        if not self._open:
            return self.messages
        closing: list[Message] = [
            {"role": "tool", "tool_call_id": call_id, "content": _INTERRUPTED_TEXT}
            for call_id in self._open
        ]
        return [*self.messages, *closing]

    def open_calls(self) -> list[ToolCallPart]:
        """Calls of the latest assistant message still waiting for their result, in order."""
        for message in reversed(self.messages):
            if message["role"] == "assistant" and "tool_calls" in message:
                return [c for c in message["tool_calls"] if c["id"] in self._open]
            if message["role"] != "tool":
                break
        return []

    @property
    def rounds_since_user(self) -> int:
        return self._rounds

    def ends_with_user(self, text: str) -> bool:
        return bool(self.messages) and self.messages[-1] == {"role": "user", "content": text}

    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message.get("content") or ""
        return ""


def model_history(messages: Iterable[Mapping[str, Any]]) -> list[Message]:
    """A whole stored history, normalised at once (tests, tools)."""
    return list(History.of(messages).for_model())


__all__ = ["INTERRUPTED", "History", "StoredLike", "message_text", "model_history"]
