"""`/console/leads`: shoppers who asked to hear from the store, with the consent they gave, and
the same list as CSV (`/console/leads.csv`) for the store's mailing tool.

Filters: `q` (email or interest contains), `from`/`to` (YYYY-MM-DD, inclusive, days in the
business timezone). The rows come from the leads table through actions.store.leads; only actions/
touches the order database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from actions.store.leads import Lead, list_leads
from agent.console.csv_export import csv_response

MAX_QUERY = 200
CSV_HEADER = (
    "email",
    "interest",
    "consented_at",
    "source",
    "conversation_id",
    "consent_text",
    "first_seen",
)
SOURCES = {"chat": "Chat (confirmed)", "widget_form": "Widget form"}


@dataclass(frozen=True)
class LeadFilter:
    query: str = ""
    start: date | None = None
    end: date | None = None
    error: str | None = None

    def bounds(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """[since, until) in UTC: from the start of `start` to the end of `end`, local days."""
        since = until = None
        if self.start is not None:
            since = datetime.combine(self.start, time(), zone).astimezone(UTC)
        if self.end is not None:
            until = datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC)
        return since, until


def _day(raw: str, name: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"“{raw[:20]}” is not a date for {name}: use YYYY-MM-DD.") from None


def parse_filter(params: Any) -> LeadFilter:
    query = str(params.get("q", ""))[:MAX_QUERY].strip()
    try:
        start = _day(str(params.get("from", "")), "from")
        end = _day(str(params.get("to", "")), "to")
    except ValueError as exc:
        return LeadFilter(query=query, error=str(exc))
    if start and end and start > end:
        return LeadFilter(query, start, end, "The “from” date is after the “to” date.")
    return LeadFilter(query, start, end)


def _zone(console: Any) -> ZoneInfo:
    try:
        return ZoneInfo(console.state.settings.business_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def _leads(console: Any, wanted: LeadFilter) -> list[Lead]:
    if wanted.error:
        return []
    since, until = wanted.bounds(_zone(console))
    store = console.state.services.store
    return await asyncio.to_thread(list_leads, store, query=wanted.query, since=since, until=until)


def _csv_name(wanted: LeadFilter) -> str:
    parts = ["leads"]
    if wanted.start:
        parts.append(wanted.start.isoformat())
    if wanted.end:
        parts.append(wanted.end.isoformat())
    return "-".join(parts) + ".csv"


def _query_string(wanted: LeadFilter) -> str:
    values = {
        "q": wanted.query,
        "from": wanted.start.isoformat() if wanted.start else "",
        "to": wanted.end.isoformat() if wanted.end else "",
    }
    kept = {k: v for k, v in values.items() if v}
    return "?" + urlencode(kept) if kept else ""


def routes(console: Any) -> list[BaseRoute]:
    async def page(request: Request, staff: Any) -> Response:
        wanted = parse_filter(request.query_params)
        leads = await _leads(console, wanted)
        zone = _zone(console)
        rows = [{"lead": lead, "local": lead.consented_at.astimezone(zone)} for lead in leads]
        return console.render(
            "console_leads.jinja2",
            code=400 if wanted.error else 200,
            staff=staff,
            section="leads",
            rows=rows,
            wanted=wanted,
            sources=SOURCES,
            zone=zone.key,
            csv_href="/console/leads.csv" + _query_string(wanted),
        )

    async def export(request: Request, staff: Any) -> Response:
        wanted = parse_filter(request.query_params)
        if wanted.error:
            return JSONResponse({"error": "invalid_range", "message": wanted.error}, 400)
        leads = await _leads(console, wanted)
        rows = (
            (
                lead.email,
                lead.interest,
                lead.consented_at.isoformat(),
                lead.source,
                lead.conversation_id,
                lead.consent_text,
                lead.created_at.isoformat(),
            )
            for lead in leads
        )
        return csv_response(_csv_name(wanted), CSV_HEADER, rows)

    return [
        Route("/console/leads", console.page(page), methods=["GET"]),
        Route("/console/leads.csv", console.page(export), methods=["GET"]),
    ]


__all__ = ["CSV_HEADER", "LeadFilter", "parse_filter", "routes"]
