"""A scripted model for tests and benchmarks, served through litellm as a custom provider.

    model = ScriptedModel("loop")            # registered as provider "scripted-loop"
    model.reply("Hello there!")              # queue a plain answer
    model.call("lookup_order", order_id="WK-1001", email="a@b.c")   # queue a tool call
    settings.model = model.name              # "scripted-loop/test"

Each model call pops the next queued reply (the last one repeats when `repeat_last`), and records
the messages and tools it was given in `model.calls`. Replies may also be callables
`(messages, tools) -> ModelReply` (e.g. answer with what the last tool result said).
`ScriptedModel.instant(text)` always answers `text` at once — the benchmark's model.
Because it goes through litellm's streaming path, tests exercise litellm's chunk assembly too.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from agent.models.base import ModelReply, ToolCall
from agent.models.litellm import register_handler, unregister_handler

Reply = ModelReply | Callable[[list[dict[str, Any]], list[dict[str, Any]]], ModelReply]


class ScriptedModel:
    def __init__(self, name: str | None = None, *, delay: float = 0.0, repeat_last: bool = False):
        self.provider = f"scripted-{name or uuid.uuid4().hex[:8]}"
        self.name = f"{self.provider}/test"
        self.delay = delay
        self.repeat_last = repeat_last
        self.queue: deque[Reply] = deque()
        self.calls: list[dict[str, Any]] = []
        self.fail_next = 0  # raise this many times before answering (retry/fallback tests)
        register_handler(self.provider, self)
        _price_as_free(self.name)

    # Building the script -----------------------------------------------------------------------
    def reply(self, text: str) -> ScriptedModel:
        self.queue.append(ModelReply(text=text))
        return self

    def call(self, name: str, text: str = "", **arguments: Any) -> ScriptedModel:
        self.queue.append(
            ModelReply(text=text, tool_calls=[ToolCall(id=_id(), name=name, arguments=arguments)])
        )
        return self

    def calls_many(self, *calls: tuple[str, dict[str, Any]]) -> ScriptedModel:
        self.queue.append(
            ModelReply(tool_calls=[ToolCall(id=_id(), name=n, arguments=a) for n, a in calls])
        )
        return self

    def raw_call(self, name: str, raw_arguments: str) -> ScriptedModel:
        """A tool call whose arguments are not valid JSON."""
        self.queue.append(
            ModelReply(tool_calls=[ToolCall(id=_id(), name=name, arguments=raw_arguments)])
        )
        return self

    def then(
        self, fn: Callable[[list[dict[str, Any]], list[dict[str, Any]]], ModelReply]
    ) -> ScriptedModel:
        self.queue.append(fn)
        return self

    def endless(self, name: str, **arguments: Any) -> ScriptedModel:
        """Call the same tool forever (round-limit tests)."""
        self.repeat_last = True
        return self.call(name, **arguments)

    @classmethod
    def instant(cls, text: str = "Sure — happy to help.", name: str = "instant") -> ScriptedModel:
        model = cls(name, repeat_last=True)
        return model.reply(text)

    def close(self) -> None:
        unregister_handler(self.provider)

    # What the model saw ------------------------------------------------------------------------
    @property
    def last_messages(self) -> list[dict[str, Any]]:
        return self.calls[-1]["messages"] if self.calls else []

    def tool_results(self) -> list[dict[str, Any]]:
        """The parsed tool-result messages of the latest call."""
        return [json.loads(m["content"]) for m in self.last_messages if m.get("role") == "tool"]

    # The handler interface (agent.models.litellm) ----------------------------------------------
    def _next(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        self.calls.append({"messages": messages, "tools": tools})
        if self.fail_next > 0:
            self.fail_next -= 1
            raise RuntimeError("scripted failure")
        if not self.queue:
            return ModelReply(text="(script exhausted)")
        item = self.queue[0] if self.repeat_last and len(self.queue) == 1 else self.queue.popleft()
        reply = item(messages, tools) if callable(item) else item
        # Fresh ids each time: a repeated reply must still look like a new call to litellm.
        return ModelReply(
            text=reply.text,
            tool_calls=[
                ToolCall(id=_id(), name=c.name, arguments=c.arguments) for c in reply.tool_calls
            ],
        )

    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        return self._next(messages, tools)

    async def arespond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelReply:
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._next(messages, tools)


def _price_as_free(model: str) -> None:
    # Without a price entry litellm searches its whole cost map on every call to conclude
    # "unknown" (measured: 18 ms per call instead of 6). A scripted model is free; say so once.
    import litellm

    provider = model.split("/", 1)[0]
    litellm.register_model(
        {
            model: {
                "litellm_provider": provider,
                "mode": "chat",
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
                "max_tokens": 1_000_000,
                "supports_function_calling": True,
            }
        }
    )


def _id() -> str:
    return f"call_{uuid.uuid4().hex[:12]}"
