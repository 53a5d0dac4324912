"""The model of the replica tests, loadable by a `python -m agent serve` subprocess through
SHOPDESK_ACTIONS (importing this module registers it with litellm): `slow …` never answers (the
process is killed in the middle of that turn); anything else is answered at once."""

from __future__ import annotations

import asyncio
from typing import Any

from actions import ActionContext, ActionResult, action
from agent.models.base import ModelReply
from agent.models.litellm import register_handler

PROVIDER = "replicatest"
MODEL = f"{PROVIDER}/test"


class ReplicaModel:
    def respond(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        return ModelReply(text=f"Noted: {messages[-1].get('content') or ''}")

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
