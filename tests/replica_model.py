"""The model of the replica tests, loadable by a `python -m agent serve` subprocess through
SHOPDESK_ACTIONS (importing this module registers it with litellm): `slow …` never answers (the
process is killed in the middle of that turn); `call NAME {json}` calls that action; a tool result
is relayed in the action's own words; anything else is answered at once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from actions import ActionContext, ActionResult, action
from agent.models.base import ModelReply, ToolCall
from agent.models.litellm import register_handler

PROVIDER = "replicatest"
MODEL = f"{PROVIDER}/test"


class ReplicaModel:
    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        last = messages[-1]
        if last["role"] == "tool":
            result = json.loads(last["content"])
            inner = result.get("result") or result.get("error") or {}
            return ModelReply(text=str(inner.get("message", "")))
        text = str(last.get("content") or "")
        if text.startswith("call "):
            name, _, arguments = text[5:].partition(" ")
            call = ToolCall(id=f"call_{len(messages)}", name=name, arguments=json.loads(arguments))
            return ModelReply(tool_calls=[call])
        return ModelReply(text=f"Noted: {text}")

    async def arespond(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]
    ) -> ModelReply:
        if str(messages[-1].get("content", "")).startswith("slow"):
            await asyncio.Event().wait()  # until the process dies
        return self.respond(messages, tools)


register_handler(PROVIDER, ReplicaModel())


class Pong(ActionResult):
    pass


@action()
async def ping_replica(ctx: ActionContext) -> Pong:
    """Answer pong (the module must define an action to be loadable by SHOPDESK_ACTIONS)."""
    return Pong(message="pong")
