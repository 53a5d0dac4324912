"""Figures from the stored conversations: one ordered pass over the messages of the conversations
created in the range (two queries in all, whatever the number of conversations)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from agent.console.insights.fallbacks import REPEATED, WHY, fallback_of, third_repeat
from agent.console.insights.period import Period
from agent.console.insights.questions import clean, is_question
from agent.store.status import ConversationStatus
from agent.store.tables import conversations_t, messages_t
from agent.store.transcript import message_text, parse_tool_content

HANDOFF_NOTE = "Handed off to a person"  # agent/chat/sessions.py `_handoff` writes this system-note
HANDOFF_TOOL = "handoff_to_human"  # agent/turn/loop.py's own tool
ELIGIBILITY_ACTION = "check_eligibility"


@dataclass
class UnansweredQuestion:
    asked_at: datetime
    day: date
    conversation_id: str
    question: str
    confidence: float | None  # None: the answer stored no retrieval (before issue 7)
    low_confidence: bool
    handed_off: bool
    source: str | None  # the closest knowledge file (top stored passage)
    heading: str | None
    fallbacks: tuple[str, ...] = ()  # the kinds of fallback answers the message got (fallbacks.py)
    repeated: bool = False  # the third time the shopper said the same thing

    @property
    def why(self) -> str:
        parts = [WHY[kind] for kind in dict.fromkeys(self.fallbacks)]
        parts += ["low retrieval confidence"] if self.low_confidence else []
        parts += ["handed off"] if self.handed_off else []
        parts += [REPEATED] if self.repeated else []
        return ", ".join(parts)


@dataclass
class ConversationFigures:
    daily: dict[date, int]
    conversations: int = 0
    handed_off: int = 0
    with_staff: int = 0
    ai_resolved: int = 0
    ended_on_fallback: int = 0  # its last answer was a fallback (not resolved, whoever came after)
    repeated: int = 0  # the shopper said the same thing three times (not resolved)
    questions: list[str] = field(default_factory=list)  # in the order asked
    unanswered: list[UnansweredQuestion] = field(default_factory=list)  # newest first
    eligibility: Counter[str] = field(default_factory=Counter)


@dataclass
class _Turn:
    seq: int
    at: datetime
    text: str
    retrieval: dict[str, Any] | None = None
    action_ok: bool = False
    fallbacks: list[str] = field(default_factory=list)

    @property
    def confident(self) -> bool:
        r = self.retrieval
        return r is not None and float(r.get("confidence", 0.0)) >= float(r.get("threshold", 0.0))


def _ok(result: Any) -> bool:
    return isinstance(result, dict) and result.get("ok") is True


class _Conversation:
    """The facts one conversation contributes, fed its messages in order."""

    def __init__(self, conv_id: str, status: str, period: Period, figures: ConversationFigures):
        self.id = conv_id
        self.status = status
        self.period = period
        self.figures = figures
        self.turns: list[_Turn] = []
        self.handoff_seq: int | None = None
        self.staff = False
        self.last_fallback: str | None = None  # of the latest final answer

    def add(
        self, seq: int, role: str, content: dict[str, Any], at: datetime, citations: Any = None
    ) -> None:
        if role == "user":
            self.turns.append(_Turn(seq, at, clean(message_text(content.get("content")))))
        elif role == "assistant":
            if content.get("tool_calls"):
                return  # a step towards an answer, not the answer
            retrieval = content.get("retrieval")
            if isinstance(retrieval, dict) and self.turns:
                self.turns[-1].retrieval = retrieval  # the turn's final answer carries it
            self.last_fallback = fallback_of(content, citations)
            if self.last_fallback is not None and self.turns:
                self.turns[-1].fallbacks.append(self.last_fallback)
        elif role == "tool":
            self._tool(seq, content)
        elif role == "agent":
            self.staff = True
        elif role == "system-note":
            text = str(content.get("content") or "")
            if text.startswith(HANDOFF_NOTE) and self.handoff_seq is None:
                self.handoff_seq = seq

    def _tool(self, seq: int, content: dict[str, Any]) -> None:
        name = content.get("name")
        result = parse_tool_content(content.get("content"))
        if name == HANDOFF_TOOL:
            if self.handoff_seq is None:
                self.handoff_seq = seq
            return
        if not _ok(result):
            return
        if self.turns:
            self.turns[-1].action_ok = True  # an action answered this turn
        if name == ELIGIBILITY_ACTION:
            lines = (result.get("result") or {}).get("lines") or []
            for line in lines:
                if isinstance(line, dict):
                    outcome = "eligible" if line.get("eligible") else line.get("reason_code")
                    self.figures.eligibility[str(outcome or "not_eligible")] += 1

    def finish(self, created_at: datetime) -> list[tuple[datetime, int, str]]:
        """Count the conversation; return its questions as (asked at, seq, text)."""
        if not self.turns:
            return []  # a widget opened and never used is not a conversation
        f = self.figures
        f.conversations += 1
        f.daily[self.period.local_day(created_at)] += 1
        handed = self.handoff_seq is not None or ConversationStatus.parse(self.status).human
        repeat = third_repeat([t.text for t in self.turns])
        f.handed_off += handed
        f.with_staff += self.staff
        f.ended_on_fallback += self.last_fallback is not None
        f.repeated += repeat is not None
        # A dead end is not a resolution: the last answer a fallback, or the shopper saying the
        # same thing a third time.
        dead_end = self.last_fallback is not None or repeat is not None
        f.ai_resolved += not handed and not self.staff and not dead_end
        questions = [t for t in self.turns if is_question(t.text)]
        attributed: _Turn | None = None
        if handed:
            # Handed off for lack of an answer: the last question before the handoff got neither
            # a confident retrieval nor an action's answer.
            point = self.handoff_seq if self.handoff_seq is not None else 1 << 62
            before = [t for t in questions if t.seq < point]
            if before and not before[-1].action_ok and not before[-1].confident:
                attributed = before[-1]
        repeated = self.turns[repeat] if repeat is not None else None
        asked = {id(t) for t in questions}
        for turn in self.turns:
            low = (
                id(turn) in asked
                and turn.retrieval is not None
                and not turn.confident
                and not turn.action_ok
            )
            if low or turn is attributed or turn.fallbacks or turn is repeated:
                f.unanswered.append(
                    self._unanswered(turn, low, turn is attributed, turn is repeated)
                )
        return [(t.at, t.seq, t.text) for t in questions]

    def _unanswered(
        self, turn: _Turn, low: bool, handed: bool, repeated: bool
    ) -> UnansweredQuestion:
        top = (turn.retrieval or {}).get("top") or []
        first = top[0] if top and isinstance(top[0], dict) else {}
        conf = turn.retrieval.get("confidence") if turn.retrieval else None
        return UnansweredQuestion(
            asked_at=turn.at, day=self.period.local_day(turn.at), conversation_id=self.id,
            question=turn.text, confidence=None if conf is None else float(conf),
            low_confidence=low, handed_off=handed, source=first.get("source") or None,
            heading=first.get("heading") or None, fallbacks=tuple(turn.fallbacks),
            repeated=repeated,
        )  # fmt: skip


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def scan_conversations(engine: sa.Engine, period: Period) -> ConversationFigures:
    """Synchronous: run it on the conversation store's executor. One query, streamed in order."""
    c, m = conversations_t.c, messages_t.c
    query = (
        sa.select(
            c.id,
            c.status,
            c.created_at.label("opened"),
            m.seq,
            m.role,
            m.content,
            m.citations,
            m.created_at,
        )  # fmt: skip
        .join(messages_t, m.conversation_id == c.id)
        .where(c.created_at >= period.utc_start, c.created_at < period.utc_end)
        .order_by(c.id, m.seq)
    )
    figures = ConversationFigures(daily=dict.fromkeys(period.days, 0))
    asked: list[tuple[datetime, int, str]] = []
    current: _Conversation | None = None
    opened = period.utc_start
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=500).execute(query):
            if current is None or current.id != row.id:
                if current is not None:
                    asked += current.finish(opened)
                current = _Conversation(row.id, row.status, period, figures)
                opened = _aware(row.opened)
            content = row.content if isinstance(row.content, dict) else {}
            current.add(row.seq, row.role, content, _aware(row.created_at), row.citations)
        if current is not None:
            asked += current.finish(opened)
    asked.sort(key=lambda item: (item[0], item[1]))
    figures.questions = [text for _at, _seq, text in asked]
    figures.unanswered.sort(key=lambda u: (u.asked_at, u.conversation_id), reverse=True)
    return figures


__all__ = ["ConversationFigures", "UnansweredQuestion", "scan_conversations"]
