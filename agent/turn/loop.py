"""One turn of the conversation: retrieve, prompt, call the model, run its actions, answer.

`run_turn` is the whole loop, top to bottom. The model proposes; the code disposes: arguments are
validated by the action's own pydantic model, side effects wait for the shopper's confirmation
(a real event through `confirm`, never the model's say-so), identity is enforced by the registry,
and every failure becomes a result the model reads — a turn never crashes on what a model sends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from actions.context import ActionContext, ActionError
from agent.chat.events import (
    ActionFinished,
    ActionStarted,
    AssistantDelta,
    AssistantMessage,
    ConfirmationRequest,
    Handoff,
)
from agent.models.litellm import ModelError, ModelTurn, ToolCall, stream_model
from agent.turn.citations import extract_citations
from agent.turn.prompts import render_system_prompt

log = logging.getLogger(__name__)

Emit = Callable[[Any], Awaitable[None]]
Confirm = Callable[[ConfirmationRequest], Awaitable[bool]]
Record = Callable[[dict[str, Any]], Awaitable[None]]

ROUND_LIMIT_TEXT = (
    "I'm sorry — I couldn't finish that within the steps I'm allowed. "
    "Would you like me to pass this to a person from the store?"
)
MODEL_DOWN_TEXT = (
    "I'm sorry — I can't answer right now. Please try again in a moment, "
    "or ask for a person from the store."
)
EMPTY_TEXT = "I'm sorry, I don't have an answer to that. Would you like to talk to a person?"

# The loop's own tool (not an action: it changes no records): the model asks for a person, the
# loop emits a `handoff` event, and the server puts the conversation in the store's inbox.
HANDOFF_TOOL_NAME = "handoff_to_human"
HANDOFF_TOOL = {
    "type": "function",
    "function": {
        "name": HANDOFF_TOOL_NAME,
        "description": (
            "Ask a person from the store to take over this conversation: when the shopper asks "
            "for a person, or when you cannot help and the shopper agrees. "
            'Examples: "can I talk to a person?"; "I want to speak to someone"'
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "reason": {"type": "string", "description": "One line for the store's team."}
            },
            "required": [],
        },
    },
}
HANDOFF_MESSAGE = (
    "A person from the store has been asked to join this conversation and will reply here."
)


@dataclass
class AgentDeps:
    settings: Any  # agent.app.settings.Settings
    kb: Any  # knowledge.KnowledgeBase (anything with `async asearch(query, k)`)
    registry: Any  # actions.registry.ActionRegistry
    services: Any  # actions.services.ActionServices
    public_url: str | None = None  # for future use by prompts; labels get theirs from services


@dataclass
class Conversation:
    id: str
    customer_email: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # litellm-format messages


@dataclass
class TurnStats:
    """Filled in by run_turn when passed (benchmarks: server time = total - model_seconds)."""

    model_seconds: float = 0.0
    rounds: int = 0
    actions: list[str] = field(default_factory=list)


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
    settings = deps.settings
    stats = stats if stats is not None else TurnStats()
    last = conv.history[-1] if conv.history else {}
    if (last.get("role"), last.get("content")) != ("user", user_text):
        conv.history.append({"role": "user", "content": user_text})

    async def append(message: dict[str, Any]) -> None:
        conv.history.append(message)
        await record(message)

    # 1. Retrieve passages for the shopper's words (the model never sees the whole knowledge base).
    # A broken index must not take actions down with it: answer with no passages (confidence 0,
    # so policy questions get "I don't know" rather than a guess).
    try:
        found = await deps.kb.asearch(user_text, k=5)
        passages, confidence = list(found.passages), float(found.confidence)
    except Exception:
        log.exception("retrieval failed in conversation %s; answering without passages", conv.id)
        passages, confidence = [], 0.0
    tools = [*tools_for_model(deps.registry), HANDOFF_TOOL]

    final_text: str | None = None
    for _round in range(settings.max_rounds):
        stats.rounds += 1
        # 2. The prompt is rendered every round: a lookup may have verified the shopper meanwhile.
        system = render_system_prompt(
            store_name=settings.store_name,
            tone=settings.tone,
            passages=passages,
            confidence=confidence,
            threshold=settings.confidence_threshold,
            customer_email=conv.customer_email,
            order_id_pattern=settings.order_id_pattern,
            now=settings.clock(),
        )
        messages = [{"role": "system", "content": system}, *model_history(conv.history)]

        # 3. Call the model, forwarding text as it streams.
        turn: ModelTurn | None = None
        try:
            async for item in stream_model(
                settings.model,
                messages,
                tools,
                fallbacks=settings.model_fallbacks,
                timeout=settings.model_timeout,
                retries=settings.model_retries,
            ):
                if isinstance(item, ModelTurn):
                    turn = item
                else:
                    await emit(AssistantDelta(text=item))
        except ModelError:
            final_text = MODEL_DOWN_TEXT
            break
        assert turn is not None
        stats.model_seconds += turn.model_seconds

        if not turn.tool_calls:
            final_text = turn.text.strip() or EMPTY_TEXT
            break

        # 4. Run the proposed actions, each checked and (if it changes something) confirmed.
        await append(_assistant_tool_message(turn))
        for call in turn.tool_calls:
            stats.actions.append(call.name)
            content = await _run_tool_call(call, conv, deps, emit=emit, confirm=confirm)
            await append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "name": call.name,
                    "content": json.dumps(content, default=str),
                }
            )
    else:
        final_text = ROUND_LIMIT_TEXT

    # 5. The answer, with the passages it cites.
    answer = AssistantMessage(
        text=final_text or EMPTY_TEXT,
        citations=extract_citations(final_text or "", passages),
    )
    await append(
        {
            "role": "assistant",
            "content": answer.text,
            "citations": [c.model_dump() for c in answer.citations],
            # For the owner's insights (agent/console/insights): how well the knowledge base covered the
            # question. Stored only; `_for_model` and the shopper's transcript leave it out.
            "retrieval": retrieval_summary(passages, confidence, settings.confidence_threshold),
        }
    )
    await emit(answer)
    return answer


def retrieval_summary(passages: list[Any], confidence: float, threshold: float) -> dict[str, Any]:
    """What the turn's retrieval found, small enough to store on every answer: the confidence, the
    threshold it was judged against, and the top three passages (where a fix would go)."""
    return {
        "confidence": round(float(confidence), 4),
        "threshold": float(threshold),
        "top": [
            {
                "source": str(getattr(p, "source", "")),
                "heading": str(getattr(p, "heading", "")),
                "score": round(float(getattr(p, "score", 0.0)), 4),
            }
            for p in passages[:3]
        ],
    }


_tools_cache: weakref.WeakKeyDictionary[Any, tuple[tuple[str, ...], list[dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def tools_for_model(registry: Any) -> list[dict[str, Any]]:
    """The registry's tools, with each action's example requests appended to its description:
    they help any model route, and the offline model reads them (as 'Examples: "…"; "…"').

    Cached per registry (rebuilt when its set of actions changes): building the JSON schemas is
    the most expensive step of a turn with a fast model (measured ~5 ms)."""
    names = tuple(registry.names()) if hasattr(registry, "names") else ()
    try:
        cached = _tools_cache.get(registry)
    except TypeError:  # not weak-referenceable: just build
        cached = None
    if cached is not None and cached[0] == names and names:
        return cached[1]
    tools = _build_tools(registry)
    try:
        _tools_cache[registry] = (names, tools)
    except TypeError:
        pass
    return tools


def _build_tools(registry: Any) -> list[dict[str, Any]]:
    tools = []
    for tool in registry.tools():
        function = dict(tool["function"])
        spec = registry.get(function["name"])
        examples = list(getattr(spec, "examples", ()) or ())
        if examples and "Examples:" not in function.get("description", ""):
            quoted = "; ".join(json.dumps(example) for example in examples)
            function["description"] = f"{function.get('description', '')} Examples: {quoted}"
        tools.append({**tool, "function": function})
    return tools


def idempotency_key(conversation_id: str, action: str, arguments: dict[str, Any]) -> str:
    """Same conversation + action + arguments → same key, so a repeated request (a retry, a
    reconnect, a model asking twice) yields the same authorization, not a second one."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{conversation_id}\x1f{action}\x1f{canonical}".encode()).hexdigest()[:32]


