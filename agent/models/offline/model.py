"""`shopdesk/offline`: a deterministic model that needs no network, no weights of its own, no litellm.

`OfflineModel` implements the `Model` protocol. It reads the request's structured facts (passages
with their confidence, the verified shopper, the tools with their example requests) and the
conversation (the shopper's messages, earlier action calls and results) — never prompt text. The
decision itself is the `Planner`'s (planner.py). `respond(request)` is a pure function of its
input: same request, same reply.

Given an `encoder` (the app passes the knowledge base's query encoder), messages no keyword rule
claims are also routed by meaning (intent_vectors.py); without one, keywords alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from agent.models.base import ModelReply, ModelRequest, ModelTurn, stream_reply
from agent.models.offline.intent_vectors import IntentVectors, TextEncoder, vectors_for
from agent.models.offline.planner import Planner


class OfflineModel:
    name = "shopdesk/offline"

    def __init__(self, encoder: TextEncoder | None = None) -> None:
        self.meaning: IntentVectors | None = vectors_for(encoder) if encoder else None

    def respond(self, request: ModelRequest) -> ModelReply:
        return Planner(request, self.meaning).reply()

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        started = time.perf_counter()
        if self.meaning is not None:  # an encode takes milliseconds: not on the event loop
            reply = await asyncio.to_thread(self.respond, request)
        else:
            reply = self.respond(request)
        async for item in stream_reply(reply, started=started, model=self.name):
            yield item


__all__ = ["OfflineModel"]
