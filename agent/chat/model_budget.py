"""The global budget of model calls: every call of every conversation counts against one limit.

A paid language model bills per call, and a flood of conversations (or one client's hundreds) would
otherwise spend the store's money and slow every honest turn. Over budget, the shopper is answered in
words without a model call; their message is already stored (sessions store it before the turn), so
nothing is lost and they can simply send it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from agent.chat.limits import Throttle
from agent.models.base import Model, ModelRequest, ModelTurn


def busy_text(window: str) -> str:
    """What the shopper reads over budget; `window` in words ("a minute" by default)."""
    return (
        "We're very busy right now, so I can't answer this moment. Your message is saved; "
        f"please try again in {window}."
    )


BUDGET_MODEL_NAME = "shopdesk/busy"


class BudgetedModel:
    """A `Model` that spends one unit of the global budget per call before calling the real one."""

    def __init__(self, model: Model, throttle: Throttle) -> None:
        self.model = model
        self.throttle = throttle

    async def stream(self, request: ModelRequest) -> AsyncIterator[str | ModelTurn]:
        rule = self.throttle.rules.model_calls
        if not await self.throttle.hit(rule, "all"):
            text = busy_text(rule.window)
            yield text
            yield ModelTurn(text=text, tool_calls=[], model=BUDGET_MODEL_NAME)
            return
        async for item in self.model.stream(request):
            yield item


__all__ = ["BudgetedModel", "busy_text"]
