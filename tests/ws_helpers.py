"""Helpers for the server tests: a real uvicorn server in a thread, a websocket client, test doubles.

The doubles sit at the boundaries only: a canned knowledge base (no embedding model to load) and an
in-process model registered with litellm (so litellm's streaming and tool-call parsing still run).
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from actions import ActionContext, ActionResult, action, load_registry
from agent.app.background import BackgroundServer
from agent.app.server import build_app
from agent.app.settings import Settings
from agent.models.base import ModelReply, ToolCall
from agent.models.litellm import register_handler
from knowledge.models import Passage, SearchResult

END_OF_TURN = {"assistant_message", "confirmation_request", "error"}
RUNG: list[tuple[str | None, int]] = []  # every ring_bell that really ran: (conversation, times)


class BellResult(ActionResult):
    rung: int


def _bell_summary(ctx: Any, args: Any) -> str:
    return f"Ring the shop bell {args.times} times."


@action(confirm=True, summary=_bell_summary, examples=("ring the bell 3 times",))
async def ring_bell(ctx: ActionContext, times: int) -> BellResult:
    """Ring the shop bell (a side effect, so it waits for the shopper's yes)."""
    RUNG.append((ctx.conversation_id, times))
    return BellResult(message=f"Rang the bell {times} times.", rung=times)


class CannedKnowledge:
    """One passage for every query, high confidence."""

    async def asearch(self, query: str, k: int = 5) -> SearchResult:
        passage = Passage(
            source="returns.md",
            heading="Returns > Window",
            text="You can return most items within 30 days of delivery.",
            score=0.9,
        )
        return SearchResult(passages=[passage], confidence=0.9)


class Gate:
    """Holds the model's answer to a `slow …` message until the test opens it: the test knows the
    turn is running (`started`) and decides when it ends, instead of racing a sleep."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.opened = threading.Event()

    def reset(self) -> None:
        self.started.clear()
        self.opened.clear()

    async def wait_started(self, timeout: float = 30.0) -> None:
        assert await asyncio.to_thread(self.started.wait, timeout), "the slow turn never started"

    async def pass_through(self) -> None:
        self.started.set()
        assert await asyncio.to_thread(self.opened.wait, 60.0), "the test never opened the gate"


SLOW_GATE = Gate()


class BellModel:
    """`ring N` → a ring_bell tool call; a tool result → relays its message; `slow …` → waits for
    SLOW_GATE; anything else → echoes it in a few words so it streams as several deltas, citing [1]."""

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        last = messages[-1]
        if last["role"] == "tool":
            result = json.loads(last["content"])
            inner = result.get("result") or result.get("error") or {}
            return ModelReply(text=f"Done: {inner.get('message', '')}")
        text = last.get("content") or ""
        match = re.match(r"ring (\d+)", text)
        if match:
            call = ToolCall(
                id=f"call_{len(messages)}", name="ring_bell", arguments={"times": int(match[1])}
            )
            return ModelReply(tool_calls=[call])
        return ModelReply(text=f"You said: {text}. Returns are accepted within 30 days [1].")

    async def arespond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelReply:
        last = messages[-1]
        if last["role"] == "user" and str(last.get("content", "")).startswith("slow"):
            await SLOW_GATE.pass_through()
        return self.respond(messages, tools)


register_handler("belltest", BellModel())


def bell_settings(data: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data": data,
        "model": "belltest/bell",
        "orders": None,
        "messages_per_minute": 8,
        "max_message_chars": 200,
        "max_frame_bytes": 2048,
    }
    values.update(overrides)
    return Settings(**values)


def bell_server(settings: Settings) -> BackgroundServer:
    registry = load_registry()
    registry.add(ring_bell)

    def make(port: int) -> Any:
        return build_app(
            settings.model_copy(update={"port": port}), kb=CannedKnowledge(), registry=registry
        )

    return BackgroundServer(make, settings=settings).start()


class Client:
    """A websocket client speaking the shopdesk protocol, with a timeout on every wait."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        # What resumes this client's conversation, kept as the widget does: the id from `ready`,
        # the latest resume token from `ready` or `session`.
        self.credential: dict[str, str] = {}

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def recv(self, timeout: float = 30.0) -> dict[str, Any]:
        event = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if event.get("type") == "ready":
            self.credential = {
                "conversation_id": event["conversation_id"],
                "resume_token": event["resume_token"],
            }
        elif event.get("type") == "session":
            self.credential["resume_token"] = event["resume_token"]
        return event

    async def hello(self, **fields: Any) -> dict[str, Any]:
        await self.send(type="hello", **fields)
        return await self.recv()

    async def until_end(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        events = []
        while True:
            event = await self.recv(timeout)
            events.append(event)
            if event["type"] in END_OF_TURN:
                return events

    async def say(self, text: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        await self.send(type="user_message", text=text)
        return await self.until_end(timeout)

    async def answer(self, confirmation_id: str, approved: bool) -> list[dict[str, Any]]:
        await self.send(type="confirmation_response", id=confirmation_id, approved=approved)
        return await self.until_end()


@asynccontextmanager
async def client(url: str, **kwargs: Any):
    async with connect(url, open_timeout=10, max_size=None, **kwargs) as ws:
        yield Client(ws)


async def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for a condition the server reaches on its own (an expiry, a cleanup): polled, with a
    generous ceiling that only a broken server reaches; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def last(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(e for e in reversed(events) if e["type"] == kind)
