"""One turn of the conversation: retrieve, ask the model, run its actions, answer.

`run_turn` answers a shopper's message; `resume_turn` carries on a turn whose confirmation was
answered after the turn itself was gone (a restart, an expiry): the confirmed action runs through
the same executor, its result answers the open call, and the model words the outcome as it does
live. Both end in `_rounds`, the one loop, readable top to bottom, with the round limit.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.chat.events import AssistantDelta, AssistantMessage, ConfirmationRequest
from agent.models.base import (
    ImageFact,
    ModelError,
    ModelRequest,
    ModelTurn,
    PassageFact,
    QuestionFact,
    ToolCall,
)
from agent.turn.citations import extract_citations
from agent.turn.deps import AgentDeps, Confirm, Conversation, Emit, PassageLike, Record
from agent.turn.retrieval import retrieve_for
from agent.turn.tools import execute, tool_message, tool_specs

log = logging.getLogger(__name__)

ROUND_LIMIT_TEXT = (
    "I'm sorry — I couldn't finish that within the steps I'm allowed. "
    "Would you like me to pass this to a person from the store?"
)
MODEL_DOWN_TEXT = (
    "I'm sorry — I can't answer right now. Please try again in a moment, "
    "or ask for a person from the store."
)
EMPTY_TEXT = "I'm sorry, I don't have an answer to that. Would you like to talk to a person?"

# The stored mark of an answer that did not answer (the `fallback` of the final assistant message).
Fallback = Literal["round_limit", "model_down", "empty", "no_answer"]


@dataclass
class TurnStats:
    """Filled in by run_turn when passed (tests, benchmarks: server time = total - model_seconds)."""

    model_seconds: float = 0.0
    rounds: int = 0
    actions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LateAnswer:
    """A confirmation answered after its turn was gone: what was asked, and the answer."""

    action: str
    arguments: dict[str, Any]
    approved: bool


async def _waiting_images(deps: AgentDeps, conv_id: str) -> list[ImageFact]:
    """The shopper's photos for the return under way (actions/evidence), as model facts."""
    evidence = getattr(deps.services, "evidence", None)  # tests may run a turn without services
    if evidence is None:
        return []
    try:
        items = await asyncio.to_thread(evidence.waiting, conv_id)
    except Exception:  # photos are a nicety for the model; a failed read must not stop the turn
        log.exception("reading photos of conversation %s failed", conv_id)
        return []
    return [
        ImageFact(i.id, i.content_type, functools.partial(evidence.read, i, thumbnail=False))
        for i in items
    ]


@dataclass
class _Turn:
    conv: Conversation
    deps: AgentDeps
    emit: Emit
    confirm: Confirm
    record: Record
    stats: TurnStats
    passages: list[PassageFact] = field(default_factory=list)
    confidence: float = 0.0
    images: list[ImageFact] = field(default_factory=list)
    questions: list[QuestionFact] = field(default_factory=list)

    async def append(self, message: dict[str, Any]) -> None:
        self.conv.history.add(message)
        await self.record(message)

    async def retrieve(self, text: str) -> None:
        # The model never sees the whole knowledge base. A broken index must not take actions
        # down with it: answer with no passages (confidence 0, so policy questions get "I don't
        # know" rather than a guess).
        try:
            self.passages, self.confidence, self.questions = await retrieve_for(self.deps.kb, text)
        except Exception:
            log.exception("retrieval failed in conversation %s; no passages", self.conv.id)
            self.passages, self.confidence, self.questions = [], 0.0, []
        self.images = await _waiting_images(self.deps, self.conv.id)

    def request(self) -> ModelRequest:
        # Built every round: a lookup may have verified the shopper meanwhile.
        settings = self.deps.settings
        return ModelRequest(
            # A snapshot (a copy of references, not a renormalisation): a model may keep it.
            messages=tuple(self.conv.history.for_model()),
            tools=tool_specs(self.deps.registry),
            passages=self.passages,
            confidence=self.confidence,
            threshold=settings.confidence_threshold,
            customer_email=self.conv.customer_email,
            store_name=settings.store_name,
            tone=settings.tone,
            order_id_pattern=settings.order_id_pattern,
            now=settings.clock(),
            images=tuple(self.images),
            questions=tuple(self.questions),
        )

    async def call_model(self) -> ModelTurn:
        """One model call, its text forwarded as it streams."""
        turn: ModelTurn | None = None
        async for item in self.deps.model.stream(self.request()):
            if isinstance(item, ModelTurn):
                turn = item
            else:
                await self.emit(AssistantDelta(text=item))
        if turn is None:
            raise ModelError("the model stream ended without a turn")
        self.stats.model_seconds += turn.model_seconds
        return turn

    async def run_call(self, call: ToolCall, confirm: Confirm | None = None) -> None:
        self.stats.actions.append(call.name)
        result = await execute(
            call, self.conv, self.deps, emit=self.emit, confirm=confirm or self.confirm
        )
        error = result.get("error") or {}
        outcome = "ok" if result.get("ok") else str(error.get("code", "failed"))
        self.deps.observer.action_finished(call.name, outcome)
        await self.append(tool_message(call, result))


