"""Persistence of leads: one row per (email, interest), written with the consent that allows it.

The rules (what a valid email is, that consent is required, which words were agreed to) live in
actions/builtin/leads.py; this module only stores and reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from actions.store.models import LeadRow

if TYPE_CHECKING:
    from actions.store.orders import OrderStore

MAX_LIST = 5000  # the console's page and CSV: a shop's whole list, but never unbounded


@dataclass(frozen=True)
class Lead:
    id: int
    email: str
    interest: str
    consent: bool
    consented_at: datetime
    consent_text: str
    source: str
    conversation_id: str | None
    created_at: datetime


def _record(row: LeadRow) -> Lead:
    return Lead(
        id=row.id,
        email=row.email,
        interest=row.interest,
        consent=row.consent,
        consented_at=row.consented_at,
        consent_text=row.consent_text,
        source=row.source,
        conversation_id=row.conversation_id,
        created_at=row.created_at,
    )


def interest_key(interest: str) -> str:
    """What makes two interests the same: case and spacing do not."""
    return re.sub(r"\s+", " ", interest).strip().lower()


def save_lead(
    store: OrderStore,
    *,
    email: str,
    interest: str,
    consented_at: datetime,
    consent_text: str,
    source: str,
    conversation_id: str | None,
) -> tuple[Lead, bool]:
    """Insert the lead, or refresh the consent of the one already there; (lead, created).

    Idempotent on (email, interest): asking again renews consented_at (and the words, source and
    conversation of that latest consent) and never adds a second row, even when two requests race
    (the loser of the unique key updates the winner's row)."""
    email = email.strip().lower()
    key = interest_key(interest)
    fresh = {
        "interest": interest,
        "consent": True,
        "consented_at": consented_at,
        "consent_text": consent_text,
        "source": source,
        "conversation_id": conversation_id,
    }
    query = sa.select(LeadRow).where(LeadRow.email == email, LeadRow.interest_key == key)
    for attempt in range(2):
        try:
            with store.writing() as s:
                row = s.scalar(query)
                created = row is None
                if row is None:
                    row = LeadRow(email=email, interest_key=key, created_at=consented_at, **fresh)
                    s.add(row)
                else:
                    for name, value in fresh.items():
                        setattr(row, name, value)
                s.flush()
                return _record(row), created
        except IntegrityError:
            if attempt:  # the row that won the race is there now: the retry updates it
                raise
    raise AssertionError("unreachable")


def list_leads(
    store: OrderStore,
    *,
    query: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = MAX_LIST,
) -> list[Lead]:
    """Newest consent first; `query` matches email or interest (case-insensitive substring);
    `since` inclusive and `until` exclusive bound consented_at."""
    select = sa.select(LeadRow).order_by(LeadRow.consented_at.desc(), LeadRow.id.desc())
    words = query.strip().lower()
    if words:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", words) + "%"
        select = select.where(
            sa.or_(
                LeadRow.email.like(pattern, escape="\\"),
                LeadRow.interest_key.like(pattern, escape="\\"),
            )
        )
    if since is not None:
        select = select.where(LeadRow.consented_at >= since)
    if until is not None:
        select = select.where(LeadRow.consented_at < until)
    with store.reading() as s:
        return [_record(row) for row in s.scalars(select.limit(max(1, min(limit, MAX_LIST))))]


__all__ = ["Lead", "interest_key", "list_leads", "save_lead"]
