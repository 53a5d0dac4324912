"""`/console/insights` (issue 7): the owner's figures for a date range, rendered on the server with
inline SVG charts, and a CSV download of each table (`/console/insights/<table>.csv`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from actions import wording
from agent.console.csv_export import csv_response
from agent.console.insights import (
    TABLES,
    InsightsReport,
    Period,
    PeriodError,
    bar_chart,
    build_report,
    column_chart,
    fix_link,
    parse_period,
)
from agent.console.insights.questions import GROUP_THRESHOLD
from agent.console.staff import StaffSession

UNANSWERED_SHOWN = 200  # rows on the page; the CSV has them all
TABLE_TITLES = {
    "return_reasons": "Return requests by reason",
    "return_products": "Returned products",
    "eligibility": "Eligibility outcomes",
}


def _period(settings: Any, query: Mapping[str, str]) -> Period:
    """The `?from=&to=` range (missing: the default range)."""
    return parse_period(
        query.get("from") or None,
        query.get("to") or None,
        now=settings.clock(),
        tz=settings.business_timezone,
    )


def _charts(report: InsightsReport) -> dict[str, Any]:
    c, r = report.conversations, report.returns
    daily = [(d.strftime("%b %d"), n) for d, n in c.daily.items()]
    eligibility = sorted(c.eligibility.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "daily": column_chart(daily, title=f"Conversations per day, {report.period.label()}"),
        "reasons": bar_chart(
            [(wording.return_reason(x.reason), x.requests) for x in r.by_reason],
            title="Return requests by reason",
        ),
        "products": bar_chart(
            [(p.name or p.sku, p.quantity) for p in r.by_product[:12]],
            title="Returned products by quantity",
        ),
        "eligibility": bar_chart(
            [(k.replace("_", " "), v) for k, v in eligibility], title="Eligibility outcomes by line"
        ),
    }


def routes(console: Any) -> list[BaseRoute]:
    async def page(request: Request, staff: StaffSession) -> Response:
        settings = console.state.settings
        raw = {k: request.query_params.get(k, "")[:20] for k in ("from", "to")}
        try:
            period = _period(console.state.settings, request.query_params)
        except PeriodError as exc:
            fallback = _period(settings, {})
            return console.render(
                "console_insights.jinja2", code=400, staff=staff, section="insights",
                error=str(exc), raw=raw, period=fallback, report=None,
            )  # fmt: skip
        report = await build_report(console.state, period)
        unanswered = report.conversations.unanswered
        return console.render(
            "console_insights.jinja2", staff=staff, section="insights", error=None, raw=raw,
            period=period, report=report, charts=_charts(report),
            unanswered=[(u, fix_link(u)) for u in unanswered[:UNANSWERED_SHOWN]],
            unanswered_more=max(len(unanswered) - UNANSWERED_SHOWN, 0),
            eligibility=sorted(report.conversations.eligibility.items(), key=lambda kv: (-kv[1], kv[0])),
            threshold=settings.confidence_threshold, group_threshold=GROUP_THRESHOLD,
            tz=settings.business_timezone,
        )  # fmt: skip

    async def csv(request: Request, staff: StaffSession) -> Response:
        table = request.path_params["table"]
        if table not in TABLES:
            return PlainTextResponse(f"No insights table called {table[:40]!r}.", 404)
        try:
            period = _period(console.state.settings, request.query_params)
        except PeriodError as exc:
            return PlainTextResponse(str(exc), 400)
        report = await build_report(console.state, period, group=table == "questions")
        header, rows = report.table(table)
        name = f"insights-{table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return csv_response(name, header, rows)

    return [
        Route("/console/insights", console.page(page), methods=["GET"]),
        Route("/console/insights/{table}.csv", console.page(csv), methods=["GET"]),
    ]


__all__ = ["routes"]
