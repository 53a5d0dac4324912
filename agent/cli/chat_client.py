"""A terminal client for `/ws`: streaming text, citations, action progress and y/n confirmations.

It speaks the same protocol as the widget. Lines come from a reader (stdin by default), so it works
interactively and from a pipe: each line is one message; after a confirmation question the next line
is the answer (y/yes approves, anything else declines). It stops at end of input, or on `/quit`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text
from websockets.asyncio.client import connect

YES = {"y", "yes", "ok", "sure", "confirm"}


@dataclass
class ChatResult:
    conversation_id: str | None = None
    # The latest resume token (from ready, then each session event): with the id, it resumes.
    resume_token: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


def _stdin_line() -> str | None:
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\n")


class ChatClient:
    def __init__(
        self,
        url: str,
        *,
        console: Console | None = None,
        read_line: Callable[[], str | None] = _stdin_line,
        stream: bool | None = None,
        conversation_id: str | None = None,
        resume_token: str | None = None,
        identity: dict[str, str] | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.url = url
        self.read_line = read_line
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        # From a pipe, one event a line: no wrapping at an imaginary terminal width.
        self.console = console or Console(highlight=False, soft_wrap=not self.interactive)
        self.stream = self.interactive if stream is None else stream
        self.conversation_id = conversation_id
        self.resume_token = resume_token
        self.identity = identity
        self.result = ChatResult()
        self._streamed = ""

    async def _prompt(self, prompt: str) -> str | None:
        if self.interactive:
            self.console.print(Text(prompt, style="bold"), end="")
        return await asyncio.to_thread(self.read_line)

    async def run(self) -> ChatResult:
        async with connect(self.url, max_size=None, open_timeout=30) as ws:
            hello: dict[str, Any] = {"type": "hello"}
            if self.conversation_id:
                hello["conversation_id"] = self.conversation_id
                if self.resume_token:
                    hello["resume_token"] = self.resume_token
            if self.identity:
                hello["identity"] = self.identity
            await ws.send(json.dumps(hello))
            ready = await self._until(ws, {"ready"})
            if ready is None or ready.get("type") != "ready":
                return self.result
            pending = None
            if ready.get("pending_confirmation"):
                pending = await self._until(ws, {"confirmation_request"})
            while True:
                if pending is not None:
                    answer = await self._prompt("Go ahead? [y/n] ")
                    if answer is None:
                        return self.result
                    approved = answer.strip().lower() in YES
                    await ws.send(
                        json.dumps(
                            {
                                "type": "confirmation_response",
                                "id": pending["id"],
                                "approved": approved,
                            }
                        )
                    )
                else:
                    line = await self._prompt("you> ")
                    if line is None or line.strip() in {"/quit", "/exit"}:
                        return self.result
                    if not line.strip():
                        continue
                    if not self.interactive:
                        self.console.print(Text(f"you> {line}", style="bold"))
                    await ws.send(json.dumps({"type": "user_message", "text": line}))
                end = await self._until(ws, {"assistant_message", "confirmation_request", "error"})
                if end is None:
                    return self.result
                pending = end if end.get("type") == "confirmation_request" else None

    async def _until(self, ws: Any, kinds: set[str]) -> dict[str, Any] | None:
        """Render events until one of `kinds` arrives (returned); None when the socket closes."""
        async for raw in ws:
            event = json.loads(raw)
            self.result.events.append(event)
            kind = event.get("type")
            self.render(event)
            if kind == "ready":
                return event
            if kind in kinds:
                return event
        return None

    # Rendering -----------------------------------------------------------------------------------
    def render(self, event: dict[str, Any]) -> None:
        out = self.console
        kind = event.get("type")
        if kind == "ready":
            self.result.conversation_id = event.get("conversation_id")
            self.conversation_id = self.result.conversation_id
            self.result.resume_token = event.get("resume_token")
            out.print(Text(f"conversation {self.conversation_id}", style="dim"))
            if event.get("notice"):
                out.print(Text(event["notice"], style="yellow"))
            for entry in event.get("transcript", []):
                self._render_entry(entry)
        elif kind == "session":
            self.result.resume_token = event.get("resume_token")
        elif kind == "assistant_delta":
            if self.stream:
                if not self._streamed:
                    out.print(Text("agent> ", style="bold green"), end="")
                out.print(Text(event.get("text", "")), end="")
                self._streamed += event.get("text", "")
        elif kind == "assistant_message":
            text = event.get("text", "")
            if self._streamed:
                out.print()
                if self._streamed.strip() != text.strip():
                    out.print(Text("agent> ", style="bold green") + Text(text))
            else:
                out.print(Text("agent> ", style="bold green") + Text(text))
            self._streamed = ""
            self._citations(event.get("citations") or [])
        elif kind == "action_started":
            self._end_stream()
            args = json.dumps(event.get("arguments", {}), ensure_ascii=False)
            out.print(Text(f"  … {event.get('action')} {args}", style="dim"))
        elif kind == "action_finished":
            self._end_stream()
            result = event.get("result") or {}
            mark, style = ("✓", "green") if event.get("ok") else ("✗", "red")
            message = result.get("message") or result.get("code") or ""
            out.print(Text(f"  {mark} {event.get('action')}: {message}", style=style))
        elif kind == "confirmation_request":
            self._end_stream()
            out.print(Text("confirm> ", style="bold yellow") + Text(event.get("summary", "")))
        elif kind == "handoff":
            out.print(Text(f"handoff> {event.get('reason', '')}", style="magenta"))
        elif kind == "agent_message":
            out.print(Text("staff> ", style="bold magenta") + Text(event.get("text", "")))
        elif kind == "error":
            self._end_stream()
            out.print(Text(f"error [{event.get('code')}]: {event.get('message')}", style="red"))

    def _end_stream(self) -> None:
        if self._streamed:
            self.console.print()
            self._streamed = ""

    def _citations(self, citations: list[dict[str, Any]]) -> None:
        for number, cite in enumerate(citations, start=1):
            where = cite.get("source", "")
            if cite.get("heading"):
                where += f" > {cite['heading']}"
            self.console.print(Text(f"  [{number}] {where}", style="cyan"))

    def _render_entry(self, entry: dict[str, Any]) -> None:
        role = entry.get("role")
        if role == "user":
            self.console.print(Text(f"you> {entry.get('text', '')}", style="dim bold"))
        elif role == "assistant":
            self.console.print(Text(f"agent> {entry.get('text', '')}", style="dim"))
            self._citations(entry.get("citations") or [])
        elif role == "action":
            mark = "✓" if entry.get("ok") else "✗"
            self.console.print(
                Text(f"  {mark} {entry.get('action')}: {entry.get('text', '')}", style="dim")
            )
        elif role == "agent":
            self.console.print(Text(f"staff> {entry.get('text', '')}", style="dim"))


__all__ = ["ChatClient", "ChatResult"]
