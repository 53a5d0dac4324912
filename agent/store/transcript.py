"""Two views of stored messages: the model's history (agent.turn.history, the one normaliser) and
the transcript a shopper sees."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from agent.turn.history import History, message_text


class _Message(Protocol):
    seq: int
    role: str
    content: dict[str, Any]
    citations: list[dict[str, Any]] | None


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
    """The model's view of stored messages: agent.turn.history, the one normaliser."""
    return [dict(m) for m in History.from_store(messages).for_model()]


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
