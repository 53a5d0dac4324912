"""What resuming a conversation settles before the shopper sees it.

- A guest verification (order number + email) idle for longer than the setting ends: the shopper is
  no longer verified, the order data stored so far is withheld from the transcript and the model,
  and the resume token rotates. A shared browser's next user inherits no order data.
- An approved action that finished (or was about to run) when the process died has no stored result:
  it is run again through the registry with the same idempotency key, which gives back what it made
  (the same return authorization, not a second one), and the result is stored, so the transcript
  shows it and the model knows it.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from actions import ActionContext, ActionError
from actions.registry import ActionRegistry
from agent.chat.events import Session as SessionEvent
from agent.models.base import ToolCall, ToolCallPart
from agent.store.conversations import ConversationStore, StoredMessage
from agent.turn.deps import AgentDeps
from agent.turn.history import History
from agent.turn.tools import error, idempotency_key, tool_message

if TYPE_CHECKING:
    from agent.chat.sessions import Session

log = logging.getLogger("shopdesk.resume")

# The action that verifies a shopper returns their order: its result is order data too.
VERIFYING_ACTION = "lookup_order"


def order_data_actions(registry: ActionRegistry) -> frozenset[str]:
    """Actions whose results are the shopper's order data (withheld once a verification ends)."""
    return frozenset({VERIFYING_ACTION, *(s.name for s in registry.specs() if s.identity)})


async def expire_if_idle(store: ConversationStore, deps: AgentDeps, session: Session) -> str | None:
    """End the session's guest verification when it has been idle too long; the new resume token
    when it ended, else None. A running turn is activity, so it is left alone."""
    if session.turn is not None and not session.turn.done():
        return None
    settings = deps.settings
    state = await store.acall(store.credentials.state, session.id)
    idle = timedelta(minutes=settings.verification_idle_minutes)
    if not state.idle_expired(settings.clock(), idle):
        return None
    token = await store.acall(store.credentials.end_verification, session.id)
    session.customer_email = None
    session.history = None  # reloaded with the order data withheld
    session.pending_request = None
    minutes = f"{settings.verification_idle_minutes:g}"
    note = f"Verification ended after {minutes} idle minutes; order details are withheld."
    await store.acall(
        store.append, session.id, "system-note", {"role": "system-note", "content": note}
    )
    return token


async def settle_verification(store: ConversationStore, deps: AgentDeps, session: Session) -> None:
    """Before a message of a live session is taken: an idle guest verification ends, and the
    widget is given the rotated token."""
    if not session.customer_email:
        return
    token = await expire_if_idle(store, deps, session)
    if token is not None:
        await session.emit(SessionEvent(resume_token=token, verified=False))


async def reconcile(store: ConversationStore, deps: AgentDeps, session: Session) -> int:
    """Store the results of approved actions a dead turn left unrecorded; how many were."""
    if session.busy:
        return 0
    messages = await store.acall(store.messages, session.id)
    calls = History.from_store(messages).open_calls()
    if not calls:
        return 0
    since = _asked_at(messages)
    approved = await store.acall(store.credentials.approved, session.id)
    done = 0
    for call in calls:
        name = call["function"]["name"]
        spec = deps.registry.get(name)
        if spec is None or not spec.confirm:
            continue  # nothing was approved, so nothing can have run
        try:
            raw = json.loads(call["function"]["arguments"] or "{}")
            shown = deps.registry.validate(name, raw).model_dump(mode="json")
        except (ValueError, ActionError):
            continue
        if not any(
            a.action == name and a.arguments == shown and (since is None or a.created_at >= since)
            for a in approved
        ):
            continue
        result = await _rerun(deps, session, call, shown)
        if result is None:
            continue
        message = tool_message(ToolCall(id=call["id"], name=name, arguments=raw), result)
        await store.acall(store.append, session.id, "tool", message)
        done += 1
    if done:
        session.history = None
    return done


def _asked_at(messages: list[StoredMessage]) -> datetime | None:
    """When the latest assistant message with tool calls was stored (its confirmations follow)."""
    for message in reversed(messages):
        if message.role == "assistant" and message.content.get("tool_calls"):
            return message.created_at
    return None


async def _rerun(
    deps: AgentDeps, session: Session, call: ToolCallPart, shown: dict[str, Any]
) -> dict[str, Any] | None:
    name = call["function"]["name"]
    ctx = ActionContext(
        services=deps.services,
        customer_email=session.customer_email,
        now=deps.settings.clock(),
        idempotency_key=idempotency_key(session.id, name, shown),
        conversation_id=session.id,
    )
    try:
        result = await deps.registry.run(name, ctx, shown)
    except ActionError as exc:
        return error(exc.code, exc.message, exc.details)
    except Exception:
        log.exception("could not reconcile %s in conversation %s", name, session.id)
        return None
    return {"ok": True, "result": result.model_dump(mode="json")}


__all__ = ["expire_if_idle", "order_data_actions", "reconcile", "settle_verification"]
