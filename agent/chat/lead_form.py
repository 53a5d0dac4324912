"""The widget's "keep me posted" form over /ws: the `lead` event runs the capture_lead action.

Not a turn and not a confirmation request: the form's unticked-by-default checkbox is the consent,
and its wording (sent to the widget in `ready`) is what gets stored as agreed. The reply goes to the
submitting socket only, as `lead_saved` or an `error` with `about: "lead"` (shown in the form).
"""

from __future__ import annotations

from actions.builtin.leads import capture_from_form, form_consent_text
from actions.context import ActionError
from agent.chat.events import ErrorEvent, Lead, LeadSaved
from agent.chat.sessions import Session, SessionManager
from agent.turn.deps import AgentDeps


def consent_text(deps: AgentDeps) -> str | None:
    """The consent wording the form shows, or None when capture_lead is not registered."""
    if deps.registry.get("capture_lead") is None:
        return None
    return form_consent_text(deps.settings.store_name)


async def submit(sessions: SessionManager, session: Session, event: Lead) -> LeadSaved | ErrorEvent:
    """Run capture_lead for the form (the same action and refusals as from the chat) and leave a
    note in the conversation for the store's team. Returns the reply for the socket."""
    deps = sessions.deps
    wording = consent_text(deps)
    try:
        if wording is None:
            raise ActionError("unknown_action", "This store does not collect email updates.")
        result = await capture_from_form(
            deps.registry,
            deps.services,
            email=event.email,
            interest=event.interest,
            consent=event.consent,
            consent_text=wording,
            now=deps.settings.clock(),
            conversation_id=session.id,
            customer_email=session.customer_email,
        )
    except ActionError as exc:
        return ErrorEvent(code=exc.code, message=exc.message, about="lead")
    note = f"Shopper asked to be emailed about {result.interest} at {result.email} (consent given)."
    store = sessions.store
    await store.acall(
        store.append, session.id, "system-note", {"role": "system-note", "content": note}
    )
    if sessions.inbox is not None:
        sessions.inbox.publish("conversation.updated", session.id)
    return LeadSaved(message=result.message)
