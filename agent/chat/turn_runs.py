"""The turns a live session runs, and how it reads a typed refusal (agent.chat.sessions drives them)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from agent.chat.events import ConfirmationRequest
from agent.store.conversations import PendingConfirmation
from agent.turn.deps import AgentDeps, Confirm, Conversation, Emit, Record
from agent.turn.loop import LateAnswer, resume_turn, run_turn

# Runs one turn (or the rest of one) with the session's callbacks.
TurnRun = Callable[[Conversation, Emit, Confirm, Record], Awaitable[object]]


def new_turn(text: str, deps: AgentDeps) -> TurnRun:
    async def run(conv: Conversation, emit: Emit, confirm: Confirm, record: Record) -> object:
        return await run_turn(conv, text, deps, emit=emit, confirm=confirm, record=record)

    return run


def resumed_turn(late: LateAnswer, deps: AgentDeps) -> TurnRun:
    async def run(conv: Conversation, emit: Emit, confirm: Confirm, record: Record) -> object:
        return await resume_turn(conv, late, deps, emit=emit, confirm=confirm, record=record)

    return run


def request_of(pending: PendingConfirmation) -> ConfirmationRequest:
    return ConfirmationRequest(
        id=pending.id, action=pending.action, arguments=pending.arguments, summary=pending.summary
    )


# A short message that only refuses: "no", "nope, not now", "cancel", "don't".
REFUSAL_RE = re.compile(
    r"^\s*(?:no+|nope|nah|not now|not yet|not today|cancel(?: it| that)?|don'?t|do not|stop|"
    r"never ?mind|no thanks?|no thank you|i'?ve changed my mind|decline)"
    r"(?:[\s,.!]+(?:no|nope|thanks?|thank you|not now|cancel(?: it| that)?|please|"
    r"don'?t|do not|stop|never ?mind))*[\s.!]*$",
    re.I,
)


def is_refusal(text: str) -> bool:
    return len(text) <= 60 and REFUSAL_RE.match(text.replace("’", "'")) is not None


__all__ = ["TurnRun", "is_refusal", "new_turn", "request_of", "resumed_turn"]
