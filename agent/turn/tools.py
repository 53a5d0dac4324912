"""The one tool executor: validate → preview → confirm → run, for live and late confirmations alike.

The model proposes; the code disposes: arguments are validated by the action's own pydantic model,
side effects wait for the shopper's confirmation (a real event through `confirm`, never the
model's say-so), identity is enforced by the registry, and every failure becomes a result the model
reads — a turn never crashes on what a model sends.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from actions.context import ActionContext, ActionError
from agent.chat.events import ActionFinished, ActionStarted, ConfirmationRequest, Handoff
from agent.models.base import ToolCall, ToolSpec
from agent.turn.deps import AgentDeps, Confirm, Conversation, Emit

if TYPE_CHECKING:
    from actions.registry import ActionRegistry
    from actions.spec import ActionSpec

# What the model reads: {"ok": true, "result": …} or {"ok": false, "error": …}.
Result = dict[str, Any]

# The loop's own tool (not an action: it changes no records): the model asks for a person, the
# loop emits a `handoff` event, and the server puts the conversation in the store's inbox.
HANDOFF_TOOL_NAME = "handoff_to_human"
HANDOFF_TOOL = ToolSpec(
    name=HANDOFF_TOOL_NAME,
    description=(
        "Ask a person from the store to take over this conversation: when the shopper asks "
        "for a person, or when you cannot help and the shopper agrees."
    ),
    parameters={
        "type": "object",
        "properties": {
            "reason": {"type": "string", "description": "One line for the store's team."}
        },
        "required": [],
    },
    examples=("can I talk to a person?", "I want to speak to someone"),
)
HANDOFF_MESSAGE = (
    "A person from the store has been asked to join this conversation and will reply here."
)

_specs_cache: weakref.WeakKeyDictionary[ActionRegistry, tuple[tuple[str, ...], list[ToolSpec]]] = (
    weakref.WeakKeyDictionary()
)


def tool_specs(registry: ActionRegistry) -> list[ToolSpec]:
    """The registry's actions as tools, plus the loop's handoff tool.

    Cached per registry (rebuilt when its set of actions changes): building the JSON schemas is
    the most expensive step of a turn with a fast model (measured ~5 ms)."""
    names = tuple(registry.names())
    cached = _specs_cache.get(registry)
    if cached is not None and cached[0] == names:
        return cached[1]
    specs = [
        ToolSpec(
            name=spec.name,
            description=spec.description,
            parameters=spec.json_schema(),
            examples=tuple(spec.examples),
        )
        for spec in registry.specs()
    ]
    if registry.get(HANDOFF_TOOL_NAME) is None:
        specs.append(HANDOFF_TOOL)
    _specs_cache[registry] = (names, specs)
    return specs


def idempotency_key(conversation_id: str, action: str, arguments: dict[str, Any]) -> str:
    """Same conversation + action + arguments → same key, so a repeated request (a retry, a
    reconnect, a model asking twice, a late yes) yields the same authorization, not a second one."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{conversation_id}\x1f{action}\x1f{canonical}".encode()).hexdigest()[:32]


def error(code: str, message: str, details: object = None) -> Result:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return {"ok": False, "error": body}


def _refusal(exc: ActionError) -> Result:
    return error(exc.code, exc.message, exc.details)


async def execute(
    call: ToolCall, conv: Conversation, deps: AgentDeps, *, emit: Emit, confirm: Confirm
) -> Result:
    """Validate, confirm, run one tool call; return what the model reads (never raises for the
    model's mistakes or an action's refusal)."""
    registry = deps.registry
    if call.name == HANDOFF_TOOL_NAME and registry.get(call.name) is None:
        reason = call.arguments.get("reason") if isinstance(call.arguments, dict) else None
        await emit(Handoff(reason=str(reason or "The shopper asked for a person.")[:500]))
        return {"ok": True, "result": {"message": HANDOFF_MESSAGE}}
    spec = registry.get(call.name)
    if spec is None:
        known = ", ".join(registry.names())
        return error("unknown_action", f"There is no action called {call.name!r}. Known: {known}.")
    if isinstance(call.arguments, str):
        return error("invalid_arguments", f"The arguments for {call.name} are not a JSON object.")
    try:
        args = registry.validate(call.name, call.arguments)
    except ActionError as exc:
        return _refusal(exc)
    shown = args.model_dump(mode="json")
    ctx = ActionContext(
        services=deps.services,
        customer_email=conv.customer_email,
        now=deps.settings.clock(),
        idempotency_key=idempotency_key(conv.id, call.name, shown),
        conversation_id=conv.id,
    )
    # Side effects wait for a yes — unless the registry will refuse anyway (unverified shopper),
    # in which case asking would promise something that cannot happen.
    if spec.confirm and not (spec.identity and not ctx.customer_email):
        refused = await _ask(spec, ctx, args, shown, registry, emit=emit, confirm=confirm)
        if refused is not None:
            return refused
    return await _run(call, spec, ctx, args, conv, deps, emit=emit)


async def _ask(
    spec: ActionSpec,
    ctx: ActionContext,
    args: BaseModel,
    shown: dict[str, Any],
    registry: ActionRegistry,
    *,
    emit: Emit,
    confirm: Confirm,
) -> Result | None:
    """Preview, then ask; None when the shopper said yes, else the result the model reads."""
    # Never ask the shopper to approve something the policy will refuse anyway.
    summary, problem = await registry.preview(spec, ctx, args)
    if problem is not None:
        return _refusal(problem)
    request = ConfirmationRequest(
        id=uuid.uuid4().hex, action=spec.name, arguments=shown, summary=summary
    )
    if await confirm(request):
        return None
    result = error("declined", "The shopper declined; nothing was done.")
    await emit(ActionFinished(action=spec.name, ok=False, result=result["error"]))
    return result


async def _run(
    call: ToolCall,
    spec: ActionSpec,
    ctx: ActionContext,
    args: BaseModel,
    conv: Conversation,
    deps: AgentDeps,
    *,
    emit: Emit,
) -> Result:
    await emit(ActionStarted(action=call.name, arguments=args.model_dump(mode="json")))
    try:
        result = await deps.registry.run(call.name, ctx, args)
    except ActionError as exc:
        refused = _refusal(exc)
        await emit(ActionFinished(action=call.name, ok=False, result=refused["error"]))
        return refused
    except Exception as exc:  # a bug in an action must not end the conversation
        failed = error("action_failed", f"The action {call.name} failed unexpectedly.")
        failed["error"]["exception"] = type(exc).__name__
        await emit(ActionFinished(action=call.name, ok=False, result=failed["error"]))
        return failed
    payload = result.model_dump(mode="json")
    if call.name == "lookup_order" and ctx.customer_email is None:
        # A successful lookup matched order number and email: the shopper is verified.
        email = getattr(args, "email", None)  # lookup_order's own field; other actions lack it
        ctx.customer_email = (email or "").strip().lower() or None
    if ctx.customer_email and ctx.customer_email != conv.customer_email:
        conv.customer_email = ctx.customer_email
    await emit(ActionFinished(action=call.name, ok=True, result=payload))
    return {"ok": True, "result": payload}


def tool_message(call: ToolCall, result: Result) -> dict[str, Any]:
    """The stored message that answers `call`."""
    return {
        "role": "tool",
        "tool_call_id": call.id,
        "name": call.name,
        "content": json.dumps(result, default=str),
    }


__all__ = [
    "HANDOFF_MESSAGE",
    "HANDOFF_TOOL",
    "HANDOFF_TOOL_NAME",
    "error",
    "execute",
    "idempotency_key",
    "tool_message",
    "tool_specs",
]
