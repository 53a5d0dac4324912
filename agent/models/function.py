"""`FunctionModel`: a model that is a Python function of the request (tests, benchmarks, scripts).

    model = FunctionModel(lambda request: ModelReply(text="Hello!"))

The function may be async. Its reply streams like any in-process model's: text in chunks, then
one ModelTurn. Exceptions from the function surface as ModelError, as a provider's would.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from agent.models.base import ModelError, ModelReply, ModelRequest, ModelTurn, stream_reply

ReplyFunction = Callable[[ModelRequest], ModelReply | Awaitable[ModelReply]]


class FunctionModel:
    def __init__(self, fn: ReplyFunction, name: str = "function") -> None:
        self.fn = fn
        self.name = name

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        started = time.perf_counter()
        try:
            reply = self.fn(request)
            if inspect.isawaitable(reply):
                reply = await reply
        except Exception as exc:
            raise ModelError(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        assert isinstance(reply, ModelReply)
        async for item in stream_reply(reply, started=started, model=self.name):
            yield item


__all__ = ["FunctionModel", "ReplyFunction"]
