"""Two views of stored messages: litellm history for the loop, and the transcript a shopper sees."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

# Keys litellm/OpenAI accept on a chat message; anything else we stored is ours.
_LITELLM_KEYS = {"role", "content", "tool_calls", "tool_call_id", "name", "function_call"}


class _Message(Protocol):
    seq: int
    role: str
    content: dict[str, Any]
    citations: list[dict[str, Any]] | None


def message_text(content: Any) -> str:
    """The text of a litellm `content` (a string, or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def parse_tool_content(text: Any) -> Any:
    """A stored tool message's content: the JSON it holds, or the text itself when it is not JSON."""
    if isinstance(text, str):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _tool_ok(result: Any) -> bool:
    if isinstance(result, dict):
        if result.get("ok") is False or result.get("error"):
            return False
        if result.get("status") in {"error", "declined"}:
            return False
    return True


def to_history(messages: Iterable[_Message]) -> list[dict[str, Any]]:
    """litellm messages in order; staff messages become assistant turns, notes are left out.

    A turn cut short (a restart between a tool call and its result) would leave a tool call without a
    result, which providers reject; such calls get an 'interrupted' result so the next turn can run.
    """
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []

    def close_open_calls() -> None:
        for call_id in open_calls:
            out.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": json.dumps(
                        {
                            "ok": False,
                            "error": "interrupted",
                            "message": "This step was interrupted.",
                        }
                    ),
                }
            )
        open_calls.clear()

    for msg in messages:
        content = msg.content
        if msg.role == "tool":
            call_id = content.get("tool_call_id")
            if call_id in open_calls:
                open_calls.remove(call_id)
            out.append({k: v for k, v in content.items() if k in _LITELLM_KEYS})
            continue
        close_open_calls()
        if msg.role == "system-note":
            continue
        if msg.role == "agent":
            out.append({"role": "assistant", "content": message_text(content.get("content"))})
            continue
        clean = {k: v for k, v in content.items() if k in _LITELLM_KEYS}
        clean["role"] = msg.role
        out.append(clean)
        if msg.role == "assistant":
            open_calls.extend(
                call.get("id") for call in content.get("tool_calls") or [] if call.get("id")
            )
    close_open_calls()
    return out


def to_transcript(messages: Iterable[_Message]) -> list[dict[str, Any]]:
    """Displayable entries: user, assistant (with citations), action results, staff messages."""
    out: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for msg in messages:
        content = msg.content
        created = getattr(msg, "created_at", None)
        base: dict[str, Any] = {"seq": msg.seq}
        if created is not None:
            base["created_at"] = created.isoformat()
        if msg.role == "user":
            out.append({**base, "role": "user", "text": message_text(content.get("content"))})
        elif msg.role == "assistant":
            for call in content.get("tool_calls") or []:
                fn = call.get("function") or {}
                if call.get("id"):
                    call_names[call["id"]] = fn.get("name") or call.get("name") or ""
            text = message_text(content.get("content"))
            if text.strip():
                citations = msg.citations or content.get("citations") or []
                out.append({**base, "role": "assistant", "text": text, "citations": citations})
        elif msg.role == "tool":
            result = parse_tool_content(content.get("content"))
            name = content.get("name") or call_names.get(content.get("tool_call_id") or "", "")
            entry = {**base, "role": "action", "action": name, "ok": _tool_ok(result)}
            entry["result"] = result
            if isinstance(result, dict) and isinstance(result.get("message"), str):
                entry["text"] = result["message"]
            out.append(entry)
        elif msg.role == "agent":
            entry = {**base, "role": "agent", "text": message_text(content.get("content"))}
            if content.get("name"):
                entry["name"] = content["name"]
            out.append(entry)
    return out


__all__ = ["message_text", "parse_tool_content", "to_history", "to_transcript"]
