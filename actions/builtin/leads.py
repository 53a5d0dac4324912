"""`capture_lead`: keep a shopper's email address, with their consent, to tell them about something
they asked to hear about.

Two doors lead here. In the chat the model calls the action; it could invent a consent the shopper
never gave, so the action is `confirm=True`: the shopper's own "yes" to the confirmation is the
consent, and the words they said yes to are what gets stored. In the widget's optional "keep me
posted" form the unticked-by-default checkbox is the consent: the server runs the action through
the registry with a `FormContext` that carries the checkbox's wording, and asks nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from actions.builtin._common import blocking
from actions.context import ActionContext, ActionError, ActionResult
from actions.registry import action
from actions.store.leads import save_lead

MAX_EMAIL = 254  # RFC 5321's limit on a forward path
MAX_INTEREST = 200
DEFAULT_INTEREST = "news from the store"  # the form's interest field is optional
# Deliberately simple: one @, something before it, a dotted domain after it, no spaces or
# brackets. Deliverability is the mail system's business; this catches typos like "ada@example".
_EMAIL_RE = re.compile(
    r"^[^\s@<>()\[\],;:\"]{1,64}@(?:[^\s@<>()\[\],;:\".]+\.)+[^\s@<>()\[\],;:\".]{2,}$"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")

CONSENT_REQUIRED = (
    "I can only keep your email address if you agree to hear from us: please tick the box "
    "(or say yes) first."
)


def form_consent_text(store_name: str) -> str:
    """The checkbox wording the widget shows, sent to it by the server and stored as agreed."""
    return f"Yes, {store_name} may email me about this. I can unsubscribe at any time."


@dataclass
class FormContext(ActionContext):
    """An action call from the widget's lead form: the ticked checkbox was the confirmation, and
    `consent_text` is the wording that was beside it."""

    consent_text: str = ""


class LeadResult(ActionResult):
    email: str
    interest: str
    consented_at: datetime
    source: str
    created: bool


def clean_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > MAX_EMAIL or not _EMAIL_RE.match(value):
        raise ActionError(
            "invalid_email", "That doesn't look like an email address; please check it."
        )
    return value


def clean_interest(interest: str) -> str:
    value = re.sub(r"\s+", " ", _CONTROL_RE.sub(" ", interest)).strip()
    if not value:
        raise ActionError("interest_required", "Please say what you'd like to hear about.")
    return value[:MAX_INTEREST]


def _confirmation_text(email: str, interest: str) -> str:
    return (
        f"Keep {email} on file so we can email you about {interest}. "
        "You can unsubscribe at any time."
    )


def _checked(email: str, interest: str, consent: bool) -> tuple[str, str]:
    """The refusals, in the order a shopper can fix them; nothing is stored on any of them."""
    if consent is not True:
        raise ActionError("consent_required", CONSENT_REQUIRED)
    return clean_email(email), clean_interest(interest)


async def _summary(ctx: ActionContext, args: Any) -> str:
    # Raising here means the shopper is never asked to approve what the action would refuse.
    email, interest = _checked(args.email, args.interest, args.consent)
    return _confirmation_text(email, interest)


@action(
    confirm=True,
    summary=_summary,
    examples=(
        "email me when the sage mug is back in stock, my address is ada@example.com",
        "keep me posted about new prints",
        "can you let me know about your next sale",
    ),
)
async def capture_lead(
    ctx: ActionContext,
    email: Annotated[str, Field(min_length=3, max_length=MAX_EMAIL)],
    interest: Annotated[str, Field(min_length=1, max_length=MAX_INTEREST)],
    consent: bool,
) -> LeadResult:
    """Keep the shopper's email address so the store can email them about something they want to
    hear about (a restock, new products, a sale). Only when the shopper asks to be kept posted.

    Args:
        email: The email address the shopper wants to be contacted at.
        interest: What they want to hear about, in a few words, e.g. "restock of the sage mug".
        consent: True only if the shopper has clearly agreed to be emailed about it.
    """
    email, interest = _checked(email, interest, consent)
    if isinstance(ctx, FormContext):
        source, wording = "widget_form", ctx.consent_text
    else:
        source, wording = "chat", _confirmation_text(email, interest)
    lead, created = await blocking(
        save_lead,
        ctx.services.store,
        email=email,
        interest=interest,
        consented_at=ctx.now,
        consent_text=wording,
        source=source,
        conversation_id=ctx.conversation_id,
    )
    if created:
        message = f"Thanks! We'll email {lead.email} about {lead.interest}; unsubscribe any time."
    else:
        message = (
            f"You're already on our list for {lead.interest} at {lead.email}; thanks for "
            "confirming."
        )
    return LeadResult(
        email=lead.email,
        interest=lead.interest,
        consented_at=lead.consented_at,
        source=lead.source,
        created=created,
        message=message,
    )


async def capture_from_form(
    registry: Any,
    services: Any,
    *,
    email: str,
    interest: str,
    consent: bool,
    consent_text: str,
    now: datetime,
    conversation_id: str | None,
    customer_email: str | None = None,
) -> LeadResult:
    """The widget form's submission, run through the registry like any action call (validation,
    the same refusals) but without a confirmation step: the checkbox was it."""
    ctx = FormContext(
        services=services,
        customer_email=customer_email,
        now=now,
        conversation_id=conversation_id,
        consent_text=consent_text,
    )
    args = {"email": email, "interest": interest.strip() or DEFAULT_INTEREST, "consent": consent}
    try:
        result = await registry.run("capture_lead", ctx, args)
    except ActionError as exc:
        # The schema's length bounds speak pydantic; a shopper at a form wants the plain words.
        if exc.code == "invalid_arguments" and any(d.get("field") == "email" for d in exc.details):
            clean_email("")  # raises invalid_email
        raise
    assert isinstance(result, LeadResult)
    return result
