"""The owner's insights (issue 7): figures for a date range, counted from the stored conversations
and returns every time (no separate counters that could drift).

- period: the date range (business time zone, inclusive days, 366 at most)
- conversations: one pass over the range's messages → daily counts, handoffs, questions,
  unanswered questions, eligibility outcomes
- fallbacks: which stored answers were dead ends (the loop's mark, the exact fallback texts, an
  LLM's own "I don't know") and when a shopper said the same thing three times (issue 13)
- questions: what counts as a question, and grouping by meaning (the packaged embedding model)
- report: the assembled report, rates, knowledge-editor links, CSV tables
- charts: inline SVG
The returns side (requests by reason/product, refunds) is actions/insights.py.
"""

from __future__ import annotations

from agent.console.insights.charts import bar_chart, column_chart
from agent.console.insights.conversations import (
    ConversationFigures,
    UnansweredQuestion,
    scan_conversations,
)
from agent.console.insights.period import Period, PeriodError, parse_period
from agent.console.insights.questions import (
    GROUP_THRESHOLD,
    QuestionGroup,
    group_questions,
    is_question,
)
from agent.console.insights.report import TABLES, InsightsReport, build_report, fix_link, percent

__all__ = [
    "GROUP_THRESHOLD",
    "TABLES",
    "ConversationFigures",
    "InsightsReport",
    "Period",
    "PeriodError",
    "QuestionGroup",
    "UnansweredQuestion",
    "bar_chart",
    "build_report",
    "column_chart",
    "fix_link",
    "group_questions",
    "is_question",
    "parse_period",
    "percent",
    "scan_conversations",
]
