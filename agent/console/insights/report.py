"""The insights report: the figures of one date range, their rates, links and CSV tables."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from actions.insights import ReturnFigures, return_figures
from agent.console.insights.conversations import (
    ConversationFigures,
    UnansweredQuestion,
    scan_conversations,
)
from agent.console.insights.period import Period
from agent.console.insights.questions import QuestionGroup, group_questions

TABLES = (
    "daily",
    "questions",
    "unanswered",
    "return_reasons",
    "return_products",
    "eligibility",
    "refunds",
)


def fix_link(item: UnansweredQuestion) -> str:
    """Opens the knowledge editor on the closest file with the question ready to try; with no
    stored passage, the knowledge list with the question."""
    if item.source:
        return "/console/knowledge/edit?" + urlencode({"source": item.source, "q": item.question})
    return "/console/knowledge?" + urlencode({"q": item.question})


def percent(part: int, whole: int) -> str:
    return "—" if not whole else f"{100 * part / whole:.1f}%"


@dataclass
class InsightsReport:
    period: Period
    conversations: ConversationFigures
    returns: ReturnFigures
    groups: list[QuestionGroup] = field(default_factory=list)
    questions_left_out: int = 0  # askings beyond the embedding cap

    @property
    def ai_resolution_rate(self) -> float | None:
        c = self.conversations
        return c.ai_resolved / c.conversations if c.conversations else None

    @property
    def handoff_rate(self) -> float | None:
        c = self.conversations
        return c.handed_off / c.conversations if c.conversations else None

    @property
    def ai_resolution_text(self) -> str:
        return percent(self.conversations.ai_resolved, self.conversations.conversations)

    @property
    def handoff_text(self) -> str:
        return percent(self.conversations.handed_off, self.conversations.conversations)

    def table(self, name: str) -> tuple[list[str], list[Sequence[Any]]]:
        """(header, rows) of one table, as the CSV export writes it."""
        c, r = self.conversations, self.returns
        if name == "daily":
            return ["date", "conversations"], [(d.isoformat(), n) for d, n in c.daily.items()]
        if name == "questions":
            return ["question", "times_asked", "other_wordings"], [
                (g.representative, g.count, " | ".join(g.variants)) for g in self.groups
            ]
        if name == "unanswered":
            header = ["date", "asked_at_utc", "question", "why", "confidence", "closest_source",
                      "closest_section", "conversation_id", "fix_link"]  # fmt: skip
            return header, [
                (
                    u.day.isoformat(),
                    u.asked_at.isoformat(),
                    u.question,
                    u.why,
                    "" if u.confidence is None else round(u.confidence, 4),
                    u.source or "",
                    u.heading or "",
                    u.conversation_id,
                    fix_link(u),
                )  # fmt: skip
                for u in c.unanswered
            ]
        if name == "return_reasons":
            return ["reason", "requests", "items"], [
                (x.reason, x.requests, x.items) for x in r.by_reason
            ]
        if name == "return_products":
            return ["sku", "product", "quantity", "requests"], [
                (p.sku, p.name, p.quantity, p.requests) for p in r.by_product
            ]
        if name == "eligibility":
            return ["outcome", "lines"], sorted(
                c.eligibility.items(), key=lambda kv: (-kv[1], kv[0])
            )
        if name == "refunds":
            return ["currency", "refunds", "total"], [
                (t.currency, t.refunds, f"{t.total:.2f}") for t in r.refunds
            ]
        raise KeyError(name)


async def build_report(state: Any, period: Period, *, group: bool = True) -> InsightsReport:
    """Everything for one range. The conversation scan runs on the conversation store's executor;
    the embedding (seconds, CPU-bound) and the return queries on worker threads, so neither the
    event loop nor the store's single SQLite writer waits on them."""
    store = state.conversations
    figures = await store.acall(scan_conversations, store.engine, period)
    returns = await asyncio.to_thread(
        return_figures, state.services.store, period.utc_start, period.utc_end
    )
    report = InsightsReport(period, figures, returns)
    if group and figures.questions:
        report.groups, report.questions_left_out = await asyncio.to_thread(
            group_questions, figures.questions
        )
    return report


__all__ = ["TABLES", "InsightsReport", "build_report", "fix_link", "percent"]