_MODEL_KEYS = {
    "user": ("role", "content"),
    "system": ("role", "content"),
    "assistant": ("role", "content", "tool_calls"),
    "tool": ("role", "content", "tool_call_id"),
}


def _for_model(message: dict[str, Any]) -> dict[str, Any]:
    # Stored messages carry extras (citations, ids, timestamps); hosted APIs reject unknown keys.
    # A person from the store (any other role) spoke for the store: the model sees it as such.
    if message.get("role") not in _MODEL_KEYS:
        return {"role": "assistant", "content": str(message.get("content") or "")}
    return {key: message[key] for key in _MODEL_KEYS[message["role"]] if key in message}


INTERRUPTED = {
    "ok": False,
    "error": {"code": "interrupted", "message": "This action did not finish; nothing is known."},
}


def model_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored history as providers accept it: only the keys they know, and every tool call
    answered exactly once. A turn cut short (a restart mid-confirmation) can leave a call without
    its result — hosted APIs reject that — so it gets an 'interrupted' result; a result whose call
    is unknown is dropped."""
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []

    def close_open_calls() -> None:
        for call_id in open_calls:
            out.append(
                {"role": "tool", "tool_call_id": call_id, "content": json.dumps(INTERRUPTED)}
            )
        open_calls.clear()

    for message in history:
        clean = _for_model(message)
        if clean["role"] == "tool":
            if clean.get("tool_call_id") in open_calls:
                open_calls.remove(clean["tool_call_id"])
                out.append(clean)
            continue
        close_open_calls()
        out.append(clean)
        open_calls.extend(str(c.get("id")) for c in clean.get("tool_calls") or [])
    close_open_calls()
    return out


def _assistant_tool_message(turn: ModelTurn) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": turn.text or None,
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
            for call in turn.tool_calls
        ],
    }


def _error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"ok": False, "error": error}


async def _run_tool_call(
    call: ToolCall, conv: Conversation, deps: AgentDeps, *, emit: Emit, confirm: Confirm
) -> dict[str, Any]:
    """Validate, confirm, run one tool call; return what the model reads (never raises for the
    model's mistakes or an action's refusal)."""
    registry = deps.registry
    if call.name == HANDOFF_TOOL_NAME and registry.get(call.name) is None:
        reason = call.arguments.get("reason") if isinstance(call.arguments, dict) else None
        await emit(Handoff(reason=str(reason or "The shopper asked for a person.")[:500]))
        return {"ok": True, "result": {"message": HANDOFF_MESSAGE}}
    spec = registry.get(call.name)
    if spec is None:
        known = ", ".join(registry.names()) if hasattr(registry, "names") else ""
        return _error("unknown_action", f"There is no action called {call.name!r}. Known: {known}.")
    if isinstance(call.arguments, str):
        return _error("invalid_arguments", f"The arguments for {call.name} are not a JSON object.")
    try:
        args = registry.validate(call.name, call.arguments)
    except ActionError as exc:
        return _error(exc.code, exc.message, getattr(exc, "details", None))
    shown_args = args.model_dump(mode="json")
    ctx = ActionContext(
        services=deps.services,
        customer_email=conv.customer_email,
        now=deps.settings.clock(),
        idempotency_key=idempotency_key(conv.id, call.name, shown_args),
        conversation_id=conv.id,
    )

    # Side effects wait for a yes — unless the registry will refuse anyway (unverified shopper),
    # in which case asking would promise something that cannot happen.
    if spec.confirm and not (spec.identity and not ctx.customer_email):
        # Never ask the shopper to approve something the policy will refuse anyway.
        summary, problem = await registry.preview(spec, ctx, args)
        if problem is not None:
            return _error(problem.code, problem.message, getattr(problem, "details", None))
        request = ConfirmationRequest(
            id=uuid.uuid4().hex, action=call.name, arguments=shown_args, summary=summary
        )
        if not await confirm(request):
            result = _error("declined", "The shopper declined; nothing was done.")
            await emit(ActionFinished(action=call.name, ok=False, result=result["error"]))
            return result

    await emit(ActionStarted(action=call.name, arguments=shown_args))
    try:
        result = await registry.run(call.name, ctx, args)
    except ActionError as exc:
        error = _error(exc.code, exc.message, getattr(exc, "details", None))
        await emit(ActionFinished(action=call.name, ok=False, result=error["error"]))
        return error
    except Exception as exc:  # a bug in an action must not end the conversation
        error = _error("action_failed", f"The action {call.name} failed unexpectedly.")
        error["error"]["exception"] = type(exc).__name__
        await emit(ActionFinished(action=call.name, ok=False, result=error["error"]))
        return error

    payload = result.model_dump(mode="json")
    if call.name == "lookup_order" and ctx.customer_email is None:
        # A successful lookup matched order number and email: the shopper is verified.
        ctx.customer_email = (getattr(args, "email", None) or "").strip().lower() or None
    if ctx.customer_email and ctx.customer_email != conv.customer_email:
        conv.customer_email = ctx.customer_email
    await emit(ActionFinished(action=call.name, ok=True, result=payload))
    return {"ok": True, "result": payload}
