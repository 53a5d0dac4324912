"""The turns a live session runs, and how it reads a typed refusal (agent.chat.sessions drives them)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator

from agent.app.logs import turn_context
from agent.chat.events import ConfirmationRequest
from agent.store.conversations import PendingConfirmation
from agent.turn.deps import AgentDeps, Confirm, Conversation, Emit, Record
from agent.turn.loop import LateAnswer, resume_turn, run_turn

log = logging.getLogger("shopdesk.turn")

# Runs one turn (or the rest of one) with the session's callbacks.
TurnRun = Callable[[Conversation, Emit, Confirm, Record], Awaitable[object]]


def new_turn(text: str, deps: AgentDeps) -> TurnRun:
    async def run(conv: Conversation, emit: Emit, confirm: Confirm, record: Record) -> object:
        with observed_turn(conv.id, deps):
            return await run_turn(conv, text, deps, emit=emit, confirm=confirm, record=record)

    return run


def resumed_turn(late: LateAnswer, deps: AgentDeps) -> TurnRun:
    async def run(conv: Conversation, emit: Emit, confirm: Confirm, record: Record) -> object:
        with observed_turn(conv.id, deps):
            return await resume_turn(conv, late, deps, emit=emit, confirm=confirm, record=record)

    return run


@contextlib.contextmanager
def observed_turn(conv_id: str, deps: AgentDeps) -> Iterator[None]:
    """Every log line inside carries the conversation and a new turn id; the turn is timed
    (a duration for /metrics, not product time) and its end logged by ids only."""
    with turn_context(conv_id):
        started, outcome = time.perf_counter(), "error"
        try:
            yield
            outcome = "ok"
        finally:
            seconds = time.perf_counter() - started
            deps.observer.turn_finished(seconds, outcome)
            log.info("turn %s in %.0f ms", "finished" if outcome == "ok" else "failed", seconds * 1000)  # fmt: skip


def request_of(pending: PendingConfirmation) -> ConfirmationRequest:
    return ConfirmationRequest(
        id=pending.id, action=pending.action, arguments=pending.arguments, summary=pending.summary
    )


__all__ = ["TurnRun", "new_turn", "observed_turn", "request_of", "resumed_turn"]