async def run_turn(
    conv: Conversation,
    user_text: str,
    deps: AgentDeps,
    *,
    emit: Emit,
    confirm: Confirm,
    record: Record,
    stats: TurnStats | None = None,
) -> AssistantMessage:
    """Answer one shopper message; return (and emit) the final AssistantMessage.

    The caller stores the user message itself, before calling (DESIGN: a message is stored before
    it is acknowledged), so `record` is NOT called for it; run_turn appends it to `conv.history`
    unless the caller already did. Every other message this turn appends — assistant messages with
    tool calls, tool results, the final answer — is passed to `record` right after it is appended.
    `conv.customer_email` is updated when lookup_order verifies the shopper (persist it).
    """
    turn = _Turn(conv, deps, emit, confirm, record, stats or TurnStats())
    if not conv.history.ends_with_user(user_text):
        conv.history.add({"role": "user", "content": user_text})
    await turn.retrieve(user_text)
    return await _rounds(turn, deps.settings.max_rounds)


async def resume_turn(
    conv: Conversation,
    late: LateAnswer,
    deps: AgentDeps,
    *,
    emit: Emit,
    confirm: Confirm,
    record: Record,
    stats: TurnStats | None = None,
) -> AssistantMessage:
    """Carry on the turn a late confirmation answers, as if the answer had come in time."""
    turn = _Turn(conv, deps, emit, confirm, record, stats or TurnStats())
    await turn.retrieve(conv.history.last_user_text())
    calls = [ToolCall(id=c["id"], name=c["function"]["name"]) for c in conv.history.open_calls()]
    asked = next((c for c in reversed(calls) if c.name == late.action), None)
    if asked is None:  # the call's message was lost: record it, so the result answers something
        asked = ToolCall(id=f"call_late_{len(conv.history.messages)}", name=late.action)
        await turn.append(_assistant_tool_message("", [asked]))
        calls = [asked]
    # What the shopper approved is what runs (the same arguments give the same idempotency key).
    asked.arguments = late.arguments

    async def answered(request: ConfirmationRequest) -> bool:
        return late.approved

    for call in calls[calls.index(asked) :]:
        await turn.run_call(call, answered if call is asked else None)
    rounds_left = deps.settings.max_rounds - conv.history.rounds_since_user
    return await _rounds(turn, max(1, rounds_left))


async def _rounds(turn: _Turn, rounds: int) -> AssistantMessage:
    """The loop: ask the model; answer it, or run the actions it proposes and ask again."""
    final_text = ROUND_LIMIT_TEXT
    fallback: Fallback | None = "round_limit"
    for _round in range(rounds):
        turn.stats.rounds += 1
        try:
            reply = await turn.call_model()
        except ModelError:
            log.warning("every model failed in conversation %s", turn.conv.id, exc_info=True)
            final_text, fallback = MODEL_DOWN_TEXT, "model_down"
            break
        if not reply.tool_calls:
            text = reply.text.strip()
            final_text = text or EMPTY_TEXT
            fallback = "empty" if not text else "no_answer" if reply.abstained else None
            break
        await turn.append(_assistant_tool_message(reply.text, reply.tool_calls))
        for call in reply.tool_calls:
            await turn.run_call(call)

    # The answer, with the passages it cites.
    answer = AssistantMessage(
        text=final_text, citations=extract_citations(final_text, turn.passages)
    )
    settings = turn.deps.settings
    stored: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text,
        "citations": [c.model_dump() for c in answer.citations],
        # For the owner's insights (agent/console/insights): how well the knowledge base
        # covered the question. Stored only; the model's history and the transcript leave it out.
        "retrieval": retrieval_summary(
            turn.passages, turn.confidence, settings.confidence_threshold
        ),
    }
    if fallback is not None:
        # Marked here, where it is known, so insights never count a dead end as resolved.
        stored["fallback"] = fallback
    await turn.append(stored)
    await turn.emit(answer)
    return answer


def retrieval_summary(
    passages: Sequence[PassageLike], confidence: float, threshold: float
) -> dict[str, Any]:
    """What the turn's retrieval found, small enough to store on every answer: the confidence, the
    threshold it was judged against, and the top three passages (where a fix would go)."""
    return {
        "confidence": round(float(confidence), 4),
        "threshold": float(threshold),
        "top": [
            {"source": p.source, "heading": p.heading, "score": round(float(p.score), 4)}
            for p in passages[:3]
        ],
    }


def _assistant_tool_message(text: str, calls: list[ToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.arguments
                    if isinstance(call.arguments, str)
                    else json.dumps(call.arguments),
                },
            }
            for call in calls
        ],
    }


__all__ = [
    "EMPTY_TEXT",
    "Fallback",
    "MODEL_DOWN_TEXT",
    "ROUND_LIMIT_TEXT",
    "LateAnswer",
    "TurnStats",
    "resume_turn",
    "retrieval_summary",
    "run_turn",
]
