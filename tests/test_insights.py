"""Insights figures computed from a seeded data set with known answers (tests/insights_seed.py),
on SQLite and (when configured) PostgreSQL: every figure, a single day, an empty range."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from insights_seed import Seeded, seed

from agent.console.insights import (
    InsightsReport,
    PeriodError,
    build_report,
    fix_link,
    group_questions,
    is_question,
    parse_period,
)

NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
TZ = "America/New_York"


@pytest.fixture
def seeded(database_url: str) -> Iterator[Seeded]:
    data = seed(database_url)
    yield data
    data.close()


def report(seeded: Seeded, start: str, end: str) -> InsightsReport:
    state = SimpleNamespace(
        conversations=seeded.conversations, services=SimpleNamespace(store=seeded.orders)
    )
    period = parse_period(start, end, now=NOW, tz=TZ)
    return asyncio.run(build_report(state, period))


def test_every_figure_of_the_seeded_range_is_counted_from_the_stored_rows(seeded) -> None:
    r = report(seeded, "2026-11-18", "2026-11-20")
    c = r.conversations
    # c2 opened 03:30Z on the 19th = 22:30 on the 18th in New York; c9 04:30Z on the 21st = the
    # 20th; c6 never had a shopper message; c7 and c8 are outside.
    assert c.daily == {date(2026, 11, 18): 2, date(2026, 11, 19): 2, date(2026, 11, 20): 3}
    assert c.conversations == 7
    assert c.handed_off == 2  # c4 (handoff tool + note), c5 (note)
    assert c.with_staff == 2  # c3, c5
    # c2 ended on "I'm not sure." and c10 on "I don't know.": dead ends, not resolutions (issue 13).
    assert c.ai_resolved == 2  # c1, c9
    assert c.ended_on_fallback == 3 and c.repeated == 0  # c2, c10 and c5 (before its handoff)
    assert (r.ai_resolution_text, r.handoff_text) == ("28.6%", "28.6%")
    assert r.ai_resolution_rate == pytest.approx(2 / 7) and r.handoff_rate == pytest.approx(2 / 7)

    # Questions: "thanks!", the order number + email and "can I talk to a human?" are not.
    assert sorted(c.questions) == sorted([
        "Do you ship to Canada?", "can you ship to canada?", "How long do I have to return an item?",
        "where is my order?", "Can I swap the plate for a bigger size?", "Do you sell gift cards?",
        "Is the wool sweater machine washable?", "Can I buy a gift card?", "do you ship to Canada",
    ])  # fmt: skip
    groups = [(g.representative, g.count, g.variants) for g in r.groups]
    assert groups[:2] == [
        ("Do you ship to Canada?", 3, ["can you ship to canada?"]),  # exact duplicate + similar
        ("Do you sell gift cards?", 2, ["Can I buy a gift card?"]),  # similar (cosine 0.82)
    ]
    assert sorted(groups[2:]) == sorted([
        ("How long do I have to return an item?", 1, []), ("where is my order?", 1, []),
        ("Can I swap the plate for a bigger size?", 1, []),
        ("Is the wool sweater machine washable?", 1, []),
    ])  # fmt: skip
    assert r.questions_left_out == 0

    rows = [
        (u.day.isoformat(), u.conversation_id, u.question, u.why, u.confidence, u.source)
        for u in c.unanswered
    ]
    ids = seeded.ids
    assert rows == [  # newest first
        ("2026-11-20", ids["c10"], "Can I buy a gift card?", "no answer, low retrieval confidence",
         0.3, "faq.md"),
        ("2026-11-20", ids["c5"], "Is the wool sweater machine washable?",
         "no answer, handed off", None, None),
        ("2026-11-19", ids["c4"], "Do you sell gift cards?",
         "no answer, low retrieval confidence, handed off", 0.2, "faq.md"),
        ("2026-11-18", ids["c2"], "How long do I have to return an item?",
         "no answer, low retrieval confidence", 0.2, "returns.md"),
    ]  # fmt: skip
    # "where is my order?" had low retrieval but lookup_order answered it: not unanswered.

    assert dict(c.eligibility) == {"eligible": 1, "final_sale": 1, "not_delivered": 1}

    ret = r.returns
    assert ret.requests == 3
    assert [(x.reason, x.requests, x.items) for x in ret.by_reason] == [
        ("changed_mind", 2, 4),
        ("damaged", 1, 1),
    ]
    assert [(p.sku, p.name, p.quantity, p.requests) for p in ret.by_product] == [
        ("CER-MUG-SAGE", "Sage speckled stoneware mug", 2, 1),
        ("PRT-FERN-A4", "Fern Study — giclée print, A4", 2, 1),
        ("PRT-HERON-A3", "Heron at Dawn — giclée print, A3", 1, 1),
    ]
    # RMA1's refund (2 mugs at $34.00) was paid on the 19th; RMA4's on the 21st is outside.
    assert [(t.currency, t.refunds, t.total) for t in ret.refunds] == [("USD", 1, Decimal("68.00"))]
    assert seeded.rmas["rma1"].refund_total == Decimal("68.00")


def test_a_single_day_range_counts_only_that_local_day(seeded) -> None:
    r = report(seeded, "2026-11-19", "2026-11-19")
    c = r.conversations
    assert c.daily == {date(2026, 11, 19): 2}
    assert (c.conversations, c.handed_off, c.with_staff, c.ai_resolved) == (2, 1, 1, 0)
    assert (r.ai_resolution_text, r.handoff_text) == ("0.0%", "50.0%")
    assert [u.question for u in c.unanswered] == ["Do you sell gift cards?"]
    assert dict(c.eligibility) == {"eligible": 1, "final_sale": 1, "not_delivered": 1}
    assert [(x.reason, x.requests, x.items) for x in r.returns.by_reason] == [
        ("changed_mind", 1, 2)
    ]
    assert [(p.sku, p.quantity) for p in r.returns.by_product] == [("PRT-FERN-A4", 2)]
    assert [(t.refunds, t.total) for t in r.returns.refunds] == [(1, Decimal("68.00"))]
    header, rows = r.table("daily")
    assert (header, rows) == (["date", "conversations"], [("2026-11-19", 2)])


def test_an_empty_range_shows_zeros_and_dashes_not_errors(seeded) -> None:
    r = report(seeded, "2026-10-01", "2026-10-05")
    c = r.conversations
    assert list(c.daily.values()) == [0, 0, 0, 0, 0]
    assert (c.conversations, c.handed_off, c.ai_resolved) == (0, 0, 0)
    assert r.ai_resolution_rate is None and r.handoff_rate is None
    assert (r.ai_resolution_text, r.handoff_text) == ("—", "—")
    assert r.groups == [] and c.unanswered == [] and not c.eligibility
    assert r.returns.requests == 0 and r.returns.by_product == [] and r.returns.refunds == []
    for table in ("questions", "unanswered", "return_reasons", "return_products", "eligibility"):
        assert r.table(table)[1] == []


def test_outside_days_are_counted_when_the_range_includes_them(seeded) -> None:
    r = report(seeded, "2026-11-17", "2026-11-21")
    assert r.conversations.conversations == 9  # + c7 (17th) and c8 (21st)
    assert r.conversations.eligibility["eligible"] == 2  # + c7's check
    assert r.returns.requests == 4
    assert [(t.refunds, t.total) for t in r.returns.refunds] == [(2, Decimal("102.00"))]


def test_unanswered_question_links_to_the_closest_file(seeded) -> None:
    r = report(seeded, "2026-11-18", "2026-11-20")
    links = {u.question: fix_link(u) for u in r.conversations.unanswered}
    link = urlsplit(links["How long do I have to return an item?"])
    assert link.path == "/console/knowledge/edit"
    assert parse_qs(link.query) == {
        "source": ["returns.md"],
        "q": ["How long do I have to return an item?"],
    }
    # No stored passage (an answer from before retrieval was stored): the knowledge list.
    fallback = urlsplit(links["Is the wool sweater machine washable?"])
    assert fallback.path == "/console/knowledge"
    assert parse_qs(fallback.query) == {"q": ["Is the wool sweater machine washable?"]}


def test_the_question_rule_skips_acknowledgements_and_identifiers() -> None:
    for text in ["Do you ship to Canada?", "do you ship to Canada", "I want to return my boots",
                 "What's the return window for prints", "Tell me about gift wrapping"]:  # fmt: skip
        assert is_question(text), text
    for text in ["yes", "thanks!", "WK1001 maya.chen@example.com", "ok go ahead", "no thanks",
                 "order 1001?", "can I talk to a human?", "I want to speak to a person",
                 "x" * 501 + "?", ""]:  # fmt: skip
        assert not is_question(text), text


def test_exact_duplicates_merge_before_embedding_and_the_cap_is_reported() -> None:
    embedded: list[list[str]] = []

    def embed(texts):
        import numpy as np

        embedded.append(list(texts))
        return np.eye(len(texts), 8, dtype=np.float32)  # all orthogonal: no similarity merges

    texts = ["Where is my order?", "where is my order", "WHERE IS MY ORDER?!", "Do you gift wrap?",
             "Do you ship to Peru?"]  # fmt: skip
    groups, left_out = group_questions(texts, cap=2, embed=embed)
    assert [(g.representative, g.count) for g in groups] == [
        ("Where is my order?", 3),
        ("Do you gift wrap?", 1),
    ]
    assert left_out == 1 and embedded == [["where is my order", "do you gift wrap"]]


def test_the_date_range_defaults_to_30_days_and_refuses_bad_input() -> None:
    p = parse_period(None, None, now=NOW, tz=TZ)
    assert (p.start, p.end, len(p.days)) == (date(2026, 10, 23), date(2026, 11, 21), 30)
    # 03:00Z on the 22nd is still the 21st in New York: "today" is the business day.
    late = parse_period(None, None, now=datetime(2026, 11, 22, 3, tzinfo=UTC), tz=TZ)
    assert late.end == date(2026, 11, 21)
    one = parse_period("2026-11-19", "2026-11-19", now=NOW, tz=TZ)
    assert (one.utc_start.isoformat(), one.utc_end.isoformat()) == (
        "2026-11-19T05:00:00+00:00",
        "2026-11-20T05:00:00+00:00",
    )
    bad = {
        ("2026-11-31", "2026-12-01"): "not a real calendar date",
        ("yesterday", None): "YYYY-MM-DD",
        ("2026-11-20", "2026-11-19"): "after the end date",
        ("2025-01-01", "2026-11-01"): "at most 366 days",
    }
    for (start, end), message in bad.items():
        with pytest.raises(PeriodError, match=message):
            parse_period(start, end, now=NOW, tz=TZ)
    assert len(parse_period("2025-11-21", "2026-11-21", now=NOW, tz=TZ).days) == 366


def test_charts_are_inline_svg_with_a_title_and_escaped_labels() -> None:
    from agent.console.insights import bar_chart, column_chart

    svg = str(bar_chart([("<b>mug</b>", 2), ("plate", 1)], title="Returns & reasons"))
    assert svg.startswith('<svg class="chart chart-bars" role="img"')
    assert (
        'aria-label="Returns &amp; reasons"' in svg
        and "<title>Returns &amp; reasons</title>" in svg
    )
    assert "<b>" not in svg and "&lt;b&gt;mug&lt;/b&gt;: 2" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    days = str(column_chart([("Nov 18", 0), ("Nov 19", 3)], title="Per day"))
    assert days.count('<rect class="bar"') == 2 and "<title>Nov 19: 3</title>" in days
    assert "No data" in str(bar_chart([], title="Empty"))
