"""Two views of stored messages: the model's history (agent.turn.history, the one normaliser) and
the transcript a shopper sees."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from agent.turn.history import History, message_text

if TYPE_CHECKING:
    from agent.store.conversations import StoredMessage

# What the shopper reads in place of order data once a verification has ended.
WITHHELD_TEXT = "Order details hidden — verify again to see them."
# What the model reads in place of an action's result from an ended verification.
WITHHELD_RESULT = {
    "ok": False,
    "error": {
        "code": "withheld",
        "message": "Hidden: the shopper's verification ended. Ask them to verify again "
        "(order number and email) before sharing any order details.",
    },
}
_EMAIL_RE = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")


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


def withhold(
    messages: list[StoredMessage], through: int | None, hidden: frozenset[str]
) -> list[StoredMessage]:
    """Messages up to seq `through` lose their order data: the results of the `hidden` actions
    (those that read or change the shopper's orders), the replies worded from them in the same
    turn, and email addresses the shopper typed. Calls stay paired with (withheld) results."""
    if not through:
        return messages
    out: list[StoredMessage] = []
    names: dict[str, str] = {}
    tainted = False  # an order-data result came earlier in this turn
    for msg in messages:
        if msg.seq > through:
            out.append(msg)
            continue
        content = msg.content
        if msg.role == "user":
            tainted = False
            text = message_text(content.get("content"))
            content = {**content, "content": _EMAIL_RE.sub("(email hidden)", text)}
        elif msg.role == "assistant":
            calls = [_masked_call(call, names) for call in content.get("tool_calls") or []]
            if calls:
                content = {**content, "tool_calls": calls}
            if tainted and message_text(content.get("content")).strip():
                content = {**content, "content": WITHHELD_TEXT}
        elif msg.role == "tool":
            name = content.get("name") or names.get(str(content.get("tool_call_id")), "")
            if name in hidden:
                tainted = True
                content = {**content, "content": json.dumps(WITHHELD_RESULT), "withheld": True}
        out.append(dataclasses.replace(msg, content=content))
    return out


def _masked_call(call: Any, names: dict[str, str]) -> Any:
    """A stored tool call with the email addresses in its arguments hidden (lookup_order's)."""
    if not isinstance(call, dict):
        return call
    function = dict(call.get("function") or {})
    names[str(call.get("id"))] = str(function.get("name") or "")
    arguments = function.get("arguments")
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    function["arguments"] = _EMAIL_RE.sub("(email hidden)", text)
    return {**call, "function": function}


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
            if content.get("withheld"):
                out.append({**base, "role": "notice", "action": name, "text": WITHHELD_TEXT})
                continue
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


__all__ = [
    "WITHHELD_RESULT",
    "WITHHELD_TEXT",
    "message_text",
    "parse_tool_content",
    "to_history",
    "to_transcript",
    "withhold",
]
