"""Judge a played conversation against its expectations: only what the shopper would notice.

Every shopper message must get an answer (an `error` or a stall fails the conversation), then each
expectation is checked on the events: the actions that ran and succeeded (from `action_started` /
`action_finished`), the final answer's citations and words, a `handoff` or an offer of a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.cli.conversation_corpus import ActionExpectation, Conversation
from agent.cli.conversation_runner import Event, Played

# An offer to bring someone from the store into the chat (not a contact address to go and write to).
PERSON_RE = re.compile(
    r"\b(?:a person|real person|a human|person from the store|someone from (?:the|our) "
    r"(?:store|team)|member of (?:our|the) team|one of (?:us|our team)|pass you (?:on )?to|"
    r"hand you (?:over )?to|connect you (?:with|to))\b",
    re.I,
)


@dataclass
class ActionRun:
    name: str
    ok: bool
    arguments: dict[str, Any]
    result: dict[str, Any]

    @property
    def order(self) -> str | None:
        value = self.arguments.get("order_id") or self.result.get("order_id")
        return str(value).strip().upper() if value else None

    @property
    def items(self) -> set[str]:
        lines = self.arguments.get("lines")
        if isinstance(lines, list):
            return {str(ln.get("sku", "")).upper() for ln in lines if isinstance(ln, dict)}
        sku = self.arguments.get("sku")
        return {str(sku).upper()} if sku else set()

    @property
    def quantity(self) -> int | None:
        lines = self.arguments.get("lines")
        if isinstance(lines, list):
            return sum(int(ln.get("quantity", 1)) for ln in lines if isinstance(ln, dict))
        value = self.arguments.get("quantity")
        return int(value) if value is not None else None

    def describe(self) -> str:
        parts = [p for p in (self.order, "+".join(sorted(self.items))) if p]
        if self.quantity is not None and self.items:
            parts.append(f"×{self.quantity}")
        parts += [str(self.arguments[k]) for k in ("reason", "resolution") if k in self.arguments]
        code = "" if self.ok else f" {self.result.get('code', 'failed')}"
        return f"{self.name}({', '.join(parts)}){' ok' if self.ok else ':' + code}"


@dataclass
class Verdict:
    conversation: Conversation
    failures: list[str] = field(default_factory=list)
    final_text: str = ""
    citations: list[str] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    note: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures


def action_runs(events: list[Event]) -> list[ActionRun]:
    """Each `action_finished` with the arguments it ran with (its `action_started`, or for a
    declined card the card's own arguments)."""
    started: dict[str, list[dict[str, Any]]] = {}
    cards: dict[str, dict[str, Any]] = {}
    runs: list[ActionRun] = []
    for event in events:
        kind, name = event.get("type"), str(event.get("action", ""))
        if kind == "confirmation_request":
            cards[name] = dict(event.get("arguments") or {})
        elif kind == "action_started":
            started.setdefault(name, []).append(dict(event.get("arguments") or {}))
        elif kind == "action_finished":
            pending = started.get(name) or []
            arguments = pending.pop() if pending else cards.get(name, {})
            result = event.get("result")
            runs.append(ActionRun(name, bool(event.get("ok")), arguments, dict(result or {})))
    return runs


def _matches(run: ActionRun, want: ActionExpectation) -> bool:
    if run.name != want.name or not run.ok:
        return False
    if want.order is not None and run.order != want.order:
        return False
    if want.items is not None and run.items != {sku.upper() for sku in want.items}:
        return False
    if want.quantity is not None and run.quantity != want.quantity:
        return False
    if want.reason is not None:
        allowed = [want.reason] if isinstance(want.reason, str) else want.reason
        if run.arguments.get("reason") not in allowed:
            return False
    return want.resolution is None or run.arguments.get("resolution", "refund") == want.resolution


def describe_expectation(want: ActionExpectation) -> str:
    parts = [want.order or "", "+".join(want.items or [])]
    if want.quantity is not None:
        parts.append(f"×{want.quantity}")
    if want.reason is not None:
        parts.append(want.reason if isinstance(want.reason, str) else "|".join(want.reason))
    if want.resolution:
        parts.append(want.resolution)
    return f"{want.name}({', '.join(p for p in parts if p)})"


def _cited(citations: list[dict[str, Any]], cite: str) -> bool:
    source, _, heading = (part.strip() for part in cite.partition(">"))
    for citation in citations:
        path = str(citation.get("heading", ""))
        last = path.rsplit(">", 1)[-1].strip()
        if citation.get("source") == source and heading.lower() in (path.lower(), last.lower()):
            return True
    return False


def judge(played: Played, side_effects: frozenset[str]) -> Verdict:
    conv, events = played.conversation, played.events
    answers = [e for e in events if e.get("type") == "assistant_message"]
    final = answers[-1] if answers else {}
    citations = list(final.get("citations") or [])
    verdict = Verdict(
        conversation=conv,
        final_text=str(final.get("text", "")),
        citations=[f"{c.get('source')} > {c.get('heading')}" for c in citations],
        actions=action_runs(events),
        note=played.note,
        seconds=played.seconds,
    )
    fail = verdict.failures.append
    if played.problem:
        fail(f"could not finish: {played.problem}")
    for step in played.steps:
        error = step.error
        if error is not None:
            fail(f"no answer to {step.sent!r}: {error.get('code')}: {error.get('message')}")
    expect = conv.expect
    for want in expect.action:
        if not any(_matches(run, want) for run in verdict.actions):
            fail(f"expected {describe_expectation(want)} to run and succeed")
    for cite in expect.cites:
        if not _cited(citations, cite):
            fail(f"expected the answer to cite {cite}")
    if expect.person:
        handed = any(e.get("type") == "handoff" for e in events)
        if not handed and not PERSON_RE.search(verdict.final_text):
            fail("expected a person to be offered")
    if expect.creates_nothing:
        made = [r.name for r in verdict.actions if r.ok and r.name in side_effects]
        if made:
            fail(f"expected nothing to be created; {', '.join(made)} succeeded")
    ran = {r.name for r in verdict.actions if r.ok}
    for name in expect.not_run:
        if name in ran:
            fail(f"expected {name} not to run; it succeeded")
    for words in expect.says:
        words = words.replace("{rma}", played.rma_id or "{rma}")
        options = [w.strip().lower() for w in words.split("|") if w.strip()]
        if not any(option in verdict.final_text.lower() for option in options):
            fail(f"expected the answer to say {words!r}")
    if expect.card is not None:
        cards = {e.get("action") for e in events if e.get("type") == "confirmation_request"}
        if expect.card not in cards:
            fail(f"expected a confirmation card for {expect.card}")
    return verdict


__all__ = ["ActionRun", "Verdict", "action_runs", "describe_expectation", "judge"]
