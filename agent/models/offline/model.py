"""`shopdesk/offline`: a deterministic model that needs no network, no weights and no litellm.

`OfflineModel` implements the `Model` protocol. It reads the request's structured facts (passages
with their confidence, the verified shopper, the tools with their example requests) and the
conversation (the shopper's messages, earlier action calls and results) — never prompt text. The
decision itself is the `Planner`'s (planner.py). `respond(request)` is a pure function of its
input: same request, same reply.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from agent.models.base import ModelReply, ModelRequest, ModelTurn, stream_reply
from agent.models.offline.planner import Planner


class OfflineModel:
    name = "shopdesk/offline"

    def respond(self, request: ModelRequest) -> ModelReply:
        return Planner(request).reply()

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        started = time.perf_counter()
        async for item in stream_reply(self.respond(request), started=started, model=self.name):
            yield item


__all__ = ["OfflineModel"]
